package dev.jbolt.distill;

/**
 * Range checks for the settings that the request JSON cannot carry faithfully (negative counts and
 * seeds); every other setting is checked by the engine ({@code config::DistillRequest::validate}).
 */
final class Checks {
    private Checks() {}

    /**
     * Throws unless {@code value >= min}.
     *
     * @param field the dotted field path in the request, for example {@code training.epochs}
     * @throws InvalidInputException naming the field, the value and the allowed range
     */
    static void atLeast(String field, long value, long min) {
        if (value < min) {
            throw invalid(field, "must be at least " + min + ", got " + value);
        }
    }

    /** The exception for a bad setting: code {@code INVALID_ARGUMENT}, the field first. */
    static InvalidInputException invalid(String field, String problem) {
        return new InvalidInputException(
                "INVALID_ARGUMENT", "Invalid setting " + field + ": " + problem);
    }
}
