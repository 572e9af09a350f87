package dev.jbolt.distill;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** The one Jackson mapper of the library and the parsing of the engine's answers. */
final class Json {
    /** Shared, thread-safe once configured. */
    static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {}

    /**
     * Parses JSON returned by the engine.
     *
     * @param json the document
     * @param what what it is, for the message (for example "distillation report")
     * @return the tree
     * @throws NativeFailureException with code {@code INTERNAL} if it does not parse (an engine
     *     bug)
     */
    static JsonNode parse(String json, String what) {
        try {
            return MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new NativeFailureException(
                    "INTERNAL", "Cannot parse the " + what + " returned by the engine: " + json, e);
        }
    }

    /**
     * Writes a tree as compact JSON.
     *
     * @param node the tree
     * @return the document
     */
    static String write(JsonNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("Cannot write JSON for " + node.getNodeType(), e);
        }
    }
}
