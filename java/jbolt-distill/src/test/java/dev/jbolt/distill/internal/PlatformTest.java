package dev.jbolt.distill.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PlatformTest {

    @Test
    void theNormalisationTableMapsTheCommonJvmNames() {
        assertThat(Platform.of("Linux", "amd64").id()).isEqualTo("linux-x86_64");
        assertThat(Platform.of("Linux", "aarch64").id()).isEqualTo("linux-aarch64");
        assertThat(Platform.of("Mac OS X", "x86_64").id()).isEqualTo("osx-x86_64");
        assertThat(Platform.of("Mac OS X", "aarch64").id()).isEqualTo("osx-aarch64");
        assertThat(Platform.of("Windows 11", "amd64").id()).isEqualTo("windows-x86_64");
    }

    @Test
    void libraryFileNamesFollowThePlatformConvention() {
        assertThat(Platform.of("Linux", "amd64").libraryFile("jbolt_distill"))
                .isEqualTo("libjbolt_distill.so");
        assertThat(Platform.of("Mac OS X", "aarch64").libraryFile("jbolt_distill"))
                .isEqualTo("libjbolt_distill.dylib");
        assertThat(Platform.of("Windows 10", "amd64").libraryFile("jbolt_distill"))
                .isEqualTo("jbolt_distill.dll");
    }

    @Test
    void describeNamesTheRawValues() {
        assertThat(Platform.of("SunOS", "sparcv9").describe())
                .isEqualTo("os.name=SunOS, os.arch=sparcv9 (sunos-sparcv9)");
    }
}
