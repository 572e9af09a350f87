package dev.jbolt.distill.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class SelfTestCommandTest {

    private static String[] run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new JboltDistillCli());
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(args);
        return new String[] {Integer.toString(code), out.toString(), err.toString()};
    }

    @Test
    void selftestChecksTheJniProductAgainstPlainJava() {
        String[] result = run("selftest", "--size", "32");

        assertThat(result[0]).as(result[2]).isEqualTo("0");
        assertThat(result[1])
                .contains("libtorch 2.13.")
                .contains("matmul 32x32 through JNI")
                .contains("-> OK");
    }

    @Test
    void aSizeBelowOneIsRejectedWithUsageStatus() {
        String[] result = run("selftest", "--size", "0");

        assertThat(result[0]).isEqualTo("2");
        assertThat(result[2]).contains("--size must be at least 1, got 0");
    }
}
