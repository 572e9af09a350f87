package dev.jbolt.distill.cli;

import dev.jbolt.distill.Dataset;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** How data files are read: {@code --format}, {@code --text-field}, {@code --label-field}. */
final class DataOptions {
    /** The file formats the engine reads. */
    enum Format {
        /** Inferred from the path: a directory is label folders, else by extension. */
        AUTO,
        /** JSON Lines. */
        JSONL,
        /** CSV with a header row. */
        CSV,
        /** One sub-directory per label holding one text file per row. */
        FOLDERS
    }

    @Option(
            names = "--format",
            paramLabel = "auto|jsonl|csv|folders",
            defaultValue = "auto",
            description =
                    "Data format (default: ${DEFAULT-VALUE}: a directory is read as label"
                            + " folders, .jsonl/.ndjson/.json as JSON Lines, .csv/.tsv/.txt as"
                            + " CSV).")
    Format format = Format.AUTO;

    @Option(
            names = "--text-field",
            paramLabel = "NAME",
            description = "Field or column holding the text (default: text).")
    String textField;

    @Option(
            names = "--label-field",
            paramLabel = "NAME",
            description = "Field or column holding the label (default: label).")
    String labelField;

    /**
     * Opens a data file or directory given by an option, checking that it exists.
     *
     * @param spec the command, for the usage error
     * @param option the option naming the path, for the message
     * @param path the path
     * @return the dataset (read by the engine when it runs)
     * @throws ParameterException if the path does not exist
     */
    Dataset open(CommandSpec spec, String option, Path path) {
        if (!Files.exists(path)) {
            throw new ParameterException(
                    spec.commandLine(),
                    "Invalid value for option '"
                            + option
                            + "': no such file or directory: "
                            + path.toAbsolutePath());
        }
        Dataset data =
                switch (format) {
                    case AUTO -> Dataset.fromFile(path);
                    case JSONL -> Dataset.fromJsonl(path);
                    case CSV -> Dataset.fromCsv(path);
                    case FOLDERS -> Dataset.fromFolders(path);
                };
        if (textField != null) {
            data = data.withTextField(textField);
        }
        if (labelField != null) {
            data = data.withLabelField(labelField);
        }
        return data;
    }
}
