package dev.jbolt.distill;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading behaviour that needs a fresh JVM: failures, logging set-up, start-up settings. */
class ChildJvmTest {

    record Outcome(int exitCode, String output) {}

    private static Outcome runProbe(
            Path workDir, Map<String, String> extraEnv, String... jvmArgsThenMode)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.addAll(List.of(jvmArgsThenMode).subList(0, jvmArgsThenMode.length - 1));
        command.add(LoadProbe.class.getName());
        command.add(jvmArgsThenMode[jvmArgsThenMode.length - 1]);
        ProcessBuilder builder = new ProcessBuilder(command).directory(workDir.toFile());
        builder.redirectErrorStream(true);
        Map<String, String> env = builder.environment();
        for (String name :
                List.of(
                        "LIBTORCH",
                        "JBOLT_LIBTORCH_DIR",
                        "JBOLT_VENV",
                        "JBOLT_PYTHON",
                        "JBOLT_NATIVE_LIBRARY",
                        "JBOLT_THREADS",
                        "LD_LIBRARY_PATH")) {
            env.remove(name);
        }
        env.putAll(extraEnv);
        Process process = builder.start();
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("child JVM finished").isTrue();
        return new Outcome(process.exitValue(), output);
    }

    private static String libtorchDir() {
        return JboltRuntime.load().libtorchDir().toString();
    }

    @Test
    void withLibtorchMissingLoadingFailsWithTheDocumentedMessage(@TempDir Path dir)
            throws Exception {
        Outcome outcome =
                runProbe(
                        dir,
                        Map.of(),
                        "-Djbolt.python=" + dir.resolve("no-python"),
                        "-Djbolt.cache.dir=" + dir.resolve("cache"),
                        "load");

        assertThat(outcome.exitCode()).isNotZero();
        assertThat(outcome.output())
                .contains("dev.jbolt.distill.NativeLibraryException: Cannot load libtorch 2.13.x")
                .contains("os.name=" + System.getProperty("os.name"))
                .contains("os.arch=" + System.getProperty("os.arch"))
                .contains("1. environment variable JBOLT_LIBTORCH_DIR: not set")
                .contains("2. project virtualenv")
                .contains("3. " + dir.resolve("no-python"))
                .contains("To fix:")
                .doesNotContain("Exception in thread \"main\" java.lang.UnsatisfiedLinkError");
    }

    @Test
    void rustLogRecordsAndPanicReportsReachSlf4j(@TempDir Path dir) throws Exception {
        Outcome outcome =
                runProbe(
                        dir,
                        Map.of("JBOLT_LIBTORCH_DIR", libtorchDir(), "JBOLT_THREADS", "1"),
                        "-Dorg.slf4j.simpleLogger.defaultLogLevel=debug",
                        "-Djbolt.cache.dir=" + dir.resolve("cache"),
                        "panic");

        assertThat(outcome.exitCode()).as(outcome.output()).isZero();
        // A debug record written by Rust's log::debug! in rust/jni/native_bridge.rs.
        assertThat(outcome.output())
                .contains("jbolt_distill.jni.native_bridge - libtorch intra-op threads set to 1");
        // The panic hook routes the panic to logging; the caller gets an exception.
        assertThat(outcome.output())
                .contains("jbolt_distill.panic - rust panic: self-test panic: from the probe")
                .contains("probe caught NativeFailureException")
                .contains("probe result 11.0");
    }

    @Test
    void theExplicitLibtorchSettingIsUsedAndTheLibraryIsExtractedIntoTheCache(@TempDir Path dir)
            throws Exception {
        Outcome outcome =
                runProbe(
                        dir,
                        Map.of("JBOLT_LIBTORCH_DIR", libtorchDir()),
                        "-Dorg.slf4j.simpleLogger.log.dev.jbolt.distill=debug",
                        "-Djbolt.cache.dir=" + dir.resolve("cache"),
                        "load");

        assertThat(outcome.exitCode()).as(outcome.output()).isZero();
        assertThat(outcome.output())
                .contains("1. environment variable JBOLT_LIBTORCH_DIR")
                .contains("Extracted ")
                .contains(dir.resolve("cache").resolve("0.1.0-").toString())
                .contains("probe result 11.0");
    }
}
