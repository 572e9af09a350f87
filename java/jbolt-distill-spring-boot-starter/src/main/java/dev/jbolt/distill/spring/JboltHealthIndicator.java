package dev.jbolt.distill.spring;

import dev.jbolt.distill.JboltException;
import dev.jbolt.distill.JboltRuntime;
import dev.jbolt.distill.RuntimeInfo;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.Status;

/**
 * Actuator health of jbolt-distill (component {@code jbolt}): the native library and the served
 * model.
 *
 * <p>{@code DOWN} when libtorch or the JNI library cannot be loaded (the loader's message is the
 * detail {@code error}); {@code OUT_OF_SERVICE} when the libraries are loaded but no model is
 * served yet; {@code UP} when a model is served. Details: {@code nativeVersion}, {@code
 * libtorchVersion}, {@code threads}, {@code modelLoaded}, {@code model} (bundle path), {@code
 * labels}, {@code swaps}. Turn it off with {@code management.health.jbolt.enabled=false} (for
 * example in an application that only distils).
 */
public class JboltHealthIndicator extends AbstractHealthIndicator {
    private final ServedModel served;

    /**
     * Creates the indicator.
     *
     * @param served the served model
     */
    public JboltHealthIndicator(ServedModel served) {
        super("jbolt-distill health check failed");
        this.served = served;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        RuntimeInfo runtime;
        try {
            runtime = JboltRuntime.load();
        } catch (JboltException | LinkageError e) {
            builder.down().withDetail("nativeLoaded", false).withDetail("error", e.getMessage());
            return;
        }
        builder.withDetail("nativeLoaded", true)
                .withDetail("nativeVersion", runtime.version())
                .withDetail("libtorchVersion", runtime.libtorchVersion())
                .withDetail("threads", runtime.threads())
                .withDetail("modelLoaded", served.isLoaded())
                .withDetail("swaps", served.swapCount());
        if (served.isLoaded()) {
            served.path().ifPresent(p -> builder.withDetail("model", p.toString()));
            builder.withDetail("labels", served.labels()).up();
        } else {
            builder.status(Status.OUT_OF_SERVICE);
        }
    }
}
