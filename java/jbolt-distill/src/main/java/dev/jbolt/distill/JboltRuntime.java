package dev.jbolt.distill;

import dev.jbolt.distill.internal.LoadReport;
import java.util.Objects;

/**
 * Entry point to the native runtime: loading, versions, and a self-test computation.
 *
 * <p>Every other class loads the runtime on first use; call {@link #load()} to do it early (for
 * example at application start) and to see where the libraries came from. How libtorch and the JNI
 * library are found is described in {@link dev.jbolt.distill.internal.NativeLoader}.
 */
public final class JboltRuntime {
    private JboltRuntime() {}

    /**
     * Loads libtorch and the JNI library if not done yet.
     *
     * @return versions and locations of what was loaded
     * @throws NativeLibraryException if a library cannot be found or loaded, with every place tried
     *     and the setting that fixes it
     */
    public static RuntimeInfo load() {
        LoadReport r = NativeBridge.ensureLoaded();
        return new RuntimeInfo(
                r.nativeVersion(),
                r.libtorchVersion(),
                r.platform(),
                r.nativeLibrary(),
                r.nativeSource().name(),
                r.nativeOrigin(),
                r.nativeSource() == LoadReport.NativeSource.JAR_RESOURCE && r.extracted(),
                r.libtorchDir(),
                r.libtorchSource(),
                r.threads(),
                r.loadMillis());
    }

    /**
     * Multiplies two row-major float matrices with libtorch ({@code torch.matmul}).
     *
     * @param a the left matrix, {@code aRows * aCols} values row by row
     * @param aRows rows of {@code a}, at least 1
     * @param aCols columns of {@code a}, at least 1
     * @param b the right matrix, row by row, with {@code bCols} columns
     * @param bCols columns of {@code b}, at least 1
     * @return the {@code aRows x bCols} product, row by row
     * @throws InvalidInputException if a size is below 1 or an array length does not fit
     * @throws NativeFailureException with code {@code TORCH} if {@code b} does not have {@code
     *     aCols} rows (libtorch's message is kept)
     */
    public static float[] matmul(float[] a, int aRows, int aCols, float[] b, int bCols) {
        Objects.requireNonNull(a, "a");
        Objects.requireNonNull(b, "b");
        NativeBridge.ensureLoaded();
        return NativeBridge.matmul(a, aRows, aCols, b, bCols);
    }
}
