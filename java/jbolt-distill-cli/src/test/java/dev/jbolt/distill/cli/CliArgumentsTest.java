package dev.jbolt.distill.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jbolt.distill.TrainingParams;
import dev.jbolt.distill.TransformerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Parsing and checking of options; none of these runs reach the engine. */
class CliArgumentsTest {
    @TempDir Path tmp;
    private Path train;

    @BeforeEach
    void writeTrainingFile() throws IOException {
        train = Files.writeString(tmp.resolve("train.jsonl"), "{\"text\":\"a\",\"label\":\"x\"}\n");
    }

    private CliRun distill(String... extra) {
        String[] base = {
            "distill",
            "--teacher",
            "t",
            "--train",
            train.toString(),
            "--out",
            tmp.resolve("o").toString()
        };
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return CliRun.of(args);
    }

    @Test
    void anEpochCountBelowOneExitsWithUsageStatusNamingOptionAndValue() {
        CliRun run = distill("--epochs", "0");

        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err())
                .contains("Invalid value for option '--epochs': must be at least 1, got 0")
                .contains("Try 'jbolt-distill distill --help'");
        assertThat(run.out()).isEmpty();
    }

    @Test
    void aMalformedTemperatureNamesTheOptionAndTheValue() {
        CliRun run = distill("--temperature", "4:x");

        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("--temperature").contains("'4:x'");
    }

    @Test
    void anUnknownQuantizationNamesTheOptionTheValueAndTheChoices() {
        CliRun run = distill("--quantize", "fp16");

        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("--quantize").contains("fp16").contains("INT8");
    }

    @Test
    void aNonNumericCountNamesTheOptionAndTheValue() {
        CliRun run = distill("--batch-size", "many");

        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("--batch-size").contains("many");
    }

    @Test
    void outOfRangeSharesAndRatesNameTheOptionAndTheValue() {
        assertThat(distill("--alpha", "1.5").err())
                .contains("Invalid value for option '--alpha': must be in [0, 1], got 1.5");
        assertThat(distill("--warmup", "1").err())
                .contains("Invalid value for option '--warmup': must be in [0, 1), got 1.0");
        assertThat(distill("--lr", "-0.1").err())
                .contains("Invalid value for option '--lr': must be above 0, got -0.1");
        assertThat(distill("--lr", "-0.1").status()).isEqualTo(2);
    }

    @Test
    void headsThatDoNotDivideTheHiddenSizeAreRejected() {
        CliRun run = distill("--hidden", "384", "--heads", "5");

        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("'--heads': must divide --hidden (384) evenly, got 5");
    }

    @Test
    void resumeWithoutACheckpointDirectoryIsRejected() {
        CliRun run = distill("--resume");

        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("'--resume' needs '--checkpoint-dir DIR'");
    }

    @Test
    void aMissingRequiredOptionIsNamed() {
        CliRun run = CliRun.of("distill", "--train", train.toString(), "--out", "o");

        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("Missing required option: '--teacher=NAME|DIR|FILE'");
    }

    @Test
    void aMissingTrainingFileIsNamedWithItsPath() {
        Path missing = tmp.resolve("nope.jsonl");
        CliRun run =
                CliRun.of("distill", "--teacher", "t", "--train", missing.toString(), "--out", "o");

        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err())
                .contains(
                        "Invalid value for option '--train': no such file or directory: "
                                + missing);
    }

    @Test
    void anUnknownOptionIsAUsageError() {
        CliRun run = distill("--epoch", "3");

        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("Unknown options: '--epoch', '3'").contains("--epochs");
    }

    @Test
    void evaluateNamesAMissingModelDirectory() {
        CliRun run =
                CliRun.of(
                        "evaluate",
                        "--model",
                        tmp.resolve("none").toString(),
                        "--data",
                        train.toString());

        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("'--model': no such directory: " + tmp.resolve("none"));
    }

    @Test
    void aDemoSubsetNeedsAtLeastTwoArticlesPerTopic() {
        CliRun run = CliRun.of("demo", "--limit-per-class", "1", "--out", tmp.toString());

        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("'--limit-per-class': must be at least 2").contains("got 1");
    }

    @Test
    void noSubcommandPrintsUsageWithUsageStatus() {
        CliRun run = CliRun.of();

        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("distill").contains("predict").contains("demo");
    }

    @Test
    void optionsReachTheStudentConfigAndTheTrainingParams() {
        JboltDistillCli cli = new JboltDistillCli();
        CommandLine cmd = JboltDistillCli.commandLine(cli);
        CommandLine.ParseResult parsed =
                cmd.parseArgs(
                        "distill",
                        "--teacher",
                        "t",
                        "--train",
                        "x",
                        "--out",
                        "o",
                        "--layers",
                        "2",
                        "--hidden",
                        "384",
                        "--heads",
                        "12",
                        "--intermediate",
                        "1536",
                        "--no-init-from-teacher",
                        "--prune-vocab",
                        "--epochs",
                        "6",
                        "--batch-size",
                        "16",
                        "--lr",
                        "1e-4",
                        "--temperature",
                        "4:1",
                        "--alpha",
                        "0.7",
                        "--warmup",
                        "0.2",
                        "--max-length",
                        "64",
                        "--seed",
                        "7",
                        "--threads",
                        "1",
                        "--baseline",
                        "--checkpoint-dir",
                        "ck",
                        "--resume",
                        "--quantize",
                        "int8");
        DistillCommand distill = (DistillCommand) parsed.subcommand().commandSpec().userObject();

        TransformerConfig s = distill.studentConfig();
        assertThat(s.getLayers()).isEqualTo(2);
        assertThat(s.getHiddenSize()).isEqualTo(384);
        assertThat(s.getHeads()).isEqualTo(12);
        assertThat(s.getIntermediateSize()).isEqualTo(1536);
        assertThat(s.isInitFromTeacher()).isFalse();
        assertThat(s.isPruneVocab()).isTrue();
        TrainingParams p = distill.trainingParams();
        assertThat(p.getEpochs()).isEqualTo(6);
        assertThat(p.getBatchSize()).isEqualTo(16);
        assertThat(p.getLearningRate()).isEqualTo(1e-4);
        assertThat(p.getTemperatureStart()).isEqualTo(4.0);
        assertThat(p.getTemperatureEnd()).isEqualTo(1.0);
        assertThat(p.getAlpha()).isEqualTo(0.7);
        assertThat(p.getWarmupShare()).isEqualTo(0.2);
        assertThat(p.getMaxLength()).isEqualTo(64);
        assertThat(p.getSeed()).isEqualTo(7);
        assertThat(p.getThreads()).isEqualTo(1);
        assertThat(p.isBaseline()).isTrue();
        assertThat(p.isResume()).isTrue();
        assertThat(p.getCheckpointDir()).isEqualTo(Path.of("ck").toAbsolutePath());
        assertThat(distill.quantize).hasToString("INT8");
    }

    @Test
    void leftOutOptionsKeepTheEngineDefaults() {
        CommandLine cmd = JboltDistillCli.commandLine(new JboltDistillCli());
        CommandLine.ParseResult parsed =
                cmd.parseArgs("distill", "--teacher", "t", "--train", "x", "--out", "o");
        DistillCommand distill = (DistillCommand) parsed.subcommand().commandSpec().userObject();

        assertThat(distill.trainingParams()).hasToString(new TrainingParams().toString());
        assertThat(distill.studentConfig()).hasToString(new TransformerConfig().toString());
    }
}
