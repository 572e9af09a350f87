package dev.jbolt.distill.cli;

import dev.jbolt.distill.DistillationEvent;
import dev.jbolt.distill.DistillationListener;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.Set;
import java.util.function.LongSupplier;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Shows a distillation's progress on standard error.
 *
 * <p>On a terminal, training stages get a progress bar (steps, loss, validation accuracy) and every
 * finished stage a line with its time. Elsewhere (a pipe, a file, a test) it writes plain lines:
 * one when a stage starts, one per tenth of the training steps and per validation, and one with the
 * time when a stage ends. The engine calls the listener on the thread running the distillation, so
 * no locking is needed.
 */
final class ProgressDisplay implements DistillationListener {
    private static final Set<String> TRAINING = Set.of("warmup", "distill", "final", "baseline");

    private final PrintWriter err;
    private final boolean bars;
    private final LongSupplier nanos;
    private final long started;
    private String stage;
    private long stageStarted;
    private ProgressBar bar;
    private long lastPrintedTenth = -1;
    private int lastEpoch;

    /**
     * A display writing to {@code err}.
     *
     * @param err where the lines go (bars go to {@code System.err}, the terminal)
     * @param bars whether to draw progress bars
     * @param nanos the clock ({@code System::nanoTime})
     */
    ProgressDisplay(PrintWriter err, boolean bars, LongSupplier nanos) {
        this.err = err;
        this.bars = bars;
        this.nanos = nanos;
        this.started = nanos.getAsLong();
    }

    /**
     * A display that draws bars when standard input and output are a terminal.
     *
     * @param err where the lines go
     * @return the display
     */
    static ProgressDisplay forConsole(PrintWriter err) {
        boolean terminal = System.console() != null && !"dumb".equals(System.getenv("TERM"));
        return new ProgressDisplay(err, terminal, System::nanoTime);
    }

    @Override
    public void onEvent(DistillationEvent e) {
        if (!e.stage().equals(stage)) {
            endStage();
            startStage(e.stage());
        }
        if (TRAINING.contains(e.stage()) && e.totalSteps() > 0) {
            training(e);
        }
        if (e.message() != null && !e.message().isBlank()) {
            line(e.stage() + ": " + e.message());
        }
        if (DistillationEvent.STAGE_DONE.equals(e.stage())) {
            endStage();
            stage = null;
        }
    }

    private void startStage(String name) {
        stage = name;
        stageStarted = nanos.getAsLong();
        lastPrintedTenth = -1;
        lastEpoch = 0;
        if (!DistillationEvent.STAGE_DONE.equals(name)) {
            line(name + " ...");
        }
    }

    private void endStage() {
        if (stage == null) {
            return;
        }
        if (bar != null) {
            bar.close();
            bar = null;
        }
        if (!DistillationEvent.STAGE_DONE.equals(stage)) {
            line(String.format(Locale.ROOT, "%s done in %.1f s", stage, seconds(stageStarted)));
        } else {
            line(String.format(Locale.ROOT, "finished in %.1f s", seconds(started)));
        }
    }

    private void training(DistillationEvent e) {
        String detail = detail(e);
        if (bars) {
            if (bar == null) {
                bar =
                        new ProgressBarBuilder()
                                .setTaskName(e.stage())
                                .setInitialMax(e.totalSteps())
                                .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK)
                                .setConsumer(new ConsoleProgressBarConsumer(System.err))
                                .setUpdateIntervalMillis(250)
                                .build();
            }
            bar.maxHint(e.totalSteps());
            bar.stepTo(Math.min(e.step(), e.totalSteps()));
            bar.setExtraMessage(detail);
            return;
        }
        long tenth = e.step() * 10 / e.totalSteps();
        boolean validated = e.validationAccuracy() != null;
        if (tenth > lastPrintedTenth || validated || e.epoch() != lastEpoch) {
            lastPrintedTenth = tenth;
            lastEpoch = e.epoch();
            line(
                    String.format(
                            Locale.ROOT,
                            "%s: step %d/%d (%d%%) %s",
                            e.stage(),
                            e.step(),
                            e.totalSteps(),
                            e.step() * 100 / e.totalSteps(),
                            detail));
        }
    }

    private static String detail(DistillationEvent e) {
        StringBuilder s = new StringBuilder();
        s.append("epoch ").append(e.epoch());
        if (e.validationAccuracy() == null) {
            s.append(String.format(Locale.ROOT, " loss %.4f", e.loss()));
        }
        if (e.temperature() > 0) {
            s.append(String.format(Locale.ROOT, " T %.2f", e.temperature()));
        }
        if (e.examplesPerSecond() > 0) {
            s.append(String.format(Locale.ROOT, " %.0f ex/s", e.examplesPerSecond()));
        }
        if (e.validationAccuracy() != null) {
            s.append(String.format(Locale.ROOT, " val acc %.4f", e.validationAccuracy()));
        }
        return s.toString();
    }

    private void line(String text) {
        if (bar != null) {
            // Keep the bar's line intact: the note goes into the bar's message instead.
            bar.setExtraMessage(text);
            return;
        }
        err.println(String.format(Locale.ROOT, "[%7.1fs] ", seconds(started)) + text);
        err.flush();
    }

    private double seconds(long from) {
        return (nanos.getAsLong() - from) / 1e9;
    }
}
