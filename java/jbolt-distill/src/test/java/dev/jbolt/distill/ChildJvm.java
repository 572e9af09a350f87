package dev.jbolt.distill;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A child JVM running {@link DistillProbe} with {@code -Xcheck:jni}, its output read line by line
 * (standard error merged in).
 */
final class ChildJvm implements AutoCloseable {
    /**
     * How HotSpot's {@code -Xcheck:jni} starts its reports ({@code WARNING in native method: ...},
     * {@code WARNING: JNI local refs: ...}); nothing else in the probe's output says it.
     */
    static final String JNI_WARNING = "WARNING";

    private final Process process;
    private final BufferedReader reader;
    private final List<String> lines = new ArrayList<>();

    ChildJvm(Path workDir, String... probeArgs) throws IOException {
        this(workDir, List.of(), probeArgs);
    }

    ChildJvm(Path workDir, List<String> jvmArgs, String... probeArgs) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xcheck:jni");
        command.addAll(jvmArgs);
        command.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(DistillProbe.class.getName());
        command.addAll(List.of(probeArgs));
        ProcessBuilder builder = new ProcessBuilder(command).directory(workDir.toFile());
        builder.redirectErrorStream(true);
        builder.environment().remove("LD_LIBRARY_PATH");
        builder.environment()
                .put("JBOLT_LIBTORCH_DIR", JboltRuntime.load().libtorchDir().toString());
        process = builder.start();
        process.getOutputStream().close();
        reader =
                new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    /** The next line of output, or null at its end. */
    String nextLine() throws IOException {
        String line = reader.readLine();
        if (line != null) {
            lines.add(line);
        }
        return line;
    }

    /** Reads the rest of the output and waits for the exit status. */
    int finish(long timeoutSeconds) throws IOException, InterruptedException {
        while (nextLine() != null) {
            // collected in lines
        }
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("child JVM did not finish:\n" + output());
        }
        return process.exitValue();
    }

    /** Kills the child at once (SIGKILL), as a crash or an operator would. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(60, TimeUnit.SECONDS);
    }

    /** Everything read so far. */
    String output() {
        return String.join("\n", lines);
    }

    /** The JSON after the {@code report } line, or null. */
    String report() {
        return lines.stream()
                .filter(l -> l.startsWith("report "))
                .map(l -> l.substring("report ".length()))
                .findFirst()
                .orElse(null);
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
