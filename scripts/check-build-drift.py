#!/usr/bin/env python3
"""Fails when the Gradle and Maven builds of jbolt-distill disagree.

Gradle cannot be downloaded on the build machines, so this check keeps the Gradle files honest:
it reads pom.xml (and each module's pom) and settings.gradle.kts, build.gradle.kts and
gradle/libs.versions.toml, and compares

  * the module list: the pom's <modules> directories against the Gradle projects' projectDir,
    and the Maven artifactIds against the Gradle project names;
  * the coordinates: groupId and version against Gradle's `group` and the catalog's `jbolt`;
  * the dependency versions: every pom property `X.version` that is not a plugin version must
    equal catalog version `X`, every catalog version must have such a property (except `jbolt`
    and versions used only by [plugins]), and every catalog library with a version must match
    the pom's <dependencyManagement> entry for the same group:artifact;
  * the dependencies of each module (group:artifact, scope ignored), where Gradle may add only
    the JUnit Platform launcher and the JUnit BOM (Maven's Surefire brings its own launcher and
    imports the BOM in <dependencyManagement>).

Usage: check-build-drift.py [REPO_ROOT]. Exit status 0 when both builds agree, 1 otherwise.
"""

from __future__ import annotations

import re
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}
GRADLE_ONLY_LIBRARIES = {"org.junit.platform:junit-platform-launcher", "org.junit:junit-bom"}


def _text(element: ET.Element | None, path: str) -> str | None:
    if element is None:
        return None
    found = element.find(path, POM_NS)
    return found.text.strip() if found is not None and found.text else None


def _resolve(value: str | None, properties: dict[str, str]) -> str | None:
    if value is None:
        return None
    return re.sub(r"\$\{([^}]+)\}", lambda m: properties.get(m.group(1), m.group(0)), value)


def read_maven(root: Path) -> dict:
    """Reads coordinates, modules, version properties and dependencies from the poms."""
    pom = ET.parse(root / "pom.xml").getroot()
    properties = {
        child.tag.split("}")[1]: (child.text or "").strip()
        for child in (pom.find("m:properties", POM_NS) or [])
    }
    group = _text(pom, "m:groupId")
    version = _text(pom, "m:version")
    properties["project.version"] = version or ""
    managed = {}
    for dep in pom.findall("m:dependencyManagement/m:dependencies/m:dependency", POM_NS):
        key = f"{_text(dep, 'm:groupId')}:{_text(dep, 'm:artifactId')}"
        managed[key] = _resolve(_text(dep, "m:version"), properties)
    modules = {}
    for module_dir in [m.text.strip() for m in pom.findall("m:modules/m:module", POM_NS)]:
        module_pom = ET.parse(root / module_dir / "pom.xml").getroot()
        artifact = _text(module_pom, "m:artifactId")
        module_group = _text(module_pom, "m:groupId") or _text(module_pom, "m:parent/m:groupId")
        module_version = _text(module_pom, "m:version") or _text(module_pom, "m:parent/m:version")
        deps = {
            f"{_text(d, 'm:groupId')}:{_text(d, 'm:artifactId')}"
            for d in module_pom.findall("m:dependencies/m:dependency", POM_NS)
        }
        modules[module_dir] = {
            "artifact": artifact,
            "group": module_group,
            "version": module_version,
            "dependencies": deps,
        }
    library_versions = {
        name[: -len(".version")]: value
        for name, value in properties.items()
        if name.endswith(".version") and "plugin" not in name and name != "project.version"
    }
    return {
        "group": group,
        "version": version,
        "modules": modules,
        "versions": library_versions,
        "managed": managed,
    }


def _strip_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", "", text)


