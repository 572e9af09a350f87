package dev.jbolt.distill.spring;

/**
 * Told about every prediction that {@link ServedModel} serves (the starter's Micrometer metrics are
 * one).
 *
 * <p>Called on the predicting thread after each call; keep it quick and never throw.
 */
@FunctionalInterface
public interface PredictionObserver {
    /**
     * Records one call.
     *
     * @param items texts or feature rows in the call
     * @param nanos wall-clock time of the call
     * @param success false if the call threw
     */
    void onPrediction(int items, long nanos, boolean success);
}
