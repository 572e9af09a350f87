package dev.jbolt.distill.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code export}: usage errors without the engine, and one real export of a tiny bundle. */
class ExportCommandTest {
    @TempDir Path tmp;

    @Test
    void aMissingModelDirectoryIsAUsageErrorNamingIt() {
        Path none = tmp.resolve("none");
        CliRun run =
                CliRun.of(
                        "export",
                        "--model",
                        none.toString(),
                        "--out",
                        tmp.resolve("s.pt").toString());

        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("'--model': no such directory: " + none);
    }

    @Test
    void anOutputInAMissingDirectoryIsAUsageErrorNamingIt() {
        Path out = tmp.resolve("no-such-dir").resolve("s.pt");
        CliRun run = CliRun.of("export", "--model", tmp.toString(), "--out", out.toString());

        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("'--out'").contains(out.toString());
    }

    @Test
    void withoutOutTheOptionIsNamed() {
        CliRun run = CliRun.of("export", "--model", tmp.toString());

        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("--out");
    }

    @Test
    void aDirectoryThatIsNotABundleIsBadInputWithStatusTwo() {
        CliRun run =
                CliRun.of(
                        "export",
                        "--model",
                        tmp.toString(),
                        "--out",
                        tmp.resolve("s.pt").toString());

        assertThat(run.status()).as(run.err()).isEqualTo(2);
        assertThat(run.err()).contains(tmp.toString());
    }

    /** Needs the engine and the MiniLM teacher in the model home. */
    @Test
    @Tag("engine")
    void aDistilledBundleExportsToANonEmptyFile() throws IOException {
        List<String> lines = new ArrayList<>();
        String[][] rows = {
            {"Shares rose after the bank reported record profits", "business"},
            {"Oil prices fell as demand slowed", "business"},
            {"The central bank kept interest rates unchanged", "business"},
            {"Retail sales grew more than expected", "business"},
            {"The striker scored twice in the cup final", "sport"},
            {"The tennis champion withdrew with an injury", "sport"},
            {"Fans celebrated the league title", "sport"},
            {"The coach praised the young goalkeeper", "sport"},
            {"Markets rallied on hopes of a trade deal", "business"},
            {"The airline cut its profit forecast", "business"},
            {"The sprinter broke the world record", "sport"},
            {"The match ended in a goalless draw", "sport"},
        };
        for (String[] r : rows) {
            lines.add("{\"text\": \"" + r[0] + "\", \"label\": \"" + r[1] + "\"}");
        }
        Path train = Files.write(tmp.resolve("train.jsonl"), lines);
        Path run = tmp.resolve("run");
        CliRun distill =
                CliRun.of(
                        "distill",
                        "--teacher",
                        "all-MiniLM-L6-v2",
                        "--train",
                        train.toString(),
                        "--out",
                        run.toString(),
                        "--layers",
                        "1",
                        "--hidden",
                        "32",
                        "--heads",
                        "2",
                        "--intermediate",
                        "64",
                        "--no-init-from-teacher",
                        "--epochs",
                        "1",
                        "--quantize",
                        "none");
        assertThat(distill.status()).as(distill.err()).isZero();
        Path out = tmp.resolve("student.pt");

        CliRun export =
                CliRun.of(
                        "export",
                        "--model",
                        run.resolve("student").toString(),
                        "--out",
                        out.toString());

        assertThat(export.status()).as(export.err()).isZero();
        assertThat(Files.size(out)).isPositive();
        assertThat(export.out()).contains(out.toString()).contains("bytes of TorchScript");
    }
}
