package dev.jbolt.distill;

import java.util.Arrays;
import java.util.Objects;

/**
 * Architecture of a multi-layer perceptron student, for feature-vector data (or text through the
 * teacher's embeddings).
 *
 * <p>The defaults are the engine's: one hidden layer of 256 units and dropout 0.1. Setters return
 * this object; values are checked when the distillation starts ({@link JboltDistiller#distill}),
 * which throws {@link InvalidInputException} naming the field (for example {@code
 * student.hidden_sizes[0]}), the value and the allowed range. Not thread-safe; the distiller copies
 * it when it is set.
 */
public final class MlpConfig {
    private int[] hiddenSizes = {256};
    private double dropout = 0.1;

    /** Creates a configuration with the engine's defaults. */
    public MlpConfig() {}

    /** Copy constructor. */
    MlpConfig(MlpConfig other) {
        this.hiddenSizes = other.hiddenSizes.clone();
        this.dropout = other.dropout;
    }

    /**
     * Sets the sizes of the hidden layers, each at least 1 (default {@code [256]}); no sizes make a
     * linear model.
     *
     * @param hiddenSizes the layer sizes, input side first
     * @return this configuration
     * @throws NullPointerException if {@code hiddenSizes} is null
     */
    public MlpConfig setHiddenSizes(int... hiddenSizes) {
        this.hiddenSizes = Objects.requireNonNull(hiddenSizes, "hiddenSizes").clone();
        return this;
    }

    /**
     * Sets the dropout after each hidden layer, in [0, 1) (default 0.1).
     *
     * @param dropout the dropout probability
     * @return this configuration
     */
    public MlpConfig setDropout(double dropout) {
        this.dropout = dropout;
        return this;
    }

    /**
     * Returns a copy of the hidden layer sizes.
     *
     * @return the sizes
     */
    public int[] getHiddenSizes() {
        return hiddenSizes.clone();
    }

    /**
     * Returns the dropout probability.
     *
     * @return the dropout
     */
    public double getDropout() {
        return dropout;
    }

    /**
     * Writes the request's {@code student} section.
     *
     * @throws InvalidInputException for a negative size
     */
    void writeJson(com.fasterxml.jackson.databind.node.ObjectNode out) {
        out.put("kind", "mlp");
        com.fasterxml.jackson.databind.node.ArrayNode sizes = out.putArray("hidden_sizes");
        for (int i = 0; i < hiddenSizes.length; i++) {
            Checks.atLeast("student.hidden_sizes[" + i + "]", hiddenSizes[i], 1);
            sizes.add(hiddenSizes[i]);
        }
        out.put("dropout", dropout);
    }

    @Override
    public String toString() {
        return "MlpConfig{hiddenSizes="
                + Arrays.toString(hiddenSizes)
                + ", dropout="
                + dropout
                + "}";
    }
}
