// Gradle build of jbolt-distill: the same modules, coordinates and versions as the Maven build
// (pom.xml + gradle/libs.versions.toml). `gradle build` runs cargo build --release, bundles the
// JNI library into the core jar under native/<os>-<arch>/, formats Java with google-java-format
// (AOSP), and runs the JUnit Platform tests; `gradle publishToMavenLocal` publishes.
// scripts/check-build-drift.py (run by scripts/test) fails when this build and Maven's differ.

plugins {
    base
    alias(libs.plugins.spotless) apply false
}

val jboltVersion: String = libs.versions.jbolt.get()

// Platform table: the same as the root pom's profiles and NativeLoader's Platform.
val osName = System.getProperty("os.name").lowercase()
val osArch = System.getProperty("os.arch").lowercase()
val platformOs =
    when {
        osName.startsWith("linux") -> "linux"
        osName.startsWith("mac") || osName.startsWith("darwin") -> "osx"
        osName.startsWith("windows") -> "windows"
        else -> osName.replace(Regex("[^a-z0-9]"), "")
    }
val platformArch =
    when (osArch) {
        "amd64", "x86_64" -> "x86_64"
        "aarch64", "arm64" -> "aarch64"
        else -> osArch
    }
val jboltPlatform = "$platformOs-$platformArch"
val nativeFile =
    when (platformOs) {
        "windows" -> "jbolt_distill.dll"
        "osx" -> "libjbolt_distill.dylib"
        else -> "libjbolt_distill.so"
    }

val cargoBuild by tasks.registering(Exec::class) {
    description = "Builds the JNI library (cargo build --release); LIBTORCH must point at libtorch 2.13."
    workingDir = rootDir
    commandLine("cargo", "build", "--release", "-j", "2")
}

subprojects {
    apply(plugin = "java-library")
    apply(plugin = "maven-publish")
    apply(plugin = "com.diffplug.spotless")

    group = "dev.jbolt"
    version = jboltVersion

    repositories { mavenCentral() }

    tasks.withType<JavaCompile>().configureEach {
        options.release.set(17)
        options.encoding = "UTF-8"
    }

    dependencies {
        "testImplementation"(platform(rootProject.libs.junit.bom))
        "testImplementation"(rootProject.libs.junit.jupiter)
        "testImplementation"(rootProject.libs.assertj.core)
        "testRuntimeOnly"(rootProject.libs.junit.platform.launcher)
    }

    tasks.withType<Test>().configureEach {
        useJUnitPlatform()
        systemProperty("jbolt.root", rootDir.absolutePath)
    }

    configure<com.diffplug.gradle.spotless.SpotlessExtension> {
        java {
            googleJavaFormat(rootProject.libs.versions.google.java.format.get()).aosp()
            removeUnusedImports()
        }
    }
    tasks.named("compileJava") { dependsOn("spotlessApply") }

    configure<PublishingExtension> {
        publications { create<MavenPublication>("maven") { from(components["java"]) } }
    }
}

project(":jbolt-distill") {
    dependencies {
        "api"(rootProject.libs.slf4j.api)
        "api"(rootProject.libs.jackson.databind)
        "testImplementation"(rootProject.libs.slf4j.simple)
    }

    tasks.named<ProcessResources>("processResources") {
        dependsOn(cargoBuild)
        inputs.property("platform", jboltPlatform)
        filesMatching("dev/jbolt/distill/jbolt-distill.properties") {
            filter { line ->
                line.replace("\${project.version}", jboltVersion)
                    .replace("\${jbolt.platform}", jboltPlatform)
                    .replace("\${jbolt.native.file}", nativeFile)
            }
        }
        from(rootDir.resolve("target/release")) {
            include(nativeFile)
            into("native/$jboltPlatform")
        }
    }
}

project(":jbolt-distill-cli") {
    dependencies {
        "implementation"(project(":jbolt-distill"))
        "implementation"(rootProject.libs.picocli)
        "implementation"(rootProject.libs.progressbar)
        "implementation"(rootProject.libs.jackson.databind)
        "runtimeOnly"(rootProject.libs.slf4j.simple)
    }

    tasks.named<Jar>("jar") {
        manifest { attributes("Main-Class" to "dev.jbolt.distill.cli.JboltDistillCli") }
    }

    tasks.withType<Test>().configureEach {
        systemProperty(
            "jbolt.cache.dir",
            layout.buildDirectory.dir("native-cache").get().asFile.absolutePath,
        )
    }
}

// The Spring Boot starter: actuator and Micrometer are optional (compileOnly) as in Maven, where
// they are <optional>; the two processors write the configuration and auto-configuration
// metadata into the jar.
project(":jbolt-distill-spring-boot-starter") {
    dependencies {
        "api"(project(":jbolt-distill"))
        "api"(rootProject.libs.spring.boot.autoconfigure)
        "compileOnly"(rootProject.libs.spring.boot.actuator)
        "compileOnly"(rootProject.libs.spring.boot.actuator.autoconfigure)
        "compileOnly"(rootProject.libs.micrometer.core)
        "annotationProcessor"(rootProject.libs.spring.boot.configuration.processor)
        "annotationProcessor"(rootProject.libs.spring.boot.autoconfigure.processor)
        "testImplementation"(rootProject.libs.spring.boot.actuator)
        "testImplementation"(rootProject.libs.spring.boot.actuator.autoconfigure)
        "testImplementation"(rootProject.libs.micrometer.core)
        "testImplementation"(rootProject.libs.spring.boot.test)
        "testImplementation"(rootProject.libs.spring.test)
        "testImplementation"(rootProject.libs.slf4j.simple)
    }
}
