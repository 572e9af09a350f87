package dev.jbolt.distill.spring;

/**
 * Thrown by {@link ServedModel} when asked to predict before any student model is served.
 *
 * <p>Set {@code jbolt.distill.model-path} (or {@code model-name}) to serve one from start-up, or
 * swap one in with {@link ServedModel#swap} or a {@link DistillationService} job.
 */
public class NoModelServedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception with the standard message. */
    public NoModelServedException() {
        super(
                "No student model is served yet: set jbolt.distill.model-path or swap one in"
                        + " (ServedModel.swap or a DistillationService job)");
    }
}
