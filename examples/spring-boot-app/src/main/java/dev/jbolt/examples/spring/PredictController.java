package dev.jbolt.examples.spring;

import dev.jbolt.distill.InvalidInputException;
import dev.jbolt.distill.Prediction;
import dev.jbolt.distill.spring.NoModelServedException;
import dev.jbolt.distill.spring.ServedModel;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/** {@code POST /predict}: classifies texts with whichever student is served right now. */
@RestController
public class PredictController {
    /** Body of {@code POST /predict}: one {@code text}, or several {@code texts}. */
    public record PredictRequest(String text, List<String> texts) {}

    /** Answer: the bundle that made the predictions, and one prediction per text. */
    public record PredictResponse(String model, List<Prediction> predictions) {}

    private final ServedModel served;

    PredictController(ServedModel served) {
        this.served = served;
    }

    @PostMapping("/predict")
    PredictResponse predict(@RequestBody PredictRequest request) {
        List<String> texts =
                request.texts() != null
                        ? request.texts()
                        : request.text() != null ? List.of(request.text()) : List.of();
        // One lease for the whole call, so the model named is the one that predicted.
        return served.withModel(
                model ->
                        new PredictResponse(
                                model.path().toString(),
                                texts.size() == 1
                                        ? List.of(model.predict(texts.get(0)))
                                        : model.predictBatch(texts)));
    }

    @ExceptionHandler(NoModelServedException.class)
    ResponseEntity<Map<String, String>> noModel(NoModelServedException e) {
        return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE)
                .body(Map.of("error", e.getMessage()));
    }

    @ExceptionHandler(InvalidInputException.class)
    ResponseEntity<Map<String, String>> badInput(InvalidInputException e) {
        return ResponseEntity.badRequest().body(Map.of("error", e.getMessage()));
    }
}
