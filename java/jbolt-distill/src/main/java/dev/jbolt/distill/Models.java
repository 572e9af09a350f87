package dev.jbolt.distill;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * The teacher models available on this machine, by name.
 *
 * <p>Names resolve in the model home, never over the network: the directory in the environment
 * variable {@code JBOLT_MODEL_HOME}, else {@code ~/.jbolt/models}. A name {@code N} matches {@code
 * <home>/N} (a Hugging Face style directory with {@code config.json}, or a link to one) or {@code
 * <home>/N.pt} (TorchScript). The home is read by the engine on every call, so models added later
 * are found.
 */
public final class Models {
    private Models() {}

    /**
     * Returns the model home.
     *
     * @return {@code $JBOLT_MODEL_HOME}, else {@code ~/.jbolt/models} (which may not exist)
     * @throws NativeLibraryException if the native libraries cannot be loaded
     */
    public static Path home() {
        NativeBridge.ensureLoaded();
        return Path.of(NativeBridge.modelHome());
    }

    /**
     * Lists the models in the model home, sorted by name.
     *
     * @return the models (empty when the home does not exist)
     * @throws NativeFailureException with code {@code IO} if the home cannot be read
     */
    public static List<ModelInfo> installed() {
        NativeBridge.ensureLoaded();
        JsonNode array = Json.parse(NativeBridge.listModels(), "model list");
        List<ModelInfo> out = new ArrayList<>();
        for (JsonNode m : array) {
            out.add(
                    new ModelInfo(
                            m.path("name").asText(),
                            Path.of(m.path("path").asText()),
                            m.path("format").asText()));
        }
        return Collections.unmodifiableList(out);
    }

    /**
     * Resolves a teacher given as a path or a name in the model home.
     *
     * @param nameOrPath a model name, a model directory or a TorchScript file; an existing path
     *     wins over a name
     * @return the model, with {@code name} set to {@code nameOrPath}
     * @throws InvalidInputException with code {@code NOT_FOUND} if nothing matches (naming the home
     *     searched and the models found there), or {@code INVALID_ARGUMENT} if the path exists but
     *     is neither kind of model
     */
    public static ModelInfo resolve(String nameOrPath) {
        Objects.requireNonNull(nameOrPath, "nameOrPath");
        NativeBridge.ensureLoaded();
        JsonNode m = Json.parse(NativeBridge.resolveTeacher(nameOrPath), "resolved teacher");
        return new ModelInfo(
                nameOrPath, Path.of(m.path("path").asText()), m.path("format").asText());
    }
}
