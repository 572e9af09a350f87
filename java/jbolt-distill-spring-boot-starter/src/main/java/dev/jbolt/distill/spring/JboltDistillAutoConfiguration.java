package dev.jbolt.distill.spring;

import dev.jbolt.distill.Models;
import dev.jbolt.distill.StudentModel;
import java.nio.file.Path;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.AnyNestedCondition;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;

/**
 * Auto-configuration of jbolt-distill: the {@link StudentModel} loaded at start-up, the {@link
 * ServedModel} that serves (and hot-swaps) it, and the {@link DistillationService}.
 *
 * <p>Active unless {@code jbolt.distill.enabled=false}. The {@code StudentModel} bean exists only
 * when {@code jbolt.distill.model-path} or {@code model-name} is set; it is loaded and warmed up
 * while the context starts (a missing or broken bundle fails start-up with the engine's message)
 * and closed at shutdown. Each bean backs off when the application defines its own bean of that
 * type. Metrics and health live in {@link JboltDistillMetricsAutoConfiguration} and {@link
 * JboltDistillHealthAutoConfiguration}.
 */
@AutoConfiguration
@ConditionalOnClass(StudentModel.class)
@ConditionalOnProperty(
        prefix = "jbolt.distill",
        name = "enabled",
        havingValue = "true",
        matchIfMissing = true)
@EnableConfigurationProperties(JboltDistillProperties.class)
public class JboltDistillAutoConfiguration {
    private static final Logger LOG = LoggerFactory.getLogger(JboltDistillAutoConfiguration.class);

    /** System property the native loader reads for libtorch's intra-op threads. */
    static final String THREADS_PROPERTY = "jbolt.threads";

    /**
     * Applies {@code jbolt.distill.threads} before anything loads the native library.
     *
     * @param properties the starter's settings
     */
    public JboltDistillAutoConfiguration(JboltDistillProperties properties) {
        applyThreads(properties.getThreads());
    }

    /**
     * The student model configured by {@code model-path} (or {@code model-name}), loaded and warmed
     * up at start-up, closed at shutdown.
     *
     * @param properties the starter's settings
     * @return the loaded model
     */
    @Bean
    @ConditionalOnMissingBean
    @Conditional(OnModelConfigured.class)
    public StudentModel studentModel(JboltDistillProperties properties) {
        Path dir =
                properties.getModelPath() != null
                        ? properties.getModelPath()
                        : Models.home().resolve(properties.getModelName());
        StudentModel model = StudentModel.load(dir);
        try {
            WarmUps.warm(model, properties.getWarmUp());
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
        return model;
    }

    /**
     * The served model: the start-up {@link StudentModel} if there is one, else empty until a model
     * is swapped in.
     *
     * @param model the start-up model, if any
     * @param observers told about each prediction (the starter's metrics among them)
     * @return the holder
     */
    @Bean
    @ConditionalOnMissingBean
    public ServedModel servedModel(
            ObjectProvider<StudentModel> model, ObjectProvider<PredictionObserver> observers) {
        return new ServedModel(model.getIfAvailable(), observers.orderedStream().toList());
    }

    /**
     * The background distillation service.
     *
     * @param properties the starter's settings
     * @param served the model that jobs swap into
     * @param publisher where its events go
     * @return the service
     */
    @Bean
    @ConditionalOnMissingBean
    public DistillationService distillationService(
            JboltDistillProperties properties,
            ServedModel served,
            ApplicationEventPublisher publisher) {
        return new DistillationService(properties, served, publisher);
    }

    static void applyThreads(Integer threads) {
        if (threads == null) {
            return;
        }
        if (threads < 1) {
            throw new IllegalArgumentException(
                    "jbolt.distill.threads must be at least 1, got " + threads);
        }
        String explicit = System.getProperty(THREADS_PROPERTY);
        if (explicit != null) {
            if (!explicit.trim().equals(Integer.toString(threads))) {
                LOG.warn(
                        "Ignoring jbolt.distill.threads={}: -D{}={} is set and wins",
                        threads,
                        THREADS_PROPERTY,
                        explicit);
            }
            return;
        }
        System.setProperty(THREADS_PROPERTY, Objects.toString(threads));
        LOG.debug("Set {}={} from jbolt.distill.threads", THREADS_PROPERTY, threads);
    }

    /** Matches when {@code jbolt.distill.model-path} or {@code jbolt.distill.model-name} is set. */
    static final class OnModelConfigured extends AnyNestedCondition {
        OnModelConfigured() {
            super(ConfigurationPhase.REGISTER_BEAN);
        }

        @ConditionalOnProperty(prefix = "jbolt.distill", name = "model-path")
        static final class ModelPath {}

        @ConditionalOnProperty(prefix = "jbolt.distill", name = "model-name")
        static final class ModelName {}
    }
}
