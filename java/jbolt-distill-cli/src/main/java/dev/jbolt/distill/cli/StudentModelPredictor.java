package dev.jbolt.distill.cli;

import dev.jbolt.distill.Prediction;
import dev.jbolt.distill.StudentModel;
import java.nio.file.Path;

/** {@link LinePredictor} over a {@link StudentModel} bundle. */
final class StudentModelPredictor implements LinePredictor {
    private final StudentModel model;

    private StudentModelPredictor(StudentModel model) {
        this.model = model;
    }

    /**
     * Loads the bundle at {@code dir}.
     *
     * @param dir the bundle directory
     * @return the predictor
     */
    static StudentModelPredictor load(Path dir) {
        return new StudentModelPredictor(StudentModel.load(dir));
    }

    @Override
    public Prediction predictText(String text) {
        return model.predict(text);
    }

    @Override
    public Prediction predictFeatures(float[] features) {
        return model.predictFeatures(features);
    }

    @Override
    public void close() {
        model.close();
    }
}
