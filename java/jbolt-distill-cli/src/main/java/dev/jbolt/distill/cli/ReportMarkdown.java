package dev.jbolt.distill.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Renders the engine's distillation report JSON (the contract's report) as a Markdown summary.
 *
 * <p>The same text is written to {@code report.md} and printed at the end of a run. Missing fields
 * print as {@code n/a}, so a partial report still renders.
 */
final class ReportMarkdown {
    private static final String NA = "n/a";

    private ReportMarkdown() {}

    /**
     * Renders a report.
     *
     * @param r the report JSON
     * @return the Markdown text
     */
    static String render(JsonNode r) {
        StringBuilder s = new StringBuilder();
        JsonNode teacher = r.path("teacher");
        JsonNode student = r.path("student");
        JsonNode fp32 = r.path("student_fp32");
        boolean hasFp32 = fp32.isObject();

        s.append("# Distillation report");
        if (r.path("dataset").isTextual()) {
            s.append(": ").append(r.path("dataset").asText());
        }
        s.append("\n\n");
        s.append("Teacher `")
                .append(teacher.path("name").asText(NA))
                .append("` (")
                .append(teacher.path("format").asText(NA))
                .append(", ")
                .append(headText(teacher.path("head").asText("")))
                .append(") distilled into a ")
                .append(student.path("kind").asText(NA))
                .append(" student (")
                .append(quantText(student.path("quantization").asText("none")))
                .append(").\n");
        s.append(
                String.format(
                        Locale.ROOT,
                        "Rows: %s train, %s validation, %s test; %d labels: %s.%n%n",
                        count(r.path("n_train")),
                        count(r.path("n_validation")),
                        count(r.path("n_test")),
                        r.path("labels").size(),
                        join(r.path("labels"))));

        s.append("| | teacher | student (")
                .append(quantText(student.path("quantization").asText("none")))
                .append(")");
        if (hasFp32) {
            s.append(" | student (fp32)");
        }
        s.append(" |\n|---|---:|---:|");
        if (hasFp32) {
            s.append("---:|");
        }
        s.append("\n");
        row(s, "parameters", hasFp32, teacher, student, fp32, n -> count(n.path("params")));
        row(s, "size", hasFp32, teacher, student, fp32, n -> megabytes(n.path("bytes")));
        row(s, "accuracy", hasFp32, teacher, student, fp32, n -> percent(n.path("accuracy")));
        row(s, "macro-F1", hasFp32, teacher, student, fp32, n -> fixed(n.path("macro_f1"), 4));
        row(
                s,
                "latency, batch of 1",
                hasFp32,
                teacher,
                student,
                fp32,
                n -> millis(n.path("latency_ms_batch1")));
        row(
                s,
                "latency, batch of 32",
                hasFp32,
                teacher,
                student,
                fp32,
                n -> millis(n.path("latency_ms_batch32")));

        s.append("\n## Student against teacher\n\n");
        s.append("- accuracy retention: ")
                .append(percent(r.path("accuracy_retention")))
                .append(" (student accuracy / teacher accuracy)\n");
        s.append("- size reduction: ")
                .append(percent(r.path("size_reduction")))
                .append(" (1 - student bytes / teacher bytes)\n");
        s.append("- speed-up: ")
                .append(times(r.path("speedup_batch1")))
                .append(" at batch 1, ")
                .append(times(r.path("speedup_batch32")))
                .append(" at batch 32\n");
        s.append("- agreement with the teacher's predictions: ")
                .append(percent(r.path("agreement")))
                .append("\n");
        JsonNode baseline = r.path("baseline_hard_label_accuracy");
        if (baseline.isNumber()) {
            s.append(
                            "- hard-label baseline (the same architecture from random initialisation, trained"
                                    + " on labels only): ")
                    .append(percent(baseline))
                    .append(" accuracy; distillation ")
                    .append(points(student.path("accuracy"), baseline))
                    .append("\n");
        } else {
            s.append("- hard-label baseline: not trained (use --baseline)\n");
        }
        s.append("- int8 check: ").append(int8Text(r.path("quantization"), student)).append("\n");

        JsonNode t = r.path("training");
        s.append("\n## Training\n\n");
        s.append(
                String.format(
                        Locale.ROOT,
                        "%s steps, %s epochs run; best validation accuracy %s at epoch %s;"
                                + " stopped early: %s; resumed from a checkpoint: %s.%n",
                        count(t.path("steps")),
                        count(t.path("epochs_run")),
                        percent(t.path("best_val_accuracy")),
                        count(t.path("best_epoch")),
                        yesNo(t.path("stopped_early")),
                        yesNo(t.path("resumed"))));

        s.append("\n## Time per stage\n\n| stage | seconds |\n|---|---:|\n");
        Iterator<Map.Entry<String, JsonNode>> stages = r.path("seconds").fields();
        while (stages.hasNext()) {
            Map.Entry<String, JsonNode> e = stages.next();
            String name = e.getKey().replace('_', ' ');
            String value = fixed(e.getValue(), 1);
            if (e.getKey().equals("total")) {
                s.append("| **total** | **").append(value).append("** |\n");
            } else {
                s.append("| ").append(name).append(" | ").append(value).append(" |\n");
            }
        }
        if (r.path("bundle").isTextual()) {
            s.append("\nStudent bundle: `").append(r.path("bundle").asText()).append("`\n");
        }
        return s.toString();
    }

