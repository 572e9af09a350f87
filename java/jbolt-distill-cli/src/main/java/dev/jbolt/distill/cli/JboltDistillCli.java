package dev.jbolt.distill.cli;

import java.io.InputStream;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code jbolt-distill} command: parses arguments and runs a subcommand.
 *
 * <p>Exit status: 0 on success; 2 for bad usage or bad input (a picocli usage error, an option
 * value out of range, an {@link dev.jbolt.distill.InvalidInputException} from the engine, a bad
 * input line); 1 for any other failure. Messages go to standard error.
 */
@Command(
        name = "jbolt-distill",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Knowledge distillation and in-process inference on libtorch.",
        subcommands = {
            DistillCommand.class,
            EvaluateCommand.class,
            ExportCommand.class,
            PredictCommand.class,
            ModelsCommand.class,
            DemoCommand.class,
            SelfTestCommand.class,
            CommandLine.HelpCommand.class
        })
public final class JboltDistillCli implements Callable<Integer> {
    /** Success. */
    static final int OK = 0;

    /** A failure that is not the caller's input. */
    static final int FAILURE = 1;

    /** Bad usage or bad input. */
    static final int USAGE = 2;

    private final InputStream stdin;
    private final LinePredictor.Loader modelLoader;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    /** A tool reading {@code System.in} and loading bundles as {@link StudentModelPredictor}s. */
    public JboltDistillCli() {
        this(System.in, StudentModelPredictor::load);
    }

    /**
     * A tool with its standard input and model loading replaced (for tests).
     *
     * @param stdin what {@code predict} reads
     * @param modelLoader opens a bundle for {@code predict}
     */
    JboltDistillCli(InputStream stdin, LinePredictor.Loader modelLoader) {
        this.stdin = stdin;
        this.modelLoader = modelLoader;
    }

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
        return commandLine(new JboltDistillCli()).execute(args);
    }

    /**
     * Wraps a tool in a picocli command line with the tool's exit statuses and error messages.
     *
     * @param cli the tool
     * @return the command line, ready to {@code execute}
     */
    static CommandLine commandLine(JboltDistillCli cli) {
        CommandLine cmd = new CommandLine(cli);
        cmd.setCaseInsensitiveEnumValuesAllowed(true);
        cmd.setParameterExceptionHandler(ErrorHandler::usageError);
        cmd.setExecutionExceptionHandler(ErrorHandler::failure);
        cmd.setExecutionStrategy(
                parseResult -> {
                    try {
                        return new CommandLine.RunLast().execute(parseResult);
                    } catch (LinkageError e) {
                        return ErrorHandler.linkageError(e, cmd);
                    }
                });
        return cmd;
    }

    InputStream stdin() {
        return stdin;
    }

    LinePredictor.Loader modelLoader() {
        return modelLoader;
    }

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return USAGE;
    }
}
