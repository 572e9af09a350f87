package dev.jbolt.distill.spring;

import dev.jbolt.distill.DistillationEvent;
import org.springframework.context.ApplicationEvent;

/**
 * Published for each progress record of a {@link DistillationService} job.
 *
 * <p>Published synchronously on the job's worker thread while the engine waits, so listeners should
 * be quick (or {@code @Async}).
 */
public class DistillationProgressEvent extends ApplicationEvent {
    private static final long serialVersionUID = 1L;

    private final transient DistillationJob job;
    private final transient DistillationEvent progress;

    /**
     * Creates the event.
     *
     * @param source the service
     * @param job the job
     * @param progress the engine's record
     */
    public DistillationProgressEvent(
            DistillationService source, DistillationJob job, DistillationEvent progress) {
        super(source);
        this.job = job;
        this.progress = progress;
    }

    /** Returns the job. */
    public DistillationJob getJob() {
        return job;
    }

    /** Returns the engine's progress record. */
    public DistillationEvent getProgress() {
        return progress;
    }
}
