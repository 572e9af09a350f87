package dev.jbolt.distill.spring;

import io.micrometer.core.instrument.binder.MeterBinder;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;

/**
 * Micrometer metrics of jbolt-distill ({@link JboltMetrics}), when Micrometer is on the classpath.
 *
 * <p>Off with {@code jbolt.distill.metrics.enabled=false} (or {@code jbolt.distill.enabled=false});
 * backs off when the application defines its own {@link JboltMetrics} bean. The metrics observe the
 * starter's own {@link ServedModel} only.
 */
@AutoConfiguration
@ConditionalOnClass(MeterBinder.class)
@ConditionalOnProperty(
        prefix = "jbolt.distill",
        name = {"enabled", "metrics.enabled"},
        havingValue = "true",
        matchIfMissing = true)
public class JboltDistillMetricsAutoConfiguration {
    /**
     * The metrics.
     *
     * @param service the distillation service (looked up when the metrics are bound)
     * @return the metrics
     */
    @Bean
    @ConditionalOnMissingBean
    public JboltMetrics jboltMetrics(ObjectProvider<DistillationService> service) {
        return new JboltMetrics(service);
    }
}
