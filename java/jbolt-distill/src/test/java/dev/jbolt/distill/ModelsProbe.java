package dev.jbolt.distill;

/**
 * Main class run in a child JVM by {@link ModelsTest} with {@code JBOLT_MODEL_HOME} set: prints the
 * model home, the installed models and how a few names resolve.
 */
public final class ModelsProbe {
    private ModelsProbe() {}

    /**
     * Runs the probe.
     *
     * @param args names to resolve
     */
    public static void main(String[] args) {
        System.out.println("home " + Models.home());
        for (ModelInfo m : Models.installed()) {
            System.out.println("installed " + m.name() + " " + m.format() + " " + m.path());
        }
        for (String name : args) {
            try {
                ModelInfo m = Models.resolve(name);
                System.out.println("resolved " + name + " " + m.format() + " " + m.path());
            } catch (InvalidInputException e) {
                System.out.println("failed " + name + " " + e.code() + " " + e.getMessage());
            }
        }
    }
}
