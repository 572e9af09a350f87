package dev.jbolt.distill;

/**
 * The JNI library or libtorch could not be found, loaded or matched in version.
 *
 * <p>The message names {@code os.name}, {@code os.arch}, every place that was tried and the setting
 * that fixes it. Its code is {@link JboltException#NATIVE_LIBRARY}.
 */
public class NativeLibraryException extends JboltException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what failed, where it looked and what to set
     */
    public NativeLibraryException(String message) {
        super(NATIVE_LIBRARY, message);
    }

    /**
     * Creates the exception with a cause.
     *
     * @param message what failed, where it looked and what to set
     * @param cause the underlying failure, for example an {@link UnsatisfiedLinkError}
     */
    public NativeLibraryException(String message, Throwable cause) {
        super(NATIVE_LIBRARY, message, cause);
    }
}
