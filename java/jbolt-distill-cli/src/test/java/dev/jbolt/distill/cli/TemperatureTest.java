package dev.jbolt.distill.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TemperatureTest {

    @Test
    void startAndEndAreReadFromStartColonEnd() {
        assertThat(Temperature.parse("4:1")).isEqualTo(new Temperature(4, 1));
        assertThat(Temperature.parse(" 2.5 : 0.5 ")).isEqualTo(new Temperature(2.5, 0.5));
    }

    @Test
    void oneValueIsAConstantTemperature() {
        assertThat(Temperature.parse("3")).isEqualTo(new Temperature(3, 3));
    }

    @Test
    void printingGivesBackTheOptionSyntax() {
        assertThat(Temperature.parse("4:1")).hasToString("4:1");
        assertThat(Temperature.parse("2.5")).hasToString("2.5");
    }

    @Test
    void aPartThatIsNotANumberIsNamedWithTheWholeValue() {
        assertThatThrownBy(() -> Temperature.parse("4:x"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'4:x'")
                .hasMessageContaining("'x' is not a number");
        assertThatThrownBy(() -> Temperature.parse("4:"))
                .hasMessageContaining("'' is not a number");
    }

    @Test
    void moreThanOneColonIsRejected() {
        assertThatThrownBy(() -> Temperature.parse("4:2:1"))
                .hasMessageContaining("'4:2:1'")
                .hasMessageContaining("more than one colon");
    }

    @Test
    void zeroNegativeInfiniteAndNanTemperaturesAreRejected() {
        for (String bad : new String[] {"0:1", "4:-1", "Infinity", "NaN:1"}) {
            assertThatThrownBy(() -> Temperature.parse(bad))
                    .as(bad)
                    .hasMessageContaining("finite and above 0")
                    .hasMessageContaining("'" + bad + "'");
        }
    }
}
