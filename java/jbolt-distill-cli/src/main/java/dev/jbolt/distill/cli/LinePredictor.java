package dev.jbolt.distill.cli;

import dev.jbolt.distill.Prediction;
import java.nio.file.Path;

/** What {@code predict} needs from a model: one prediction per text or feature vector. */
interface LinePredictor extends AutoCloseable {
    /** Opens a bundle. */
    @FunctionalInterface
    interface Loader {
        /**
         * Opens the bundle at {@code dir}.
         *
         * @param dir the bundle directory
         * @return the predictor
         */
        LinePredictor load(Path dir);
    }

    /**
     * Classifies one text.
     *
     * @param text the text
     * @return the prediction
     */
    Prediction predictText(String text);

    /**
     * Classifies one feature vector.
     *
     * @param features the vector
     * @return the prediction
     */
    Prediction predictFeatures(float[] features);

    @Override
    void close();
}
