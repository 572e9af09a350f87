package dev.jbolt.distill.cli;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;

/** Runs the tool in-process and captures its status, standard output and standard error. */
record CliRun(int status, String out, String err) {

    static CliRun of(String... args) {
        return withInput(
                "",
                path -> {
                    throw new AssertionError("no model expected");
                },
                args);
    }

    static CliRun withInput(String stdin, LinePredictor.Loader loader, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        JboltDistillCli cli =
                new JboltDistillCli(
                        new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), loader);
        var cmd = JboltDistillCli.commandLine(cli);
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int status = cmd.execute(args);
        return new CliRun(status, out.toString(), err.toString());
    }
}
