package dev.jbolt.distill.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jbolt.distill.Dataset;
import dev.jbolt.distill.DistillationResult;
import dev.jbolt.distill.JboltDistiller;
import dev.jbolt.distill.TrainingParams;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Runs a distillation for a command and writes its output directory.
 *
 * <p>Layout of {@code OUT}: {@code student/} (the bundle, written by the engine), {@code
 * report.json} (the engine's report, plus {@code dataset} when the command names it) and {@code
 * report.md} ({@link ReportMarkdown}). Progress goes to standard error; standard output gets the
 * Markdown summary, or the report JSON with {@code --json}.
 */
final class RunOutput {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** How long a shutdown waits for a running distillation to reach its next step. */
    private static final long SHUTDOWN_WAIT_SECONDS = 60;

    /** Directory of the bundle inside the output directory. */
    static final String BUNDLE_DIR = "student";

    private RunOutput() {}

    /**
     * Distils, writes {@code out} and prints the summary.
     *
     * @param distiller the configured distiller (its output directory is set here)
     * @param train the training data
     * @param params the training settings
     * @param out the output directory
     * @param dataset the dataset name for the report, or null to keep the engine's
     * @param json print the report JSON instead of the summary
     * @param stdout standard output
     * @param stderr standard error
     * @return the report as written to {@code report.json}
     */
    static ObjectNode distill(
            JboltDistiller distiller,
            Dataset train,
            TrainingParams params,
            Path out,
            String dataset,
            boolean json,
            PrintWriter stdout,
            PrintWriter stderr) {
        Path dir = out.toAbsolutePath().normalize();
        createDirectories(dir);
        distiller.setOutputDir(dir.resolve(BUNDLE_DIR));
        distiller.addListener(ProgressDisplay.forConsole(stderr));

        DistillationResult result = runUntilDone(distiller, train, params, stderr);

        ObjectNode report = result.json().deepCopy();
        if (dataset != null) {
            report.put("dataset", dataset);
        }
        String markdown = ReportMarkdown.render(report);
        write(dir.resolve("report.json"), report.toPrettyString() + "\n");
        write(dir.resolve("report.md"), markdown);

        if (json) {
            stdout.println(report.toPrettyString());
        } else {
            stdout.println();
            stdout.print(markdown);
            stdout.println();
            stdout.println("Wrote " + dir.resolve(BUNDLE_DIR) + "/, report.json and report.md");
        }
        stdout.flush();
        return report;
    }

    /**
     * Runs the distillation on a worker thread and waits for it; if the JVM is asked to stop
     * meanwhile (Ctrl-C, SIGTERM), a shutdown hook cancels the run and waits for the engine to
     * return before the JVM exits, so native code never runs while the process is torn down.
     */
    private static DistillationResult runUntilDone(
            JboltDistiller distiller, Dataset train, TrainingParams params, PrintWriter stderr) {
        ExecutorService worker =
                Executors.newSingleThreadExecutor(
                        task -> {
                            Thread t = new Thread(task, "jbolt-distill-run");
                            t.setDaemon(true);
                            return t;
                        });
        CompletableFuture<DistillationResult> future =
                distiller.distillAsync(train, params, worker);
        worker.shutdown();
        Thread hook =
                new Thread(
                        () -> {
                            if (!worker.isTerminated()) {
                                stderr.println(
                                        "Stopping: the run ends at its next step; its last"
                                                + " checkpoint is kept");
                                stderr.flush();
                                future.cancel(true);
                                try {
                                    worker.awaitTermination(
                                            SHUTDOWN_WAIT_SECONDS, TimeUnit.SECONDS);
                                } catch (InterruptedException e) {
                                    Thread.currentThread().interrupt();
                                }
                            }
                        },
                        "jbolt-distill-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return future.join();
        } catch (CancellationException e) {
            throw new ToolFailureException("Stopped before the run finished");
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException cause) {
                throw cause;
            }
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw e;
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // The JVM is exiting; the hook is running or has run.
            }
        }
    }

    static void createDirectories(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create the output directory " + dir, e);
        }
    }

    static void write(Path file, String text) {
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write " + file, e);
        }
    }

    static ObjectMapper mapper() {
        return MAPPER;
    }
}