    private interface Cell {
        String of(JsonNode model);
    }

    private static void row(
            StringBuilder s,
            String name,
            boolean hasFp32,
            JsonNode teacher,
            JsonNode student,
            JsonNode fp32,
            Cell cell) {
        s.append("| ").append(name).append(" | ").append(cell.of(teacher));
        s.append(" | ").append(cell.of(student));
        if (hasFp32) {
            s.append(" | ").append(cell.of(fp32));
        }
        s.append(" |\n");
    }

    private static String headText(String head) {
        return switch (head) {
            case "own" -> "its own classification head";
            case "fitted" -> "head fitted on its frozen features";
            default -> "head " + (head.isEmpty() ? NA : head);
        };
    }

    private static String quantText(String q) {
        return q.equals("int8") ? "int8" : "fp32";
    }

    private static String int8Text(JsonNode q, JsonNode student) {
        if (!q.isObject()) {
            return "not quantized";
        }
        boolean kept = "int8".equals(student.path("quantization").asText());
        double drop = q.path("fp32_accuracy").asDouble() - q.path("int8_accuracy").asDouble();
        return String.format(
                Locale.ROOT,
                "fp32 accuracy %s, int8 accuracy %s, agreement %s, drop %.2f points (largest"
                        + " accepted %.2f): %s",
                percent(q.path("fp32_accuracy")),
                percent(q.path("int8_accuracy")),
                percent(q.path("agreement")),
                drop * 100,
                q.path("max_accuracy_drop").asDouble() * 100,
                kept ? "int8 student kept" : "drop too large, fp32 student kept");
    }

    private static String points(JsonNode student, JsonNode baseline) {
        if (!student.isNumber()) {
            return "compared: " + NA;
        }
        double diff = (student.asDouble() - baseline.asDouble()) * 100;
        return String.format(
                Locale.ROOT, "%s %.2f points", diff >= 0 ? "adds" : "loses", Math.abs(diff));
    }

    private static String join(JsonNode labels) {
        List<String> out = new ArrayList<>();
        labels.forEach(l -> out.add(l.asText()));
        return out.isEmpty() ? NA : String.join(", ", out);
    }

    private static String yesNo(JsonNode b) {
        return b.isBoolean() ? (b.asBoolean() ? "yes" : "no") : NA;
    }

    static String count(JsonNode n) {
        return n.isNumber() ? String.format(Locale.ROOT, "%,d", n.asLong()) : NA;
    }

    static String megabytes(JsonNode n) {
        return n.isNumber() ? String.format(Locale.ROOT, "%.1f MB", n.asDouble() / 1e6) : NA;
    }

    static String percent(JsonNode n) {
        return n.isNumber() ? String.format(Locale.ROOT, "%.2f %%", n.asDouble() * 100) : NA;
    }

    static String fixed(JsonNode n, int decimals) {
        return n.isNumber() ? String.format(Locale.ROOT, "%." + decimals + "f", n.asDouble()) : NA;
    }

    static String millis(JsonNode n) {
        return n.isNumber() ? String.format(Locale.ROOT, "%.2f ms", n.asDouble()) : NA;
    }

    static String times(JsonNode n) {
        return n.isNumber() ? String.format(Locale.ROOT, "%.2fx", n.asDouble()) : NA;
    }
}
