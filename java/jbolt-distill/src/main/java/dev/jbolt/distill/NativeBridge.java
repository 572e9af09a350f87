package dev.jbolt.distill;

import dev.jbolt.distill.internal.LoadReport;
import dev.jbolt.distill.internal.NativeLoader;

/**
 * Every {@code native} method of jbolt-distill, implemented in Rust ({@code rust/jni/}).
 *
 * <p>Call {@link #ensureLoaded()} before the first native call; the public classes do. Every native
 * method throws a {@link JboltException} subclass on failure (never a bare Rust panic) and leaves
 * the JVM usable. Handles ({@code long}) are owned by a {@link
 * dev.jbolt.distill.internal.NativeHandle} subclass.
 */
final class NativeBridge {
    private static final NativeLoader.Natives NATIVES =
            new NativeLoader.Natives() {
                @Override
                public String nativeVersion() {
                    return NativeBridge.nativeVersion();
                }

                @Override
                public String libtorchVersion() {
                    return NativeBridge.libtorchVersion();
                }

                @Override
                public void setLogLevel(int level) {
                    NativeBridge.setLogLevel(level);
                }

                @Override
                public void setThreads(int threads) {
                    NativeBridge.setThreads(threads);
                }

                @Override
                public int threads() {
                    return NativeBridge.getThreads();
                }
            };

    private NativeBridge() {}

    /**
     * Loads libtorch and the JNI library if not done yet.
     *
     * @return what was loaded
     * @throws NativeLibraryException if that fails
     */
    static LoadReport ensureLoaded() {
        return NativeLoader.load(NATIVES);
    }

    // ---- runtime -------------------------------------------------------------------------

    /** Returns the crate version of the JNI library. */
    static native String nativeVersion();

    /** Returns the version of the libtorch mapped into the process. */
    static native String libtorchVersion();

    /** Sets the most verbose forwarded Rust log level: 0 off, 1 error ... 5 trace. */
    static native void setLogLevel(int level);

    /** Sets libtorch's intra-op thread count (at least 1). */
    static native void setThreads(int threads);

    /** Returns libtorch's intra-op thread count. */
    static native int getThreads();

    // ---- self-test -----------------------------------------------------------------------

    /**
     * Row-major {@code a (aRows x aCols) @ b (b.length / bCols x bCols)} through libtorch.
     *
     * <p>Throws {@link InvalidInputException} for sizes below 1 or lengths that do not fit, and
     * {@link NativeFailureException} ({@code TORCH}) when the inner dimensions differ.
     */
    static native float[] matmul(float[] a, int aRows, int aCols, float[] b, int bCols);

    /** Panics in Rust on purpose; throws {@link NativeFailureException} with code INTERNAL. */
    static native void selfTestPanic(String message);

    // ---- FloatTensor ---------------------------------------------------------------------

    /** Creates a float32 tensor; the caller owns the returned handle. */
    static native long tensorCreate(float[] data, long[] shape);

    /** Returns a new tensor {@code a @ b}; the caller owns the returned handle. */
    static native long tensorMatmul(long a, long b);

    /** Returns the elements of a tensor in row-major order. */
    static native float[] tensorData(long handle);

    /** Returns the shape of a tensor. */
    static native long[] tensorShape(long handle);

    /** Frees a tensor; called once per handle. */
    static native void tensorFree(long handle);

    // ---- distillation (JboltDistiller) ---------------------------------------------------

    /** Receives the engine's progress events on the thread that called {@link #distill}. */
    @FunctionalInterface
    interface EventSink {
        /**
         * Handles one event.
         *
         * @param eventJson the event ({@code distill::events::Event} as JSON)
         * @return true to go on, false to cancel the run
         */
        boolean onEvent(String eventJson);
    }

    /**
     * Runs a distillation on the calling thread, calling {@code sink} on this thread for every
     * event; returns the report JSON. A false answer from the sink stops the run, which then throws
     * {@link NativeFailureException} with code {@code CANCELLED}.
     */
    static native String distill(String requestJson, EventSink sink);

    /**
     * Parses and validates a request without running it; returns it with every default filled in.
     * Throws {@link InvalidInputException} naming the field for a bad request.
     */
    static native String validateRequest(String requestJson);

    // ---- student models (StudentModel) ---------------------------------------------------

    /** Evaluates the bundle in {@code modelDir} on the request's data; returns the metrics JSON. */
    static native String evaluate(String modelDir, String requestJson);

    /** Writes the bundle in {@code bundleDir} as a TorchScript file at {@code out}. */
    static native void exportTorchScript(String bundleDir, String out);

    /** Loads a student bundle; the caller owns the returned handle. */
    static native long modelLoad(String dir);

    /** Predicts texts; returns a JSON array of predictions. */
    static native String modelPredictTexts(long handle, String[] texts);

    /** Predicts {@code values.length / dim} feature rows; returns a JSON array of predictions. */
    static native String modelPredictFeatures(long handle, float[] values, int dim);

    /** Returns the model info JSON. */
    static native String modelInfo(long handle);

    /** Frees a model; called once per handle. */
    static native void modelFree(long handle);

    // ---- teacher registry (Models) -------------------------------------------------------

    /** Returns the models in the model home as a JSON array of {@code {name, path, format}}. */
    static native String listModels();

    /** Returns the model home directory. */
    static native String modelHome();

    /** Resolves a teacher name or path; returns JSON {@code {path, format}}. */
    static native String resolveTeacher(String nameOrPath);
}
