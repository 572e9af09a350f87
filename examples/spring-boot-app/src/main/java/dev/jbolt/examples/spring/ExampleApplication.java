package dev.jbolt.examples.spring;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * Distils and serves a text classifier over HTTP with the jbolt-distill starter.
 *
 * <p>{@code POST /predict} classifies with the served student; {@code POST /distill} starts a
 * background distillation whose student replaces the served one when it is done ({@code GET
 * /distill/{id}} follows it); {@code POST /swap} serves an existing bundle. Actuator shows the
 * {@code jbolt} health component and the {@code jbolt.distill.*} metrics.
 */
@SpringBootApplication
public class ExampleApplication {
    /**
     * Starts the application.
     *
     * @param args Spring Boot arguments (for example {@code --jbolt.distill.model-path=...})
     */
    public static void main(String[] args) {
        SpringApplication.run(ExampleApplication.class, args);
    }
}
