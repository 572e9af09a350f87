package dev.jbolt.distill;

/**
 * Main class run in a child JVM by {@link ChildJvmTest}: loads the runtime, optionally panics on
 * purpose, and prints what happened.
 */
public final class LoadProbe {
    private LoadProbe() {}

    /**
     * Runs the probe.
     *
     * @param args {@code load} to load and compute, {@code panic} to also trigger a Rust panic
     */
    public static void main(String[] args) {
        RuntimeInfo info = JboltRuntime.load();
        System.out.println("probe loaded libtorch " + info.libtorchVersion());
        if (args.length > 0 && args[0].equals("panic")) {
            try {
                NativeBridge.selfTestPanic("from the probe");
            } catch (NativeFailureException e) {
                System.out.println("probe caught " + e.getClass().getSimpleName());
            }
        }
        float[] c = JboltRuntime.matmul(new float[] {1, 2}, 1, 2, new float[] {3, 4}, 1);
        System.out.println("probe result " + c[0]);
    }
}
