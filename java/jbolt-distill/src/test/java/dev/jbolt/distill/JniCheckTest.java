package dev.jbolt.distill;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every kind of native call, including the ones that throw and a caught Rust panic, in a JVM run
 * with {@code -Xcheck:jni}: HotSpot then reports any misuse of JNI (a pending exception ignored, a
 * local reference leaked past its frame, a wrong type) as a warning, and this test fails on any.
 */
@Tag("engine")
class JniCheckTest {
    @Test
    void aRunCallbacksPredictionsAndFailuresGiveNoJniWarning(@TempDir Path dir) throws Exception {
        Path data = InterruptionTest.bbcSubset(dir);
        try (ChildJvm child =
                new ChildJvm(
                        dir,
                        "failures",
                        data.toString(),
                        dir.resolve("out").toString(),
                        dir.resolve("ckpt").toString())) {
            assertThat(child.finish(300)).as(child.output()).isZero();
            System.out.println(child.output());
            assertThat(child.output())
                    .contains("step 12")
                    .contains("caught InvalidInputException")
                    .contains("caught NativeFailureException")
                    .contains("probe done")
                    .doesNotContain(ChildJvm.JNI_WARNING)
                    .doesNotContainIgnoringCase("FATAL ERROR in native method");
        }
    }
}
