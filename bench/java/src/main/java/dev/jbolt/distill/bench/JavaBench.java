package dev.jbolt.distill.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jbolt.distill.JboltRuntime;
import dev.jbolt.distill.Prediction;
import dev.jbolt.distill.StudentModel;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The Java side of the benchmark harness ({@code scripts/bench}); prints one JSON object.
 *
 * <pre>
 * latency FP32_BUNDLE INT8_BUNDLE MODEL.onnx TEXTS.json IDS.json ROUNDS RUNS1 RUNS32 THREADS
 *     this library (fp32, int8: predict and predictBatch from texts) and ONNX Runtime Java (from
 *     the same texts' token ids), batch 1 and 32, p50 and p99, plus each engine's probabilities
 *     of the first 32 texts for the parity check
 * coldstart BUNDLE TEXT
 *     JVM start to the first prediction, in parts, with the RSS after each part
 * </pre>
 */
public final class JavaBench {
    private static final ObjectMapper JSON = new ObjectMapper();

    private JavaBench() {}

    public static void main(String[] args) throws Exception {
        ObjectNode out =
                switch (args[0]) {
                    case "latency" -> latency(args);
                    case "coldstart" -> coldStart(Path.of(args[1]), args[2]);
                    default -> throw new IllegalArgumentException("unknown mode " + args[0]);
                };
        out.set("rss", rss());
        System.out.println(JSON.writeValueAsString(out));
    }

    private static ObjectNode coldStart(Path bundle, String text) {
        ObjectNode out = JSON.createObjectNode();
        long jvmStart = ManagementFactory.getRuntimeMXBean().getStartTime();
        out.put("jvm_to_main_ms", System.currentTimeMillis() - jvmStart);
        out.set("rss_at_main", rss());
        long t = System.nanoTime();
        JboltRuntime.load();
        out.put("library_load_ms", (System.nanoTime() - t) / 1e6);
        out.set("rss_after_library", rss());
        t = System.nanoTime();
        try (StudentModel model = StudentModel.load(bundle)) {
            out.put("model_load_ms", (System.nanoTime() - t) / 1e6);
            out.set("rss_after_model", rss());
            t = System.nanoTime();
            Prediction p = model.predict(text);
            out.put("first_call_ms", (System.nanoTime() - t) / 1e6);
            out.put("label", p.label());
            t = System.nanoTime();
            model.predict(text);
            out.put("second_call_ms", (System.nanoTime() - t) / 1e6);
        }
        out.put("jvm_start_to_first_prediction_ms", System.currentTimeMillis() - jvmStart);
        return out;
    }

    private static ObjectNode latency(String[] args) throws IOException, OrtException {
        Path fp32 = Path.of(args[1]);
        Path int8 = Path.of(args[2]);
        Path onnx = Path.of(args[3]);
        List<String> texts = new ArrayList<>();
        JSON.readTree(Files.readString(Path.of(args[4]))).forEach(n -> texts.add(n.asText()));
        JsonNode ids = JSON.readTree(Files.readString(Path.of(args[5])));
        long padId = ids.get("pad_id").asLong();
        List<long[]> rows = new ArrayList<>();
        ids.get("ids").forEach(r -> rows.add(JSON.convertValue(r, long[].class)));
        int rounds = Integer.parseInt(args[6]);
        int runs1 = Integer.parseInt(args[7]);
        int runs32 = Integer.parseInt(args[8]);
        int threads = Integer.parseInt(args[9]);

        JboltRuntime.load();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(threads);
        options.setInterOpNumThreads(1);
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        ObjectNode out = JSON.createObjectNode();
        try (StudentModel f = StudentModel.load(fp32);
                StudentModel q = StudentModel.load(int8);
                OrtSession ort = env.createSession(onnx.toString(), options)) {
            Engine[] engines = {
                new Engine("jbolt_fp32", n -> predictTexts(f, texts.subList(n[0], n[1]))),
                new Engine("jbolt_int8", n -> predictTexts(q, texts.subList(n[0], n[1]))),
                new Engine(
                        "onnxruntime_java", n -> ortRun(env, ort, rows.subList(n[0], n[1]), padId))
            };
            for (int batch : new int[] {1, 32}) {
                int runs = batch == 1 ? runs1 : runs32;
                for (Engine e : engines) {
                    e.times.clear();
                    e.roundMedians.clear();
                }
                // Rounds interleave the engines so that a burst of load elsewhere on the
                // machine hits all of them alike.
                for (int r = 0; r < rounds; r++) {
                    for (Engine e : engines) {
                        e.measure(batch, texts.size(), runs);
                    }
                }
                ObjectNode b = out.putObject("batch" + batch);
                for (Engine e : engines) {
                    b.set(e.name, e.summary());
                }
            }
            ObjectNode parity = out.putObject("probabilities");
            parity.set("jbolt_fp32", JSON.valueToTree(predictTexts(f, texts.subList(0, 32))));
            parity.set("jbolt_int8", JSON.valueToTree(predictTexts(q, texts.subList(0, 32))));
            parity.set(
                    "onnxruntime_java",
                    JSON.valueToTree(ortRun(env, ort, rows.subList(0, 32), padId)));
            out.put("onnxruntime_version", env.getVersion());
        }
        return out;
    }

    /** Probabilities per text, in label order. */
    private static float[][] predictTexts(StudentModel model, List<String> texts) {
        List<Prediction> ps =
                texts.size() == 1
                        ? List.of(model.predict(texts.get(0)))
                        : model.predictBatch(texts);
        float[][] out = new float[ps.size()][];
        for (int i = 0; i < out.length; i++) {
            Map<String, Float> probs = ps.get(i).probabilities();
            out[i] = new float[probs.size()];
            int j = 0;
            for (float p : probs.values()) {
                out[i][j++] = p;
            }
        }
        return out;
    }

    /** Pads the rows, runs the ONNX model and returns softmax probabilities per row. */
    private static float[][] ortRun(
            OrtEnvironment env, OrtSession session, List<long[]> rows, long padId)
            throws OrtException {
        int b = rows.size();
        int l = rows.stream().mapToInt(r -> r.length).max().orElse(1);
        long[] ids = new long[b * l];
        long[] mask = new long[b * l];
        Arrays.fill(ids, padId);
        for (int i = 0; i < b; i++) {
            long[] r = rows.get(i);
            System.arraycopy(r, 0, ids, i * l, r.length);
            Arrays.fill(mask, i * l, i * l + r.length, 1L);
        }
        long[] shape = {b, l};
        try (OnnxTensor idT = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape);
                OnnxTensor maskT = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape);
                OrtSession.Result result =
                        session.run(Map.of("input_ids", idT, "attention_mask", maskT))) {
            float[][] logits = (float[][]) result.get(0).getValue();
            for (float[] row : logits) {
                softmax(row);
            }
            return logits;
        }
    }

    private static void softmax(float[] row) {
        float max = Float.NEGATIVE_INFINITY;
        for (float v : row) {
            max = Math.max(max, v);
        }
        float sum = 0;
        for (int i = 0; i < row.length; i++) {
            row[i] = (float) Math.exp(row[i] - max);
            sum += row[i];
        }
        for (int i = 0; i < row.length; i++) {
            row[i] /= sum;
        }
    }

    /** {@code VmHWM} (peak) and {@code VmRSS} (now) in MiB, from {@code /proc/self/status}. */
    private static ObjectNode rss() {
        ObjectNode out = JSON.createObjectNode();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                String[] parts = line.trim().split("\\s+");
                if (line.startsWith("VmHWM:")) {
                    out.put("peak_mib", Long.parseLong(parts[1]) / 1024.0);
                } else if (line.startsWith("VmRSS:")) {
                    out.put("current_mib", Long.parseLong(parts[1]) / 1024.0);
                }
            }
        } catch (IOException e) {
            out.put("error", e.toString());
        }
        return out;
    }

    @FunctionalInterface
    private interface Call {
        Object run(int[] range) throws Exception;
    }

    /** One engine's call and its measured times. */
    private static final class Engine {
        final String name;
        final Call call;
        final List<Double> times = new ArrayList<>();
        final List<Double> roundMedians = new ArrayList<>();
        int next;

        Engine(String name, Call call) {
            this.name = name;
            this.call = call;
        }

        void measure(int batch, int available, int runs) {
            List<Double> round = new ArrayList<>();
            for (int i = -Math.max(3, runs / 10); i < runs; i++) {
                int start = next % (available - batch + 1);
                next += batch;
                long t = System.nanoTime();
                try {
                    call.run(new int[] {start, start + batch});
                } catch (Exception e) {
                    throw new IllegalStateException(name + " failed at batch " + batch, e);
                }
                double ms = (System.nanoTime() - t) / 1e6;
                if (i >= 0) {
                    round.add(ms);
                }
            }
            times.addAll(round);
            roundMedians.add(percentile(round, 0.5));
        }

        ObjectNode summary() {
            ObjectNode s = JSON.createObjectNode();
            s.put("p50_ms", percentile(times, 0.5));
            s.put("p99_ms", percentile(times, 0.99));
            s.put("runs", times.size());
            ArrayNode rm = s.putArray("round_p50_ms");
            roundMedians.forEach(rm::add);
            return s;
        }
    }

    /** Nearest-rank percentile. */
    static double percentile(List<Double> values, double q) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int rank = (int) Math.ceil(q * v.length);
        return v[Math.min(Math.max(rank, 1), v.length) - 1];
    }
}
