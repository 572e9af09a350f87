package dev.jbolt.distill;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Labelled rows for training, validation or testing: a file on disk, or rows held in memory.
 *
 * <p>File datasets ({@link #fromJsonl}, {@link #fromCsv}, {@link #fromFolders}, {@link #fromFile})
 * only carry the path: the engine reads and streams the file in native code, so a large file never
 * passes through the Java heap. Nothing is read when the dataset is created; a missing or empty
 * file, a bad row or a missing field fails when the distillation starts, with an {@link
 * InvalidInputException} (code {@code NOT_FOUND}, {@code INVALID_INPUT} or {@code
 * INVALID_ARGUMENT}) naming the path and, for a bad row, its line.
 *
 * <p>In-memory datasets ({@link #of}, {@link #ofFeatures}) copy the rows. Up to {@value
 * #INLINE_ROW_LIMIT} rows travel inside the request JSON; a larger list is written once, on first
 * use, to a temporary JSONL file (deleted when the JVM exits) whose path is sent instead, so the
 * request stays small.
 *
 * <p>Instances are immutable and thread-safe; the {@code with...} methods return new datasets.
 * Labels are strings or integers ({@code 3} and {@code "3"} are the same label); an enum constant
 * stands for its name; a null label marks an unlabelled row.
 */
public final class Dataset {
    /** Largest in-memory dataset sent inline in the request; larger ones go through a file. */
    public static final int INLINE_ROW_LIMIT = 10_000;

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final Path path;
    private final String format;
    private final String textField;
    private final String labelField;
    private final String featuresField;
    private final String splitField;
    private final String delimiter;
    private final List<Row> rows;
    private final Object spillLock = new Object();
    private Path spillFile;

    /** One in-memory row: a text or a feature vector, and a label (String, Long or null). */
    private record Row(String text, float[] features, Object label) {}

    private Dataset(
            Path path,
            String format,
            String textField,
            String labelField,
            String featuresField,
            String splitField,
            String delimiter,
            List<Row> rows) {
        this.path = path;
        this.format = format;
        this.textField = textField;
        this.labelField = labelField;
        this.featuresField = featuresField;
        this.splitField = splitField;
        this.delimiter = delimiter;
        this.rows = rows;
    }

    private static Dataset file(Path path, String format) {
        Objects.requireNonNull(path, "path");
        return new Dataset(path, format, null, null, null, null, null, null);
    }

    /**
     * A JSON Lines file: one object per line with a text (or features) field and a label field.
     *
     * @param path the file
     * @return the dataset (the file is read when the distillation starts)
     * @throws NullPointerException if {@code path} is null
     */
    public static Dataset fromJsonl(Path path) {
        return file(path, "jsonl");
    }

    /**
     * A CSV file with a header row naming the text (or features) and label columns.
     *
     * @param path the file
     * @return the dataset (the file is read when the distillation starts)
     * @throws NullPointerException if {@code path} is null
     */
    public static Dataset fromCsv(Path path) {
        return file(path, "csv");
    }

    /**
     * A directory with one sub-directory per label holding one text file per row ({@code
     * <dir>/<label>/*.txt}).
     *
     * @param dir the directory
     * @return the dataset (the directory is read when the distillation starts)
     * @throws NullPointerException if {@code dir} is null
     */
    public static Dataset fromFolders(Path dir) {
        return file(dir, "folders");
    }

    /**
     * A file or directory whose format the engine infers: a directory is read as label folders,
     * {@code .jsonl}/{@code .ndjson}/{@code .json} as JSON Lines, {@code .csv}/{@code .tsv}/{@code
     * .txt} as CSV.
     *
     * @param path the file or directory
     * @return the dataset; a path whose format cannot be inferred fails when the distillation
     *     starts, naming the path
     * @throws NullPointerException if {@code path} is null
     */
    public static Dataset fromFile(Path path) {
        return file(path, null);
    }

    /**
     * Text rows held in memory.
     *
     * @param texts the texts
     * @param labels one label per text (String, Integer, Long, Short, Byte, an enum constant, or
     *     null for an unlabelled row)
     * @return the dataset (a copy of the rows)
     * @throws NullPointerException if a list or a text is null
     * @throws InvalidInputException if the lists differ in length, are empty, or a label has
     *     another type
     */
    public static Dataset of(List<String> texts, List<?> labels) {
        Objects.requireNonNull(texts, "texts");
        checkSizes(texts.size(), labels, "texts");
        List<Row> rows = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            String text = Objects.requireNonNull(texts.get(i), "texts[" + i + "]");
            rows.add(new Row(text, null, label(labels.get(i), i)));
        }
        return new Dataset(
                null, null, null, null, null, null, null, Collections.unmodifiableList(rows));
    }

    /**
     * Feature-vector rows held in memory (for MLP students).
     *
     * @param features the vectors, all of one length
     * @param labels one label per vector (as for {@link #of})
     * @return the dataset (a copy of the rows)
     * @throws NullPointerException if a list or a vector is null
     * @throws InvalidInputException if the lists differ in length, are empty, the vectors differ in
     *     length, a value is NaN or infinite, or a label has another type
     */
    public static Dataset ofFeatures(List<float[]> features, List<?> labels) {
        Objects.requireNonNull(features, "features");
        checkSizes(features.size(), labels, "features");
        List<Row> rows = new ArrayList<>(features.size());
        int dim = -1;
        for (int i = 0; i < features.size(); i++) {
            float[] row = Objects.requireNonNull(features.get(i), "features[" + i + "]");
            if (dim >= 0 && row.length != dim) {
                throw new InvalidInputException(
                        "INVALID_ARGUMENT",
                        "Feature rows differ in length: row 0 has "
                                + dim
                                + " values, row "
                                + i
                                + " has "
                                + row.length);
            }
            dim = row.length;
            for (int j = 0; j < row.length; j++) {
                if (!Float.isFinite(row[j])) {
                    throw new InvalidInputException(
                            "INVALID_ARGUMENT",
                            "Feature values must be finite: row "
                                    + i
                                    + ", index "
                                    + j
                                    + " is "
                                    + row[j]);
                }
            }
            rows.add(new Row(null, row.clone(), label(labels.get(i), i)));
        }
        return new Dataset(
                null, null, null, null, null, null, null, Collections.unmodifiableList(rows));
    }

    private static void checkSizes(int n, List<?> labels, String what) {
        Objects.requireNonNull(labels, "labels");
        if (n != labels.size()) {
            throw new InvalidInputException(
                    "INVALID_ARGUMENT",
                    "Need one label per row: " + n + " " + what + ", " + labels.size() + " labels");
        }
        if (n == 0) {
            throw new InvalidInputException(
                    "INVALID_ARGUMENT", "A dataset needs at least one row, got 0 " + what);
        }
    }

    private static Object label(Object label, int row) {
        if (label == null || label instanceof String) {
            return label;
        }
        if (label instanceof Integer
                || label instanceof Long
                || label instanceof Short
                || label instanceof Byte) {
            return ((Number) label).longValue();
        }
        if (label instanceof Enum<?> e) {
            return e.name();
        }
        throw new InvalidInputException(
                "INVALID_ARGUMENT",
                "Labels must be strings, integers or enum constants: label "
                        + row
                        + " is a "
                        + label.getClass().getName());
    }

    private Dataset withFileSetting(String method, int which, String value) {
        Objects.requireNonNull(value, "value");
        if (path == null) {
            throw new IllegalStateException(
                    "Cannot call " + method + " on an in-memory dataset; it applies to files only");
        }
        return new Dataset(
                path,
                format,
                which == 0 ? value : textField,
                which == 1 ? value : labelField,
                which == 2 ? value : featuresField,
                which == 3 ? value : splitField,
                which == 4 ? value : delimiter,
                null);
    }

    /**
     * Names the text field or column (default {@code text}).
     *
     * @param name the field name
     * @return a new dataset
     * @throws IllegalStateException on an in-memory dataset
     */
    public Dataset withTextField(String name) {
        return withFileSetting("withTextField", 0, name);
    }

    /**
     * Names the label field or column (default {@code label}).
     *
     * @param name the field name
     * @return a new dataset
     * @throws IllegalStateException on an in-memory dataset
     */
    public Dataset withLabelField(String name) {
        return withFileSetting("withLabelField", 1, name);
    }

    /**
     * Names the feature-vector field or column (default {@code features}).
     *
     * @param name the field name
     * @return a new dataset
     * @throws IllegalStateException on an in-memory dataset
     */
    public Dataset withFeaturesField(String name) {
        return withFileSetting("withFeaturesField", 2, name);
    }

    /**
     * Names a field whose values ({@code train}, {@code validation}, {@code test}) assign rows to
     * splits (default none: the split is drawn by seed).
     *
     * @param name the field name
     * @return a new dataset
     * @throws IllegalStateException on an in-memory dataset
     */
    public Dataset withSplitField(String name) {
        return withFileSetting("withSplitField", 3, name);
    }

    /**
     * Sets the CSV delimiter, one ASCII character other than a quote or a line break (default
     * {@code ,}; a {@code .tsv} file with the default uses a tab).
     *
     * @param delimiter the delimiter
     * @return a new dataset
     * @throws IllegalStateException on an in-memory dataset
     */
    public Dataset withDelimiter(char delimiter) {
        return withFileSetting("withDelimiter", 4, String.valueOf(delimiter));
    }

    /**
     * Returns the file or directory of a file dataset.
     *
     * @return the path, or empty for an in-memory dataset
     */
    public Optional<Path> path() {
        return Optional.ofNullable(path);
    }

    /**
     * Tells whether the rows are held in memory.
     *
     * @return true for {@link #of} and {@link #ofFeatures} datasets
     */
    public boolean isInMemory() {
        return rows != null;
    }

    /**
     * Writes this dataset as a request data source ({@code config::DataSource}).
     *
     * @throws UncheckedIOException if a large in-memory dataset cannot be written to its temporary
     *     file
     */
    ObjectNode toJson() {
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        if (rows != null && rows.size() <= INLINE_ROW_LIMIT) {
            ArrayNode array = out.putArray("rows");
            for (Row row : rows) {
                array.add(rowJson(row));
            }
            return out;
        }
        if (rows != null) {
            out.put("path", spill().toString());
            out.put("format", "jsonl");
            return out;
        }
        out.put("path", path.toString());
        if (format != null) {
            out.put("format", format);
        }
        putIfSet(out, "text_field", textField);
        putIfSet(out, "label_field", labelField);
        putIfSet(out, "features_field", featuresField);
        putIfSet(out, "split_field", splitField);
        putIfSet(out, "csv_delimiter", delimiter);
        return out;
    }

    private static void putIfSet(ObjectNode out, String field, String value) {
        if (value != null) {
            out.put(field, value);
        }
    }

    private static ObjectNode rowJson(Row row) {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        if (row.text != null) {
            node.put("text", row.text);
        } else {
            ArrayNode values = node.putArray("features");
            for (float v : row.features) {
                values.add(v);
            }
        }
        if (row.label instanceof String s) {
            node.put("label", s);
        } else if (row.label instanceof Long l) {
            node.put("label", l);
        }
        return node;
    }

    /** Writes the rows to a temporary JSONL file once and returns its path. */
    private Path spill() {
        synchronized (spillLock) {
            if (spillFile != null) {
                return spillFile;
            }
            Path file = null;
            try {
                file = Files.createTempFile("jbolt-dataset-", ".jsonl");
                file.toFile().deleteOnExit();
                try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
                    for (Row row : rows) {
                        w.write(MAPPER.writeValueAsString(rowJson(row)));
                        w.write('\n');
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(
                        "Cannot write the in-memory dataset to a temporary file "
                                + (file == null ? "in java.io.tmpdir" : file),
                        e);
            }
            spillFile = file;
            return file;
        }
    }

    @Override
    public String toString() {
        return rows != null
                ? "Dataset{in memory, " + rows.size() + " rows}"
                : "Dataset{" + (format == null ? "file" : format) + " " + path + "}";
    }
}
