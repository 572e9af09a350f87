package dev.jbolt.distill;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A distillation killed at a random step (SIGKILL of its JVM, not a cancel) and resumed from its
 * last checkpoint ends exactly where an uninterrupted run ends.
 */
@Tag("engine")
class InterruptionTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** 8 articles per BBC topic cut to 300 characters, as JSON Lines. */
    static Path bbcSubset(Path dir) throws IOException {
        List<String> lines = new ArrayList<>();
        try (Stream<Path> topics = Files.list(EngineFixtures.bbcCorpus()).sorted()) {
            for (Path topic : topics.toList()) {
                try (Stream<Path> files = Files.list(topic).sorted()) {
                    for (Path f : files.limit(8).toList()) {
                        String text = Files.readString(f, StandardCharsets.ISO_8859_1);
                        ObjectNode row = JSON.createObjectNode();
                        row.put("text", text.substring(0, Math.min(300, text.length())));
                        row.put("label", topic.getFileName().toString());
                        lines.add(JSON.writeValueAsString(row));
                    }
                }
            }
        }
        return Files.write(dir.resolve("bbc.jsonl"), lines);
    }

    @Test
    void aRunKilledAtARandomStepResumesFromItsCheckpointAndEndsWithTheSameResult(@TempDir Path dir)
            throws Exception {
        Path data = bbcSubset(dir);
        long seed = System.nanoTime();
        // 32 training rows in batches of 8 for 3 epochs: 12 steps; kill after 1 to 10 of them.
        int killAfter = 1 + new SplittableRandom(seed).nextInt(10);
        System.out.println("interruption: seed " + seed + ", kill after step " + killAfter);

        JsonNode whole;
        JsonNode resumed;
        Path resumedCheckpoints = dir.resolve("ckpt");
        try (ChildJvm uninterrupted =
                        new ChildJvm(
                                dir,
                                "run",
                                data.toString(),
                                dir.resolve("whole").toString(),
                                dir.resolve("whole-ckpt").toString());
                ChildJvm victim =
                        new ChildJvm(
                                dir,
                                "run",
                                data.toString(),
                                dir.resolve("resumed").toString(),
                                resumedCheckpoints.toString())) {
            String line;
            while ((line = victim.nextLine()) != null && !line.equals("step " + killAfter)) {
                assertThat(line).as(victim.output()).doesNotStartWith("report ");
            }
            assertThat(line).as("killed at the chosen step\n%s", victim.output()).isNotNull();
            victim.kill();
            assertThat(victim.report()).as("the killed run did not finish").isNull();
            try (Stream<Path> kept = Files.list(resumedCheckpoints)) {
                List<String> names = kept.map(p -> p.getFileName().toString()).sorted().toList();
                System.out.println("interruption: checkpoints after the kill " + names);
                assertThat(names).anyMatch(n -> n.startsWith("step-"));
            }

            try (ChildJvm resume =
                    new ChildJvm(
                            dir,
                            "resume",
                            data.toString(),
                            dir.resolve("resumed").toString(),
                            resumedCheckpoints.toString())) {
                assertThat(resume.finish(300)).as(resume.output()).isZero();
                assertThat(resume.output()).doesNotContain(ChildJvm.JNI_WARNING);
                resumed = JSON.readTree(resume.report());
            }
            assertThat(uninterrupted.finish(300)).as(uninterrupted.output()).isZero();
            assertThat(uninterrupted.output()).doesNotContain(ChildJvm.JNI_WARNING);
            whole = JSON.readTree(uninterrupted.report());
        }

        System.out.println("interruption: uninterrupted " + metrics(whole));
        System.out.println("interruption: resumed       " + metrics(resumed));
        assertThat(resumed.at("/training/resumed").asBoolean()).isTrue();
        assertThat(whole.at("/training/resumed").asBoolean()).isFalse();
        assertThat(metrics(resumed)).isEqualTo(metrics(whole));
        // One intra-op thread and a fixed seed make the resumed run exact, bit for bit.
        assertThat(dir.resolve("resumed").resolve("model.safetensors"))
                .hasSameBinaryContentAs(dir.resolve("whole").resolve("model.safetensors"));
    }

    /** The report's fields that do not depend on timing. */
    private static String metrics(JsonNode report) {
        ObjectNode m = JSON.createObjectNode();
        for (String path :
                List.of(
                        "/n_train",
                        "/n_validation",
                        "/n_test",
                        "/teacher/accuracy",
                        "/student/accuracy",
                        "/student/macro_f1",
                        "/student/params",
                        "/student/bytes",
                        "/agreement",
                        "/accuracy_retention",
                        "/training/steps",
                        "/training/epochs_run",
                        "/training/best_val_accuracy",
                        "/training/best_epoch",
                        "/training/stopped_early")) {
            m.set(path, report.at(path));
        }
        return m.toString();
    }
}
