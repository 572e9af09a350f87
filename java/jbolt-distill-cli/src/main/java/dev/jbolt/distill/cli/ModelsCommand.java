package dev.jbolt.distill.cli;

import dev.jbolt.distill.ModelInfo;
import dev.jbolt.distill.Models;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code jbolt-distill models}: the teachers found in the model home. */
@Command(
        name = "models",
        mixinStandardHelpOptions = true,
        description = {
            "List the teacher models in the model home ($JBOLT_MODEL_HOME, else ~/.jbolt/models).",
            "Pass a name to 'distill --teacher'."
        })
final class ModelsCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        List<ModelInfo> models = Models.installed();
        out.println("Model home: " + Models.home());
        if (models.isEmpty()) {
            out.println("No models found (scripts/setup links all-MiniLM-L6-v2 there).");
        }
        int width = 4;
        for (ModelInfo m : models) {
            width = Math.max(width, m.name().length());
        }
        for (ModelInfo m : models) {
            out.printf("  %-" + width + "s  %-12s  %s%n", m.name(), m.format(), m.path());
        }
        out.flush();
        return JboltDistillCli.OK;
    }
}
