package dev.jbolt.distill;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Native memory stays flat over repeated model loads and closes and short distillations.
 *
 * <p>The loop runs in a child JVM whose Java heap is fixed and touched up front ({@code -Xms} =
 * {@code -Xmx}, {@code -XX:+AlwaysPreTouch}), so that changes of its resident set size are native
 * memory. Each round is one distillation (which loads and frees the 90 MB MiniLM teacher, its
 * tokenizer and a teacher-output cache) and 20 loads, predictions and closes of the bundle.
 */
@Tag("engine")
class LeakTest {
    private static final int ROUNDS = 6;
    private static final int WARM_UP_ROUNDS = 2;

    /**
     * Allowed growth from the end of the warm-up to the last round. Leaking one teacher per round
     * would add about 90 MB a round and leaking the models about 5 MB a round (tokenizer and
     * weights, 20 per round); the allocator's arenas and libtorch's caches may still move by some
     * tens of MB after warm-up on their own, hence 48 MB over 4 rounds.
     */
    private static final long BOUND_KIB = 48 * 1024;

    @Test
    void loadingClosingAndDistillingInALoopKeepsNativeMemoryFlat(@TempDir Path dir)
            throws Exception {
        Path data = InterruptionTest.bbcSubset(dir);
        List<Long> rss = new ArrayList<>();
        try (ChildJvm child =
                new ChildJvm(
                        dir,
                        List.of("-Xms128m", "-Xmx128m", "-XX:+AlwaysPreTouch"),
                        "leak",
                        data.toString(),
                        dir.resolve("out").toString(),
                        dir.resolve("ckpt").toString(),
                        Integer.toString(ROUNDS))) {
            String line;
            while ((line = child.nextLine()) != null) {
                if (line.startsWith("rss ")) {
                    rss.add(Long.parseLong(line.split(" ")[2]));
                }
            }
            assertThat(child.finish(300)).as(child.output()).isZero();
            assertThat(child.output()).doesNotContain(ChildJvm.JNI_WARNING);
        }

        System.out.println("leak: RSS KiB after each round " + rss);
        assertThat(rss).hasSize(ROUNDS);
        long afterWarmUp = rss.get(WARM_UP_ROUNDS - 1);
        long peakAfter = rss.subList(WARM_UP_ROUNDS, ROUNDS).stream().max(Long::compare).get();
        assertThat(peakAfter - afterWarmUp)
                .as("RSS growth after warm-up, KiB (rounds %s)", rss)
                .isLessThan(BOUND_KIB);
    }
}
