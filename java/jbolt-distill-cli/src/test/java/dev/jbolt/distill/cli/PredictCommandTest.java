package dev.jbolt.distill.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jbolt.distill.InvalidInputException;
import dev.jbolt.distill.Prediction;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code predict} with a stand-in model, so the line handling is tested without the engine. */
class PredictCommandTest {
    @TempDir Path bundle;

    /** Says "long" for texts over 10 characters, else "short"; features: sign of the sum. */
    static final class FakeModel implements LinePredictor {
        final List<String> seen = new ArrayList<>();
        boolean closed;

        @Override
        public Prediction predictText(String text) {
            seen.add(text);
            return prediction(text.length() > 10 ? 1 : 0);
        }

        @Override
        public Prediction predictFeatures(float[] features) {
            if (features.length != 2) {
                throw new InvalidInputException(
                        "INVALID_INPUT",
                        "Feature vector has " + features.length + " values, expected 2");
            }
            return prediction(features[0] + features[1] > 0 ? 1 : 0);
        }

        private static Prediction prediction(int index) {
            Map<String, Float> p = new LinkedHashMap<>();
            p.put("short", index == 0 ? 0.75f : 0.25f);
            p.put("long", index == 1 ? 0.75f : 0.25f);
            return new Prediction(index == 0 ? "short" : "long", index, 0.75f, p);
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    private CliRun predict(String stdin, FakeModel model) {
        return CliRun.withInput(stdin, dir -> model, "predict", "--model", bundle.toString());
    }

    @Test
    void eachInputLineGetsOneJsonPredictionLine() {
        FakeModel model = new FakeModel();
        CliRun run =
                predict(
                        "{\"text\": \"hi\"}\n\n{\"id\": 7, \"text\": \"a much longer text\"}\n"
                                + "{\"features\": [1, -0.5]}\n",
                        model);

        assertThat(run.status()).as(run.err()).isZero();
        assertThat(run.out().lines())
                .containsExactly(
                        "{\"label\":\"short\",\"index\":0,\"score\":0.75,\"probabilities\":"
                                + "{\"short\":0.75,\"long\":0.25}}",
                        "{\"id\":7,\"label\":\"long\",\"index\":1,\"score\":0.75,\"probabilities\":"
                                + "{\"short\":0.25,\"long\":0.75}}",
                        "{\"label\":\"long\",\"index\":1,\"score\":0.75,\"probabilities\":"
                                + "{\"short\":0.25,\"long\":0.75}}");
        assertThat(model.seen).containsExactly("hi", "a much longer text");
        assertThat(model.closed).isTrue();
    }

    @Test
    void aLineThatIsNotJsonIsReportedWithItsLineNumberAndStatusTwo() {
        FakeModel model = new FakeModel();
        CliRun run =
                predict("{\"text\": \"one\"}\n\n{\"text\": oops}\n{\"text\": \"four\"}\n", model);

        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).startsWith("Bad input on standard input, line 3: not valid JSON");
        assertThat(run.out().lines()).hasSize(1);
        assertThat(model.seen).containsExactly("one");
        assertThat(model.closed).isTrue();
    }

    @Test
    void aLineWithoutTextOrFeaturesIsReportedWithItsLineNumber() {
        CliRun run = predict("{\"text\": \"a\"}\n{\"body\": \"b\"}\n", new FakeModel());

        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("line 2: expected a \"text\" or a \"features\" field");
    }

    @Test
    void wrongTypesAreReportedWithTheLineNumber() {
        assertThat(predict("{\"text\": 5}\n", new FakeModel()).err())
                .contains("line 1: \"text\" must be a string, got NUMBER");
        assertThat(predict("[1]\n", new FakeModel()).err())
                .contains("line 1: expected a JSON object");
        assertThat(predict("{\"features\": [1, \"x\"]}\n", new FakeModel()).err())
                .contains("line 1: \"features\"[1] is not a number: \"x\"");
    }

    @Test
    void inputTheModelRejectsIsReportedWithTheLineNumber() {
        CliRun run =
                predict("{\"features\": [1, 2]}\n{\"features\": [1, 2, 3]}\n", new FakeModel());

        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("line 2: Feature vector has 3 values, expected 2");
    }

    @Test
    void aMissingBundleDirectoryIsAUsageError() {
        CliRun run =
                CliRun.withInput(
                        "",
                        dir -> new FakeModel(),
                        "predict",
                        "--model",
                        bundle.resolve("x").toString());

        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("'--model': no such directory: " + bundle.resolve("x"));
    }
}
