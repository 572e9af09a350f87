package dev.jbolt.distill.spring;

import org.springframework.context.ApplicationEvent;

/**
 * Published once when a {@link DistillationService} job ends: succeeded (after the swap, if the job
 * asked for one), failed or cancelled; {@link DistillationJob#status()} says which.
 */
public class DistillationFinishedEvent extends ApplicationEvent {
    private static final long serialVersionUID = 1L;

    private final transient DistillationJob job;

    /**
     * Creates the event.
     *
     * @param source the service
     * @param job the finished job
     */
    public DistillationFinishedEvent(DistillationService source, DistillationJob job) {
        super(source);
        this.job = job;
    }

    /** Returns the finished job. */
    public DistillationJob getJob() {
        return job;
    }
}
