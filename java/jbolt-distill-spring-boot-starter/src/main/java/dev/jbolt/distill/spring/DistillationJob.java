package dev.jbolt.distill.spring;

import dev.jbolt.distill.DistillationEvent;
import dev.jbolt.distill.DistillationResult;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;

/**
 * One distillation run of the {@link DistillationService}: its state, its last progress record and,
 * once it ends, its result or failure. Thread-safe.
 */
public final class DistillationJob {
    /** Where a job is. */
    public enum Status {
        /** Waiting for a free executor thread. */
        QUEUED,
        /** Distilling (or loading and swapping in the result). */
        RUNNING,
        /** Done: the bundle is written (and served, if the job swapped it in). */
        SUCCEEDED,
        /** Ended by an error; see {@link #error()}. */
        FAILED,
        /** Cancelled before it finished. */
        CANCELLED
    }

    private final String id;
    private final boolean swapWhenDone;
    private final Instant submitted = Instant.now();
    private final CompletableFuture<DistillationResult> done = new CompletableFuture<>();
    private volatile Status status = Status.QUEUED;
    private volatile DistillationEvent lastEvent;
    private volatile boolean swapped;
    private volatile Future<?> run;

    DistillationJob(String id, boolean swapWhenDone) {
        this.id = id;
        this.swapWhenDone = swapWhenDone;
    }

    /** Returns the job id (unique within the service). */
    public String id() {
        return id;
    }

    /** Returns the current state. */
    public Status status() {
        return status;
    }

    /** Returns when the job was submitted. */
    public Instant submitted() {
        return submitted;
    }

    /** Tells whether the job swaps its student in when it succeeds. */
    public boolean swapWhenDone() {
        return swapWhenDone;
    }

    /** Tells whether the job's student was swapped into the served model. */
    public boolean swapped() {
        return swapped;
    }

    /** Returns the engine's most recent progress record, if any arrived yet. */
    public Optional<DistillationEvent> lastEvent() {
        return Optional.ofNullable(lastEvent);
    }

    /**
     * Returns the share of training steps done, in [0, 1]: 0 before training starts, 1 once the job
     * succeeded.
     */
    public double progress() {
        if (status == Status.SUCCEEDED) {
            return 1.0;
        }
        DistillationEvent e = lastEvent;
        if (e == null || e.totalSteps() <= 0) {
            return 0.0;
        }
        return Math.min(1.0, (double) e.step() / e.totalSteps());
    }

    /**
     * Returns the future of the job's result; it completes after the swap, if the job makes one.
     * Cancelling it cancels the job.
     */
    public CompletableFuture<DistillationResult> future() {
        return done;
    }

    /** Returns the result of a successful job. */
    public Optional<DistillationResult> result() {
        return done.isDone() && !done.isCompletedExceptionally()
                ? Optional.of(done.join())
                : Optional.empty();
    }

    /** Returns the failure of a failed job. */
    public Optional<Throwable> error() {
        if (status != Status.FAILED) {
            return Optional.empty();
        }
        try {
            done.join();
            return Optional.empty();
        } catch (RuntimeException e) {
            return Optional.of(e.getCause() != null ? e.getCause() : e);
        }
    }

    /**
     * Cancels the job: a queued job never starts, a running one stops after its current training
     * step (the engine learns it at its next progress record).
     *
     * @return true if this call cancelled it
     */
    public boolean cancel() {
        Future<?> r = run;
        if (r != null) {
            r.cancel(true);
        }
        return done.cancel(true);
    }

    void attach(Future<?> future) {
        this.run = future;
    }

    void running() {
        if (status == Status.QUEUED) {
            status = Status.RUNNING;
        }
    }

    void event(DistillationEvent event) {
        lastEvent = event;
    }

    void markSwapped() {
        swapped = true;
    }

    void finish(Status end) {
        status = end;
    }

    boolean isFinished() {
        return done.isDone();
    }

    @Override
    public String toString() {
        return "DistillationJob{" + id + ", " + status + "}";
    }
}
