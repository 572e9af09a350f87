package dev.jbolt.distill.spring;

import dev.jbolt.distill.StudentModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Warms a model up according to {@code jbolt.distill.warm-up.*}. */
final class WarmUps {
    private static final Logger LOG = LoggerFactory.getLogger(WarmUps.class);

    private WarmUps() {}

    static void warm(StudentModel model, JboltDistillProperties.WarmUp settings) {
        if (!settings.isEnabled() || settings.getIterations() < 1) {
            return;
        }
        long start = System.nanoTime();
        for (int i = 0; i < settings.getIterations(); i++) {
            model.warmUp();
        }
        LOG.info(
                "Warmed up student model {} with {} prediction(s) in {} ms",
                model.path(),
                settings.getIterations(),
                (System.nanoTime() - start) / 1_000_000);
    }
}
