package dev.jbolt.distill.spring;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.concurrent.TimeUnit;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.ApplicationEvent;
import org.springframework.context.ApplicationListener;

/**
 * Micrometer metrics of the served model and the distillation jobs.
 *
 * <ul>
 *   <li>{@code jbolt.distill.predictions} (timer, tag {@code outcome} = {@code success} | {@code
 *       error}): one sample per {@link ServedModel} call, its count and latency;
 *   <li>{@code jbolt.distill.predictions.items} (counter): texts or feature rows predicted;
 *   <li>{@code jbolt.distill.distillation.progress} (gauge): share of training steps done by the
 *       most recently updated running job, 0 when none runs;
 *   <li>{@code jbolt.distill.distillation.jobs.running}, {@code ...jobs.queued} (gauges);
 *   <li>{@code jbolt.distill.distillation.jobs} (counter, tag {@code status} = {@code succeeded} |
 *       {@code failed} | {@code cancelled}): finished jobs;
 *   <li>{@code jbolt.distill.model.swaps} (counter): models swapped in by the service.
 * </ul>
 *
 * <p>Spring Boot's actuator binds this {@link MeterBinder} to the application's registry;
 * predictions made before that are not recorded.
 */
public class JboltMetrics
        implements MeterBinder, PredictionObserver, ApplicationListener<ApplicationEvent> {
    private final ObjectProvider<DistillationService> service;
    private volatile MeterRegistry registry;
    private volatile Timer success;
    private volatile Timer failure;
    private volatile Counter items;
    private volatile double progress;

    /**
     * Creates the metrics.
     *
     * @param service the distillation service whose queue is measured (looked up at binding)
     */
    public JboltMetrics(ObjectProvider<DistillationService> service) {
        this.service = service;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        this.success =
                Timer.builder("jbolt.distill.predictions")
                        .description("Calls to the served student model")
                        .tag("outcome", "success")
                        .register(registry);
        this.failure =
                Timer.builder("jbolt.distill.predictions")
                        .description("Calls to the served student model")
                        .tag("outcome", "error")
                        .register(registry);
        this.items =
                Counter.builder("jbolt.distill.predictions.items")
                        .description("Texts or feature rows predicted by the served model")
                        .register(registry);
        Gauge.builder("jbolt.distill.distillation.progress", this, m -> m.progress)
                .description("Share of training steps done by the running distillation job")
                .register(registry);
        DistillationService service = this.service.getIfAvailable();
        if (service != null) {
            Gauge.builder("jbolt.distill.distillation.jobs.running", service, s -> s.runningJobs())
                    .description("Distillation jobs running")
                    .register(registry);
            Gauge.builder("jbolt.distill.distillation.jobs.queued", service, s -> s.queuedJobs())
                    .description("Distillation jobs waiting for a thread")
                    .register(registry);
        }
        this.registry = registry;
    }

    @Override
    public void onPrediction(int n, long nanos, boolean ok) {
        Timer timer = ok ? success : failure;
        if (timer == null) {
            return;
        }
        timer.record(nanos, TimeUnit.NANOSECONDS);
        if (ok) {
            items.increment(n);
        }
    }

    @Override
    public void onApplicationEvent(ApplicationEvent event) {
        MeterRegistry r = registry;
        if (event instanceof DistillationProgressEvent e) {
            progress = e.getJob().progress();
        } else if (event instanceof DistillationFinishedEvent e) {
            progress = 0.0;
            if (r != null) {
                r.counter(
                                "jbolt.distill.distillation.jobs",
                                "status",
                                e.getJob().status().name().toLowerCase(java.util.Locale.ROOT))
                        .increment();
            }
        } else if (event instanceof StudentModelSwappedEvent && r != null) {
            r.counter("jbolt.distill.model.swaps").increment();
        }
    }
}
