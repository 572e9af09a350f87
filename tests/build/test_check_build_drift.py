"""Tests of scripts/check-build-drift.py: the real builds agree, and each kind of drift fails."""

import importlib.util
import shutil
import tempfile
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "check_build_drift", REPO / "scripts" / "check-build-drift.py"
)
drift = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(drift)

BUILD_FILES = [
    "pom.xml",
    "settings.gradle.kts",
    "build.gradle.kts",
    "gradle/libs.versions.toml",
]


class BuildDriftTest(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="drift-"))
        files = list(BUILD_FILES)
        files += [str(p.relative_to(REPO)) for p in (REPO / "java").glob("*/pom.xml")]
        for name in files:
            target = self.tmp / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / name, target)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def edit(self, name, old, new):
        path = self.tmp / name
        text = path.read_text()
        self.assertIn(old, text, f"{old!r} not in {name}")
        path.write_text(text.replace(old, new, 1))

    def problems(self):
        return drift.check(self.tmp)[0]

    def test_the_committed_builds_agree(self):
        self.assertEqual(drift.check(REPO)[0], [])

    def test_an_unchanged_copy_agrees(self):
        self.assertEqual(self.problems(), [])

    def test_a_changed_library_version_in_the_catalog_is_reported(self):
        self.edit("gradle/libs.versions.toml", 'slf4j = "2.0.17"', 'slf4j = "2.0.16"')
        problems = self.problems()
        self.assertTrue(any("version slf4j" in p and "2.0.16" in p for p in problems), problems)

    def test_a_changed_pom_property_is_reported(self):
        self.edit("pom.xml", "<picocli.version>4.7.7<", "<picocli.version>4.7.6<")
        problems = self.problems()
        self.assertTrue(any("version picocli" in p for p in problems), problems)

    def test_a_module_missing_from_gradle_is_reported(self):
        self.edit(
            "settings.gradle.kts",
            'include(":jbolt-distill-cli")\n'
            'project(":jbolt-distill-cli").projectDir = file("java/jbolt-distill-cli")\n',
            "",
        )
        problems = self.problems()
        self.assertTrue(any("module java/jbolt-distill-cli" in p for p in problems), problems)

    def test_a_different_group_or_version_is_reported(self):
        self.edit("build.gradle.kts", 'group = "dev.jbolt"', 'group = "dev.other"')
        self.edit("gradle/libs.versions.toml", 'jbolt = "0.1.0"', 'jbolt = "0.2.0"')
        problems = self.problems()
        self.assertTrue(any(p.startswith("groupId") for p in problems), problems)
        self.assertTrue(any(p.startswith("version: Maven 0.1.0 vs Gradle 0.2.0") for p in problems), problems)

    def test_a_dependency_only_in_maven_is_reported(self):
        self.edit(
            "java/jbolt-distill/pom.xml",
            "<dependencies>",
            "<dependencies><dependency><groupId>info.picocli</groupId>"
            "<artifactId>picocli</artifactId></dependency>",
        )
        problems = self.problems()
        self.assertIn("module jbolt-distill: Maven depends on info.picocli:picocli, Gradle does not", problems)


if __name__ == "__main__":
    unittest.main()
