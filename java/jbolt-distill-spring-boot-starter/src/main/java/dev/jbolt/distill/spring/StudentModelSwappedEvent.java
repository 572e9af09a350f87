package dev.jbolt.distill.spring;

import java.nio.file.Path;
import java.util.Optional;
import org.springframework.context.ApplicationEvent;

/**
 * Published by {@link DistillationService} after it swapped a new model into {@link ServedModel}.
 */
public class StudentModelSwappedEvent extends ApplicationEvent {
    private static final long serialVersionUID = 1L;

    private final transient Path previous;
    private final transient Path current;
    private final String jobId;

    /**
     * Creates the event.
     *
     * @param source the service
     * @param previous bundle directory of the model swapped out, or null if none was served
     * @param current bundle directory of the model now served
     * @param jobId the job that produced it, or null for {@link DistillationService#swapIn}
     */
    public StudentModelSwappedEvent(
            DistillationService source, Path previous, Path current, String jobId) {
        super(source);
        this.previous = previous;
        this.current = current;
        this.jobId = jobId;
    }

    /** Returns the bundle directory of the model swapped out, if one was served. */
    public Optional<Path> getPrevious() {
        return Optional.ofNullable(previous);
    }

    /** Returns the bundle directory of the model now served. */
    public Path getCurrent() {
        return current;
    }

    /** Returns the id of the job that produced the model, if a job did. */
    public Optional<String> getJobId() {
        return Optional.ofNullable(jobId);
    }
}