def _block(text: str, opener: str) -> str:
    """Returns the text inside the braces right after `opener` (a regex), or '' if absent."""
    match = re.search(opener + r"\s*\{", text)
    if match is None:
        return ""
    depth = 0
    begin = match.end() - 1
    for i in range(begin, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[begin + 1 : i]
    raise ValueError(f"unbalanced braces after {opener!r}")


def _version_of(spec: dict, versions: dict[str, str]) -> str | None:
    """The version of a catalog entry: `version.ref` (a nested table in TOML) or `version`."""
    version = spec.get("version")
    if isinstance(version, dict):
        return versions.get(version.get("ref", ""))
    return version


def read_gradle(root: Path) -> dict:
    """Reads projects, coordinates, catalog versions and dependencies from the Gradle files."""
    settings = _strip_comments((root / "settings.gradle.kts").read_text())
    build = _strip_comments((root / "build.gradle.kts").read_text())
    catalog = tomllib.loads((root / "gradle" / "libs.versions.toml").read_text())

    projects = {}
    for name in re.findall(r'include\(\s*"([^"]+)"\s*\)', settings):
        match = re.search(
            r'project\(\s*"' + re.escape(name) + r'"\s*\)\.projectDir\s*=\s*file\(\s*"([^"]+)"',
            settings,
        )
        projects[name.lstrip(":")] = match.group(1) if match else name.lstrip(":")

    group_match = re.search(r'\bgroup\s*=\s*"([^"]+)"', build)
    version_match = re.search(r"\bversion\s*=\s*(\w+)", build)
    version_ref = re.search(r"val\s+jboltVersion\s*(?::\s*String)?\s*=\s*libs\.versions\.(\w+)", build)
    versions = {k: str(v) for k, v in catalog.get("versions", {}).items()}
    version = None
    if version_match and version_ref and version_match.group(1) == "jboltVersion":
        version = versions.get(version_ref.group(1))

    libraries = {}
    for alias, spec in catalog.get("libraries", {}).items():
        module = spec["module"] if isinstance(spec, dict) else spec.rsplit(":", 1)[0]
        lib_version = _version_of(spec, versions) if isinstance(spec, dict) else None
        libraries[alias] = {"module": module, "version": lib_version}

    def accessor(alias: str) -> str:
        return alias.replace("-", ".").replace("_", ".")

    by_accessor = {accessor(a): lib for a, lib in libraries.items()}

    def dependencies_in(block: str) -> set[str]:
        deps = set()
        for ref in re.findall(r"libs\.([A-Za-z0-9_.]+)", block):
            lib = by_accessor.get(ref)
            if lib is None:
                raise ValueError(f"build.gradle.kts uses libs.{ref}, which the catalog lacks")
            deps.add(lib["module"])
        for project_ref in re.findall(r'project\(\s*"([^"]+)"\s*\)', block):
            deps.add(f"{group_match.group(1) if group_match else '?'}:{project_ref.lstrip(':')}")
        return deps

    common = dependencies_in(_block(_block(build, r"\bsubprojects"), r"\bdependencies"))
    project_deps = {}
    for name in projects:
        body = _block(build, r'\bproject\(\s*":' + re.escape(name) + r'"\s*\)')
        project_deps[name] = common | dependencies_in(_block(body, r"\bdependencies"))

    plugin_refs = {
        spec["version"]["ref"]
        for spec in catalog.get("plugins", {}).values()
        if isinstance(spec, dict) and isinstance(spec.get("version"), dict)
    }
    return {
        "group": group_match.group(1) if group_match else None,
        "version": version,
        "version_key": version_ref.group(1) if version_ref else None,
        "projects": projects,
        "versions": versions,
        "plugin_versions": {ref for ref in plugin_refs if ref},
        "libraries": libraries,
        "dependencies": project_deps,
    }


def check(root: Path) -> tuple[list[str], str]:
    """Returns the list of disagreements and a one-line summary of what was compared."""
    maven = read_maven(root)
    gradle = read_gradle(root)
    problems = []

    if maven["group"] != gradle["group"]:
        problems.append(f"groupId: Maven {maven['group']} vs Gradle group {gradle['group']}")
    if maven["version"] != gradle["version"]:
        problems.append(f"version: Maven {maven['version']} vs Gradle {gradle['version']}")

    maven_dirs = {d: m["artifact"] for d, m in maven["modules"].items()}
    gradle_dirs = {d: name for name, d in gradle["projects"].items()}
    for d in sorted(set(maven_dirs) | set(gradle_dirs)):
        if d not in gradle_dirs:
            problems.append(f"module {d}: in pom.xml <modules> but not in settings.gradle.kts")
        elif d not in maven_dirs:
            problems.append(f"module {d}: in settings.gradle.kts but not in pom.xml <modules>")
        elif maven_dirs[d] != gradle_dirs[d]:
            problems.append(
                f"module {d}: Maven artifactId {maven_dirs[d]} vs Gradle project {gradle_dirs[d]}"
            )
    for d, module in maven["modules"].items():
        if module["group"] != maven["group"] or module["version"] != maven["version"]:
            problems.append(
                f"module {d}: coordinates {module['group']}:{module['version']} differ from the"
                f" parent's {maven['group']}:{maven['version']}"
            )

    exempt = {gradle["version_key"]} | gradle["plugin_versions"]
    for key in sorted(set(maven["versions"]) | set(gradle["versions"])):
        if key in exempt:
            continue
        m, g = maven["versions"].get(key), gradle["versions"].get(key)
        if m != g:
            problems.append(
                f"version {key}: pom property {key}.version = {m} vs libs.versions.toml {key} = {g}"
            )
    for alias, lib in gradle["libraries"].items():
        managed = maven["managed"].get(lib["module"])
        if lib["version"] is not None and managed is not None and managed != lib["version"]:
            problems.append(
                f"library {lib['module']}: Maven {managed} vs Gradle {lib['version']} ({alias})"
            )

    for d, module in maven["modules"].items():
        name = module["artifact"]
        if name not in gradle["dependencies"]:
            continue
        m = module["dependencies"]
        g = gradle["dependencies"][name] - GRADLE_ONLY_LIBRARIES
        for dep in sorted(m - g):
            problems.append(f"module {name}: Maven depends on {dep}, Gradle does not")
        for dep in sorted(g - m):
            problems.append(f"module {name}: Gradle depends on {dep}, Maven does not")

    summary = (
        f"{len(maven['modules'])} modules, coordinates {maven['group']}:{maven['version']},"
        f" {len(maven['versions'])} library versions,"
        f" {sum(len(m['dependencies']) for m in maven['modules'].values())} module dependencies"
    )
    return problems, summary


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
    problems, summary = check(root)
    if problems:
        print("build drift: the Gradle and Maven builds disagree:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    print(f"build drift check: Gradle and Maven agree ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
