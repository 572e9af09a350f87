package dev.jbolt.distill.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jbolt.distill.JboltRuntime;
import dev.jbolt.distill.RuntimeInfo;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.Test;

/**
 * Proves that a consumer of {@code dev.jbolt:jbolt-distill} gets the JNI library from the packaged
 * jar (extracted into the versioned cache), not from cargo's {@code target/}.
 *
 * <p>Run through {@code mvn install} or {@code verify} (scripts/test does): in a bare {@code mvn
 * test} Maven hands this module the core's {@code target/classes} instead of its jar.
 */
class InstalledJarLoadingTest {

    @Test
    void theNativeLibraryComesFromTheJarThroughTheVersionedCache() {
        RuntimeInfo info = JboltRuntime.load();
        Path cache = Paths.get(System.getProperty("jbolt.cache.dir")).toAbsolutePath();

        assertThat(info.nativeSource()).isEqualTo("JAR_RESOURCE");
        assertThat(info.nativeOrigin())
                .startsWith("jar:file:")
                .endsWith(
                        "jbolt-distill-0.1.0.jar!/native/"
                                + info.platform()
                                + "/libjbolt_distill.so");
        assertThat(info.nativeLibrary()).startsWith(cache);
        assertThat(info.nativeLibrary().getParent().getParent().getFileName().toString())
                .startsWith("0.1.0-");
        assertThat(info.nativeLibrary().toString()).doesNotContain("target/release");
    }

    @Test
    void aTensorComputationThroughTheJarsLibraryMatchesPlainJava() {
        // [[1,2,3],[4,5,6]] @ [[1],[0],[-1]] = [[-2],[-2]]
        float[] product =
                JboltRuntime.matmul(
                        new float[] {1, 2, 3, 4, 5, 6}, 2, 3, new float[] {1, 0, -1}, 1);

        assertThat(product).containsExactly(-2f, -2f);
    }
}
