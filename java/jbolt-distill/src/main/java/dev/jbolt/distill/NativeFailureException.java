package dev.jbolt.distill;

/**
 * The native engine failed: libtorch reported an error ({@code TORCH}), a file could not be read or
 * written ({@code IO}), a run was cancelled ({@code CANCELLED}), or a bug or Rust panic was caught
 * ({@code INTERNAL}).
 *
 * <p>The JVM and the library stay usable after it.
 */
public class NativeFailureException extends JboltException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param code {@code TORCH}, {@code IO}, {@code CANCELLED} or {@code INTERNAL}
     * @param message what failed, ending with the offending value
     */
    public NativeFailureException(String code, String message) {
        super(code, message);
    }

    /**
     * Creates the exception with a cause.
     *
     * @param code {@code TORCH}, {@code IO}, {@code CANCELLED} or {@code INTERNAL}
     * @param message what failed, ending with the offending value
     * @param cause the underlying failure
     */
    public NativeFailureException(String code, String message, Throwable cause) {
        super(code, message, cause);
    }
}
