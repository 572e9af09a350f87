package dev.jbolt.distill;

/**
 * Architecture of a transformer student: a smaller BERT-family encoder with mean pooling and a
 * linear classifier, for text data.
 *
 * <p>The defaults are the engine's: 4 layers, hidden size 256, 4 heads, intermediate size 1024, 128
 * positions, initialised from the teacher, vocabulary pruned to the tokens seen in training.
 * Setters return this object; values are checked when the distillation starts ({@link
 * JboltDistiller#distill}), which throws {@link InvalidInputException} naming the field (for
 * example {@code student.heads}), the value and the allowed range. Not thread-safe; the distiller
 * copies it when it is set.
 */
public final class TransformerConfig {
    private int layers = 4;
    private int hiddenSize = 256;
    private int heads = 4;
    private int intermediateSize = 1024;
    private int maxPositions = 128;
    private boolean initFromTeacher = true;
    private boolean pruneVocab = true;

    /** Creates a configuration with the engine's defaults. */
    public TransformerConfig() {}

    /** Copy constructor. */
    TransformerConfig(TransformerConfig other) {
        this.layers = other.layers;
        this.hiddenSize = other.hiddenSize;
        this.heads = other.heads;
        this.intermediateSize = other.intermediateSize;
        this.maxPositions = other.maxPositions;
        this.initFromTeacher = other.initFromTeacher;
        this.pruneVocab = other.pruneVocab;
    }

    /**
     * Sets the number of encoder layers (at least 1; default 4).
     *
     * @param layers the layer count
     * @return this configuration
     */
    public TransformerConfig setLayers(int layers) {
        this.layers = layers;
        return this;
    }

    /**
     * Sets the hidden size (at least 1, a multiple of the head count; default 256).
     *
     * @param hiddenSize the hidden size
     * @return this configuration
     */
    public TransformerConfig setHiddenSize(int hiddenSize) {
        this.hiddenSize = hiddenSize;
        return this;
    }

    /**
     * Sets the number of attention heads (at least 1, dividing the hidden size; default 4).
     *
     * @param heads the head count
     * @return this configuration
     */
    public TransformerConfig setHeads(int heads) {
        this.heads = heads;
        return this;
    }

    /**
     * Sets the feed-forward inner size (at least 1; default 1024).
     *
     * @param intermediateSize the inner size
     * @return this configuration
     */
    public TransformerConfig setIntermediateSize(int intermediateSize) {
        this.intermediateSize = intermediateSize;
        return this;
    }

    /**
     * Sets the number of position embeddings (at least 2 and at least {@link
     * TrainingParams#setMaxLength(int)}; default 128).
     *
     * @param maxPositions the position count
     * @return this configuration
     */
    public TransformerConfig setMaxPositions(int maxPositions) {
        this.maxPositions = maxPositions;
        return this;
    }

    /**
     * Initialises the student from the teacher's weights (default true): embeddings and every k-th
     * layer when the widths match, a projection of them otherwise.
     *
     * @param initFromTeacher whether to initialise from the teacher
     * @return this configuration
     */
    public TransformerConfig setInitFromTeacher(boolean initFromTeacher) {
        this.initFromTeacher = initFromTeacher;
        return this;
    }

    /**
     * Keeps only the vocabulary rows seen in the training texts (default true); unseen tokens map
     * to the student's {@code [UNK]} row.
     *
     * @param pruneVocab whether to prune the vocabulary
     * @return this configuration
     */
    public TransformerConfig setPruneVocab(boolean pruneVocab) {
        this.pruneVocab = pruneVocab;
        return this;
    }

    /**
     * Returns the number of encoder layers.
     *
     * @return the layer count
     */
    public int getLayers() {
        return layers;
    }

    /**
     * Returns the hidden size.
     *
     * @return the hidden size
     */
    public int getHiddenSize() {
        return hiddenSize;
    }

    /**
     * Returns the number of attention heads.
     *
     * @return the head count
     */
    public int getHeads() {
        return heads;
    }

    /**
     * Returns the feed-forward inner size.
     *
     * @return the inner size
     */
    public int getIntermediateSize() {
        return intermediateSize;
    }

    /**
     * Returns the number of position embeddings.
     *
     * @return the position count
     */
    public int getMaxPositions() {
        return maxPositions;
    }

    /**
     * Tells whether the student starts from the teacher's weights.
     *
     * @return true to initialise from the teacher
     */
    public boolean isInitFromTeacher() {
        return initFromTeacher;
    }

    /**
     * Tells whether the vocabulary is pruned to the training tokens.
     *
     * @return true to prune
     */
    public boolean isPruneVocab() {
        return pruneVocab;
    }

    /**
     * Writes the request's {@code student} section.
     *
     * @throws InvalidInputException for a negative size
     */
    void writeJson(com.fasterxml.jackson.databind.node.ObjectNode out) {
        Checks.atLeast("student.layers", layers, 1);
        Checks.atLeast("student.hidden_size", hiddenSize, 1);
        Checks.atLeast("student.heads", heads, 1);
        Checks.atLeast("student.intermediate_size", intermediateSize, 1);
        Checks.atLeast("student.max_positions", maxPositions, 2);
        out.put("kind", "transformer");
        out.put("layers", layers);
        out.put("hidden_size", hiddenSize);
        out.put("heads", heads);
        out.put("intermediate_size", intermediateSize);
        out.put("max_positions", maxPositions);
        out.put("init_from_teacher", initFromTeacher);
        out.put("prune_vocab", pruneVocab);
    }

    @Override
    public String toString() {
        return "TransformerConfig{layers="
                + layers
                + ", hiddenSize="
                + hiddenSize
                + ", heads="
                + heads
                + ", intermediateSize="
                + intermediateSize
                + ", maxPositions="
                + maxPositions
                + ", initFromTeacher="
                + initFromTeacher
                + ", pruneVocab="
                + pruneVocab
                + "}";
    }
}
