package dev.jbolt.distill;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same real BBC rows distilled from every kind of dataset source: JSON Lines and CSV files with
 * custom field names, label folders, and in-memory lists; each run sees every row.
 */
@Tag("engine")
class DatasetSourcesTest {
    private static final int PER_TOPIC = 5;

    @TempDir static Path dir;
    private static final List<String> TEXTS = new ArrayList<>();
    private static final List<String> LABELS = new ArrayList<>();

    @BeforeAll
    static void readRows() throws IOException {
        try (Stream<Path> topics = Files.list(EngineFixtures.bbcCorpus()).sorted()) {
            for (Path topic : topics.toList()) {
                try (Stream<Path> files = Files.list(topic).sorted()) {
                    for (Path f : files.limit(PER_TOPIC).toList()) {
                        String text = Files.readString(f, StandardCharsets.ISO_8859_1);
                        TEXTS.add(text.substring(0, Math.min(300, text.length())));
                        LABELS.add(topic.getFileName().toString());
                    }
                }
            }
        }
    }

    private static DistillationResult distil(Dataset data, String name) {
        return EngineFixtures.quickDistiller(dir.resolve("student-" + name))
                .distill(data, EngineFixtures.quickParams().setEpochs(1));
    }

    private static void assertSawEveryRow(DistillationResult result) {
        int rows =
                result.json().path("n_train").asInt()
                        + result.json().path("n_validation").asInt()
                        + result.json().path("n_test").asInt()
                        + result.json().path("duplicates_dropped").asInt();
        assertThat(rows).isEqualTo(TEXTS.size());
        assertThat(result.labels())
                .containsExactly("business", "entertainment", "politics", "sports", "tech");
    }

    private static String csvField(String s) {
        return "\"" + s.replace("\"", "\"\"") + "\"";
    }

    @Test
    void aJsonLinesFileWithItsOwnFieldNamesIsRead() throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < TEXTS.size(); i++) {
            lines.add(
                    Json.MAPPER
                            .createObjectNode()
                            .put("body", TEXTS.get(i))
                            .put("topic", LABELS.get(i))
                            .toString());
        }
        Path file = Files.write(dir.resolve("rows.jsonl"), lines);

        assertSawEveryRow(
                distil(
                        Dataset.fromJsonl(file).withTextField("body").withLabelField("topic"),
                        "jsonl"));
    }

    @Test
    void aCsvFileWithItsOwnDelimiterAndColumnsIsRead() throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add("topic;body");
        for (int i = 0; i < TEXTS.size(); i++) {
            lines.add(csvField(LABELS.get(i)) + ";" + csvField(TEXTS.get(i)));
        }
        Path file = Files.write(dir.resolve("rows.csv"), lines);

        assertSawEveryRow(
                distil(
                        Dataset.fromCsv(file)
                                .withTextField("body")
                                .withLabelField("topic")
                                .withDelimiter(';'),
                        "csv"));
    }

    @Test
    void labelFoldersAreRead() throws IOException {
        Path root = dir.resolve("folders");
        for (int i = 0; i < TEXTS.size(); i++) {
            Path topic = Files.createDirectories(root.resolve(LABELS.get(i)));
            Files.writeString(topic.resolve(i + ".txt"), TEXTS.get(i));
        }

        assertSawEveryRow(distil(Dataset.fromFolders(root), "folders"));
    }

    @Test
    void inMemoryListsAreRead() {
        assertSawEveryRow(distil(Dataset.of(TEXTS, LABELS), "memory"));
    }
}
