package dev.jbolt.distill.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** The {@code --model DIR} option of the commands that read a student bundle. */
final class ModelOption {
    @Option(
            names = "--model",
            required = true,
            paramLabel = "DIR",
            description = "The student bundle directory.")
    Path model;

    /**
     * Returns the bundle directory.
     *
     * @param spec the command, for the usage error
     * @return the directory given
     * @throws ParameterException naming the option and the path if it is not a directory
     */
    Path directory(CommandSpec spec) {
        if (!Files.isDirectory(model)) {
            throw new ParameterException(
                    spec.commandLine(),
                    "Invalid value for option '--model': no such directory: "
                            + model.toAbsolutePath());
        }
        return model;
    }
}
