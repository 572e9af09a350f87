package dev.jbolt.distill.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code jbolt-distill} command: parses arguments and runs a subcommand. */
@Command(
        name = "jbolt-distill",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Knowledge distillation and in-process inference on libtorch.",
        subcommands = {SelfTestCommand.class, CommandLine.HelpCommand.class})
public final class JboltDistillCli implements Callable<Integer> {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    /**
     * Runs the tool and exits with its status.
     *
     * @param args command-line arguments
     */
    public static void main(String[] args) {
        System.exit(run(args));
    }

    /**
     * Runs the tool without exiting.
     *
     * @param args command-line arguments
     * @return the exit status
     */
    public static int run(String... args) {
        return new CommandLine(new JboltDistillCli()).execute(args);
    }

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return 2;
    }
}
