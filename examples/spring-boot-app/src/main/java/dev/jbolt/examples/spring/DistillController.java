package dev.jbolt.examples.spring;

import dev.jbolt.distill.Dataset;
import dev.jbolt.distill.DistillationResult;
import dev.jbolt.distill.InvalidInputException;
import dev.jbolt.distill.TrainingParams;
import dev.jbolt.distill.TransformerConfig;
import dev.jbolt.distill.spring.DistillationJob;
import dev.jbolt.distill.spring.DistillationRequest;
import dev.jbolt.distill.spring.DistillationService;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.RejectedExecutionException;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code POST /distill} starts a background distillation, {@code GET /distill/{id}} follows it,
 * {@code POST /swap} serves an existing bundle.
 */
@RestController
public class DistillController {
    /**
     * Body of {@code POST /distill}. {@code data}: a directory with one sub-directory of {@code
     * .txt} files per label. Unset numbers take the engine's defaults; unset {@code teacher} takes
     * {@code jbolt.distill.distillation.teacher}; unset {@code swap} takes {@code
     * jbolt.distill.distillation.swap-when-done} (true).
     */
    public record DistillBody(
            String data,
            String teacher,
            Integer layers,
            Integer hiddenSize,
            Integer heads,
            Integer intermediateSize,
            Integer epochs,
            Integer batchSize,
            Integer maxLength,
            Long seed,
            Boolean swap) {}

    /** Body of {@code POST /swap}. */
    public record SwapBody(String bundle) {}

    private final DistillationService service;

    DistillController(DistillationService service) {
        this.service = service;
    }

    @PostMapping("/distill")
    ResponseEntity<Map<String, Object>> distill(@RequestBody DistillBody body) {
        if (body.data() == null) {
            throw new InvalidInputException(
                    "INVALID_ARGUMENT", "Missing field data: a directory of label folders");
        }
        TransformerConfig student = new TransformerConfig();
        if (body.layers() != null) {
            student.setLayers(body.layers());
        }
        if (body.hiddenSize() != null) {
            student.setHiddenSize(body.hiddenSize());
        }
        if (body.heads() != null) {
            student.setHeads(body.heads());
        }
        if (body.intermediateSize() != null) {
            student.setIntermediateSize(body.intermediateSize());
        }
        TrainingParams training = new TrainingParams();
        if (body.epochs() != null) {
            training.setEpochs(body.epochs());
        }
        if (body.batchSize() != null) {
            training.setBatchSize(body.batchSize());
        }
        if (body.maxLength() != null) {
            training.setMaxLength(body.maxLength());
        }
        if (body.seed() != null) {
            training.setSeed(body.seed());
        }
        DistillationRequest request =
                DistillationRequest.of(Dataset.fromFolders(Path.of(body.data())))
                        .teacher(body.teacher())
                        .student(student)
                        .training(training);
        if (body.swap() != null) {
            request.swapWhenDone(body.swap());
        }
        DistillationJob job = service.submit(request);
        return ResponseEntity.status(HttpStatus.ACCEPTED).body(describe(job));
    }

    @GetMapping("/distill/{id}")
    ResponseEntity<Map<String, Object>> job(@PathVariable String id) {
        Optional<DistillationJob> job = service.job(id);
        return job.map(j -> ResponseEntity.ok(describe(j)))
                .orElseGet(() -> ResponseEntity.status(HttpStatus.NOT_FOUND).build());
    }

    @PostMapping("/swap")
    Map<String, Object> swap(@RequestBody SwapBody body) {
        Path bundle = Path.of(body.bundle());
        Optional<Path> previous = service.swapIn(bundle);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("previous", previous.map(Path::toString).orElse(null));
        out.put("current", bundle.toString());
        return out;
    }

    @ExceptionHandler(RejectedExecutionException.class)
    ResponseEntity<Map<String, String>> full(RejectedExecutionException e) {
        return ResponseEntity.status(HttpStatus.TOO_MANY_REQUESTS)
                .body(Map.of("error", e.getMessage()));
    }

    @ExceptionHandler(InvalidInputException.class)
    ResponseEntity<Map<String, String>> badInput(InvalidInputException e) {
        return ResponseEntity.badRequest().body(Map.of("error", e.getMessage()));
    }

    private static Map<String, Object> describe(DistillationJob job) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", job.id());
        out.put("status", job.status().name());
        out.put("progress", job.progress());
        out.put("stage", job.lastEvent().map(e -> e.stage()).orElse(null));
        out.put("swapped", job.swapped());
        job.result()
                .map(DistillationResult::bundlePath)
                .ifPresent(p -> out.put("bundle", p.toString()));
        job.result().ifPresent(r -> out.put("studentAccuracy", r.studentAccuracy()));
        job.error().ifPresent(e -> out.put("error", e.toString()));
        return out;
    }
}
