package dev.jbolt.distill;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The request JSON built by {@link JboltDistiller} parses in the engine with every option. */
class RequestJsonTest {

    private static JsonNode engine(String json) {
        return JboltDistiller.engineView(json);
    }

    private static JsonNode tree(String json) throws Exception {
        return Json.MAPPER.readTree(json);
    }

    @Test
    void theDefaultSettingsAreExactlyTheEngineDefaults() throws Exception {
        String json =
                new JboltDistiller()
                        .setTeacherModel("all-MiniLM-L6-v2")
                        .setOutputDir(Path.of("/tmp/out"))
                        .requestJson(
                                Dataset.fromJsonl(Path.of("train.jsonl")), new TrainingParams());
        String minimal =
                "{\"teacher\":\"all-MiniLM-L6-v2\",\"train\":{\"path\":\"train.jsonl\","
                        + "\"format\":\"jsonl\"},\"output_dir\":\"/tmp/out\"}";

        assertThat(engine(json)).isEqualTo(engine(minimal));
    }

    @Test
    void everyTransformerAndTrainingOptionReachesTheEngine(@TempDir Path dir) throws Exception {
        TrainingParams params =
                new TrainingParams()
                        .setEpochs(3)
                        .setBatchSize(8)
                        .setLearningRate(1e-3)
                        .setWeightDecay(0.05)
                        .setLrWarmupShare(0.2)
                        .setGradClip(0.5)
                        .setMaxLength(64)
                        .setTemperature(6.0, 2.0)
                        .setAlpha(0.7)
                        .setAlphaEnd(0.3)
                        .setWarmupShare(0.1)
                        .setFinalHardShare(0.1)
                        .setHiddenAlignment(true)
                        .setHiddenAlignmentLoss("COSINE")
                        .setHiddenAlignmentWeight(0.25)
                        .setLayerMap(2, 4)
                        .setAttentionAlignment(true)
                        .setAttentionWeight(0.5)
                        .setEarlyStoppingPatience(0)
                        .setSeed(7)
                        .setThreads(1)
                        .setDevice("cuda:1")
                        .setOnline(true)
                        .setCacheDir(dir.resolve("cache"))
                        .setCheckpointDir(dir.resolve("ckpt"))
                        .setCheckpointEvery(50)
                        .setResume(true)
                        .setBaseline(true);
        JboltDistiller distiller =
                new JboltDistiller()
                        .setTeacherModel(dir.resolve("teacher"))
                        .setStudentConfig(
                                new TransformerConfig()
                                        .setLayers(2)
                                        .setHiddenSize(128)
                                        .setHeads(2)
                                        .setIntermediateSize(512)
                                        .setMaxPositions(64)
                                        .setInitFromTeacher(false)
                                        .setPruneVocab(false))
                        .enableQuantization(QuantType.INT8)
                        .setQuantizeEmbeddings(true)
                        .setMaxQuantizationAccuracyDrop(0.05)
                        .setValidationShare(0.15)
                        .setTestShare(0.25)
                        .setTestDataset(Dataset.fromCsv(dir.resolve("test.csv")))
                        .setOutputDir(dir.resolve("out"));
        Dataset train =
                Dataset.fromCsv(dir.resolve("train.tsv"))
                        .withTextField("body")
                        .withLabelField("topic")
                        .withFeaturesField("vec")
                        .withSplitField("part")
                        .withDelimiter(';');

        String json = distiller.requestJson(train, params);
        JsonNode e = engine(json);

        assertThat(e).isEqualTo(engine(Json.write(e)));
        assertThat(e.path("teacher").asText()).isEqualTo(dir.resolve("teacher").toString());
        assertThat(e.path("output_dir").asText()).isEqualTo(dir.resolve("out").toString());
        assertThat(e.path("validation_share").asDouble()).isEqualTo(0.15);
        assertThat(e.path("test_share").asDouble()).isEqualTo(0.25);
        assertThat(e.path("test").path("path").asText()).endsWith("test.csv");
        assertThat(e.path("test").path("format").asText()).isEqualTo("csv");
        JsonNode t = e.path("train");
        assertThat(t.path("text_field").asText()).isEqualTo("body");
        assertThat(t.path("label_field").asText()).isEqualTo("topic");
        assertThat(t.path("features_field").asText()).isEqualTo("vec");
        assertThat(t.path("split_field").asText()).isEqualTo("part");
        assertThat(t.path("csv_delimiter").asText()).isEqualTo(";");
        assertThat(e.path("student"))
                .isEqualTo(
                        tree(
                                "{\"kind\":\"transformer\",\"layers\":2,\"hidden_size\":128,"
                                        + "\"heads\":2,\"intermediate_size\":512,"
                                        + "\"max_positions\":64,\"init_from_teacher\":false,"
                                        + "\"prune_vocab\":false}"));
        assertThat(e.path("quantization"))
                .isEqualTo(
                        tree("{\"type\":\"int8\",\"embeddings\":true,\"max_accuracy_drop\":0.05}"));
        JsonNode tr = e.path("training");
        assertThat(tr)
                .isEqualTo(
                        tree(
                                "{\"epochs\":3,\"batch_size\":8,\"learning_rate\":0.001,"
                                        + "\"weight_decay\":0.05,\"lr_warmup_share\":0.2,"
                                        + "\"grad_clip\":0.5,\"max_length\":64,"
                                        + "\"temperature_start\":6.0,\"temperature_end\":2.0,"
                                        + "\"alpha\":0.7,\"alpha_end\":0.3,"
                                        + "\"hard_warmup_share\":0.1,\"final_hard_share\":0.1,"
                                        + "\"hidden_alignment\":{\"enabled\":true,"
                                        + "\"loss\":\"cosine\",\"weight\":0.25,"
                                        + "\"layer_map\":[2,4]},\"attention_alignment\":true,"
                                        + "\"attention_weight\":0.5,"
                                        + "\"early_stopping_patience\":0,\"seed\":7,"
                                        + "\"threads\":1,\"device\":\"cuda:1\",\"online\":true,"
                                        + "\"cache_dir\":\""
                                        + dir.resolve("cache")
                                        + "\",\"checkpoint_dir\":\""
                                        + dir.resolve("ckpt")
                                        + "\",\"checkpoint_every\":50,\"resume\":true,"
                                        + "\"baseline\":true}"));
    }

