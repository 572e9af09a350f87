package dev.jbolt.distill;

/**
 * Post-training quantization of the student.
 *
 * <p>The engine checks the quantized student on the test split and keeps the fp32 one when the
 * accuracy drops by more than {@link JboltDistiller#setMaxQuantizationAccuracyDrop(double)}.
 */
public enum QuantType {
    /** Keep fp32 weights (the default). */
    NONE("none"),
    /** Dynamic int8 quantization of the linear layers (fbgemm kernels), inference only. */
    INT8("int8");

    private final String jsonName;

    QuantType(String jsonName) {
        this.jsonName = jsonName;
    }

    /** The name in the request JSON ({@code none}, {@code int8}). */
    String jsonName() {
        return jsonName;
    }
}
