package dev.jbolt.examples.spring;

import dev.jbolt.distill.spring.DistillationFinishedEvent;
import dev.jbolt.distill.spring.DistillationProgressEvent;
import dev.jbolt.distill.spring.StudentModelSwappedEvent;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/** Logs each distillation stage as it starts, each swap, and each job's end. */
@Component
public class ProgressLog {
    private static final Logger LOG = LoggerFactory.getLogger(ProgressLog.class);

    private final Map<String, String> stages = new ConcurrentHashMap<>();

    @EventListener
    void progress(DistillationProgressEvent event) {
        String stage = event.getProgress().stage();
        if (!stage.equals(stages.put(event.getJob().id(), stage))) {
            LOG.info("{}: stage {}", event.getJob().id(), stage);
        }
    }

    @EventListener
    void swapped(StudentModelSwappedEvent event) {
        LOG.info("Now serving {} (was {})", event.getCurrent(), event.getPrevious().orElse(null));
    }

    @EventListener
    void finished(DistillationFinishedEvent event) {
        stages.remove(event.getJob().id());
        LOG.info("{} finished: {}", event.getJob().id(), event.getJob().status());
    }
}
