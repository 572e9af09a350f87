package dev.jbolt.distill.internal;

import java.util.Locale;

/**
 * Normalised operating system and architecture, as used in the jar's {@code /native/<os>-<arch>/}
 * folder and in the root pom's platform profiles.
 *
 * <p>The table: {@code os.name} starting with "Linux" gives {@code linux}, "Mac" or "Darwin" gives
 * {@code osx}, "Windows" gives {@code windows}; {@code os.arch} "amd64" or "x86_64" gives {@code
 * x86_64}, "aarch64" or "arm64" gives {@code aarch64}. Anything else keeps its lower-case name, so
 * the failure message shows what was seen.
 *
 * @param os normalised operating system
 * @param arch normalised architecture
 * @param osName the raw {@code os.name}
 * @param osArch the raw {@code os.arch}
 */
public record Platform(String os, String arch, String osName, String osArch) {

    /**
     * Returns the platform of this JVM.
     *
     * @return the normalised platform
     */
    public static Platform current() {
        return of(System.getProperty("os.name", ""), System.getProperty("os.arch", ""));
    }

    /**
     * Normalises raw {@code os.name} and {@code os.arch} values.
     *
     * @param osName value of {@code os.name}
     * @param osArch value of {@code os.arch}
     * @return the normalised platform
     */
    public static Platform of(String osName, String osArch) {
        String name = osName.toLowerCase(Locale.ROOT);
        String os;
        if (name.startsWith("linux")) {
            os = "linux";
        } else if (name.startsWith("mac") || name.startsWith("darwin")) {
            os = "osx";
        } else if (name.startsWith("windows")) {
            os = "windows";
        } else {
            os = name.replaceAll("[^a-z0-9]", "");
        }
        String a = osArch.toLowerCase(Locale.ROOT);
        String arch =
                switch (a) {
                    case "amd64", "x86_64", "x86-64" -> "x86_64";
                    case "aarch64", "arm64" -> "aarch64";
                    default -> a.replaceAll("[^a-z0-9_]", "");
                };
        return new Platform(os, arch, osName, osArch);
    }

    /**
     * Returns the folder name inside the jar, for example {@code linux-x86_64}.
     *
     * @return {@code <os>-<arch>}
     */
    public String id() {
        return os + "-" + arch;
    }

    /**
     * Maps a library base name to this platform's file name ({@code libX.so}, {@code libX.dylib},
     * {@code X.dll}).
     *
     * @param base the base name, for example {@code jbolt_distill}
     * @return the file name
     */
    public String libraryFile(String base) {
        return switch (os) {
            case "windows" -> base + ".dll";
            case "osx" -> "lib" + base + ".dylib";
            default -> "lib" + base + ".so";
        };
    }

    /**
     * Describes the raw and normalised names for failure messages.
     *
     * @return for example {@code os.name=Linux, os.arch=amd64 (linux-x86_64)}
     */
    public String describe() {
        return "os.name=" + osName + ", os.arch=" + osArch + " (" + id() + ")";
    }
}
