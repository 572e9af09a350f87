package dev.jbolt.distill;

/**
 * Base of every exception thrown by jbolt-distill.
 *
 * <p>Unchecked. {@link #code()} is the stable error code from the native engine ({@code
 * INVALID_ARGUMENT}, {@code INVALID_INPUT}, {@code NOT_FOUND}, {@code IO}, {@code TORCH}, {@code
 * CANCELLED}, {@code INTERNAL}) or {@code NATIVE_LIBRARY} when the native library cannot be loaded.
 * Subclasses:
 *
 * <ul>
 *   <li>{@link NativeLibraryException}: the JNI library or libtorch cannot be found or loaded;
 *   <li>{@link InvalidInputException}: a setting, argument or input file is wrong ({@code
 *       INVALID_ARGUMENT}, {@code INVALID_INPUT}, {@code NOT_FOUND});
 *   <li>{@link NativeFailureException}: the engine failed ({@code IO}, {@code TORCH}, {@code
 *       CANCELLED}, {@code INTERNAL}, including a caught Rust panic).
 * </ul>
 */
public class JboltException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Code of failures to find or load the native libraries. */
    public static final String NATIVE_LIBRARY = "NATIVE_LIBRARY";

    private final String code;

    /**
     * Creates an exception with a code and a message.
     *
     * @param code stable error code
     * @param message what failed, ending with the offending value
     */
    public JboltException(String code, String message) {
        super(message);
        this.code = code;
    }

    /**
     * Creates an exception with a code, a message and a cause.
     *
     * @param code stable error code
     * @param message what failed, ending with the offending value
     * @param cause the underlying failure
     */
    public JboltException(String code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    /**
     * Returns the stable error code.
     *
     * @return the code, for example {@code INVALID_ARGUMENT} or {@code TORCH}
     */
    public String code() {
        return code;
    }

    /**
     * Builds the exception for an error reported by the native engine; called from Rust.
     *
     * <p>The code picks the subclass: {@code INVALID_ARGUMENT}, {@code INVALID_INPUT} and {@code
     * NOT_FOUND} give an {@link InvalidInputException}, every other code a {@link
     * NativeFailureException}.
     *
     * @param code the code of the Rust error
     * @param message the message of the Rust error, prefixed with the operation
     * @return the exception to throw
     */
    public static JboltException fromNative(String code, String message) {
        switch (code) {
            case "INVALID_ARGUMENT":
            case "INVALID_INPUT":
            case "NOT_FOUND":
                return new InvalidInputException(code, message);
            default:
                return new NativeFailureException(code, message);
        }
    }
}