    @Test
    void anMlpStudentWithInlineFeatureRowsParses() {
        Dataset train =
                Dataset.ofFeatures(
                        List.of(new float[] {1f, 2f}, new float[] {3f, 4f}), List.of(1, "b"));
        String json =
                new JboltDistiller()
                        .setTeacherModel("teacher.pt")
                        .setStudentConfig(new MlpConfig().setHiddenSizes(64, 32).setDropout(0.2))
                        .requestJson(train, new TrainingParams());

        JsonNode e = engine(json);

        assertThat(e.path("student").path("kind").asText()).isEqualTo("mlp");
        assertThat(e.path("student").path("hidden_sizes").toString()).isEqualTo("[64,32]");
        assertThat(e.path("student").path("dropout").asDouble()).isEqualTo(0.2);
        assertThat(e.path("train").path("rows").toString())
                .isEqualTo(
                        "[{\"features\":[1.0,2.0],\"label\":1},{\"features\":[3.0,4.0],"
                                + "\"label\":\"b\"}]");
        assertThat(e.path("output_dir").asText()).contains("jbolt-student-");
    }

    @Test
    void inlineTextRowsKeepTheirLabelsAndUnlabelledRowsHaveNone() {
        List<String> labels = new ArrayList<>(List.of("sport", "tech"));
        labels.add(null);
        String json =
                new JboltDistiller()
                        .setTeacherModel("all-MiniLM-L6-v2")
                        .requestJson(
                                Dataset.of(List.of("goal", "chip", "hello"), labels),
                                new TrainingParams());

        assertThat(engine(json).path("train").path("rows").toString())
                .isEqualTo(
                        "[{\"text\":\"goal\",\"label\":\"sport\"},{\"text\":\"chip\","
                                + "\"label\":\"tech\"},{\"text\":\"hello\"}]");
    }

    @Test
    void aLargeInMemoryDatasetGoesThroughOneTemporaryJsonlFile() throws Exception {
        int n = Dataset.INLINE_ROW_LIMIT + 1;
        List<String> texts = new ArrayList<>(n);
        List<Integer> labels = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            texts.add("text " + i);
            labels.add(i % 2);
        }
        Dataset data = Dataset.of(texts, labels);
        JboltDistiller distiller = new JboltDistiller().setTeacherModel("all-MiniLM-L6-v2");

        JsonNode first = engine(distiller.requestJson(data, new TrainingParams()));
        JsonNode second = engine(distiller.requestJson(data, new TrainingParams()));

        Path file = Path.of(first.path("train").path("path").asText());
        assertThat(first.path("train").path("format").asText()).isEqualTo("jsonl");
        assertThat(second.path("train").path("path").asText()).isEqualTo(file.toString());
        List<String> lines = Files.readAllLines(file);
        assertThat(lines).hasSize(n);
        assertThat(tree(lines.get(3))).isEqualTo(tree("{\"text\":\"text 3\",\"label\":1}"));
    }
}
