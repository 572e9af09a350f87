package dev.jbolt.distill;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** A distilled student served in-process; needs the engine's pipeline and predictor. */
@Tag("engine")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StudentModelTest {
    @TempDir static Path dir;
    private DistillationResult result;

    @BeforeAll
    void distilOnce() {
        result =
                EngineFixtures.quickDistiller(dir.resolve("bundle"))
                        .distill(EngineFixtures.smallBbc(6), EngineFixtures.quickParams());
    }

    @Test
    void aPredictionNamesOneOfTheLabelsWithProbabilitiesInLabelOrder() {
        try (StudentModel model = result.loadStudent()) {
            Prediction p = model.predict("The striker scored twice in the second half");

            assertThat(model.labels()).hasSize(5).isEqualTo(result.labels());
            assertThat(model.labels()).contains(p.label());
            assertThat(model.labels().get(p.index())).isEqualTo(p.label());
            assertThat(new ArrayList<>(p.probabilities().keySet())).isEqualTo(model.labels());
            assertThat(p.probabilities().values().stream().mapToDouble(Float::doubleValue).sum())
                    .isCloseTo(1.0, within(1e-4));
            assertThat(p.score()).isEqualTo(p.probabilities().get(p.label()));
            assertThat(model.path()).isEqualTo(result.bundlePath());
        }
    }

    @Test
    void aBatchGivesOnePredictionPerTextInOrder() {
        try (StudentModel model = StudentModel.load(result.bundlePath())) {
            model.warmUp();
            List<String> texts = List.of("Shares fell", "A new phone", "The election");

            List<Prediction> batch = model.predictBatch(texts);

            assertThat(batch).hasSize(3);
            for (int i = 0; i < texts.size(); i++) {
                assertThat(batch.get(i).label()).isEqualTo(model.predict(texts.get(i)).label());
            }
        }
    }

    @Test
    void badInputIsAnInvalidInputExceptionAndTheModelStaysUsable() {
        try (StudentModel model = result.loadStudent()) {
            assertThatThrownBy(() -> model.predictBatch(List.of()))
                    .isInstanceOf(InvalidInputException.class);
            assertThatThrownBy(() -> model.predictFeatures(new float[] {1f, 2f}))
                    .isInstanceOf(InvalidInputException.class);
            assertThat(model.predict("still works").label()).isIn(model.labels());
        }
    }

    @Test
    void infoAndEvaluationDescribeTheBundle() {
        try (StudentModel model = result.loadStudent()) {
            JsonNode info = model.info();
            assertThat(info.path("kind").asText()).isEqualTo("transformer");
            assertThat(info.path("input").asText()).isEqualTo("text");

            JsonNode eval = model.evaluate(EngineFixtures.smallBbc(2));
            assertThat(eval.path("n").asInt()).isEqualTo(10);
            assertThat(eval.path("accuracy").asDouble()).isBetween(0.0, 1.0);
        }
    }

    @Test
    void theBundleExportsToANonEmptyTorchScriptFileAndABadPathIsNamed() throws Exception {
        Path out = dir.resolve("student.pt");
        try (StudentModel model = result.loadStudent()) {
            model.exportTorchScript(out);

            assertThat(out).isRegularFile();
            assertThat(Files.size(out)).isPositive();
            Path unwritable = dir.resolve("no-such-dir").resolve("student.pt");
            assertThatThrownBy(() -> model.exportTorchScript(unwritable))
                    .isInstanceOf(JboltException.class)
                    .hasMessageContaining(unwritable.toString());
        }
    }

    @Test
    void manyThreadsPredictAtOnceAndClosingMeanwhileGivesAResultOrAnException() throws Exception {
        StudentModel model = result.loadStudent();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        CountDownLatch started = new CountDownLatch(8);
        try {
            List<Future<Integer>> futures = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                Callable<Integer> task =
                        () -> {
                            started.countDown();
                            int ok = 0;
                            for (int i = 0; i < 200; i++) {
                                try {
                                    assertThat(model.predict("Match report " + i).label())
                                            .isIn(model.labels());
                                    ok++;
                                } catch (IllegalStateException closed) {
                                    assertThat(closed).hasMessageContaining("closed");
                                    return ok;
                                }
                            }
                            return ok;
                        };
                futures.add(pool.submit(task));
            }
            started.await();
            Thread.sleep(50);
            model.close();

            for (Future<Integer> f : futures) {
                try {
                    assertThat(f.get()).isNotNegative();
                } catch (ExecutionException e) {
                    throw new AssertionError("a predicting thread failed", e.getCause());
                }
            }
            assertThat(model.isClosed()).isTrue();
            assertThatThrownBy(() -> model.predict("after close"))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("predict");
        } finally {
            pool.shutdownNow();
            model.close();
        }
    }

    @Test
    void aBundleSavedClosedAndReloadedGivesIdenticalPredictions() {
        List<String> texts =
                List.of(
                        "Shares fell after the bank's results",
                        "The band's new album tops the chart",
                        "Ministers face a vote on the budget",
                        "The striker scored twice",
                        "A faster chip for phones");
        List<Prediction> first;
        try (StudentModel model = result.loadStudent()) {
            first = model.predictBatch(texts);
        }
        try (StudentModel again = StudentModel.load(result.bundlePath())) {
            assertThat(again.predictBatch(texts)).isEqualTo(first);
        }
    }

    @Test
    void sixteenThreadsTimesAThousandPredictionsGiveTheSingleThreadedAnswers() throws Exception {
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 25; i++) {
            texts.add("Report number " + i + ": markets, music, votes, goals and gadgets " + i);
        }
        try (StudentModel model = result.loadStudent()) {
            List<Prediction> expected = new ArrayList<>();
            for (String t : texts) {
                expected.add(model.predict(t));
            }
            int threads = 16;
            int perThread = 1000;
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<Integer>> futures = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int offset = t;
                    futures.add(
                            pool.submit(
                                    () -> {
                                        int same = 0;
                                        for (int i = 0; i < perThread; i++) {
                                            int k = (i + offset) % texts.size();
                                            Prediction p = model.predict(texts.get(k));
                                            Prediction e = expected.get(k);
                                            assertThat(p.label()).isEqualTo(e.label());
                                            for (String label : e.probabilities().keySet()) {
                                                assertThat(p.probabilities().get(label))
                                                        .isCloseTo(
                                                                e.probabilities().get(label),
                                                                within(1e-5f));
                                            }
                                            same++;
                                        }
                                        return same;
                                    }));
                }
                int total = 0;
                for (Future<Integer> f : futures) {
                    try {
                        total += f.get();
                    } catch (ExecutionException e) {
                        throw new AssertionError("a predicting thread failed", e.getCause());
                    }
                }
                assertThat(total).isEqualTo(threads * perThread);
            } finally {
                pool.shutdownNow();
            }
        }
    }
}
