package dev.jbolt.distill.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jbolt.distill.NativeLibraryException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NativeLoaderTest {
    private static final Platform LINUX = Platform.of("Linux", "amd64");

    private final Map<String, String> props = new HashMap<>();
    private final Map<String, String> env = new HashMap<>();

    private NativeLoader loader(Path workingDir) {
        return new NativeLoader(props::get, env::get, workingDir, LINUX);
    }

    private static Path fakeTorch(Path root, String version) throws IOException {
        Path torch = root.resolve("torch");
        Files.createDirectories(torch.resolve("lib"));
        Files.writeString(torch.resolve("lib/libtorch_cpu.so"), "");
        Files.writeString(torch.resolve("version.py"), "__version__ = '" + version + "'\n");
        return torch;
    }

    @Test
    void withNothingToFindTheMessageNamesThePlatformEveryPlaceTriedAndTheFix(@TempDir Path dir) {
        props.put("jbolt.python", dir.resolve("no-such-python").toString());

        assertThatThrownBy(() -> loader(dir).locateLibtorch())
                .isInstanceOf(NativeLibraryException.class)
                .hasMessageContaining("os.name=Linux, os.arch=amd64 (linux-x86_64)")
                .hasMessageContaining("1. system property jbolt.libtorch.dir: not set")
                .hasMessageContaining("1. environment variable JBOLT_LIBTORCH_DIR: not set")
                .hasMessageContaining("1. environment variable LIBTORCH: not set")
                .hasMessageContaining("2. project virtualenv")
                .hasMessageContaining("3. " + dir.resolve("no-such-python") + ": not runnable")
                .hasMessageContaining("set JBOLT_LIBTORCH_DIR");
    }

    @Test
    void anUnusableExplicitSettingFailsInsteadOfFallingBack(@TempDir Path dir) throws IOException {
        env.put("JBOLT_LIBTORCH_DIR", dir.resolve("missing").toString());
        env.put("JBOLT_VENV", dir.toString());

        assertThatThrownBy(() -> loader(dir).locateLibtorch())
                .isInstanceOf(NativeLibraryException.class)
                .hasMessageContaining("JBOLT_LIBTORCH_DIR = " + dir.resolve("missing"))
                .hasMessageContaining("lib/libtorch_cpu.so");
    }

    @Test
    void theExplicitPropertyWinsOverTheEnvironmentAndTheVirtualenv(@TempDir Path dir)
            throws IOException {
        Path torch = fakeTorch(dir.resolve("a"), "2.13.0");
        props.put("jbolt.libtorch.dir", torch.toString());
        env.put("LIBTORCH", dir.resolve("elsewhere").toString());

        NativeLoader.Libtorch found = loader(dir).locateLibtorch();

        assertThat(found.dir()).isEqualTo(torch);
        assertThat(found.source()).startsWith("1. system property jbolt.libtorch.dir");
    }

    @Test
    void theProjectVirtualenvIsFoundFromAParentOfTheWorkingDirectory(@TempDir Path dir)
            throws IOException {
        Path torch = fakeTorch(dir.resolve(".venv/lib/python3.11/site-packages"), "2.13.0+cu130");
        Path module = Files.createDirectories(dir.resolve("java/module"));

        NativeLoader.Libtorch found = loader(module).locateLibtorch();

        assertThat(found.dir()).isEqualTo(torch);
        assertThat(found.source()).contains("2. project virtualenv");
        assertThat(loader(module).libtorchFileVersion(torch)).isEqualTo("2.13.0+cu130");
    }

    @Test
    void aLibtorchOfAnotherSeriesIsRefusedWithBothVersions(@TempDir Path dir) throws IOException {
        Path torch = fakeTorch(dir, "2.5.1");

        assertThatThrownBy(() -> loader(dir).libtorchFileVersion(torch))
                .isInstanceOf(NativeLibraryException.class)
                .hasMessageContaining("version 2.5.1")
                .hasMessageContaining("needs 2.13.x");
    }

    @Test
    void extractionWritesOnceIntoAVersionedCacheAndThenReuses(@TempDir Path dir)
            throws IOException {
        props.put("jbolt.cache.dir", dir.resolve("cache").toString());
        Path source = dir.resolve("libjbolt_distill.so");
        Files.write(source, new byte[] {1, 2, 3, 4});

        NativeLoader.Extracted first =
                loader(dir).extract(source.toUri().toURL(), "0.1.0", "libjbolt_distill.so");
        NativeLoader.Extracted second =
                loader(dir).extract(source.toUri().toURL(), "0.1.0", "libjbolt_distill.so");

        assertThat(first.written()).isTrue();
        assertThat(second.written()).isFalse();
        assertThat(second.path()).isEqualTo(first.path());
        assertThat(first.path().getParent().getParent().getFileName().toString())
                .startsWith("0.1.0-")
                .hasSize("0.1.0-".length() + 16);
        assertThat(first.path().getParent().getFileName().toString()).isEqualTo("linux-x86_64");
        assertThat(Files.readAllBytes(first.path())).containsExactly(1, 2, 3, 4);
        try (var files = Files.list(first.path().getParent())) {
            assertThat(files).hasSize(1); // no temporary file left behind
        }
    }
}
