package dev.jbolt.distill;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Objects;

/**
 * One progress record of a distillation run.
 *
 * <p>The engine sends one per training step and one at the start and end of each stage. Stages, in
 * the order a run goes through them (a run skips those it does not need): {@code load}, {@code
 * teacher_head}, {@code teacher_cache}, {@code warmup}, {@code distill}, {@code final}, {@code
 * baseline}, {@code quantize}, {@code evaluate}, {@code save}, {@code done}.
 *
 * @param stage the stage, snake_case as listed above
 * @param epoch the epoch, counted from 1 (0 outside training)
 * @param step optimiser steps done so far in this training run
 * @param totalSteps optimiser steps the training run makes in total
 * @param loss total loss of the last step
 * @param softLoss soft (teacher) part of the loss
 * @param hardLoss hard-label part of the loss
 * @param hiddenLoss hidden-state alignment part of the loss
 * @param temperature distillation temperature at this step
 * @param alpha weight of the soft loss at this step
 * @param learningRate learning rate at this step
 * @param examplesPerSecond training throughput over the last step
 * @param validationAccuracy validation accuracy when it was measured at this event, else null
 * @param message a note (stage summaries, warnings), or null
 */
public record DistillationEvent(
        String stage,
        int epoch,
        long step,
        long totalSteps,
        double loss,
        double softLoss,
        double hardLoss,
        double hiddenLoss,
        double temperature,
        double alpha,
        double learningRate,
        double examplesPerSecond,
        Double validationAccuracy,
        String message) {

    /** Stage name of the last event of a successful run. */
    public static final String STAGE_DONE = "done";

    /**
     * Checks the components.
     *
     * @throws NullPointerException if {@code stage} is null
     */
    public DistillationEvent {
        Objects.requireNonNull(stage, "stage");
    }

    /** Builds an event from the engine's event JSON (serde of {@code distill::events::Event}). */
    static DistillationEvent fromJson(JsonNode n) {
        JsonNode val = n.path("val_accuracy");
        JsonNode msg = n.path("message");
        return new DistillationEvent(
                n.path("stage").asText(""),
                n.path("epoch").asInt(),
                n.path("step").asLong(),
                n.path("total_steps").asLong(),
                n.path("loss").asDouble(),
                n.path("soft_loss").asDouble(),
                n.path("hard_loss").asDouble(),
                n.path("hidden_loss").asDouble(),
                n.path("temperature").asDouble(),
                n.path("alpha").asDouble(),
                n.path("lr").asDouble(),
                n.path("examples_per_sec").asDouble(),
                val.isNumber() ? val.asDouble() : null,
                msg.isTextual() ? msg.asText() : null);
    }
}
