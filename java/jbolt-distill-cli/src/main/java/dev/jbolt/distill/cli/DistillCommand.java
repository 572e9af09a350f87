package dev.jbolt.distill.cli;

import dev.jbolt.distill.Dataset;
import dev.jbolt.distill.JboltDistiller;
import dev.jbolt.distill.QuantType;
import dev.jbolt.distill.TrainingParams;
import dev.jbolt.distill.TransformerConfig;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code jbolt-distill distill}: distils a teacher into a transformer student.
 *
 * <p>Options left out keep the engine's defaults (see {@link TrainingParams} and {@link
 * TransformerConfig}). The tool checks counts and ranges itself so that the message names the
 * option; the engine checks the rest before any work starts and names the request field.
 */
@Command(
        name = "distill",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Distil a teacher into a small transformer student and write OUT/student/ (the"
                    + " bundle), OUT/report.json and OUT/report.md.",
            "Options left out keep the engine's defaults."
        })
final class DistillCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
            names = "--teacher",
            required = true,
            paramLabel = "NAME|DIR|FILE",
            description =
                    "Teacher: a name in the model home (see 'models'), a Hugging Face style"
                            + " directory, or a TorchScript .pt file.")
    String teacher;

    @Option(
            names = "--train",
            required = true,
            paramLabel = "FILE",
            description = "Training rows (JSON Lines, CSV, or label folders).")
    Path train;

    @Option(
            names = "--test",
            paramLabel = "FILE",
            description = "Test rows (default: a seeded share of the training rows).")
    Path test;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory.")
    Path out;

    @Mixin DataOptions data;

    // ---- student ---------------------------------------------------------------------------

    @Option(names = "--layers", paramLabel = "N", description = "Student encoder layers.")
    Integer layers;

    @Option(names = "--hidden", paramLabel = "N", description = "Student hidden size.")
    Integer hidden;

    @Option(
            names = "--heads",
            paramLabel = "N",
            description = "Student attention heads (dividing the hidden size).")
    Integer heads;

    @Option(names = "--intermediate", paramLabel = "N", description = "Student feed-forward size.")
    Integer intermediate;

    @Option(
            names = "--init-from-teacher",
            negatable = true,
            description = "Initialise the student from every k-th teacher layer.")
    Boolean initFromTeacher;

    @Option(
            names = "--prune-vocab",
            negatable = true,
            description = "Keep only the vocabulary rows the training data uses.")
    Boolean pruneVocab;

    // ---- training --------------------------------------------------------------------------

    @Option(names = "--epochs", paramLabel = "N", description = "Passes over the training data.")
    Integer epochs;

    @Option(names = "--batch-size", paramLabel = "N", description = "Rows per optimiser step.")
    Integer batchSize;

    @Option(names = "--lr", paramLabel = "RATE", description = "Peak learning rate (AdamW).")
    Double lr;

    @Option(
            names = "--temperature",
            paramLabel = "START[:END]",
            converter = Temperature.Converter.class,
            description = "Softmax temperature, falling linearly from START to END (e.g. 4:1).")
    Temperature temperature;

    @Option(
            names = "--alpha",
            paramLabel = "A",
            description = "Weight of the soft (teacher) loss, in [0, 1].")
    Double alpha;

    @Option(
            names = "--warmup",
            paramLabel = "SHARE",
            description = "Share of the steps trained on hard labels first, in [0, 1).")
    Double warmup;

    @Option(names = "--max-length", paramLabel = "TOKENS", description = "Tokens per text.")
    Integer maxLength;

    @Option(names = "--seed", paramLabel = "N", description = "Seed for splits and training.")
    Long seed;

    @Option(names = "--threads", paramLabel = "N", description = "libtorch intra-op threads.")
    Integer threads;

    @Option(
            names = "--baseline",
            description = "Also train the same student on hard labels only, for comparison.")
    boolean baseline;

    @Option(
            names = "--checkpoint-dir",
            paramLabel = "DIR",
            description = "Write a checkpoint there after each epoch.")
    Path checkpointDir;

    @Option(
            names = "--resume",
            description = "Continue from the last checkpoint in --checkpoint-dir.")
    boolean resume;

    // ---- quantization and output -----------------------------------------------------------

    @Option(
            names = "--quantize",
            paramLabel = "int8|none",
            defaultValue = "none",
            description = "Post-training quantization (default: ${DEFAULT-VALUE}).")
    QuantType quantize;

    @Option(
            names = "--quantize-embeddings",
            description = "With --quantize int8, also quantize the embedding tables.")
    boolean quantizeEmbeddings;

    @Option(names = "--json", description = "Print the report JSON instead of the summary.")
    boolean json;

    @Override
    public Integer call() {
        validate();
        Dataset trainData = data.open(spec, "--train", train);
        JboltDistiller distiller =
                new JboltDistiller()
                        .setTeacherModel(teacher)
                        .setStudentConfig(studentConfig())
                        .enableQuantization(quantize)
                        .setQuantizeEmbeddings(quantizeEmbeddings);
        if (test != null) {
            distiller.setTestDataset(data.open(spec, "--test", test));
        }
        RunOutput.distill(
                distiller,
                trainData,
                trainingParams(),
                out,
                null,
                json,
                spec.commandLine().getOut(),
                spec.commandLine().getErr());
        return JboltDistillCli.OK;
    }

    /** Checks the options the engine would name by request field, so the message names them. */
    void validate() {
        atLeast("--layers", layers, 1);
        atLeast("--hidden", hidden, 1);
        atLeast("--heads", heads, 1);
        atLeast("--intermediate", intermediate, 1);
        if (hidden != null && heads != null && hidden % heads != 0) {
            throw usage(
                    "Invalid value for option '--heads': must divide --hidden ("
                            + hidden
                            + ") evenly, got "
                            + heads);
        }
        atLeast("--epochs", epochs, 1);
        atLeast("--batch-size", batchSize, 1);
        atLeast("--max-length", maxLength, 2);
        atLeast("--threads", threads, 1);
        if (seed != null && seed < 0) {
            throw usage("Invalid value for option '--seed': must be at least 0, got " + seed);
        }
        if (lr != null && !(lr > 0 && Double.isFinite(lr))) {
            throw usage("Invalid value for option '--lr': must be above 0, got " + lr);
        }
        if (alpha != null && !(alpha >= 0 && alpha <= 1)) {
            throw usage("Invalid value for option '--alpha': must be in [0, 1], got " + alpha);
        }
        if (warmup != null && !(warmup >= 0 && warmup < 1)) {
            throw usage("Invalid value for option '--warmup': must be in [0, 1), got " + warmup);
        }
        if (resume && checkpointDir == null) {
            throw usage(
                    "Option '--resume' needs '--checkpoint-dir DIR' (where the checkpoints are)");
        }
        if (quantizeEmbeddings && quantize != QuantType.INT8) {
            throw usage("Option '--quantize-embeddings' needs '--quantize int8'");
        }
    }

    private void atLeast(String option, Integer value, int min) {
        if (value != null && value < min) {
            throw usage(
                    "Invalid value for option '"
                            + option
                            + "': must be at least "
                            + min
                            + ", got "
                            + value);
        }
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    TransformerConfig studentConfig() {
        TransformerConfig c = new TransformerConfig();
        if (layers != null) {
            c.setLayers(layers);
        }
        if (hidden != null) {
            c.setHiddenSize(hidden);
        }
        if (heads != null) {
            c.setHeads(heads);
        }
        if (intermediate != null) {
            c.setIntermediateSize(intermediate);
        }
        if (initFromTeacher != null) {
            c.setInitFromTeacher(initFromTeacher);
        }
        if (pruneVocab != null) {
            c.setPruneVocab(pruneVocab);
        }
        return c;
    }

    TrainingParams trainingParams() {
        TrainingParams p = new TrainingParams();
        if (epochs != null) {
            p.setEpochs(epochs);
        }
        if (batchSize != null) {
            p.setBatchSize(batchSize);
        }
        if (lr != null) {
            p.setLearningRate(lr);
        }
        if (temperature != null) {
            p.setTemperature(temperature.start(), temperature.end());
        }
        if (alpha != null) {
            p.setAlpha(alpha);
        }
        if (warmup != null) {
            p.setWarmupShare(warmup);
        }
        if (maxLength != null) {
            p.setMaxLength(maxLength);
        }
        if (seed != null) {
            p.setSeed(seed);
        }
        if (threads != null) {
            p.setThreads(threads);
        }
        if (checkpointDir != null) {
            p.setCheckpointDir(checkpointDir.toAbsolutePath());
        }
        p.setResume(resume);
        p.setBaseline(baseline);
        return p;
    }
}
