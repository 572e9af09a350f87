package dev.jbolt.distill.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jbolt.distill.DistillationEvent;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

class ProgressDisplayTest {
    private long now;

    private static DistillationEvent event(String stage, long step, long total, Double val) {
        return new DistillationEvent(
                stage,
                step > 0 ? 1 : 0,
                step,
                total,
                0.5,
                0.3,
                0.2,
                0,
                4,
                0.5,
                1e-4,
                100,
                val,
                null);
    }

    @Test
    void plainLinesShowStagesTenthsOfTheStepsAndStageTimes() {
        StringWriter text = new StringWriter();
        ProgressDisplay display = new ProgressDisplay(new PrintWriter(text), false, () -> now);

        display.onEvent(event("load", 0, 0, null));
        now = 1_500_000_000L;
        for (long step = 1; step <= 20; step++) {
            display.onEvent(event("distill", step, 20, step == 20 ? 0.9 : null));
        }
        now = 4_000_000_000L;
        display.onEvent(event("done", 0, 0, null));

        assertThat(text.toString())
                .contains("[    0.0s] load ...")
                .contains("[    1.5s] load done in 1.5 s")
                .contains("distill: step 2/20 (10%) epoch 1 loss 0.5000 T 4.00 100 ex/s")
                .contains("distill: step 20/20 (100%) epoch 1 T 4.00 100 ex/s val acc 0.9000")
                .contains("[    4.0s] distill done in 2.5 s")
                .contains("[    4.0s] finished in 4.0 s");
        assertThat(text.toString().lines().filter(l -> l.contains("distill: step"))).hasSize(11);
    }
}
