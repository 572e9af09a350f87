package dev.jbolt.distill.cli;

/** Bad input found by the tool itself (for example a malformed line on standard input). */
final class BadInputException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    BadInputException(String message) {
        super(message);
    }

    BadInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
