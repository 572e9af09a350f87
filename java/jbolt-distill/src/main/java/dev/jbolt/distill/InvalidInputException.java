package dev.jbolt.distill;

/**
 * A setting, argument, input file or model name is wrong.
 *
 * <p>Codes {@code INVALID_ARGUMENT} (a setting or argument), {@code INVALID_INPUT} (a file or data
 * row) and {@code NOT_FOUND} (a model or file that does not exist). The caller can fix it.
 */
public class InvalidInputException extends JboltException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param code {@code INVALID_ARGUMENT}, {@code INVALID_INPUT} or {@code NOT_FOUND}
     * @param message what is wrong, ending with the offending value
     */
    public InvalidInputException(String code, String message) {
        super(code, message);
    }

    /**
     * Creates the exception with a cause.
     *
     * @param code {@code INVALID_ARGUMENT}, {@code INVALID_INPUT} or {@code NOT_FOUND}
     * @param message what is wrong, ending with the offending value
     * @param cause the underlying failure
     */
    public InvalidInputException(String code, String message, Throwable cause) {
        super(code, message, cause);
    }
}
