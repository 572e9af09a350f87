package dev.jbolt.distill;

/**
 * Receives the progress events of a distillation run.
 *
 * <p>Events arrive one at a time, in the engine's order, on the thread that runs the distillation
 * (the caller of {@link JboltDistiller#distill}, or the worker thread of {@link
 * JboltDistiller#distillAsync}); the engine waits while a listener runs, so keep it quick. An
 * exception thrown by a listener is logged and does not stop the run; to stop a run, cancel the
 * future of {@link JboltDistiller#distillAsync}.
 */
@FunctionalInterface
public interface DistillationListener {
    /**
     * Called for each progress event.
     *
     * @param event the event
     */
    void onEvent(DistillationEvent event);
}
