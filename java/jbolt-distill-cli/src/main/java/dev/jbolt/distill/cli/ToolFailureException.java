package dev.jbolt.distill.cli;

/** A failure of the tool's environment whose message says everything (exit status 1). */
final class ToolFailureException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ToolFailureException(String message) {
        super(message);
    }
}
