package dev.jbolt.distill;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

class JboltRuntimeTest {

    /** Plain-Java reference product in double precision, independent of libtorch. */
    private static double[] referenceProduct(float[] a, int n, int k, float[] b, int m) {
        double[] c = new double[n * m];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < m; j++) {
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    sum += (double) a[i * k + p] * b[p * m + j];
                }
                c[i * m + j] = sum;
            }
        }
        return c;
    }

    private static float[] randomValues(Random random, int count) {
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            values[i] = (float) random.nextGaussian();
        }
        return values;
    }

    @Test
    void loadsLibtorch213AndTheMatchingNativeLibrary() {
        RuntimeInfo info = JboltRuntime.load();

        assertThat(info.version()).isEqualTo("0.1.0");
        assertThat(info.libtorchVersion()).startsWith("2.13.");
        assertThat(info.nativeLibrary()).isRegularFile();
        assertThat(info.libtorchDir().resolve("lib")).isDirectory();
        assertThat(info.threads()).isPositive();
    }

    @Test
    void matmulThroughJniMatchesAnIndependentlyComputedProduct() {
        Random random = new Random(7);
        int n = 17, k = 33, m = 9;
        float[] a = randomValues(random, n * k);
        float[] b = randomValues(random, k * m);

        float[] product = JboltRuntime.matmul(a, n, k, b, m);

        double[] expected = referenceProduct(a, n, k, b, m);
        assertThat(product).hasSize(n * m);
        for (int i = 0; i < expected.length; i++) {
            assertThat((double) product[i]).isCloseTo(expected[i], within(1e-4));
        }
    }

    @Test
    void matmulOfASmallMatrixGivesTheHandComputedValues() {
        // [[1,2,3],[4,5,6]] @ [[7,8],[9,10],[11,12]] = [[58,64],[139,154]]
        float[] product =
                JboltRuntime.matmul(
                        new float[] {1, 2, 3, 4, 5, 6}, 2, 3, new float[] {7, 8, 9, 10, 11, 12}, 2);

        assertThat(product).containsExactly(58f, 64f, 139f, 154f);
    }

    @Test
    void aNegativeDimensionIsAnInvalidInputExceptionNamingTheArgument() {
        assertThatThrownBy(() -> JboltRuntime.matmul(new float[6], -2, 3, new float[6], 2))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("aRows")
                .hasMessageContaining("-2")
                .satisfies(
                        e -> assertThat(((JboltException) e).code()).isEqualTo("INVALID_ARGUMENT"));

        assertThat(JboltRuntime.matmul(new float[] {2}, 1, 1, new float[] {3}, 1))
                .containsExactly(6f);
    }

    @Test
    void aShapeMismatchIsALibtorchErrorWithLibtorchsOwnMessage() {
        // a is 2x3, b is 4x2: libtorch refuses to multiply.
        assertThatThrownBy(() -> JboltRuntime.matmul(new float[6], 2, 3, new float[8], 2))
                .isInstanceOf(NativeFailureException.class)
                .hasMessageContaining("matmul")
                .hasMessageContaining("2x3")
                .hasMessageContaining("4x2")
                .hasMessageNotContaining("frame #")
                .satisfies(e -> assertThat(((JboltException) e).code()).isEqualTo("TORCH"));

        assertThat(JboltRuntime.matmul(new float[] {2}, 1, 1, new float[] {3}, 1))
                .containsExactly(6f);
    }

    @Test
    void aRustPanicBecomesANativeFailureAndTheJvmKeepsWorking() {
        JboltRuntime.load();

        for (int i = 0; i < 3; i++) {
            String marker = "marker-" + i;
            assertThatThrownBy(() -> NativeBridge.selfTestPanic(marker))
                    .isInstanceOf(NativeFailureException.class)
                    .hasMessageContaining("selfTestPanic")
                    .hasMessageContaining("rust panic: self-test panic: " + marker)
                    .hasMessageContaining("native_bridge.rs")
                    .satisfies(e -> assertThat(((JboltException) e).code()).isEqualTo("INTERNAL"));
        }

        assertThat(JboltRuntime.matmul(new float[] {1, 2}, 1, 2, new float[] {3, 4}, 1))
                .containsExactly(11f);
    }

    @Test
    void aNullStringArgumentIsAnInvalidInputException() {
        JboltRuntime.load();

        assertThatThrownBy(() -> NativeBridge.selfTestPanic(null))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("message")
                .hasMessageContaining("must not be null");
    }

    @Test
    void everyNativeErrorCodeMapsToItsDocumentedSubclass() {
        for (String code : new String[] {"INVALID_ARGUMENT", "INVALID_INPUT", "NOT_FOUND"}) {
            assertThat(JboltException.fromNative(code, "m"))
                    .isInstanceOf(InvalidInputException.class);
        }
        for (String code : new String[] {"IO", "TORCH", "CANCELLED", "INTERNAL"}) {
            assertThat(JboltException.fromNative(code, "m"))
                    .isInstanceOf(NativeFailureException.class)
                    .extracting(JboltException::code)
                    .isEqualTo(code);
        }
    }
}
