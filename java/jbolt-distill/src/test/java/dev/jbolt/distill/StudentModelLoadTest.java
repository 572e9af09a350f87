package dev.jbolt.distill;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading failures of {@link StudentModel} that need no distilled bundle. */
class StudentModelLoadTest {

    @Test
    void aMissingBundleIsAnInvalidInputExceptionNamingThePath(@TempDir Path dir) {
        Path missing = dir.resolve("no-bundle");

        assertThatThrownBy(() -> StudentModel.load(missing))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining(missing.toString());
    }
}
