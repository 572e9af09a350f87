package dev.jbolt.distill;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad files, rows, teachers and settings given to whole runs through the real engine: each one is
 * an {@link InvalidInputException} naming the file, line or field and the value, the JVM keeps
 * running, and the bundle a previous run left in the output directory is untouched.
 *
 * <p>Every message is printed as {@code bad input <case>: <message>} so that the test output lists
 * what each bad input produced.
 */
@Tag("engine")
class BadInputTest {
    @TempDir Path dir;
    private Path out;
    private Map<String, String> previousBundle;

    @BeforeEach
    void writeAPreviousBundle() throws IOException {
        out = dir.resolve("out");
        Files.createDirectories(out);
        // Enough of a bundle for the engine to treat the directory as replaceable.
        Files.writeString(out.resolve("config.json"), "{\"format_version\": 1}");
        Files.write(out.resolve("model.safetensors"), new byte[] {1, 2, 3, 4});
        previousBundle = snapshot(out);
    }

    @AfterEach
    void thePreviousBundleIsUntouchedAndTheJvmStillWorks() throws IOException {
        assertThat(snapshot(out)).as("files in the output directory").isEqualTo(previousBundle);
        assertThat(JboltRuntime.matmul(new float[] {1, 2}, 1, 2, new float[] {3, 4}, 1))
                .containsExactly(11f);
    }

