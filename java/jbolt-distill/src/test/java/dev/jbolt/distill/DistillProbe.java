package dev.jbolt.distill;

import java.nio.file.Path;
import java.util.List;

/**
 * Main class run in a child JVM by {@link InterruptionTest} and {@link JniCheckTest}: one small
 * deterministic distillation with a checkpoint after every step, or a round of native calls that
 * end in exceptions.
 *
 * <p>It prints {@code step <n>} after each training event (flushed, so that the parent can kill it
 * at a chosen step) and {@code report <json>} at the end.
 */
public final class DistillProbe {
    private DistillProbe() {}

    /** The run both the interrupted and the uninterrupted child make. */
    static DistillationResult run(Path data, Path out, Path checkpoints, boolean resume) {
        return new JboltDistiller()
                .setTeacherModel("all-MiniLM-L6-v2")
                .setStudentConfig(
                        new TransformerConfig()
                                .setLayers(1)
                                .setHiddenSize(64)
                                .setHeads(2)
                                .setIntermediateSize(128)
                                .setMaxPositions(32))
                .setOutputDir(out)
                .addListener(
                        e -> {
                            boolean training =
                                    e.stage().equals("warmup")
                                            || e.stage().equals("distill")
                                            || e.stage().equals("final");
                            if (training && e.step() > 0) {
                                System.out.println("step " + e.step());
                                System.out.flush();
                                // A pause after each step lets the parent's kill land at the
                                // step it chose, not some steps later (a step takes ~10 ms).
                                try {
                                    Thread.sleep(250);
                                } catch (InterruptedException interrupted) {
                                    Thread.currentThread().interrupt();
                                }
                            }
                        })
                .distill(
                        Dataset.fromJsonl(data),
                        new TrainingParams()
                                .setEpochs(3)
                                .setBatchSize(8)
                                .setMaxLength(32)
                                .setThreads(1)
                                .setSeed(7)
                                .setCheckpointDir(checkpoints)
                                .setCheckpointEvery(1)
                                .setResume(resume));
    }

    /** Native calls that fail in every way a caller can make them fail, then succeed. */
    static void failures(Path bundle) {
        try (StudentModel model = StudentModel.load(bundle)) {
            System.out.println("predicted " + model.predict("The striker scored").label());
            expect(() -> model.predictBatch(List.of()));
            expect(() -> model.predictFeatures(new float[] {1f, 2f}));
            expect(() -> StudentModel.load(bundle.resolve("missing")));
            expect(
                    () ->
                            new JboltDistiller()
                                    .setTeacherModel("all-MiniLM-L6-v2")
                                    .distill(
                                            Dataset.fromJsonl(bundle.resolve("none.jsonl")),
                                            new TrainingParams()));
            expect(() -> NativeBridge.selfTestPanic("from the jni probe"));
            System.out.println("predicted " + model.predict(" ".repeat(100_000)).label());
        }
    }

    /** This process's resident set size in KiB, from {@code /proc/self/status}. */
    static long rssKib() throws java.io.IOException {
        for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    /**
     * Creates and closes models and runs short distillations in rounds, printing {@code rss <round>
     * <KiB>} after each round.
     */
    static void leak(Path data, Path out, Path checkpoints, int rounds) throws Exception {
        for (int round = 0; round < rounds; round++) {
            Path bundle = out.resolve("run-" + (round % 2));
            run(data, bundle, checkpoints.resolve("run-" + round), false);
            for (int i = 0; i < 20; i++) {
                try (StudentModel model = StudentModel.load(bundle)) {
                    model.predictBatch(List.of("Shares fell", "A late goal", "The election"));
                }
            }
            System.gc();
            System.out.println("rss " + round + " " + rssKib());
            System.out.flush();
        }
    }

    private static void expect(Runnable call) {
        try {
            call.run();
            throw new AssertionError("no exception");
        } catch (JboltException e) {
            System.out.println("caught " + e.getClass().getSimpleName());
        }
    }

    /**
     * Runs the probe.
     *
     * @param args {@code run DATA OUT CHECKPOINTS}, {@code resume DATA OUT CHECKPOINTS} or {@code
     *     failures BUNDLE}
     */
    public static void main(String[] args) throws Exception {
        if (args[0].equals("leak")) {
            leak(Path.of(args[1]), Path.of(args[2]), Path.of(args[3]), Integer.parseInt(args[4]));
            System.out.println("probe done");
            return;
        }
        if (args[0].equals("failures")) {
            run(Path.of(args[1]), Path.of(args[2]), Path.of(args[3]), false);
            failures(Path.of(args[2]));
            System.out.println("probe done");
            return;
        }
        DistillationResult result =
                run(Path.of(args[1]), Path.of(args[2]), Path.of(args[3]), args[0].equals("resume"));
        System.out.println("report " + result.toJson().replace('\n', ' '));
    }
}
