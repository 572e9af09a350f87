package dev.jbolt.distill;

import java.nio.file.Path;

/**
 * What the native runtime loaded: versions and where the libraries came from.
 *
 * @param version version of the jbolt-distill jar (and of its JNI library)
 * @param libtorchVersion version of the libtorch in use, for example {@code 2.13.0+cu130}
 * @param platform the platform, for example {@code linux-x86_64}
 * @param nativeLibrary the JNI library file that was loaded
 * @param nativeSource how it was found: {@code SYSTEM_PROPERTY}, {@code ENVIRONMENT}, {@code
 *     JAR_RESOURCE} or {@code LIBRARY_PATH}
 * @param nativeOrigin the setting, resource URL or path behind {@code nativeSource}
 * @param extractedFromJar true if this JVM wrote the library from the jar into the cache
 * @param libtorchDir the torch directory in use
 * @param libtorchSource how libtorch was found
 * @param threads libtorch intra-op threads
 * @param loadMillis milliseconds the loader took
 */
public record RuntimeInfo(
        String version,
        String libtorchVersion,
        String platform,
        Path nativeLibrary,
        String nativeSource,
        String nativeOrigin,
        boolean extractedFromJar,
        Path libtorchDir,
        String libtorchSource,
        int threads,
        long loadMillis) {}
