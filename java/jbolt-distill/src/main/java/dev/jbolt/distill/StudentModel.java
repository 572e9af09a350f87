package dev.jbolt.distill;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jbolt.distill.internal.NativeHandle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A distilled student loaded for in-process inference (fp32 or int8, text or feature input).
 *
 * <p><b>Threads.</b> One instance may be called from many threads at once. Each call runs on the
 * calling thread inside the engine's predictor ({@code serve::Predictor}, which is {@code Send +
 * Sync}: libtorch modules are not thread-safe, so the engine serialises or spreads concurrent calls
 * over its own replicas; see its documentation for which). For many small concurrent requests on a
 * busy machine, one libtorch intra-op thread ({@code -Djbolt.threads=1}) is usually fastest.
 *
 * <p><b>Closing.</b> {@link #close()} is idempotent and frees the native model. It waits for calls
 * in flight (each call holds a read lock on the native handle), so a thread that is predicting
 * while another closes gets its result; a call that starts after close throws {@link
 * IllegalStateException}. Never a crash. A {@link java.lang.ref.Cleaner} frees a model that was
 * never closed, and logs it.
 */
public final class StudentModel extends NativeHandle {
    private static final Logger LOG = LoggerFactory.getLogger(StudentModel.class);

    private final Path path;
    private final List<String> labels;
    private final JsonNode info;

    private StudentModel(long handle, Path path) {
        super(handle, NativeBridge::modelFree, "student model " + path);
        this.path = path;
        JsonNode parsed;
        try {
            parsed = Json.parse(NativeBridge.modelInfo(handle), "model info");
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        this.info = parsed;
        List<String> names = new ArrayList<>();
        parsed.path("labels").forEach(l -> names.add(l.asText()));
        this.labels = Collections.unmodifiableList(names);
    }

    /**
     * Loads a student bundle (the directory written by a distillation).
     *
     * @param bundleDir the bundle directory ({@code config.json}, {@code model.safetensors}, ...)
     * @return the model; the caller closes it
     * @throws InvalidInputException if the directory or a bundle file is missing ({@code
     *     NOT_FOUND}) or malformed ({@code INVALID_INPUT}), naming the path
     * @throws NativeFailureException if libtorch cannot load the weights ({@code TORCH}) or a file
     *     cannot be read ({@code IO})
     * @throws NativeLibraryException if the native libraries cannot be loaded
     */
    public static StudentModel load(Path bundleDir) {
        Objects.requireNonNull(bundleDir, "bundleDir");
        NativeBridge.ensureLoaded();
        long start = System.nanoTime();
        long handle = NativeBridge.modelLoad(bundleDir.toString());
        StudentModel model = new StudentModel(handle, bundleDir);
        LOG.info(
                "Loaded student model {} ({} labels) in {} ms",
                bundleDir,
                model.labels.size(),
                (System.nanoTime() - start) / 1_000_000);
        return model;
    }

    /**
     * Classifies one text (text students only).
     *
     * @param text the text
     * @return the prediction
     * @throws InvalidInputException if the student takes feature vectors
     * @throws IllegalStateException if this model is closed
     */
    public Prediction predict(String text) {
        Objects.requireNonNull(text, "text");
        return predictBatch(List.of(text)).get(0);
    }

    /**
     * Classifies texts in one batch (text students only).
     *
     * @param texts the texts, at least one
     * @return one prediction per text, in order
     * @throws InvalidInputException if the list is empty or the student takes feature vectors
     * @throws IllegalStateException if this model is closed
     */
    public List<Prediction> predictBatch(List<String> texts) {
        Objects.requireNonNull(texts, "texts");
        String[] array = new String[texts.size()];
        for (int i = 0; i < array.length; i++) {
            array[i] = Objects.requireNonNull(texts.get(i), "texts[" + i + "]");
        }
        String json = withHandle("predict", h -> NativeBridge.modelPredictTexts(h, array));
        return parsePredictions(json);
    }

    /**
     * Classifies one feature vector (feature students only).
     *
     * @param features the vector, of the length the student was trained on
     * @return the prediction
     * @throws InvalidInputException if the length is wrong, a value is NaN, or the student takes
     *     texts
     * @throws IllegalStateException if this model is closed
     */
    public Prediction predictFeatures(float[] features) {
        Objects.requireNonNull(features, "features");
        float[] copy = features.clone();
        String json =
                withHandle("predict", h -> NativeBridge.modelPredictFeatures(h, copy, copy.length));
        return parsePredictions(json).get(0);
    }

    /**
     * Classifies feature vectors in one batch (feature students only).
     *
     * @param rows the vectors, at least one, all of the student's feature length
     * @return one prediction per vector, in order
     * @throws InvalidInputException if the list is empty, a length is wrong, a value is NaN, or the
     *     student takes texts
     * @throws IllegalStateException if this model is closed
     */
    public List<Prediction> predictFeaturesBatch(List<float[]> rows) {
        Objects.requireNonNull(rows, "rows");
        if (rows.isEmpty()) {
            throw new InvalidInputException(
                    "INVALID_ARGUMENT", "Need at least one feature row, got an empty list");
        }
        int dim = rows.get(0).length;
        float[] flat = new float[rows.size() * dim];
        for (int i = 0; i < rows.size(); i++) {
            float[] row = Objects.requireNonNull(rows.get(i), "rows[" + i + "]");
            if (row.length != dim) {
                throw new InvalidInputException(
                        "INVALID_ARGUMENT",
                        "Feature rows differ in length: row 0 has "
                                + dim
                                + " values, row "
                                + i
                                + " has "
                                + row.length);
            }
            System.arraycopy(row, 0, flat, i * dim, dim);
        }
        String json = withHandle("predict", h -> NativeBridge.modelPredictFeatures(h, flat, dim));
        return parsePredictions(json);
    }

    /**
     * Runs one throw-away prediction so that the first real call does not pay for libtorch's lazy
     * initialisation.
     *
     * @throws IllegalStateException if this model is closed
     */
    public void warmUp() {
        if ("features".equals(info.path("input").asText())) {
            int dim = Math.max(1, info.path("feature_dim").asInt(1));
            predictFeatures(new float[dim]);
        } else {
            predict("warm-up");
        }
    }

    /**
     * Returns the class names, in index order.
     *
     * @return the labels (unmodifiable)
     */
    public List<String> labels() {
        return labels;
    }

    /**
     * Describes the bundle: {@code kind}, {@code input} ({@code text} or {@code features}), {@code
     * feature_dim}, {@code labels}, {@code quantization}, {@code params}, {@code bytes}, {@code
     * max_length}, {@code path}.
     *
     * @return a copy of the engine's model info
     */
    public JsonNode info() {
        return info.deepCopy();
    }

    /**
     * Returns the bundle directory this model was loaded from.
     *
     * @return the directory
     */
    public Path path() {
        return path;
    }

    /**
     * Measures this bundle on labelled data: {@code n}, {@code accuracy}, {@code macro_f1}, {@code
     * per_class}, {@code confusion}, {@code latency_ms_batch1}, {@code latency_ms_batch32}, {@code
     * labels}.
     *
     * <p>The engine reads the bundle from {@link #path()} for this (it does not share this
     * instance's native model), so it works on a closed model too.
     *
     * @param data the rows, each with a label from {@link #labels()}
     * @return the evaluation JSON
     * @throws InvalidInputException if the data is missing, empty or has unknown labels
     */
    public JsonNode evaluate(Dataset data) {
        Objects.requireNonNull(data, "data");
        ObjectNode request = Json.MAPPER.createObjectNode();
        request.set("data", data.toJson());
        String json = NativeBridge.evaluate(path.toString(), Json.write(request));
        return Json.parse(json, "evaluation");
    }

    /**
     * Writes this bundle as a TorchScript file that Python's {@code torch.jit.load} and C++'s
     * {@code torch::jit::load} read, for serving outside the JVM.
     *
     * <p>The file holds a trace of the student's forward pass with its weights baked in. For a text
     * student, {@code forward(input_ids, attention_mask)} takes two {@code int64} tensors {@code
     * [batch, length]}: the ids the bundle's {@code tokenizer.json} produces (the teacher's
     * vocabulary, special tokens included; the map to the student's vocabulary is inside the graph)
     * and 1 for tokens, 0 for padding. For a feature student, {@code forward(features)} takes raw
     * {@code float32} features {@code [batch, feature_dim]} (the standardisation is inside the
     * graph). Both return logits {@code float32 [batch, classes]} in the order of {@link
     * #labels()}; batch size and length are free. The engine checks the trace against the native
     * student before writing. An int8 bundle is exported with its int8 weights dequantized into an
     * fp32 graph: it runs in fp32 with the int8-rounded weights, so its logits differ slightly from
     * this model's int8 ones.
     *
     * <p>The engine reads the bundle from {@link #path()} (not this instance's native model), so
     * this works on a closed model too. The file is written to a temporary sibling and renamed over
     * {@code out}.
     *
     * @param out the {@code .pt} file to write; its directory must exist
     * @throws InvalidInputException if the bundle is missing ({@code NOT_FOUND}) or malformed, or
     *     {@code out} is a directory ({@code INVALID_ARGUMENT}), naming the path
     * @throws NativeFailureException if {@code out} cannot be written ({@code IO}, naming it) or
     *     tracing fails ({@code TORCH}, {@code INTERNAL})
     */
    public void exportTorchScript(Path out) {
        Objects.requireNonNull(out, "out");
        long start = System.nanoTime();
        NativeBridge.exportTorchScript(path.toString(), out.toString());
        LOG.info(
                "Exported student model {} to TorchScript {} in {} ms",
                path,
                out,
                (System.nanoTime() - start) / 1_000_000);
    }

    private List<Prediction> parsePredictions(String json) {
        JsonNode array = Json.parse(json, "predictions");
        List<Prediction> out = new ArrayList<>(array.size());
        for (JsonNode p : array) {
            Map<String, Float> probabilities = new LinkedHashMap<>();
            JsonNode probs = p.path("probabilities");
            for (int i = 0; i < probs.size(); i++) {
                String name = i < labels.size() ? labels.get(i) : Integer.toString(i);
                probabilities.put(name, (float) probs.get(i).asDouble());
            }
            out.add(
                    new Prediction(
                            p.path("label").asText(),
                            p.path("index").asInt(),
                            (float) p.path("score").asDouble(),
                            probabilities));
        }
        return Collections.unmodifiableList(out);
    }

    @Override
    public String toString() {
        return "StudentModel{" + path + ", labels=" + labels + (isClosed() ? ", closed" : "") + "}";
    }
}
