package dev.jbolt.distill;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One prediction of a student model.
 *
 * @param label the most probable class
 * @param index that class's position in {@link StudentModel#labels()}
 * @param score that class's probability
 * @param probabilities every class's probability, in label order (an unmodifiable map that iterates
 *     in the order of {@link StudentModel#labels()})
 */
public record Prediction(String label, int index, float score, Map<String, Float> probabilities) {
    /**
     * Checks the components and makes {@code probabilities} an unmodifiable copy that keeps its
     * order.
     *
     * @throws NullPointerException if {@code label} or {@code probabilities} is null
     */
    public Prediction {
        Objects.requireNonNull(label, "label");
        probabilities =
                Collections.unmodifiableMap(
                        new LinkedHashMap<>(
                                Objects.requireNonNull(probabilities, "probabilities")));
    }
}
