package dev.jbolt.distill.spring;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jbolt.distill.Prediction;
import dev.jbolt.distill.StudentModel;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The student model the application serves, swappable while requests are in flight.
 *
 * <p>Every prediction borrows the current {@link StudentModel} for the length of the call. {@link
 * #swap} installs a new model at once; calls that already hold the previous one finish on it, and
 * the previous model is closed when the last of them returns (reference counting, see {@link
 * SwapSlot}). So a hot swap never fails a request and never waits for one. Thread-safe.
 *
 * <p>The served model is owned by this object from the moment it is installed: it is closed after
 * it is swapped out, and at {@link #close()} (application shutdown). Inject this bean rather than
 * the start-up {@link StudentModel} bean to follow swaps.
 */
public class ServedModel implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ServedModel.class);

    private final SwapSlot<StudentModel> slot =
            new SwapSlot<>(
                    model -> {
                        LOG.info("Closing student model {}", model.path());
                        model.close();
                    });
    private final List<PredictionObserver> observers;
    private final AtomicLong swaps = new AtomicLong();

    /**
     * Creates a holder.
     *
     * @param initial the model to serve first, or null to start empty
     * @param observers told about each prediction (for example metrics)
     */
    public ServedModel(StudentModel initial, List<PredictionObserver> observers) {
        this.observers = List.copyOf(observers);
        if (initial != null) {
            slot.swap(initial);
            swaps.set(1);
        }
    }

    /**
     * Creates a holder without observers.
     *
     * @param initial the model to serve first, or null to start empty
     */
    public ServedModel(StudentModel initial) {
        this(initial, List.of());
    }

    /**
     * Classifies one text with the current model.
     *
     * @param text the text
     * @return the prediction
     * @throws NoModelServedException if no model is served
     */
    public Prediction predict(String text) {
        Objects.requireNonNull(text, "text");
        return observe(1, m -> m.predict(text));
    }

    /**
     * Classifies texts in one batch with the current model.
     *
     * @param texts the texts, at least one
     * @return one prediction per text, in order
     * @throws NoModelServedException if no model is served
     */
    public List<Prediction> predictBatch(List<String> texts) {
        Objects.requireNonNull(texts, "texts");
        return observe(texts.size(), m -> m.predictBatch(texts));
    }

    /**
     * Classifies one feature vector with the current model (feature students).
     *
     * @param features the vector
     * @return the prediction
     * @throws NoModelServedException if no model is served
     */
    public Prediction predictFeatures(float[] features) {
        Objects.requireNonNull(features, "features");
        return observe(1, m -> m.predictFeatures(features));
    }

    /**
     * Runs any call on the current model, which stays open until the call returns.
     *
     * <p>Do not keep the model past the call: it may be closed right after a swap.
     *
     * @param call the call
     * @param <T> its result
     * @return the call's result
     * @throws NoModelServedException if no model is served
     */
    public <T> T withModel(Function<StudentModel, T> call) {
        Objects.requireNonNull(call, "call");
        try (SwapSlot.Lease<StudentModel> lease = lease()) {
            return call.apply(lease.get());
        }
    }

    /**
     * Serves {@code next} from now on; the previous model is closed when its last call returns.
     *
     * @param next the model (this object owns it from now on)
     * @return the bundle directory of the previous model, if there was one
     * @throws IllegalStateException if this holder is closed (then {@code next} is closed too)
     */
    public Optional<Path> swap(StudentModel next) {
        Objects.requireNonNull(next, "next");
        StudentModel previous = slot.swap(next);
        long n = swaps.incrementAndGet();
        LOG.info(
                "Serving student model {} (swap {}; previous {})",
                next.path(),
                n,
                previous == null ? "none" : previous.path());
        return previous == null ? Optional.empty() : Optional.of(previous.path());
    }

    /**
     * Tells whether a model is served.
     *
     * @return true if predictions can be made
     */
    public boolean isLoaded() {
        return slot.peek() != null;
    }

    /**
     * Returns the bundle directory of the current model.
     *
     * @return the directory, empty if no model is served
     */
    public Optional<Path> path() {
        StudentModel m = slot.peek();
        return m == null ? Optional.empty() : Optional.of(m.path());
    }

    /**
     * Returns the current model's labels.
     *
     * @return the labels, empty if no model is served
     */
    public List<String> labels() {
        StudentModel m = slot.peek();
        return m == null ? List.of() : m.labels();
    }

    /**
     * Describes the current model ({@link StudentModel#info()}).
     *
     * @return the info, empty if no model is served
     */
    public Optional<JsonNode> info() {
        StudentModel m = slot.peek();
        return m == null ? Optional.empty() : Optional.of(m.info());
    }

    /**
     * Returns how many models have been installed so far (the initial one counts).
     *
     * @return the swap count
     */
    public long swapCount() {
        return swaps.get();
    }

    /** Stops serving; the current model is closed when its last call returns. Idempotent. */
    @Override
    public void close() {
        slot.close();
    }

    private SwapSlot.Lease<StudentModel> lease() {
        SwapSlot.Lease<StudentModel> lease = slot.acquire();
        if (lease == null) {
            throw new NoModelServedException();
        }
        return lease;
    }

    private <T> T observe(int items, Function<StudentModel, T> call) {
        long start = System.nanoTime();
        boolean ok = false;
        try {
            T result = withModel(call);
            ok = true;
            return result;
        } finally {
            long nanos = System.nanoTime() - start;
            for (PredictionObserver o : observers) {
                try {
                    o.onPrediction(items, nanos, ok);
                } catch (RuntimeException e) {
                    LOG.warn("Prediction observer {} failed", o, e);
                }
            }
        }
    }

    @Override
    public String toString() {
        return "ServedModel{" + path().map(Path::toString).orElse("none") + "}";
    }
}
