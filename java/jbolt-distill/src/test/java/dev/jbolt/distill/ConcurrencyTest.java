package dev.jbolt.distill;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many threads predicting on one model while others load and close models of the same bundle, for a
 * bounded time; every prediction equals the single-threaded one.
 */
@Tag("engine")
class ConcurrencyTest {
    private static final long SECONDS = 8;

    @Test
    void predictionsUnderConcurrentLoadsAndClosesEqualTheSingleThreadedOnes(@TempDir Path dir)
            throws Exception {
        Path bundle =
                EngineFixtures.quickDistiller(dir.resolve("bundle"))
                        .distill(
                                EngineFixtures.smallBbc(4),
                                EngineFixtures.quickParams().setEpochs(1))
                        .bundlePath();
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            texts.add("Report number " + i + " on shares, goals, films and elections");
        }
        texts.add(""); // an empty text is a valid input: [CLS] [SEP]
        texts.add("word ".repeat(200_000)); // far beyond max_length: truncated
        List<Prediction> expected = new ArrayList<>();
        try (StudentModel model = StudentModel.load(bundle)) {
            for (String t : texts) {
                expected.add(model.predict(t));
            }
        }

        AtomicLong predictions = new AtomicLong();
        AtomicLong loads = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(SECONDS);
        try (StudentModel shared = StudentModel.load(bundle)) {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                int offset = t;
                futures.add(
                        pool.submit(
                                () -> {
                                    for (int i = offset; System.nanoTime() < deadline; i++) {
                                        int k = i % texts.size();
                                        check(shared.predict(texts.get(k)), expected.get(k));
                                        predictions.incrementAndGet();
                                    }
                                    return null;
                                }));
            }
            for (int t = 0; t < 2; t++) {
                futures.add(
                        pool.submit(
                                () -> {
                                    for (int i = 0; System.nanoTime() < deadline; i++) {
                                        try (StudentModel other = StudentModel.load(bundle)) {
                                            int k = i % texts.size();
                                            check(other.predict(texts.get(k)), expected.get(k));
                                        }
                                        loads.incrementAndGet();
                                    }
                                    return null;
                                }));
            }
            for (Future<?> f : futures) {
                f.get(SECONDS + 120, TimeUnit.SECONDS);
            }
            System.out.println(
                    "concurrency: "
                            + predictions.get()
                            + " predictions on one model, "
                            + loads.get()
                            + " loads and closes beside them, in "
                            + SECONDS
                            + " s");
            assertThat(predictions.get()).isPositive();
            assertThat(loads.get()).isPositive();
            check(shared.predict(texts.get(0)), expected.get(0));
        } finally {
            pool.shutdownNow();
        }
    }

    private static void check(Prediction actual, Prediction expected) {
        assertThat(actual.label()).isEqualTo(expected.label());
        assertThat(actual.probabilities().keySet()).isEqualTo(expected.probabilities().keySet());
        for (String label : expected.probabilities().keySet()) {
            assertThat(actual.probabilities().get(label))
                    .isCloseTo(expected.probabilities().get(label), within(1e-5f));
        }
    }
}
