package dev.jbolt.distill.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jbolt.distill.Dataset;
import dev.jbolt.distill.StudentModel;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code jbolt-distill evaluate}: accuracy, macro-F1 and latency of a bundle on labelled data. */
@Command(
        name = "evaluate",
        mixinStandardHelpOptions = true,
        description = "Measure a student bundle on labelled data: accuracy, macro-F1, latency.")
final class EvaluateCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin ModelOption modelOption;

    @Option(
            names = "--data",
            required = true,
            paramLabel = "FILE",
            description = "Labelled rows (JSON Lines, CSV, or label folders).")
    Path data;

    @Mixin DataOptions dataOptions;

    @Option(names = "--json", description = "Print the evaluation JSON instead of a summary.")
    boolean json;

    @Override
    public Integer call() {
        Path model = modelOption.directory(spec);
        Dataset rows = dataOptions.open(spec, "--data", data);
        JsonNode result;
        try (StudentModel student = StudentModel.load(model)) {
            result = student.evaluate(rows);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(result.toPrettyString());
        } else {
            out.print(summary(model, data, result));
        }
        out.flush();
        return JboltDistillCli.OK;
    }

    /** The human-readable form of an evaluation JSON. */
    static String summary(Path model, Path data, JsonNode r) {
        StringBuilder s = new StringBuilder();
        s.append(
                String.format(
                        Locale.ROOT, "%s on %s: %d rows%n", model, data, r.path("n").asLong()));
        s.append(String.format(Locale.ROOT, "  accuracy   %.4f%n", r.path("accuracy").asDouble()));
        s.append(String.format(Locale.ROOT, "  macro-F1   %.4f%n", r.path("macro_f1").asDouble()));
        s.append(
                String.format(
                        Locale.ROOT,
                        "  latency    %.2f ms (batch of 1), %.2f ms (batch of 32)%n",
                        r.path("latency_ms_batch1").asDouble(),
                        r.path("latency_ms_batch32").asDouble()));
        JsonNode labels = r.path("labels");
        JsonNode perClass = r.path("per_class");
        if (perClass.isArray() && perClass.size() == labels.size() && labels.size() > 0) {
            s.append(
                    String.format(
                            Locale.ROOT,
                            "  %-16s %9s %9s %9s %8s%n",
                            "label",
                            "precision",
                            "recall",
                            "F1",
                            "support"));
            for (int i = 0; i < labels.size(); i++) {
                JsonNode c = perClass.get(i);
                s.append(
                        String.format(
                                Locale.ROOT,
                                "  %-16s %9.4f %9.4f %9.4f %8d%n",
                                labels.get(i).asText(),
                                c.path("precision").asDouble(),
                                c.path("recall").asDouble(),
                                c.path("f1").asDouble(),
                                c.path("support").asLong()));
            }
        }
        return s.toString();
    }
}
