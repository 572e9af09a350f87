package dev.jbolt.distill;

import dev.jbolt.distill.internal.NativeHandle;
import java.util.Arrays;
import java.util.Objects;

/**
 * A float32 tensor held by libtorch in native memory.
 *
 * <p>Close it when done (try-with-resources); {@link #close()} is idempotent, use after close
 * throws {@link IllegalStateException}, and a cleaner frees a forgotten tensor eventually. Safe to
 * share between threads.
 */
public final class FloatTensor extends NativeHandle {

    private FloatTensor(long handle, String description) {
        super(handle, NativeBridge::tensorFree, description);
    }

    /**
     * Creates a tensor from row-major values.
     *
     * @param data the values, as many as the product of {@code shape}
     * @param shape the dimensions, each at least 0
     * @return the tensor; the caller closes it
     * @throws InvalidInputException if the shape is negative or does not match {@code data}
     */
    public static FloatTensor of(float[] data, long... shape) {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(shape, "shape");
        NativeBridge.ensureLoaded();
        long handle = NativeBridge.tensorCreate(data, shape);
        return new FloatTensor(handle, "tensor " + Arrays.toString(shape));
    }

    /**
     * Multiplies this tensor by another ({@code torch.matmul} semantics, with broadcasting).
     *
     * @param other the right operand
     * @return a new tensor; the caller closes it
     * @throws NativeFailureException with code {@code TORCH} if the shapes do not fit
     * @throws IllegalStateException if either tensor is closed
     */
    public FloatTensor matmul(FloatTensor other) {
        Objects.requireNonNull(other, "other");
        long product =
                withHandle(
                        "multiply",
                        a -> other.withHandle("multiply", b -> NativeBridge.tensorMatmul(a, b)));
        return new FloatTensor(product, "tensor (product)");
    }

    /**
     * Returns a copy of the values in row-major order.
     *
     * @return the values
     * @throws IllegalStateException if closed
     */
    public float[] data() {
        return withHandle("read data", NativeBridge::tensorData);
    }

    /**
     * Returns the dimensions.
     *
     * @return the shape
     * @throws IllegalStateException if closed
     */
    public long[] shape() {
        return withHandle("read shape", NativeBridge::tensorShape);
    }
}
