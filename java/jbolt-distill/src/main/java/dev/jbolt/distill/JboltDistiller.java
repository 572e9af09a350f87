package dev.jbolt.distill;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Distils a teacher model into a small student and writes the student as a bundle.
 *
 * <pre>{@code
 * DistillationResult result = new JboltDistiller()
 *         .setTeacherModel("all-MiniLM-L6-v2")
 *         .setStudentConfig(new TransformerConfig().setLayers(2))
 *         .enableQuantization(QuantType.INT8)
 *         .setOutputDir(Path.of("student"))
 *         .distill(Dataset.fromJsonl(Path.of("train.jsonl")), new TrainingParams().setEpochs(3));
 * try (StudentModel model = result.loadStudent()) {
 *     Prediction p = model.predict("Shares rose after the results");
 * }
 * }</pre>
 *
 * <p>The settings become one JSON request ({@link #requestJson}, the engine's {@code
 * config::DistillRequest}); the engine checks it before any work starts. Defaults are the engine's:
 * a transformer student ({@link TransformerConfig}), no quantization, embeddings not quantized, a
 * largest accepted quantization accuracy drop of 0.02, 10% of the rows for validation and 20% for
 * testing (unless {@link #setTestDataset} is given), and a new directory under {@code
 * java.io.tmpdir} for the bundle. The teacher has no default.
 *
 * <p>Setters return this object. A distiller is not meant to be configured from several threads at
 * once; a configured one may start several runs (each reads the settings when it starts).
 */
public final class JboltDistiller {
    private static final Logger LOG = LoggerFactory.getLogger(JboltDistiller.class);
    private static final AtomicInteger THREADS = new AtomicInteger();

    private String teacher;
    private TransformerConfig transformer = new TransformerConfig();
    private MlpConfig mlp;
    private QuantType quantization = QuantType.NONE;
    private boolean quantizeEmbeddings;
    private double maxQuantizationAccuracyDrop = 0.02;
    private Path outputDir;
    private Dataset testDataset;
    private double validationShare = 0.1;
    private double testShare = 0.2;
    private final List<DistillationListener> listeners = new CopyOnWriteArrayList<>();

    /** Creates a distiller with the engine's defaults and no teacher. */
    public JboltDistiller() {}

    /**
     * Sets the teacher: a name in the model home (see {@link Models}), a Hugging Face style
     * directory holding {@code config.json}, or a TorchScript {@code .pt} file.
     *
     * @param nameDirOrFile the teacher
     * @return this distiller
     * @throws NullPointerException if the argument is null
     */
    public JboltDistiller setTeacherModel(String nameDirOrFile) {
        this.teacher = Objects.requireNonNull(nameDirOrFile, "nameDirOrFile");
        return this;
    }

    /**
     * Sets the teacher by path: a Hugging Face style directory or a TorchScript {@code .pt} file.
     *
     * @param dirOrFile the teacher
     * @return this distiller
     * @throws NullPointerException if the argument is null
     */
    public JboltDistiller setTeacherModel(Path dirOrFile) {
        return setTeacherModel(Objects.requireNonNull(dirOrFile, "dirOrFile").toString());
    }

    /**
     * Uses a transformer student (the default; text data). The configuration is copied.
     *
     * @param config the architecture
     * @return this distiller
     * @throws NullPointerException if the argument is null
     */
    public JboltDistiller setStudentConfig(TransformerConfig config) {
        this.transformer = new TransformerConfig(Objects.requireNonNull(config, "config"));
        this.mlp = null;
        return this;
    }

    /**
     * Uses an MLP student (feature data, or text through the teacher's embeddings). The
     * configuration is copied.
     *
     * @param config the architecture
     * @return this distiller
     * @throws NullPointerException if the argument is null
     */
    public JboltDistiller setStudentConfig(MlpConfig config) {
        this.mlp = new MlpConfig(Objects.requireNonNull(config, "config"));
        this.transformer = null;
        return this;
    }

    /**
     * Sets the post-training quantization (default {@link QuantType#NONE}).
     *
     * @param type the quantization
     * @return this distiller
     * @throws NullPointerException if the argument is null
     */
    public JboltDistiller enableQuantization(QuantType type) {
        this.quantization = Objects.requireNonNull(type, "type");
        return this;
    }

    /**
     * Also quantizes the embedding tables when quantizing (default false).
     *
     * @param quantizeEmbeddings whether to quantize embeddings
     * @return this distiller
     */
    public JboltDistiller setQuantizeEmbeddings(boolean quantizeEmbeddings) {
        this.quantizeEmbeddings = quantizeEmbeddings;
        return this;
    }

    /**
     * Sets the largest accepted accuracy drop from quantization on the validation split, absolute,
     * in [0, 1] (default 0.02); a larger drop fails the run with an {@link InvalidInputException}
     * and leaves the fp32 bundle in the output directory.
     *
     * @param maxDrop the largest drop
     * @return this distiller
     */
    public JboltDistiller setMaxQuantizationAccuracyDrop(double maxDrop) {
        this.maxQuantizationAccuracyDrop = maxDrop;
        return this;
    }

    /**
     * Sets the directory the student bundle is written to (replacing a bundle already there).
     * Default: a new directory {@code jbolt-student-<random>} under {@code java.io.tmpdir}, chosen
     * for each run.
     *
     * @param outputDir the directory, or null for the default
     * @return this distiller
     */
    public JboltDistiller setOutputDir(Path outputDir) {
        this.outputDir = outputDir;
        return this;
    }

    /**
     * Sets a separate test set; null (the default) carves the test rows out of the training data.
     *
     * @param test the test rows, or null
     * @return this distiller
     */
    public JboltDistiller setTestDataset(Dataset test) {
        this.testDataset = test;
        return this;
    }

    /**
     * Sets the share of the (de-duplicated) rows held out for validation, in [0, 1) (default 0.1;
     * together with the test share below 1).
     *
     * @param share the validation share
     * @return this distiller
     */
    public JboltDistiller setValidationShare(double share) {
        this.validationShare = share;
        return this;
    }

    /**
     * Sets the share of the (de-duplicated) rows held out for testing, in [0, 1) (default 0.2;
     * ignored when a test dataset is set).
     *
     * @param share the test share
     * @return this distiller
     */
    public JboltDistiller setTestShare(double share) {
        this.testShare = share;
        return this;
    }

    /**
     * Adds a progress listener (see {@link DistillationListener} for the thread it runs on).
     *
     * @param listener the listener
     * @return this distiller
     * @throws NullPointerException if the argument is null
     */
    public JboltDistiller addListener(DistillationListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
        return this;
    }

    /**
     * Returns the request JSON that a run with these settings sends to the engine.
     *
     * <p>Without an output directory, each call names a new one under {@code java.io.tmpdir}.
     *
     * @param train the training data
     * @param params the training settings
     * @return the request ({@code config::DistillRequest})
     * @throws InvalidInputException if the teacher is not set, or a count or seed is negative
     */
    public String requestJson(Dataset train, TrainingParams params) {
        return Json.write(buildRequest(train, params));
    }

    /**
     * Checks every setting the way the engine does before a run, without running anything.
     *
     * @param train the training data (its file is not read)
     * @param params the training settings
     * @throws InvalidInputException naming the field (for example {@code training.learning_rate}),
     *     the value and the allowed range
     * @throws NativeLibraryException if the native libraries cannot be loaded
     */
    public void validate(Dataset train, TrainingParams params) {
        String json = requestJson(train, params);
        NativeBridge.ensureLoaded();
        NativeBridge.validateRequest(json);
    }

    /**
     * Runs a distillation on the calling thread and returns when the bundle is written.
     *
     * <p>Listeners receive the events on this thread, in order.
     *
     * @param train the training data (and the validation and test rows, unless set otherwise)
     * @param params the training settings
     * @return the report, with the bundle's path
     * @throws InvalidInputException before any work starts for a bad setting (naming the field, the
     *     value and the allowed range), an unknown teacher ({@code NOT_FOUND}, naming the model
     *     home), a missing data file ({@code NOT_FOUND}) or an empty or malformed one ({@code
     *     INVALID_INPUT}), naming the path
     * @throws NativeFailureException if libtorch fails ({@code TORCH}), a file cannot be read or
     *     written ({@code IO}), or the engine fails ({@code INTERNAL})
     * @throws NativeLibraryException if the native libraries cannot be loaded
     */
    public DistillationResult distill(Dataset train, TrainingParams params) {
        return run(train, params, () -> true);
    }

    /**
     * Starts a distillation on a new thread ({@code jbolt-distill-N}, not a daemon, so a run is not
     * cut short by the JVM exiting).
     *
     * <p>{@code cancel(true)} (or {@code cancel(false)}) on the returned future stops the run: the
     * engine learns it at its next progress event, stops after the step in progress, and keeps the
     * last checkpoint written (see {@link TrainingParams#setCheckpointDir}) so a later run can
     * {@link TrainingParams#setResume resume}. The future then reports a {@link
     * java.util.concurrent.CancellationException}. Any other failure completes the future
     * exceptionally with the exception {@link #distill} would throw.
     *
     * @param train the training data
     * @param params the training settings
     * @return the future report
     * @throws InvalidInputException at once, if the teacher is not set or a count is negative
     */
    public CompletableFuture<DistillationResult> distillAsync(
            Dataset train, TrainingParams params) {
        return distillAsync(
                train,
                params,
                task -> {
                    Thread t = new Thread(task, "jbolt-distill-" + THREADS.incrementAndGet());
                    t.setDaemon(false);
                    t.start();
                });
    }

    /**
     * Starts a distillation on the given executor; see {@link #distillAsync(Dataset,
     * TrainingParams)} for cancellation.
     *
     * @param train the training data
     * @param params the training settings
     * @param executor runs the distillation (which takes minutes: avoid the common pool)
     * @return the future report
     * @throws InvalidInputException at once, if the teacher is not set or a count is negative
     */
    public CompletableFuture<DistillationResult> distillAsync(
            Dataset train, TrainingParams params, Executor executor) {
        Objects.requireNonNull(executor, "executor");
        String json = requestJson(train, params);
        List<DistillationListener> snapshot = List.copyOf(listeners);
        CompletableFuture<DistillationResult> future = new CompletableFuture<>();
        executor.execute(
                () -> {
                    if (future.isDone()) {
                        return;
                    }
                    try {
                        future.complete(execute(json, snapshot, () -> !future.isCancelled()));
                    } catch (Throwable t) {
                        future.completeExceptionally(t);
                    }
                });
        return future;
    }

    private DistillationResult run(Dataset train, TrainingParams params, BooleanSupplier proceed) {
        return execute(requestJson(train, params), List.copyOf(listeners), proceed);
    }

    private static DistillationResult execute(
            String json, List<DistillationListener> listeners, BooleanSupplier proceed) {
        NativeBridge.ensureLoaded();
        LOG.info(
                "Starting distillation: {}", json.length() > 2000 ? json.substring(0, 2000) : json);
        NativeBridge.EventSink sink =
                eventJson -> {
                    if (!listeners.isEmpty()) {
                        DistillationEvent event =
                                DistillationEvent.fromJson(Json.parse(eventJson, "event"));
                        for (DistillationListener listener : listeners) {
                            try {
                                listener.onEvent(event);
                            } catch (RuntimeException e) {
                                LOG.warn("Distillation listener {} failed", listener, e);
                            }
                        }
                    }
                    return proceed.getAsBoolean();
                };
        String report = NativeBridge.distill(json, sink);
        DistillationResult result = new DistillationResult(Json.parse(report, "report"));
        LOG.info("Distillation finished: bundle {}", result.bundlePath());
        return result;
    }

    private ObjectNode buildRequest(Dataset train, TrainingParams params) {
        Objects.requireNonNull(train, "train");
        Objects.requireNonNull(params, "params");
        if (teacher == null) {
            throw new InvalidInputException(
                    "INVALID_ARGUMENT",
                    "Invalid setting teacher: no teacher model is set; call setTeacherModel with a"
                            + " model name, directory or .pt file");
        }
        ObjectNode request = Json.MAPPER.createObjectNode();
        request.put("teacher", teacher);
        request.set("train", train.toJson());
        if (testDataset != null) {
            request.set("test", testDataset.toJson());
        }
        request.put("validation_share", validationShare);
        request.put("test_share", testShare);
        ObjectNode student = request.putObject("student");
        if (mlp != null) {
            mlp.writeJson(student);
        } else {
            transformer.writeJson(student);
        }
        params.writeJson(request.putObject("training"));
        ObjectNode quant = request.putObject("quantization");
        quant.put("type", quantization.jsonName());
        quant.put("embeddings", quantizeEmbeddings);
        quant.put("max_accuracy_drop", maxQuantizationAccuracyDrop);
        Path out =
                outputDir != null
                        ? outputDir
                        : Path.of(
                                System.getProperty("java.io.tmpdir"),
                                "jbolt-student-" + UUID.randomUUID());
        request.put("output_dir", out.toString());
        return request;
    }

    /**
     * Parses a request as the engine would and returns it with every default filled in.
     *
     * @param json a request
     * @return the engine's normalised form
     */
    static JsonNode engineView(String json) {
        NativeBridge.ensureLoaded();
        return Json.parse(NativeBridge.validateRequest(json), "validated request");
    }
}
