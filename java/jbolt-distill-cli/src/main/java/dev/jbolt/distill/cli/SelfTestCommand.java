package dev.jbolt.distill.cli;

import dev.jbolt.distill.JboltException;
import dev.jbolt.distill.JboltRuntime;
import dev.jbolt.distill.RuntimeInfo;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jbolt-distill selftest}: loads the native runtime, multiplies two random matrices with
 * libtorch through JNI, and checks the product against plain Java.
 */
@Command(
        name = "selftest",
        mixinStandardHelpOptions = true,
        description =
                "Load libtorch and the JNI library, run a matrix product through JNI and check it"
                        + " against plain Java.")
final class SelfTestCommand implements Callable<Integer> {

    @Option(
            names = "--size",
            defaultValue = "64",
            description = "Side of the square matrices (default: ${DEFAULT-VALUE}).")
    int size;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (size < 1) {
            err.println("--size must be at least 1, got " + size);
            return 2;
        }
        RuntimeInfo info;
        try {
            info = JboltRuntime.load();
        } catch (JboltException e) {
            err.println(e.getMessage());
            return 1;
        }
        out.println("jbolt-distill " + info.version() + " on " + info.platform());
        out.println("  native library: " + info.nativeLibrary() + " (" + info.nativeSource() + ")");
        out.println("  libtorch " + info.libtorchVersion() + ": " + info.libtorchDir());
        out.println("  found by: " + info.libtorchSource());
        out.println("  intra-op threads: " + info.threads());

        Random random = new Random(2024);
        float[] a = new float[size * size];
        float[] b = new float[size * size];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) random.nextGaussian();
            b[i] = (float) random.nextGaussian();
        }
        float[] product = JboltRuntime.matmul(a, size, size, b, size);
        long firstResultMillis =
                System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime();

        double maxError = 0;
        for (int i = 0; i < size; i++) {
            for (int j = 0; j < size; j++) {
                double expected = 0;
                for (int p = 0; p < size; p++) {
                    expected += (double) a[i * size + p] * b[p * size + j];
                }
                maxError = Math.max(maxError, Math.abs(expected - product[i * size + j]));
            }
        }
        boolean ok = maxError < 1e-3;
        out.printf(
                "matmul %dx%d through JNI: max abs difference to plain Java %.2e -> %s%n",
                size, size, maxError, ok ? "OK" : "MISMATCH");
        out.println(
                "JVM start to first result: "
                        + firstResultMillis
                        + " ms (native loading: "
                        + info.loadMillis()
                        + " ms)");
        return ok ? 0 : 1;
    }
}
