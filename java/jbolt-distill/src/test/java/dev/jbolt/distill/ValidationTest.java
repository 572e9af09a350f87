package dev.jbolt.distill;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;

/** Bad settings fail before any work starts, naming the field, the value and the range. */
class ValidationTest {
    private static final Dataset TRAIN = Dataset.fromJsonl(Path.of("train.jsonl"));

    private static JboltDistiller distiller() {
        return new JboltDistiller().setTeacherModel("all-MiniLM-L6-v2");
    }

    private static AbstractThrowableAssert<?, ? extends Throwable> rejects(
            JboltDistiller distiller, Consumer<TrainingParams> settings) {
        TrainingParams params = new TrainingParams();
        settings.accept(params);
        return assertThatThrownBy(() -> distiller.validate(TRAIN, params))
                .isInstanceOf(InvalidInputException.class);
    }

    @Test
    void aNegativeLearningRateNamesTheFieldTheValueAndTheRange() {
        rejects(distiller(), p -> p.setLearningRate(-0.001))
                .hasMessageContaining("training.learning_rate")
                .hasMessageContaining("-0.001")
                .hasMessageContaining("greater than 0");
    }

    @Test
    void aZeroBatchSizeNamesTheFieldTheValueAndTheRange() {
        rejects(distiller(), p -> p.setBatchSize(0))
                .hasMessageContaining("training.batch_size")
                .hasMessageContaining("at least 1")
                .hasMessageContaining("got 0");
    }

    @Test
    void aTemperatureOfZeroOrBelowIsRejected() {
        rejects(distiller(), p -> p.setTemperature(0.0, 1.0))
                .hasMessageContaining("training.temperature_start")
                .hasMessageContaining("got 0");
        rejects(distiller(), p -> p.setTemperature(4.0, -1.0))
                .hasMessageContaining("training.temperature_end")
                .hasMessageContaining("got -1");
    }

    @Test
    void headsThatDoNotDivideTheHiddenSizeAreRejected() {
        JboltDistiller d =
                distiller()
                        .setStudentConfig(new TransformerConfig().setHiddenSize(250).setHeads(4));

        rejects(d, p -> {})
                .hasMessageContaining("student.heads")
                .hasMessageContaining("250")
                .hasMessageContaining("4 heads");
    }

    @Test
    void aNegativeEpochCountIsRejectedOnTheJavaSideWithTheSameShapeOfMessage() {
        rejects(distiller(), p -> p.setEpochs(-1))
                .hasMessageContaining("training.epochs")
                .hasMessageContaining("at least 1")
                .hasMessageContaining("got -1")
                .extracting(e -> ((JboltException) e).code())
                .isEqualTo("INVALID_ARGUMENT");
    }

    @Test
    void aMaxLengthAboveTheStudentPositionsIsRejected() {
        rejects(distiller(), p -> p.setMaxLength(512))
                .hasMessageContaining("training.max_length")
                .hasMessageContaining("512");
    }

    @Test
    void sharesThatLeaveNoTrainingRowsAreRejected() {
        JboltDistiller d = distiller().setValidationShare(0.5).setTestShare(0.5);

        rejects(d, p -> {})
                .hasMessageContaining("validation_share")
                .hasMessageContaining("must be below 1")
                .hasMessageContaining("0.5 + 0.5");
    }

    @Test
    void anUnknownDeviceAndAnUnknownAlignmentLossAreRejected() {
        rejects(distiller(), p -> p.setDevice("tpu"))
                .hasMessageContaining("training.device")
                .hasMessageContaining("tpu");
        rejects(distiller(), p -> p.setHiddenAlignmentLoss("huber"))
                .hasMessageContaining("training.hidden_alignment.loss")
                .hasMessageContaining("huber");
    }

    @Test
    void anEmptyFieldNameOfTheDataIsRejected() {
        Dataset data = TRAIN.withTextField("");

        assertThatThrownBy(() -> distiller().validate(data, new TrainingParams()))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("train.text_field");
    }

    @Test
    void aMisspeltFieldInARequestIsRejectedByName() {
        String json =
                "{\"teacher\":\"t\",\"train\":{\"path\":\"a.jsonl\"},\"output_dir\":\"o\","
                        + "\"training\":{\"learning_rat\":0.1}}";

        assertThatThrownBy(() -> JboltDistiller.engineView(json))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("learning_rat")
                .hasMessageContaining("training");
    }

    @Test
    void resumingWithoutACheckpointDirectoryIsRejected() {
        rejects(distiller(), p -> p.setResume(true)).hasMessageContaining("training.resume");
    }

    @Test
    void aMissingTeacherIsReportedBeforeAnythingElse() {
        assertThatThrownBy(() -> new JboltDistiller().requestJson(TRAIN, new TrainingParams()))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("teacher")
                .hasMessageContaining("setTeacherModel");
    }

    @Test
    void distillRejectsBadSettingsBeforeTrainingStarts() {
        List<DistillationEvent> events = new java.util.ArrayList<>();
        JboltDistiller d = distiller().addListener(events::add);

        assertThatThrownBy(() -> d.distill(TRAIN, new TrainingParams().setBatchSize(0)))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("training.batch_size");
        assertThat(events).isEmpty();
    }

    @Test
    void inMemoryDatasetsRejectMismatchedListsAndBadLabels() {
        assertThatThrownBy(() -> Dataset.of(List.of("a", "b"), List.of("x")))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("2 texts, 1 labels");
        assertThatThrownBy(() -> Dataset.of(List.of("a"), List.of(1.5)))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("label 0 is a java.lang.Double");
        assertThatThrownBy(
                        () ->
                                Dataset.ofFeatures(
                                        List.of(new float[] {1f, Float.NaN}), List.of("a")))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("row 0, index 1 is NaN");
        assertThatThrownBy(() -> Dataset.of(List.of("a"), List.of("x")).withTextField("t"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("withTextField");
    }
}
