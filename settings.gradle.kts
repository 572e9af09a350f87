// Gradle build of the same modules as the Maven aggregator (pom.xml); keep both in step:
// scripts/check-build-drift.py compares module lists, coordinates and versions.
rootProject.name = "jbolt-distill-parent"

include(":jbolt-distill")
project(":jbolt-distill").projectDir = file("java/jbolt-distill")

include(":jbolt-distill-cli")
project(":jbolt-distill-cli").projectDir = file("java/jbolt-distill-cli")

include(":jbolt-distill-spring-boot-starter")
project(":jbolt-distill-spring-boot-starter").projectDir = file("java/jbolt-distill-spring-boot-starter")
