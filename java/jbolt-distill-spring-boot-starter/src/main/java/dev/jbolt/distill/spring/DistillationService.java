package dev.jbolt.distill.spring;

import dev.jbolt.distill.DistillationResult;
import dev.jbolt.distill.JboltDistiller;
import dev.jbolt.distill.StudentModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.context.ApplicationEventPublisher;

/**
 * Runs distillation jobs in the background and swaps their students into the {@link ServedModel}.
 *
 * <p>Jobs run on a bounded executor: {@code jbolt.distill.distillation.pool-size} at a time
 * (default 1), up to {@code queue-capacity} more waiting (default 4); {@link #submit} beyond that
 * throws {@link RejectedExecutionException}. Each job publishes a {@link DistillationProgressEvent}
 * per engine record, a {@link StudentModelSwappedEvent} if it swaps its student in, and one {@link
 * DistillationFinishedEvent} at the end. A job that swaps loads the new bundle, warms it up, and
 * only then installs it, so requests keep being served by the previous model until the new one is
 * ready, and calls in flight on the previous one finish on it (see {@link ServedModel}).
 *
 * <p>At application shutdown unfinished jobs are cancelled and the executor waits up to {@code
 * shutdown-timeout} for them to stop. Thread-safe.
 */
public class DistillationService implements DisposableBean {
    private static final Logger LOG = LoggerFactory.getLogger(DistillationService.class);

    private final JboltDistillProperties.Distillation settings;
    private final JboltDistillProperties.WarmUp warmUp;
    private final ServedModel served;
    private final ApplicationEventPublisher publisher;
    private final ThreadPoolExecutor executor;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<String, DistillationJob> jobs = new LinkedHashMap<>();

    /**
     * Creates the service and its executor.
     *
     * @param properties the starter's settings (distillation and warm-up)
     * @param served the model that successful jobs swap into
     * @param publisher where progress, swap and finish events go
     */
    public DistillationService(
            JboltDistillProperties properties,
            ServedModel served,
            ApplicationEventPublisher publisher) {
        this.settings = properties.getDistillation();
        this.warmUp = properties.getWarmUp();
        this.served = Objects.requireNonNull(served, "served");
        this.publisher = Objects.requireNonNull(publisher, "publisher");
        int pool = settings.getPoolSize();
        int queue = settings.getQueueCapacity();
        if (pool < 1) {
            throw new IllegalArgumentException(
                    "jbolt.distill.distillation.pool-size must be at least 1, got " + pool);
        }
        if (queue < 0) {
            throw new IllegalArgumentException(
                    "jbolt.distill.distillation.queue-capacity must be at least 0, got " + queue);
        }
        BlockingQueue<Runnable> work =
                queue == 0 ? new SynchronousQueue<>() : new ArrayBlockingQueue<>(queue);
        AtomicInteger threads = new AtomicInteger();
        this.executor =
                new ThreadPoolExecutor(
                        pool,
                        pool,
                        0L,
                        TimeUnit.MILLISECONDS,
                        work,
                        r -> {
                            Thread t =
                                    new Thread(r, "jbolt-distill-job-" + threads.incrementAndGet());
                            t.setDaemon(false);
                            return t;
                        },
                        new ThreadPoolExecutor.AbortPolicy());
    }

    /**
     * Queues a distillation job.
     *
     * @param request what to distil
     * @return the job, queued or already running
     * @throws RejectedExecutionException if {@code pool-size} jobs run and {@code queue-capacity}
     *     wait already
     * @throws dev.jbolt.distill.InvalidInputException if the request has no teacher (neither in the
     *     request nor in {@code jbolt.distill.distillation.teacher}) or a negative count
     */
    public DistillationJob submit(DistillationRequest request) {
        Objects.requireNonNull(request, "request");
        String id = "job-" + ids.incrementAndGet();
        DistillationJob job =
                new DistillationJob(id, request.swapWhenDoneOr(settings.isSwapWhenDone()));
        JboltDistiller distiller = new JboltDistiller();
        String teacher = request.teacherOr(settings.getTeacher());
        if (teacher != null) {
            distiller.setTeacherModel(teacher);
        }
        request.configure(distiller);
        Path base = settings.getOutputDir();
        distiller.setOutputDir(request.outputDirOr(base == null ? null : base.resolve(id)));
        distiller.addListener(
                event -> {
                    job.event(event);
                    publisher.publishEvent(new DistillationProgressEvent(this, job, event));
                });

        CompletableFuture<DistillationResult> run;
        try {
            run =
                    distiller.distillAsync(
                            request.train(),
                            request.trainingParams(),
                            task ->
                                    executor.execute(
                                            () -> {
                                                job.running();
                                                task.run();
                                            }));
        } catch (RejectedExecutionException e) {
            throw new RejectedExecutionException(
                    "Distillation queue is full: "
                            + executor.getActiveCount()
                            + " job(s) running and "
                            + executor.getQueue().size()
                            + " waiting (jbolt.distill.distillation.pool-size="
                            + settings.getPoolSize()
                            + ", queue-capacity="
                            + settings.getQueueCapacity()
                            + ")",
                    e);
        }
        job.attach(run);
        synchronized (jobs) {
            jobs.put(id, job);
        }
        job.future()
                .whenComplete(
                        (r, e) -> {
                            if (job.future().isCancelled()) {
                                run.cancel(true);
                            }
                        });
        run.whenComplete((result, error) -> finish(job, run, result, error));
        LOG.info("Submitted distillation {}: {}", id, request);
        return job;
    }

