package dev.jbolt.distill.internal;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Receives Rust {@code log} records from the JNI library and hands them to SLF4J.
 *
 * <p>The Rust target (module path, for example {@code jbolt_distill::distill::trainer}) becomes the
 * logger name with {@code ::} replaced by dots. Rust checks the level before calling, using the
 * level of the logger {@value #ROOT} that {@link NativeLoader} passes at load time.
 */
public final class NativeLog {
    /** Logger whose level decides which Rust records are forwarded at all. */
    public static final String ROOT = "jbolt_distill";

    private static final ConcurrentMap<String, Logger> LOGGERS = new ConcurrentHashMap<>();

    private NativeLog() {}

    /**
     * Logs one record; called from Rust on any thread.
     *
     * @param level 1 error, 2 warn, 3 info, 4 debug, 5 trace
     * @param target the Rust log target
     * @param message the formatted message
     */
    public static void log(int level, String target, String message) {
        Logger logger =
                LOGGERS.computeIfAbsent(target, t -> LoggerFactory.getLogger(t.replace("::", ".")));
        switch (level) {
            case 1 -> logger.error(message);
            case 2 -> logger.warn(message);
            case 3 -> logger.info(message);
            case 4 -> logger.debug(message);
            default -> logger.trace(message);
        }
    }
}
