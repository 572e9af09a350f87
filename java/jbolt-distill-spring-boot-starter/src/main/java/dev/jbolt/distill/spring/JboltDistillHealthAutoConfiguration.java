package dev.jbolt.distill.spring;

import org.springframework.boot.actuate.autoconfigure.health.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;

/**
 * The Actuator health indicator of jbolt-distill ({@link JboltHealthIndicator}, component {@code
 * jbolt}), when Actuator is on the classpath.
 *
 * <p>Off with {@code management.health.jbolt.enabled=false} (or {@code
 * jbolt.distill.enabled=false}); backs off when the application defines a bean named {@code
 * jboltHealthIndicator}.
 */
@AutoConfiguration(after = JboltDistillAutoConfiguration.class)
@ConditionalOnClass({HealthIndicator.class, ConditionalOnEnabledHealthIndicator.class})
@ConditionalOnProperty(
        prefix = "jbolt.distill",
        name = "enabled",
        havingValue = "true",
        matchIfMissing = true)
@ConditionalOnEnabledHealthIndicator("jbolt")
@ConditionalOnBean(ServedModel.class)
public class JboltDistillHealthAutoConfiguration {
    /**
     * The health indicator.
     *
     * @param served the served model
     * @return the indicator
     */
    @Bean
    @ConditionalOnMissingBean(name = "jboltHealthIndicator")
    public JboltHealthIndicator jboltHealthIndicator(ServedModel served) {
        return new JboltHealthIndicator(served);
    }
}