    private static Map<String, String> snapshot(Path root) throws IOException {
        Map<String, String> files = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                files.put(
                        root.relativize(p).toString(),
                        new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1));
            }
        }
        return files;
    }

    private Path write(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }

    private Path writeBytes(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    private JboltDistiller text() {
        return EngineFixtures.quickDistiller(out);
    }

    private static TrainingParams params() {
        return EngineFixtures.quickParams().setEpochs(1);
    }

    /** Runs {@code run}, which must fail with an InvalidInputException, and prints why. */
    private static AbstractThrowableAssert<?, ? extends Throwable> fails(
            String name, Runnable run) {
        Throwable thrown = catchThrowable(run::run);
        System.out.println("bad input " + name + ": " + thrown);
        return assertThat(thrown).isInstanceOf(InvalidInputException.class);
    }

    private static String rows(String... lines) {
        return String.join("\n", lines) + "\n";
    }

    private static final String[] GOOD_JSONL = {
        "{\"text\": \"shares fell sharply\", \"label\": \"business\"}",
        "{\"text\": \"the striker scored twice\", \"label\": \"sport\"}",
        "{\"text\": \"profits rose again\", \"label\": \"business\"}",
        "{\"text\": \"a late goal won it\", \"label\": \"sport\"}",
    };

    // ---- data files ----------------------------------------------------------------------

    @Test
    void aMissingJsonlOrCsvFileNamesThePath() {
        Path jsonl = dir.resolve("missing.jsonl");
        Path csv = dir.resolve("missing.csv");
        fails("missing jsonl", () -> text().distill(Dataset.fromJsonl(jsonl), params()))
                .hasMessageContaining(jsonl.toString());
        fails("missing csv", () -> text().distill(Dataset.fromCsv(csv), params()))
                .hasMessageContaining(csv.toString());
    }

    @Test
    void anEmptyJsonlOrCsvFileNamesThePath() throws IOException {
        Path jsonl = write("empty.jsonl", "");
        Path csv = write("empty.csv", "");
        fails("empty jsonl", () -> text().distill(Dataset.fromJsonl(jsonl), params()))
                .hasMessageContaining(jsonl.toString());
        fails("empty csv", () -> text().distill(Dataset.fromCsv(csv), params()))
                .hasMessageContaining(csv.toString());
    }

    @Test
    void aTruncatedJsonlFileNamesTheLastLine() throws IOException {
        String whole = rows(GOOD_JSONL);
        Path jsonl = write("truncated.jsonl", whole.substring(0, whole.length() - 12));
        fails("truncated jsonl", () -> text().distill(Dataset.fromJsonl(jsonl), params()))
                .hasMessageContaining(jsonl.toString())
                .hasMessageContaining("line 4");
    }

    @Test
    void aTruncatedCsvFileNamesTheLastLine() throws IOException {
        Path csv =
                write(
                        "truncated.csv",
                        "text,label\nshares fell,business\nthe striker scored,sport\n\"profits ro");
        fails("truncated csv", () -> text().distill(Dataset.fromCsv(csv), params()))
                .hasMessageContaining(csv.toString())
                .hasMessageContaining("line 4");
    }

    @Test
    void nonUtf8BytesNameTheFileAndTheLine() throws IOException {
        byte[] latin1 =
                rows(GOOD_JSONL[0], "{\"text\": \"caf\u00e9 owners\", \"label\": \"business\"}")
                        .getBytes(StandardCharsets.ISO_8859_1);
        Path jsonl = writeBytes("latin1.jsonl", latin1);
        Path csv =
                writeBytes(
                        "latin1.csv",
                        "text,label\nshares,business\ncaf\u00e9 owners,business\n"
                                .getBytes(StandardCharsets.ISO_8859_1));
        fails("non-utf-8 jsonl", () -> text().distill(Dataset.fromJsonl(jsonl), params()))
                .hasMessageContaining(jsonl.toString())
                .hasMessageContaining("line 2")
                .hasMessageContaining("utf-8");
        fails("non-utf-8 csv", () -> text().distill(Dataset.fromCsv(csv), params()))
                .hasMessageContaining(csv.toString())
                .hasMessageContaining("line 3")
                .hasMessageContaining("utf-8");
    }

    @Test
    void malformedRowsNameTheFileTheLineAndTheProblem() throws IOException {
        Path notJson = write("bad.jsonl", rows(GOOD_JSONL[0], "{\"text\": oops}", GOOD_JSONL[1]));
        Path wrongType = write("type.jsonl", rows(GOOD_JSONL[0], GOOD_JSONL[1], "{\"text\": 42}"));
        Path csv = write("bad.csv", "text,label\nshares,business\nthe striker,sport,extra\n");
        fails("malformed jsonl", () -> text().distill(Dataset.fromJsonl(notJson), params()))
                .hasMessageContaining(notJson.toString())
                .hasMessageContaining("line 2");
        fails(
                        "jsonl text not a string",
                        () -> text().distill(Dataset.fromJsonl(wrongType), params()))
                .hasMessageContaining(wrongType.toString())
                .hasMessageContaining("line 3")
                .hasMessageContaining("text");
        fails("malformed csv", () -> text().distill(Dataset.fromCsv(csv), params()))
                .hasMessageContaining(csv.toString())
                .hasMessageContaining("line 3");
    }

    // ---- rows ----------------------------------------------------------------------------

    @Test
    void aTestLabelOutsideTheTrainingLabelsIsNamedWithItsLine() throws IOException {
        List<String> lines = new ArrayList<>(List.of(GOOD_JSONL));
        lines.add("{\"text\": \"rain tomorrow\", \"label\": \"weather\", \"split\": \"test\"}");
        Path jsonl = write("labels.jsonl", rows(lines.toArray(String[]::new)));
        fails(
                        "label outside the label set",
                        () ->
                                text().distill(
                                                Dataset.fromJsonl(jsonl).withSplitField("split"),
                                                params()))
                .hasMessageContaining(jsonl.toString())
                .hasMessageContaining("line 5")
                .hasMessageContaining("weather")
                .hasMessageContaining("business, sport");
    }

    @Test
    void aSingleClassIsRejectedNamingTheClass() {
        fails(
                        "single class",
                        () ->
                                text().distill(
                                                Dataset.of(
                                                        List.of("a", "b", "c"),
                                                        List.of("sport", "sport", "sport")),
                                                params()))
                .hasMessageContaining("single class")
                .hasMessageContaining("sport");
    }

    @Test
    void anOutputDirectoryThatIsNotABundleFailsBeforeAnyWork() throws IOException {
        Path other = Files.createDirectories(dir.resolve("photos"));
        Files.writeString(other.resolve("holiday.jpg"), "not a bundle");
        List<DistillationEvent> events = new ArrayList<>();
        fails(
                        "output directory holding other files",
                        () ->
                                EngineFixtures.quickDistiller(other)
                                        .addListener(events::add)
                                        .distill(EngineFixtures.smallBbc(2), params()))
                .hasMessageContaining("output_dir")
                .hasMessageContaining(other.toString());
        assertThat(events).as("events before the failure").isEmpty();
        assertThat(other.resolve("holiday.jpg")).hasContent("not a bundle");
    }

    // ---- features ------------------------------------------------------------------------

    private JboltDistiller features() {
        return new JboltDistiller()
                .setTeacherModel(EngineFixtures.fixture("encoder/tiny_features.pt"))
                .setStudentConfig(new MlpConfig().setHiddenSizes(8))
                .setOutputDir(out);
    }

    private static List<float[]> goodFeatures(int n) {
        List<float[]> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rows.add(new float[] {i, 1, 2, 3, 4});
        }
        return rows;
    }

    private static List<Integer> labels(int n, int classes) {
        List<Integer> labels = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            labels.add(i % classes);
        }
        return labels;
    }

    @Test
    void nanAndInfiniteFeaturesAreRejectedNamingTheRowAndTheValue() {
        for (float bad :
                new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            List<float[]> rows = goodFeatures(8);
            rows.get(5)[2] = bad;
            fails(
                            "feature " + bad,
                            () ->
                                    features()
                                            .distill(
                                                    Dataset.ofFeatures(rows, labels(8, 4)),
                                                    params()))
                    .hasMessageContaining("row 5, index 2")
                    .hasMessageContaining(Float.isNaN(bad) ? "NaN" : "Infinity");
        }
    }

    @Test
    void featureVectorsOfTheWrongLengthNameTheRowAndBothLengths() {
        List<float[]> rows = goodFeatures(8);
        rows.set(3, new float[] {1, 2, 3});
        fails(
                        "feature vector of the wrong length",
                        () -> features().distill(Dataset.ofFeatures(rows, labels(8, 4)), params()))
                .hasMessageContaining("row 0 has 5 values, row 3 has 3");
    }

    // ---- teachers ------------------------------------------------------------------------

    /** A copy of the MiniLM teacher directory (links to its files) without {@code leaveOut}. */
    private Path teacherCopy(String leaveOut) throws IOException {
        Path source = Models.resolve("all-MiniLM-L6-v2").path();
        Path copy = Files.createDirectories(dir.resolve("teacher-without-" + leaveOut));
        try (Stream<Path> files = Files.list(source)) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().equals(leaveOut)) {
                    Files.createSymbolicLink(copy.resolve(f.getFileName()), f.toAbsolutePath());
                }
            }
        }
        return copy;
    }

    @Test
    void aTeacherDirectoryWithoutItsWeightsNamesTheMissingFile() throws IOException {
        Path teacher = teacherCopy("model.safetensors");
        fails(
                        "teacher without model.safetensors",
                        () ->
                                text().setTeacherModel(teacher)
                                        .distill(EngineFixtures.smallBbc(2), params()))
                .hasMessageContaining(teacher.resolve("model.safetensors").toString());
    }

    @Test
    void aTeacherDirectoryWithoutItsTokenizerNamesTheMissingFile() throws IOException {
        Path teacher = teacherCopy("tokenizer.json");
        fails(
                        "teacher without tokenizer.json",
                        () ->
                                text().setTeacherModel(teacher)
                                        .distill(EngineFixtures.smallBbc(2), params()))
                .hasMessageContaining(teacher.toString())
                .hasMessageContaining("tokenizer");
    }

    @Test
    void aCorruptTeacherFileNamesTheFile() throws IOException {
        Path teacher = teacherCopy("model.safetensors");
        Files.write(teacher.resolve("model.safetensors"), new byte[] {9, 9, 9, 9, 9, 9, 9, 9, 1});
        Path badConfig = teacherCopy("config.json");
        Files.writeString(badConfig.resolve("config.json"), "{\"hidden_size\": ");
        fails(
                        "corrupt model.safetensors",
                        () ->
                                text().setTeacherModel(teacher)
                                        .distill(EngineFixtures.smallBbc(2), params()))
                .hasMessageContaining(teacher.resolve("model.safetensors").toString());
        fails(
                        "corrupt config.json",
                        () ->
                                text().setTeacherModel(badConfig)
                                        .distill(EngineFixtures.smallBbc(2), params()))
                .hasMessageContaining(badConfig.resolve("config.json").toString());
    }

    @Test
    void pickleWeightsAreRefusedWithAConversionHint() throws IOException {
        Path teacher = teacherCopy("model.safetensors");
        // The first bytes of a PyTorch zip pickle; the engine never unpickles it.
        Files.write(teacher.resolve("pytorch_model.bin"), new byte[] {'P', 'K', 3, 4, 0, 0});
        fails(
                        "pickle weights",
                        () ->
                                text().setTeacherModel(teacher)
                                        .distill(EngineFixtures.smallBbc(2), params()))
                .hasMessageContaining("pytorch_model.bin")
                .hasMessageContaining("safetensors");
    }

    @Test
    void aTorchScriptTeacherWithOtherClassesThanTheDataIsRejected() {
        Path teacher = EngineFixtures.fixture("encoder/tiny_features.pt");
        fails(
                        "torchscript teacher with 4 classes for 3 labels",
                        () ->
                                features()
                                        .distill(
                                                Dataset.ofFeatures(goodFeatures(9), labels(9, 3)),
                                                params()))
                .hasMessageContaining(teacher.toString())
                .hasMessageContaining("4 classes")
                .hasMessageContaining("3 labels");
    }

    @Test
    void aTorchScriptTeacherGivenTheWrongInputNamesTheFile() {
        Path teacher = EngineFixtures.fixture("encoder/tiny_features.pt");
        List<float[]> rows = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            rows.add(new float[] {i, 1, 2});
        }
        fails(
                        "torchscript teacher fed 3 features instead of 5",
                        () -> features().distill(Dataset.ofFeatures(rows, labels(8, 4)), params()))
                .hasMessageContaining(teacher.toString())
                .hasMessageContaining(", 3]");
    }

    // ---- student and settings ------------------------------------------------------------

    @Test
    void aStudentThatCannotBeBuiltNamesTheFieldAndTheValue() {
        fails(
                        "heads not dividing hidden size",
                        () ->
                                text().setStudentConfig(
                                                new TransformerConfig()
                                                        .setHiddenSize(100)
                                                        .setHeads(3))
                                        .distill(EngineFixtures.smallBbc(2), params()))
                .hasMessageContaining("student.heads")
                .hasMessageContaining("100")
                .hasMessageContaining("3 heads");
        fails(
                        "zero layers",
                        () ->
                                text().setStudentConfig(new TransformerConfig().setLayers(0))
                                        .distill(EngineFixtures.smallBbc(2), params()))
                .hasMessageContaining("student.layers")
                .hasMessageContaining("0");
    }

    @Test
    void absurdSettingsNameTheFieldAndTheValueInAWholeRun() {
        Dataset data = EngineFixtures.smallBbc(2);
        fails("negative learning rate", () -> text().distill(data, params().setLearningRate(-0.5)))
                .hasMessageContaining("training.learning_rate")
                .hasMessageContaining("-0.5");
        fails("zero batch size", () -> text().distill(data, params().setBatchSize(0)))
                .hasMessageContaining("training.batch_size")
                .hasMessageContaining("got 0");
        fails("temperature 0", () -> text().distill(data, params().setTemperature(0, 1)))
                .hasMessageContaining("training.temperature_start")
                .hasMessageContaining("got 0");
        fails("temperature -2", () -> text().distill(data, params().setTemperature(2, -2)))
                .hasMessageContaining("training.temperature_end")
                .hasMessageContaining("got -2");
    }
}
