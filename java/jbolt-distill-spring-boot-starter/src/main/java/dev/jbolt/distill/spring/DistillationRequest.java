package dev.jbolt.distill.spring;

import dev.jbolt.distill.Dataset;
import dev.jbolt.distill.JboltDistiller;
import dev.jbolt.distill.MlpConfig;
import dev.jbolt.distill.QuantType;
import dev.jbolt.distill.TrainingParams;
import dev.jbolt.distill.TransformerConfig;
import java.nio.file.Path;
import java.util.Objects;

/**
 * What a {@link DistillationService} job distils: the data, the teacher, the student and the
 * training settings, and whether to serve the result.
 *
 * <p>Unset fields take the {@link JboltDistiller} defaults, except the teacher ({@code
 * jbolt.distill.distillation.teacher}), the output directory ({@code
 * jbolt.distill.distillation.output-dir}) and the swap ({@code
 * jbolt.distill.distillation.swap-when-done}), which take the service's settings. Setters return
 * this object; the service reads the request when the job is submitted.
 */
public final class DistillationRequest {
    private final Dataset train;
    private String teacher;
    private TransformerConfig transformer;
    private MlpConfig mlp;
    private TrainingParams training = new TrainingParams();
    private QuantType quantization;
    private Path outputDir;
    private Dataset test;
    private Boolean swapWhenDone;

    private DistillationRequest(Dataset train) {
        this.train = Objects.requireNonNull(train, "train");
    }

    /**
     * Starts a request.
     *
     * @param train the training data (validation and test rows are carved out of it unless a test
     *     set is given)
     * @return the request
     */
    public static DistillationRequest of(Dataset train) {
        return new DistillationRequest(train);
    }

    /** Sets the teacher (name in the model home, directory or TorchScript file). */
    public DistillationRequest teacher(String teacher) {
        this.teacher = teacher;
        return this;
    }

    /** Uses a transformer student with this architecture (the default student kind). */
    public DistillationRequest student(TransformerConfig config) {
        this.transformer = Objects.requireNonNull(config, "config");
        this.mlp = null;
        return this;
    }

    /** Uses an MLP student with this architecture. */
    public DistillationRequest student(MlpConfig config) {
        this.mlp = Objects.requireNonNull(config, "config");
        this.transformer = null;
        return this;
    }

    /** Sets the training settings (default: {@code new TrainingParams()}). */
    public DistillationRequest training(TrainingParams params) {
        this.training = Objects.requireNonNull(params, "params");
        return this;
    }

    /** Sets the post-training quantization (default {@link QuantType#NONE}). */
    public DistillationRequest quantization(QuantType type) {
        this.quantization = type;
        return this;
    }

    /** Sets the bundle directory of this job (default: see the class comment). */
    public DistillationRequest outputDir(Path dir) {
        this.outputDir = dir;
        return this;
    }

    /** Sets a separate test set. */
    public DistillationRequest testDataset(Dataset test) {
        this.test = test;
        return this;
    }

    /** Whether the distilled student replaces the served model when the job succeeds. */
    public DistillationRequest swapWhenDone(boolean swap) {
        this.swapWhenDone = swap;
        return this;
    }

    Dataset train() {
        return train;
    }

    TrainingParams trainingParams() {
        return training;
    }

    String teacherOr(String fallback) {
        return teacher != null ? teacher : fallback;
    }

    boolean swapWhenDoneOr(boolean fallback) {
        return swapWhenDone != null ? swapWhenDone : fallback;
    }

    Path outputDirOr(Path fallback) {
        return outputDir != null ? outputDir : fallback;
    }

    /** Applies the student, quantization and test set to a fresh distiller. */
    void configure(JboltDistiller distiller) {
        if (transformer != null) {
            distiller.setStudentConfig(transformer);
        }
        if (mlp != null) {
            distiller.setStudentConfig(mlp);
        }
        if (quantization != null) {
            distiller.enableQuantization(quantization);
        }
        if (test != null) {
            distiller.setTestDataset(test);
        }
    }

    @Override
    public String toString() {
        return "DistillationRequest{train="
                + train
                + ", teacher="
                + teacher
                + ", student="
                + (mlp != null ? "mlp" : "transformer")
                + ", training="
                + training
                + "}";
    }
}
