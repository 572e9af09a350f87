package dev.jbolt.distill;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whole runs through the engine's pipeline: data failures before training, listener order,
 * cancellation. They need {@code pipeline::distill}, so they pass once the engine lands.
 */
@Tag("engine")
class DistillationEngineTest {
    private static final List<String> STAGE_ORDER =
            List.of(
                    "load",
                    "teacher_cache",
                    "teacher_head",
                    "warmup",
                    "distill",
                    "final",
                    "baseline",
                    "save",
                    "quantize",
                    "evaluate",
                    "done");

    @Test
    void aMissingTrainingFileFailsBeforeTrainingNamingThePath(@TempDir Path dir) {
        Path missing = dir.resolve("no-such.jsonl");
        List<DistillationEvent> events = new CopyOnWriteArrayList<>();

        assertThatThrownBy(
                        () ->
                                EngineFixtures.quickDistiller(dir.resolve("out"))
                                        .addListener(events::add)
                                        .distill(
                                                Dataset.fromJsonl(missing),
                                                EngineFixtures.quickParams()))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining(missing.toString());
        assertThat(events).noneMatch(e -> e.stage().equals("distill"));
    }

    @Test
    void anEmptyTrainingFileFailsBeforeTrainingNamingThePath(@TempDir Path dir) throws Exception {
        Path empty = Files.createFile(dir.resolve("empty.csv"));

        assertThatThrownBy(
                        () ->
                                EngineFixtures.quickDistiller(dir.resolve("out"))
                                        .distill(
                                                Dataset.fromCsv(empty),
                                                EngineFixtures.quickParams()))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining(empty.toString());
    }

    @Test
    void listenersSeeTheStagesInOrderOnTheCallingThreadAndTheRunEndsWithDone(@TempDir Path dir) {
        List<DistillationEvent> events = new CopyOnWriteArrayList<>();
        List<Thread> threads = new CopyOnWriteArrayList<>();

        DistillationResult result =
                EngineFixtures.quickDistiller(dir.resolve("out"))
                        .addListener(events::add)
                        .addListener(e -> threads.add(Thread.currentThread()))
                        .distill(EngineFixtures.smallBbc(6), EngineFixtures.quickParams());

        assertThat(events).isNotEmpty();
        assertThat(threads).containsOnly(Thread.currentThread());
        assertThat(events.get(events.size() - 1).stage()).isEqualTo(DistillationEvent.STAGE_DONE);
        int last = -1;
        long lastStep = -1;
        for (DistillationEvent e : events) {
            int index = STAGE_ORDER.indexOf(e.stage());
            assertThat(index).as("known stage %s", e.stage()).isNotNegative();
            assertThat(index).as("stage %s after %s", e.stage(), last).isGreaterThanOrEqualTo(last);
            if (index != last) {
                lastStep = -1;
            }
            assertThat(e.step()).isGreaterThanOrEqualTo(lastStep);
            last = index;
            lastStep = e.step();
        }
        assertThat(events).anyMatch(e -> e.stage().equals("distill") && e.loss() > 0);
        assertThat(result.bundlePath()).isEqualTo(dir.resolve("out"));
        assertThat(result.labels()).hasSize(5);
        assertThat(result.studentAccuracy()).isBetween(0.0, 1.0);
    }

    @Test
    void cancellingTheFutureStopsTheRunAtTheNextEventAndKeepsTheCheckpoint(@TempDir Path dir)
            throws Exception {
        List<DistillationEvent> events = new CopyOnWriteArrayList<>();
        CountDownLatch training = new CountDownLatch(3);
        ExecutorService executor = Executors.newSingleThreadExecutor();
        Path checkpoints = dir.resolve("ckpt");
        try {
            CompletableFuture<DistillationResult> future =
                    EngineFixtures.quickDistiller(dir.resolve("out"))
                            .addListener(events::add)
                            .addListener(
                                    e -> {
                                        boolean trainingStep =
                                                e.stage().equals("warmup")
                                                        || e.stage().equals("distill");
                                        if (trainingStep && e.step() > 0) {
                                            training.countDown();
                                        }
                                    })
                            .distillAsync(
                                    EngineFixtures.smallBbc(12),
                                    EngineFixtures.quickParams()
                                            .setEpochs(50)
                                            .setEarlyStoppingPatience(0)
                                            .setCheckpointDir(checkpoints)
                                            .setCheckpointEvery(1),
                                    executor);

            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
            while (!training.await(1, TimeUnit.SECONDS) && System.nanoTime() < deadline) {
                if (future.isDone()) {
                    future.join(); // rethrows the failure of a run that ended before training
                }
            }
            assertThat(training.getCount()).as("training started").isZero();
            assertThat(future.cancel(true)).isTrue();
            int seenAtCancel = events.size();
            executor.shutdown();
            assertThat(executor.awaitTermination(120, TimeUnit.SECONDS)).as("run ended").isTrue();

            assertThat(future).isCancelled();
            assertThatThrownBy(future::join).isInstanceOf(CancellationException.class);
            assertThat(events.size()).isLessThanOrEqualTo(seenAtCancel + 1);
            assertThat(events).noneMatch(e -> e.stage().equals(DistillationEvent.STAGE_DONE));
            assertThat(dir.resolve("out")).doesNotExist();
            try (var listing = Files.list(checkpoints)) {
                assertThat(listing.count()).as("checkpoints kept").isPositive();
            }
        } finally {
            executor.shutdownNow();
        }
    }
}
