package dev.jbolt.distill;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A teacher model known to the engine: found in the model home, or resolved from a name or path.
 *
 * @param name the name it resolves by (a directory name, or a {@code .pt} file name without the
 *     extension), or the name or path it was resolved from
 * @param path where it is
 * @param format {@code hf_directory} (a Hugging Face style directory with {@code config.json}) or
 *     {@code torchscript} (a TorchScript {@code .pt} file)
 */
public record ModelInfo(String name, Path path, String format) {
    /** Format of a Hugging Face style directory. */
    public static final String HF_DIRECTORY = "hf_directory";

    /** Format of a TorchScript file. */
    public static final String TORCHSCRIPT = "torchscript";

    /**
     * Checks the components.
     *
     * @throws NullPointerException if a component is null
     */
    public ModelInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(format, "format");
    }
}
