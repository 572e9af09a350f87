package dev.jbolt.distill.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class NativeHandleTest {

    /** A handle owner whose release records the handle instead of freeing native memory. */
    static final class Owner extends NativeHandle {
        Owner(long handle, List<Long> released) {
            super(handle, released::add, "test object " + handle);
        }

        long peek() {
            return withHandle("peek", h -> h);
        }
    }

    @Test
    void closeReleasesTheHandleExactlyOnce() {
        List<Long> released = new CopyOnWriteArrayList<>();
        Owner owner = new Owner(42, released);

        assertThat(owner.peek()).isEqualTo(42);
        owner.close();
        owner.close();

        assertThat(released).containsExactly(42L);
        assertThatThrownBy(owner::peek)
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("Cannot peek: test object 42 is closed");
    }

    @Test
    void theCleanerReleasesAnUnreachableOwner() throws InterruptedException {
        List<Long> released = new CopyOnWriteArrayList<>();
        createAndDrop(released);

        for (int i = 0; i < 200 && released.isEmpty(); i++) {
            System.gc();
            Thread.sleep(20);
        }

        assertThat(released).containsExactly(7L);
    }

    private static void createAndDrop(List<Long> released) {
        new Owner(7, released).peek();
    }

    @Test
    void aZeroHandleIsRefused() {
        assertThatThrownBy(() -> new Owner(0, new CopyOnWriteArrayList<>()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("is 0");
    }
}
