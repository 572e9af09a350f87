package dev.jbolt.distill.cli;

import dev.jbolt.distill.StudentModel;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code jbolt-distill export}: a bundle as a TorchScript file for Python or C++ serving. */
@Command(
        name = "export",
        mixinStandardHelpOptions = true,
        description = {
            "Write a student bundle as a TorchScript file (torch.jit.load, torch::jit::load).",
            "Text students: forward(input_ids, attention_mask), int64 [batch, length] in the"
                    + " vocabulary of the bundle's tokenizer.json; feature students:"
                    + " forward(features), float32 [batch, dim]. Both return float32 logits"
                    + " [batch, classes] in the order of the bundle's labels. An int8 bundle is"
                    + " exported in fp32 with its int8-rounded weights."
        })
final class ExportCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin ModelOption modelOption;

    @Option(
            names = "--out",
            required = true,
            paramLabel = "FILE.pt",
            description = "The TorchScript file to write (replaced if it exists).")
    Path out;

    @Override
    public Integer call() {
        Path model = modelOption.directory(spec);
        Path parent = out.toAbsolutePath().getParent();
        if (Files.isDirectory(out) || parent == null || !Files.isDirectory(parent)) {
            throw new ParameterException(
                    spec.commandLine(),
                    "Invalid value for option '--out': not a file in an existing directory: "
                            + out.toAbsolutePath());
        }
        try (StudentModel student = StudentModel.load(model)) {
            student.exportTorchScript(out);
        }
        long bytes;
        try {
            bytes = Files.size(out);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the size of " + out, e);
        }
        PrintWriter stdout = spec.commandLine().getOut();
        stdout.println(String.format(Locale.ROOT, "%s: %d bytes of TorchScript", out, bytes));
        stdout.flush();
        return JboltDistillCli.OK;
    }
}
