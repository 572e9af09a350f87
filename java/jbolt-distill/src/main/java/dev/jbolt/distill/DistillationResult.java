package dev.jbolt.distill;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.OptionalDouble;

/**
 * The report of a finished distillation run, and the student bundle it wrote.
 *
 * <p>Wraps the engine's report JSON ({@link #json()}); the accessors read its most used fields.
 * Accuracies and shares are fractions in [0, 1]; a field the report lacks reads as {@code NaN} (or
 * empty, for the optional ones). Immutable and thread-safe.
 */
public final class DistillationResult {
    private final JsonNode json;

    /**
     * Wraps a report.
     *
     * @param json the report JSON (as written by the engine, or read back from {@code
     *     metrics.json})
     * @throws NullPointerException if {@code json} is null
     */
    public DistillationResult(JsonNode json) {
        this.json = Objects.requireNonNull(json, "json").deepCopy();
    }

    /**
     * Returns the full report.
     *
     * @return a copy of the report JSON
     */
    public JsonNode json() {
        return json.deepCopy();
    }

    /**
     * Returns the full report as compact JSON text.
     *
     * @return the report JSON
     */
    public String toJson() {
        return Json.write(json);
    }

    /**
     * Returns the directory of the student bundle.
     *
     * @return the bundle directory
     */
    public Path bundlePath() {
        return Path.of(json.path("bundle").asText(""));
    }

    /**
     * Loads the distilled student for inference.
     *
     * @return the model; the caller closes it
     * @throws InvalidInputException if the bundle is missing or malformed
     * @throws NativeFailureException if libtorch cannot load it
     */
    public StudentModel loadStudent() {
        return StudentModel.load(bundlePath());
    }

    /**
     * Returns the class names, in index order.
     *
     * @return the labels
     */
    public List<String> labels() {
        List<String> labels = new ArrayList<>();
        json.path("labels").forEach(l -> labels.add(l.asText()));
        return Collections.unmodifiableList(labels);
    }

    /**
     * Returns the number of training rows.
     *
     * @return the count, or 0 if absent
     */
    public long trainRows() {
        return json.path("n_train").asLong();
    }

    /**
     * Returns the number of test rows the accuracies were measured on.
     *
     * @return the count, or 0 if absent
     */
    public long testRows() {
        return json.path("n_test").asLong();
    }

    /**
     * Returns the teacher's test accuracy.
     *
     * @return the accuracy
     */
    public double teacherAccuracy() {
        return number(json.path("teacher").path("accuracy"));
    }

    /**
     * Returns the (possibly quantized) student's test accuracy.
     *
     * @return the accuracy
     */
    public double studentAccuracy() {
        return number(json.path("student").path("accuracy"));
    }

    /**
     * Returns the teacher's macro-averaged F1 on the test split.
     *
     * @return the macro F1
     */
    public double teacherMacroF1() {
        return number(json.path("teacher").path("macro_f1"));
    }

    /**
     * Returns the student's macro-averaged F1 on the test split.
     *
     * @return the macro F1
     */
    public double studentMacroF1() {
        return number(json.path("student").path("macro_f1"));
    }

    /**
     * Returns student accuracy divided by teacher accuracy.
     *
     * @return the retention
     */
    public double accuracyRetention() {
        return number(json.path("accuracy_retention"));
    }

    /**
     * Returns the share of test rows on which student and teacher predict the same class.
     *
     * @return the agreement
     */
    public double agreement() {
        return number(json.path("agreement"));
    }

    /**
     * Returns {@code 1 - student bytes / teacher bytes}.
     *
     * @return the size reduction
     */
    public double sizeReduction() {
        return number(json.path("size_reduction"));
    }

    /**
     * Returns teacher latency divided by student latency at batch size 1.
     *
     * @return the speed-up
     */
    public double speedupBatch1() {
        return number(json.path("speedup_batch1"));
    }

    /**
     * Returns teacher latency divided by student latency at batch size 32.
     *
     * @return the speed-up
     */
    public double speedupBatch32() {
        return number(json.path("speedup_batch32"));
    }

    /**
     * Returns the test accuracy of the hard-label baseline: the same architecture from random
     * initialisation, trained on hard labels only.
     *
     * @return the accuracy, empty unless {@link TrainingParams#setBaseline(boolean)} was set
     */
    public OptionalDouble baselineHardLabelAccuracy() {
        JsonNode n = json.path("baseline_hard_label_accuracy");
        return n.isNumber() ? OptionalDouble.of(n.asDouble()) : OptionalDouble.empty();
    }

    /**
     * Tells whether the saved student is int8-quantized.
     *
     * @return true when the bundle holds the int8 student
     */
    public boolean quantized() {
        return "int8".equals(json.path("student").path("quantization").asText());
    }

    /**
     * Returns the optimiser steps of the run.
     *
     * @return the steps, or 0 if absent
     */
    public long trainingSteps() {
        return json.path("training").path("steps").asLong();
    }

    /**
     * Tells whether early stopping ended training.
     *
     * @return true if training stopped early
     */
    public boolean stoppedEarly() {
        return json.path("training").path("stopped_early").asBoolean();
    }

    /**
     * Returns the wall-clock time of the whole run.
     *
     * @return seconds
     */
    public double totalSeconds() {
        return number(json.path("seconds").path("total"));
    }

    private static double number(JsonNode n) {
        return n.isNumber() ? n.asDouble() : Double.NaN;
    }

    @Override
    public String toString() {
        return "DistillationResult" + toJson();
    }
}
