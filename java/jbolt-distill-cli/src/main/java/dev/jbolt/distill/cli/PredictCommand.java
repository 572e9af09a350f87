package dev.jbolt.distill.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jbolt.distill.InvalidInputException;
import dev.jbolt.distill.Prediction;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code jbolt-distill predict}: JSON Lines on standard input, one prediction per line on standard
 * output.
 */
@Command(
        name = "predict",
        mixinStandardHelpOptions = true,
        description = {
            "Classify JSON Lines read from standard input with a student bundle.",
            "Each line is {\"text\": \"...\"} (text students) or {\"features\": [..]} (feature"
                    + " students); an \"id\" field is copied to the output. Each answer is one"
                    + " line {\"label\", \"index\", \"score\", \"probabilities\"}. Blank lines"
                    + " are skipped; a bad line stops the run with its line number (status 2)."
        })
final class PredictCommand implements Callable<Integer> {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Spec CommandSpec spec;

    @ParentCommand JboltDistillCli parent;

    @Mixin ModelOption modelOption;

    @Override
    public Integer call() {
        Path model = modelOption.directory(spec);
        PrintWriter out = spec.commandLine().getOut();
        BufferedReader in =
                new BufferedReader(new InputStreamReader(parent.stdin(), StandardCharsets.UTF_8));
        try (LinePredictor predictor = parent.modelLoader().load(model)) {
            long lineNo = 0;
            String line;
            while ((line = in.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                out.println(answer(predictor, line, lineNo));
                out.flush();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read standard input", e);
        }
        return JboltDistillCli.OK;
    }

    private static String answer(LinePredictor predictor, String line, long lineNo) {
        JsonNode node;
        try {
            node = MAPPER.readTree(line);
        } catch (JsonProcessingException e) {
            throw bad(lineNo, "not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (node == null || !node.isObject()) {
            throw bad(lineNo, "expected a JSON object with \"text\" or \"features\"");
        }
        Prediction p;
        try {
            JsonNode text = node.get("text");
            JsonNode features = node.get("features");
            if (text != null && text.isTextual()) {
                p = predictor.predictText(text.asText());
            } else if (text != null) {
                throw bad(lineNo, "\"text\" must be a string, got " + text.getNodeType());
            } else if (features != null) {
                p = predictor.predictFeatures(floats(features, lineNo));
            } else {
                throw bad(lineNo, "expected a \"text\" or a \"features\" field");
            }
        } catch (InvalidInputException e) {
            throw new BadInputException(
                    "Bad input on standard input, line " + lineNo + ": " + e.getMessage(), e);
        }
        ObjectNode result = MAPPER.createObjectNode();
        JsonNode id = node.get("id");
        if (id != null) {
            result.set("id", id);
        }
        result.put("label", p.label());
        result.put("index", p.index());
        result.put("score", p.score());
        ObjectNode probabilities = result.putObject("probabilities");
        for (Map.Entry<String, Float> e : p.probabilities().entrySet()) {
            probabilities.put(e.getKey(), e.getValue());
        }
        return result.toString();
    }

    private static float[] floats(JsonNode features, long lineNo) {
        if (!features.isArray() || features.isEmpty()) {
            throw bad(lineNo, "\"features\" must be a non-empty array of numbers");
        }
        float[] values = new float[features.size()];
        for (int i = 0; i < values.length; i++) {
            JsonNode v = features.get(i);
            if (!v.isNumber()) {
                throw bad(lineNo, "\"features\"[" + i + "] is not a number: " + v);
            }
            values[i] = (float) v.asDouble();
        }
        return values;
    }

    private static BadInputException bad(long lineNo, String what) {
        return new BadInputException("Bad input on standard input, line " + lineNo + ": " + what);
    }
}
