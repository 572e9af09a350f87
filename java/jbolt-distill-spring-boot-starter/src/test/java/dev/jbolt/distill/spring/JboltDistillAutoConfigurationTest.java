package dev.jbolt.distill.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jbolt.distill.Dataset;
import dev.jbolt.distill.InvalidInputException;
import dev.jbolt.distill.StudentModel;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.LazyInitializationBeanFactoryPostProcessor;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Lazy;

/**
 * The auto-configuration on, off, by default and backing off, without the native engine: no test
 * here loads a model (the one that configures a model path keeps the context lazy and checks the
 * bean definitions only).
 */
class JboltDistillAutoConfigurationTest {
    private final ApplicationContextRunner runner =
            new ApplicationContextRunner()
                    .withConfiguration(
                            AutoConfigurations.of(
                                    JboltDistillAutoConfiguration.class,
                                    JboltDistillMetricsAutoConfiguration.class,
                                    JboltDistillHealthAutoConfiguration.class));

    /** A context whose beans are created only when asked for. */
    private ApplicationContextRunner lazy() {
        return runner.withInitializer(
                context ->
                        context.addBeanFactoryPostProcessor(
                                new LazyInitializationBeanFactoryPostProcessor()));
    }

    @Test
    void byDefaultItServesNoModelButOffersTheServiceMetricsAndHealth() {
        runner.run(
                context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).doesNotHaveBean(StudentModel.class);
                    assertThat(context).hasSingleBean(ServedModel.class);
                    assertThat(context).hasSingleBean(DistillationService.class);
                    assertThat(context).hasSingleBean(JboltMetrics.class);
                    assertThat(context).hasSingleBean(JboltHealthIndicator.class);
                    assertThat(context).hasSingleBean(JboltDistillProperties.class);
                    assertThat(context.getBean(ServedModel.class).isLoaded()).isFalse();
                });
    }

    @Test
    void theDefaultsAreTheDocumentedOnes() {
        runner.run(
                context -> {
                    JboltDistillProperties p = context.getBean(JboltDistillProperties.class);
                    assertThat(p.isEnabled()).isTrue();
                    assertThat(p.getModelPath()).isNull();
                    assertThat(p.getModelName()).isNull();
                    assertThat(p.getThreads()).isNull();
                    assertThat(p.getWarmUp().isEnabled()).isTrue();
                    assertThat(p.getWarmUp().getIterations()).isEqualTo(1);
                    assertThat(p.getDistillation().getPoolSize()).isEqualTo(1);
                    assertThat(p.getDistillation().getQueueCapacity()).isEqualTo(4);
                    assertThat(p.getDistillation().getTeacher()).isNull();
                    assertThat(p.getDistillation().getOutputDir()).isNull();
                    assertThat(p.getDistillation().isSwapWhenDone()).isTrue();
                    assertThat(p.getDistillation().getRetainedJobs()).isEqualTo(20);
                    assertThat(p.getDistillation().getShutdownTimeout()).hasSeconds(30);
                    assertThat(p.getMetrics().isEnabled()).isTrue();
                });
    }

    @Test
    void turnedOffByPropertyItDefinesNothing() {
        runner.withPropertyValues("jbolt.distill.enabled=false")
                .run(
                        context -> {
                            assertThat(context).hasNotFailed();
                            assertThat(context).doesNotHaveBean(ServedModel.class);
                            assertThat(context).doesNotHaveBean(DistillationService.class);
                            assertThat(context).doesNotHaveBean(StudentModel.class);
                            assertThat(context).doesNotHaveBean(JboltMetrics.class);
                            assertThat(context).doesNotHaveBean(JboltHealthIndicator.class);
                            assertThat(context).doesNotHaveBean(JboltDistillProperties.class);
                        });
    }

    @Test
    void aModelPathDefinesTheStudentModelBeanAndBindsTheProperties() {
        lazy().withPropertyValues(
                        "jbolt.distill.model-path=/srv/student",
                        "jbolt.distill.warm-up.iterations=3",
                        "jbolt.distill.distillation.pool-size=2",
                        "jbolt.distill.distillation.teacher=all-MiniLM-L6-v2")
                .run(
                        context -> {
                            assertThat(context).hasNotFailed();
                            assertThat(context.getBeanNamesForType(StudentModel.class))
                                    .containsExactly("studentModel");
                            assertThat(context.getBeanNamesForType(ServedModel.class))
                                    .containsExactly("servedModel");
                            JboltDistillProperties p =
                                    context.getBean(JboltDistillProperties.class);
                            assertThat(p.getModelPath()).hasToString("/srv/student");
                            assertThat(p.getWarmUp().getIterations()).isEqualTo(3);
                            assertThat(p.getDistillation().getPoolSize()).isEqualTo(2);
                            assertThat(p.getDistillation().getTeacher())
                                    .isEqualTo("all-MiniLM-L6-v2");
                        });
    }

    @Test
    void aModelNameAlsoDefinesTheStudentModelBean() {
        lazy().withPropertyValues("jbolt.distill.model-name=news-student")
                .run(
                        context ->
                                assertThat(context.getBeanNamesForType(StudentModel.class))
                                        .containsExactly("studentModel"));
    }

    @Test
    void itBacksOffFromTheApplicationsOwnStudentModel() {
        lazy().withPropertyValues("jbolt.distill.model-path=/srv/student")
                .withUserConfiguration(UserStudentModel.class)
                .run(
                        context ->
                                assertThat(context.getBeanNamesForType(StudentModel.class))
                                        .containsExactly("myStudent"));
    }

    @Test
    void itBacksOffFromTheApplicationsOwnServedModelAndService() {
        runner.withUserConfiguration(UserServedModelAndService.class)
                .run(
                        context -> {
                            assertThat(context).hasNotFailed();
                            assertThat(context).hasSingleBean(ServedModel.class);
                            assertThat(context).hasBean("myServedModel");
                            assertThat(context).doesNotHaveBean("servedModel");
                            assertThat(context).hasSingleBean(DistillationService.class);
                            assertThat(context).hasBean("myService");
                            assertThat(context).doesNotHaveBean("distillationService");
                            assertThat(context.getBean(JboltHealthIndicator.class)).isNotNull();
                        });
    }

    @Test
    void itBacksOffFromTheApplicationsOwnMetricsAndHealthIndicator() {
        runner.withUserConfiguration(UserMetricsAndHealth.class)
                .run(
                        context -> {
                            assertThat(context).hasSingleBean(JboltMetrics.class);
                            assertThat(context).hasBean("myMetrics");
                            assertThat(context).doesNotHaveBean("jboltMetrics");
                            assertThat(context.getBean("jboltHealthIndicator"))
                                    .isInstanceOf(String.class);
                        });
    }

    @Test
    void metricsAndHealthTurnOffByTheirOwnProperties() {
        runner.withPropertyValues(
                        "jbolt.distill.metrics.enabled=false",
                        "management.health.jbolt.enabled=false")
                .run(
                        context -> {
                            assertThat(context).hasSingleBean(ServedModel.class);
                            assertThat(context).doesNotHaveBean(JboltMetrics.class);
                            assertThat(context).doesNotHaveBean(JboltHealthIndicator.class);
                        });
    }

    @Test
    void theThreadsPropertyBecomesTheLoadersSystemPropertyUnlessOneIsSet() {
        String before = System.getProperty(JboltDistillAutoConfiguration.THREADS_PROPERTY);
        try {
            System.clearProperty(JboltDistillAutoConfiguration.THREADS_PROPERTY);
            runner.withPropertyValues("jbolt.distill.threads=1")
                    .run(context -> assertThat(System.getProperty("jbolt.threads")).isEqualTo("1"));
            System.setProperty(JboltDistillAutoConfiguration.THREADS_PROPERTY, "2");
            runner.withPropertyValues("jbolt.distill.threads=1")
                    .run(context -> assertThat(System.getProperty("jbolt.threads")).isEqualTo("2"));
        } finally {
            if (before == null) {
                System.clearProperty(JboltDistillAutoConfiguration.THREADS_PROPERTY);
            } else {
                System.setProperty(JboltDistillAutoConfiguration.THREADS_PROPERTY, before);
            }
        }
    }

    @Test
    void aServedModelWithoutAModelFailsPredictionsAndTheMetricsCountThem() {
        runner.run(
                context -> {
                    SimpleMeterRegistry registry = new SimpleMeterRegistry();
                    context.getBean(JboltMetrics.class).bindTo(registry);
                    ServedModel served = context.getBean(ServedModel.class);

                    assertThatThrownBy(() -> served.predict("hello"))
                            .isInstanceOf(NoModelServedException.class)
                            .hasMessageContaining("jbolt.distill.model-path");

                    assertThat(
                                    registry.get("jbolt.distill.predictions")
                                            .tag("outcome", "error")
                                            .timer()
                                            .count())
                            .isEqualTo(1);
                    assertThat(registry.get("jbolt.distill.distillation.jobs.queued").gauge())
                            .isNotNull();
                });
    }

    @Test
    void aJobWithoutATeacherIsRefusedAtSubmission() {
        runner.run(
                context -> {
                    DistillationService service = context.getBean(DistillationService.class);
                    DistillationRequest request =
                            DistillationRequest.of(Dataset.of(List.of("a", "b"), List.of(0, 1)));

                    assertThatThrownBy(() -> service.submit(request))
                            .isInstanceOf(InvalidInputException.class)
                            .hasMessageContaining("teacher");
                    assertThat(service.jobs()).isEmpty();
                });
    }

    @Configuration(proxyBeanMethods = false)
    static class UserStudentModel {
        @Bean
        @Lazy
        StudentModel myStudent() {
            throw new AssertionError("the test only checks bean definitions");
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class UserServedModelAndService {
        @Bean
        ServedModel myServedModel() {
            return new ServedModel(null);
        }

        @Bean
        DistillationService myService(
                ServedModel served,
                ApplicationEventPublisher publisher,
                JboltDistillProperties properties) {
            return new DistillationService(properties, served, publisher);
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class UserMetricsAndHealth {
        @Bean
        JboltMetrics myMetrics(ObjectProvider<DistillationService> service) {
            return new JboltMetrics(service);
        }

        @Bean
        String jboltHealthIndicator() {
            return "the application's own";
        }
    }
}
