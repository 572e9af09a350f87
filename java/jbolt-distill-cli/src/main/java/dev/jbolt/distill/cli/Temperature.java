package dev.jbolt.distill.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * A distillation temperature schedule: {@code START:END} (falling or rising linearly over the
 * distillation steps), or one value for a constant temperature.
 *
 * @param start the temperature at the first distillation step, above 0
 * @param end the temperature at the last distillation step, above 0
 */
record Temperature(double start, double end) {

    /**
     * Parses {@code START:END} or a single value.
     *
     * @param text the option value
     * @return the schedule
     * @throws IllegalArgumentException naming the text if it is not one or two finite numbers above
     *     0 separated by a colon
     */
    static Temperature parse(String text) {
        String[] parts = text.trim().split(":", -1);
        if (parts.length > 2) {
            throw new IllegalArgumentException(
                    "expected START:END or one value, got '" + text + "' (more than one colon)");
        }
        double start = number(parts[0], text);
        double end = parts.length == 2 ? number(parts[1], text) : start;
        return new Temperature(start, end);
    }

    private static double number(String part, String text) {
        double value;
        try {
            value = Double.parseDouble(part.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "expected START:END or one value, got '"
                            + text
                            + "' ('"
                            + part.trim()
                            + "' is not a number)");
        }
        if (!(value > 0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException(
                    "temperatures must be finite and above 0, got '" + text + "'");
        }
        return value;
    }

    @Override
    public String toString() {
        return start == end ? fmt(start) : fmt(start) + ":" + fmt(end);
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    /** The picocli converter for {@code --temperature}. */
    static final class Converter implements ITypeConverter<Temperature> {
        @Override
        public Temperature convert(String value) {
            try {
                return parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
