package dev.jbolt.distill;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class FloatTensorTest {

    @Test
    void aProductOfNativeTensorsHasTheHandComputedValuesAndShape() {
        // [[1,2],[3,4]] @ [[5],[6]] = [[17],[39]]
        try (FloatTensor a = FloatTensor.of(new float[] {1, 2, 3, 4}, 2, 2);
                FloatTensor b = FloatTensor.of(new float[] {5, 6}, 2, 1);
                FloatTensor c = a.matmul(b)) {
            assertThat(c.shape()).containsExactly(2L, 1L);
            assertThat(c.data()).containsExactly(17f, 39f);
        }
    }

    @Test
    void closeIsIdempotentAndUseAfterCloseNamesTheAction() {
        FloatTensor t = FloatTensor.of(new float[] {1, 2, 3}, 3);

        t.close();
        t.close();

        assertThat(t.isClosed()).isTrue();
        assertThatThrownBy(t::data)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("read data")
                .hasMessageContaining("closed");
    }

    @Test
    void aShapeThatDoesNotMatchTheDataIsRejected() {
        assertThatThrownBy(() -> FloatTensor.of(new float[] {1, 2, 3}, 2, 2))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("[2, 2]")
                .hasMessageContaining("got 3");
    }

    @Test
    void mismatchedTensorShapesGiveALibtorchError() {
        try (FloatTensor a = FloatTensor.of(new float[6], 2, 3);
                FloatTensor b = FloatTensor.of(new float[4], 2, 2)) {
            assertThatThrownBy(() -> a.matmul(b))
                    .isInstanceOf(NativeFailureException.class)
                    .extracting(e -> ((JboltException) e).code())
                    .isEqualTo("TORCH");
        }
    }
}
