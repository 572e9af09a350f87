package dev.jbolt.distill.cli;

import dev.jbolt.distill.InvalidInputException;
import dev.jbolt.distill.JboltException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/** Turns usage errors and failures into one message on standard error and an exit status. */
final class ErrorHandler {
    private ErrorHandler() {}

    /** A picocli usage error, or a {@link ParameterException} thrown by a command: status 2. */
    static int usageError(ParameterException e, String[] args) {
        CommandLine cmd = e.getCommandLine();
        PrintWriter err = cmd.getErr();
        err.println(e.getMessage());
        CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
        err.println("Try '" + cmd.getCommandSpec().qualifiedName() + " --help' for the options.");
        err.flush();
        return JboltDistillCli.USAGE;
    }

    /** An exception from a command's work: status 2 for bad input, else 1. */
    static int failure(Exception e, CommandLine cmd, ParseResult parseResult) {
        PrintWriter err = cmd.getErr();
        int status;
        if (e instanceof BadInputException || e instanceof InvalidInputException) {
            err.println(forUser(e.getMessage()));
            status = JboltDistillCli.USAGE;
        } else if (e instanceof JboltException
                || e instanceof UncheckedIOException
                || e instanceof ToolFailureException) {
            err.println(forUser(e.getMessage()));
            status = JboltDistillCli.FAILURE;
        } else {
            err.println("Failed: " + e);
            e.printStackTrace(err);
            status = JboltDistillCli.FAILURE;
        }
        err.flush();
        return status;
    }

    /**
     * The message without the engine's "Native call NAME failed: " prefix, which names an internal
     * function: a user of the tool wants to know what was wrong with their input.
     */
    static String forUser(String message) {
        if (message == null) {
            return "Failed (no message)";
        }
        String text = NATIVE_PREFIX.matcher(message).replaceAll("");
        return text.isEmpty() ? message : Character.toUpperCase(text.charAt(0)) + text.substring(1);
    }

    private static final Pattern NATIVE_PREFIX = Pattern.compile("Native call \\w+ failed: ");

    /**
     * A native method missing from the loaded JNI library (a library older than the Java API, or a
     * build in progress): status 1.
     */
    static int linkageError(LinkageError e, CommandLine cmd) {
        PrintWriter err = cmd.getErr();
        err.println(
                "The JNI library does not provide what this jar needs ("
                        + e
                        + "); it is older than the Java API or only partly built. Rebuild with"
                        + " scripts/setup.");
        err.flush();
        return JboltDistillCli.FAILURE;
    }
}
