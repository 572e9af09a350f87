package dev.jbolt.distill.internal;

import java.nio.file.Path;

/**
 * What {@link NativeLoader} loaded and where it found it; for diagnostics and tests.
 *
 * @param jarVersion version of the Java library (from the jar)
 * @param nativeVersion version reported by the JNI library
 * @param libtorchVersion version of the libtorch mapped into the process
 * @param platform the normalised platform, for example {@code linux-x86_64}
 * @param nativeLibrary absolute path of the JNI library file that was loaded
 * @param nativeSource which step of the search order found the JNI library
 * @param nativeOrigin the setting, resource URL or path behind {@code nativeSource}
 * @param extracted true if this load wrote the library into the cache, false if the cached copy was
 *     reused or no extraction was needed
 * @param libtorchDir the torch directory (it holds {@code lib/})
 * @param libtorchSource which step of the libtorch search order found it, with its origin
 * @param threads libtorch intra-op threads after start-up
 * @param loadMillis time spent in the loader, in milliseconds
 */
public record LoadReport(
        String jarVersion,
        String nativeVersion,
        String libtorchVersion,
        String platform,
        Path nativeLibrary,
        NativeSource nativeSource,
        String nativeOrigin,
        boolean extracted,
        Path libtorchDir,
        String libtorchSource,
        int threads,
        long loadMillis) {

    /** Where the JNI library was found, in search-order steps. */
    public enum NativeSource {
        /** Step 1: the system property {@code jbolt.native.library}. */
        SYSTEM_PROPERTY,
        /** Step 1: the environment variable {@code JBOLT_NATIVE_LIBRARY}. */
        ENVIRONMENT,
        /** Step 2: the jar resource under {@code /native/<os>-<arch>/}, via the cache. */
        JAR_RESOURCE,
        /** Step 3: {@code java.library.path}. */
        LIBRARY_PATH
    }

    /**
     * Describes the load in one paragraph, for logs and the CLI.
     *
     * @return a multi-line description
     */
    public String describe() {
        return "jbolt-distill "
                + jarVersion
                + " (native "
                + nativeVersion
                + ") on "
                + platform
                + "\n  native library: "
                + nativeLibrary
                + " ["
                + nativeSource
                + (extracted ? ", extracted now" : "")
                + ": "
                + nativeOrigin
                + "]\n  libtorch "
                + libtorchVersion
                + ": "
                + libtorchDir
                + " ["
                + libtorchSource
                + "]\n  intra-op threads: "
                + threads
                + ", loader time: "
                + loadMillis
                + " ms";
    }
}