    /**
     * Loads a bundle, warms it up and swaps it into the served model.
     *
     * @param bundle the bundle directory
     * @return the bundle directory of the model swapped out, if one was served
     * @throws dev.jbolt.distill.InvalidInputException if the bundle is missing or malformed (the
     *     served model is unchanged)
     */
    public Optional<Path> swapIn(Path bundle) {
        return swapIn(bundle, null);
    }

    /**
     * Looks a job up.
     *
     * @param id the job id
     * @return the job, unless unknown or forgotten (see {@code retained-jobs})
     */
    public Optional<DistillationJob> job(String id) {
        synchronized (jobs) {
            return Optional.ofNullable(jobs.get(id));
        }
    }

    /**
     * Lists the known jobs, oldest first.
     *
     * @return a snapshot
     */
    public List<DistillationJob> jobs() {
        synchronized (jobs) {
            return List.copyOf(jobs.values());
        }
    }

    /**
     * Returns the number of jobs running now.
     *
     * @return the count
     */
    public int runningJobs() {
        return (int)
                jobs().stream().filter(j -> j.status() == DistillationJob.Status.RUNNING).count();
    }

    /**
     * Returns the number of jobs waiting for a thread.
     *
     * @return the count
     */
    public int queuedJobs() {
        return executor.getQueue().size();
    }

    /** Cancels unfinished jobs and stops the executor (application shutdown). */
    @Override
    public void destroy() throws InterruptedException {
        List<DistillationJob> open = new ArrayList<>();
        for (DistillationJob job : jobs()) {
            if (!job.isFinished()) {
                open.add(job);
                job.cancel();
            }
        }
        executor.shutdownNow();
        if (!open.isEmpty()) {
            LOG.info("Cancelled {} unfinished distillation job(s) at shutdown", open.size());
        }
        long millis = settings.getShutdownTimeout().toMillis();
        if (!executor.awaitTermination(millis, TimeUnit.MILLISECONDS)) {
            LOG.warn("Distillation jobs still running {} ms after shutdown was requested", millis);
        }
    }

    private Optional<Path> swapIn(Path bundle, String jobId) {
        Objects.requireNonNull(bundle, "bundle");
        StudentModel next = StudentModel.load(bundle);
        try {
            WarmUps.warm(next, warmUp);
        } catch (RuntimeException e) {
            next.close();
            throw e;
        }
        Optional<Path> previous = served.swap(next);
        publisher.publishEvent(
                new StudentModelSwappedEvent(this, previous.orElse(null), bundle, jobId));
        return previous;
    }

    private void finish(
            DistillationJob job,
            CompletableFuture<DistillationResult> run,
            DistillationResult result,
            Throwable error) {
        CompletableFuture<DistillationResult> done = job.future();
        if (done.isCancelled() || run.isCancelled() || error instanceof CancellationException) {
            job.finish(DistillationJob.Status.CANCELLED);
            done.cancel(false);
            LOG.info("Distillation {} cancelled", job.id());
        } else if (error != null) {
            Throwable cause =
                    error instanceof CompletionException && error.getCause() != null
                            ? error.getCause()
                            : error;
            job.finish(DistillationJob.Status.FAILED);
            done.completeExceptionally(cause);
            LOG.warn("Distillation {} failed: {}", job.id(), cause.toString());
        } else {
            try {
                if (job.swapWhenDone()) {
                    swapIn(result.bundlePath(), job.id());
                    job.markSwapped();
                }
                job.finish(DistillationJob.Status.SUCCEEDED);
                done.complete(result);
                LOG.info(
                        "Distillation {} succeeded: bundle {}{}",
                        job.id(),
                        result.bundlePath(),
                        job.swapped() ? ", now served" : "");
            } catch (RuntimeException e) {
                job.finish(DistillationJob.Status.FAILED);
                done.completeExceptionally(e);
                LOG.warn(
                        "Distillation {} wrote {} but swapping it in failed: {}",
                        job.id(),
                        result.bundlePath(),
                        e.toString());
            }
        }
        try {
            publisher.publishEvent(new DistillationFinishedEvent(this, job));
        } finally {
            forgetOldJobs();
        }
    }

    private void forgetOldJobs() {
        synchronized (jobs) {
            long finished = jobs.values().stream().filter(DistillationJob::isFinished).count();
            Iterator<DistillationJob> it = jobs.values().iterator();
            while (finished > settings.getRetainedJobs() && it.hasNext()) {
                if (it.next().isFinished()) {
                    it.remove();
                    finished--;
                }
            }
        }
    }
}
