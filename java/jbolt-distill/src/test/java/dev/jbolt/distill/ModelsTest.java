package dev.jbolt.distill;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The teacher registry seen from Java: the model home, what it lists, how names resolve. */
class ModelsTest {
    private static final String MINILM = "all-MiniLM-L6-v2";

    private static String runProbe(Path home, String... names)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add("-Djbolt.libtorch.dir=" + JboltRuntime.load().libtorchDir());
        command.add("-Djbolt.cache.dir=" + home.resolveSibling("native-cache"));
        command.add(ModelsProbe.class.getName());
        command.addAll(List.of(names));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("JBOLT_MODEL_HOME", home.toString());
        Process process = builder.start();
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("child JVM finished").isTrue();
        assertThat(process.exitValue()).as(output).isZero();
        return output;
    }

    @Test
    void aModelHomeFromTheEnvironmentListsItsDirectoriesAndTorchScriptFiles(@TempDir Path dir)
            throws Exception {
        Path home = Files.createDirectories(dir.resolve("models"));
        Files.createDirectories(home.resolve("tiny-bert"));
        Files.writeString(home.resolve("tiny-bert").resolve("config.json"), "{}");
        Files.writeString(home.resolve("scripted.pt"), "not really torchscript");
        Files.createDirectories(home.resolve("not-a-model"));

        String output = runProbe(home, "tiny-bert", "scripted", "missing-model");

        assertThat(output)
                .contains("home " + home)
                .contains("installed scripted torchscript " + home.resolve("scripted.pt"))
                .contains("installed tiny-bert hf_directory " + home.resolve("tiny-bert"))
                .doesNotContain("installed not-a-model")
                .contains("resolved tiny-bert hf_directory " + home.resolve("tiny-bert"))
                .contains("resolved scripted torchscript " + home.resolve("scripted.pt"))
                .contains("failed missing-model NOT_FOUND")
                .contains(home.toString())
                .contains("models found: scripted, tiny-bert");
    }

    @Test
    void theDefaultModelHomeHoldsTheMiniLmTeacher() {
        String override = System.getenv("JBOLT_MODEL_HOME");
        Path expected =
                override == null || override.isEmpty()
                        ? Path.of(System.getProperty("user.home"), ".jbolt", "models")
                        : Path.of(override);

        assertThat(Models.home()).isEqualTo(expected);
        assertThat(Models.installed())
                .anySatisfy(
                        m -> {
                            assertThat(m.name()).isEqualTo(MINILM);
                            assertThat(m.format()).isEqualTo(ModelInfo.HF_DIRECTORY);
                        });
        ModelInfo resolved = Models.resolve(MINILM);
        assertThat(resolved.path()).isEqualTo(expected.resolve(MINILM));
        assertThat(resolved.path().resolve("config.json")).exists();
    }

    @Test
    void anExistingPathResolvesAsItselfAndANonModelPathIsRejected(@TempDir Path dir)
            throws Exception {
        Path teacher = Files.createDirectories(dir.resolve("teacher"));
        Files.writeString(teacher.resolve("config.json"), "{}");

        assertThat(Models.resolve(teacher.toString()))
                .isEqualTo(new ModelInfo(teacher.toString(), teacher, ModelInfo.HF_DIRECTORY));
        assertThatThrownBy(() -> Models.resolve(dir.toString()))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining(dir.toString())
                .extracting(e -> ((JboltException) e).code())
                .isEqualTo("INVALID_ARGUMENT");
    }

    @Test
    void anUnknownNameNamesTheModelHomeSearched() {
        assertThatThrownBy(() -> Models.resolve("no-such-teacher"))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("no-such-teacher")
                .hasMessageContaining(Models.home().toString())
                .extracting(e -> ((JboltException) e).code())
                .isEqualTo("NOT_FOUND");
    }
}
