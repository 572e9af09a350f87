package dev.jbolt.distill.spring;

import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Settings of the jbolt-distill starter, under the prefix {@code jbolt.distill}.
 *
 * <p>Every field's Javadoc and initial value become the configuration metadata that IDEs show
 * (generated at build time by {@code spring-boot-configuration-processor}).
 */
@ConfigurationProperties(prefix = "jbolt.distill")
public class JboltDistillProperties {
    /** Whether the starter configures anything at all. */
    private boolean enabled = true;

    /**
     * Directory of the student bundle to serve, loaded at start-up as the StudentModel bean. Unset
     * (the default): no model is served until one is swapped in.
     */
    private Path modelPath;

    /**
     * Name of a student bundle directory in the model home ($JBOLT_MODEL_HOME, else
     * ~/.jbolt/models), used when model-path is unset. Unset by default.
     */
    private String modelName;

    /**
     * libtorch intra-op threads, applied as the system property jbolt.threads before the native
     * library loads (an explicit -Djbolt.threads wins). Unset (the default): libtorch's own choice.
     * 1 is usually best for many small concurrent requests.
     */
    private Integer threads;

    private final WarmUp warmUp = new WarmUp();

    private final Distillation distillation = new Distillation();

    private final Metrics metrics = new Metrics();

    public boolean isEnabled() {
        return enabled;
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public Path getModelPath() {
        return modelPath;
    }

    public void setModelPath(Path modelPath) {
        this.modelPath = modelPath;
    }

    public String getModelName() {
        return modelName;
    }

    public void setModelName(String modelName) {
        this.modelName = modelName;
    }

    public Integer getThreads() {
        return threads;
    }

    public void setThreads(Integer threads) {
        this.threads = threads;
    }

    public WarmUp getWarmUp() {
        return warmUp;
    }

    public Distillation getDistillation() {
        return distillation;
    }

    public Metrics getMetrics() {
        return metrics;
    }

    /** Warm-up of a model before it serves: at start-up, and before a hot swap. */
    public static class WarmUp {
        /** Whether a model runs throw-away predictions before it serves. */
        private boolean enabled = true;

        /** Number of throw-away predictions per warm-up. */
        private int iterations = 1;

        public boolean isEnabled() {
            return enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        public int getIterations() {
            return iterations;
        }

        public void setIterations(int iterations) {
            this.iterations = iterations;
        }
    }

    /** The DistillationService: its bounded executor and the defaults of its jobs. */
    public static class Distillation {
        /** Distillation jobs that run at the same time (threads of the bounded executor). */
        private int poolSize = 1;

        /** Jobs that may wait for a free thread; a submission beyond that is rejected. */
        private int queueCapacity = 4;

        /**
         * Teacher of jobs whose request names none: a model name in the model home, a model
         * directory or a TorchScript file. Unset by default (a request must then name one).
         */
        private String teacher;

        /**
         * Directory under which each job writes its bundle, in a sub-directory named after the job
         * id. Unset (the default): a new directory under java.io.tmpdir per job.
         */
        private Path outputDir;

        /** Whether a job whose request does not say otherwise swaps its student in when done. */
        private boolean swapWhenDone = true;

        /** Finished jobs kept for look-up by id; older ones are forgotten. */
        private int retainedJobs = 20;

        /** How long shutdown waits for cancelled jobs to stop. */
        private Duration shutdownTimeout = Duration.ofSeconds(30);

        public int getPoolSize() {
            return poolSize;
        }

        public void setPoolSize(int poolSize) {
            this.poolSize = poolSize;
        }

        public int getQueueCapacity() {
            return queueCapacity;
        }

        public void setQueueCapacity(int queueCapacity) {
            this.queueCapacity = queueCapacity;
        }

        public String getTeacher() {
            return teacher;
        }

        public void setTeacher(String teacher) {
            this.teacher = teacher;
        }

        public Path getOutputDir() {
            return outputDir;
        }

        public void setOutputDir(Path outputDir) {
            this.outputDir = outputDir;
        }

        public boolean isSwapWhenDone() {
            return swapWhenDone;
        }

        public void setSwapWhenDone(boolean swapWhenDone) {
            this.swapWhenDone = swapWhenDone;
        }

        public int getRetainedJobs() {
            return retainedJobs;
        }

        public void setRetainedJobs(int retainedJobs) {
            this.retainedJobs = retainedJobs;
        }

        public Duration getShutdownTimeout() {
            return shutdownTimeout;
        }

        public void setShutdownTimeout(Duration shutdownTimeout) {
            this.shutdownTimeout = shutdownTimeout;
        }
    }

    /** Micrometer metrics (when Micrometer is on the classpath). */
    public static class Metrics {
        /** Whether prediction and distillation metrics are registered. */
        private boolean enabled = true;

        public boolean isEnabled() {
            return enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }
    }
}
