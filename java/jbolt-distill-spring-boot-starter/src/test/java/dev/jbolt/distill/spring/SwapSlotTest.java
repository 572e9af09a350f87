package dev.jbolt.distill.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The reference-counted swap behind {@link ServedModel}, with fake resources. */
class SwapSlotTest {
    /** A resource that fails if used after it was released. */
    static final class Fake {
        final int id;
        final AtomicBoolean released = new AtomicBoolean();
        final AtomicInteger inUse = new AtomicInteger();

        Fake(int id) {
            this.id = id;
        }

        int use() {
            inUse.incrementAndGet();
            try {
                if (released.get()) {
                    throw new IllegalStateException("fake " + id + " used after release");
                }
                Thread.onSpinWait();
                if (released.get()) {
                    throw new IllegalStateException("fake " + id + " released while in use");
                }
                return id;
            } finally {
                inUse.decrementAndGet();
            }
        }
    }

    private static void release(Fake f) {
        if (f.inUse.get() != 0) {
            throw new AssertionError("fake " + f.id + " released while a call is in flight");
        }
        if (!f.released.compareAndSet(false, true)) {
            throw new AssertionError("fake " + f.id + " released twice");
        }
    }

    @Test
    void anEmptySlotLendsNothing() {
        SwapSlot<Fake> slot = new SwapSlot<>(SwapSlotTest::release);
        assertThat(slot.acquire()).isNull();
    }

    @Test
    void aSwapReleasesThePreviousResourceOnlyAfterItsLastLeaseCloses() {
        SwapSlot<Fake> slot = new SwapSlot<>(SwapSlotTest::release);
        Fake first = new Fake(1);
        Fake second = new Fake(2);
        slot.swap(first);
        SwapSlot.Lease<Fake> lease = slot.acquire();

        assertThat(slot.swap(second)).isSameAs(first);
        assertThat(first.released).isFalse();
        assertThat(lease.get().use()).isEqualTo(1);
        lease.close();
        lease.close();

        assertThat(first.released).isTrue();
        try (SwapSlot.Lease<Fake> next = slot.acquire()) {
            assertThat(next.get()).isSameAs(second);
        }
        assertThat(second.released).isFalse();
    }

    @Test
    void closingReleasesTheLastResourceAndRefusesNewCallsAndSwaps() {
        SwapSlot<Fake> slot = new SwapSlot<>(SwapSlotTest::release);
        Fake only = new Fake(1);
        slot.swap(only);
        slot.close();

        assertThat(only.released).isTrue();
        assertThatThrownBy(slot::acquire).isInstanceOf(IllegalStateException.class);
        Fake late = new Fake(2);
        assertThatThrownBy(() -> slot.swap(late)).isInstanceOf(IllegalStateException.class);
        assertThat(late.released).isTrue();
    }

    @Test
    void callsAcrossManySwapsNeverSeeAReleasedResource() throws Exception {
        SwapSlot<Fake> slot = new SwapSlot<>(SwapSlotTest::release);
        List<Fake> all = new ArrayList<>();
        Fake initial = new Fake(0);
        all.add(initial);
        slot.swap(initial);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong calls = new AtomicLong();
        List<Throwable> failures = new ArrayList<>();
        CountDownLatch started = new CountDownLatch(4);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            Thread thread =
                    new Thread(
                            () -> {
                                started.countDown();
                                while (!stop.get()) {
                                    try (SwapSlot.Lease<Fake> lease = slot.acquire()) {
                                        lease.get().use();
                                        calls.incrementAndGet();
                                    } catch (Throwable e) {
                                        synchronized (failures) {
                                            failures.add(e);
                                        }
                                    }
                                }
                            });
            thread.start();
            threads.add(thread);
        }
        started.await();

        for (int i = 1; i <= 2000; i++) {
            Fake next = new Fake(i);
            all.add(next);
            slot.swap(next);
        }
        stop.set(true);
        for (Thread thread : threads) {
            thread.join();
        }
        slot.close();

        assertThat(failures).isEmpty();
        assertThat(calls.get()).isPositive();
        assertThat(all).allSatisfy(f -> assertThat(f.released).isTrue());
    }
}
