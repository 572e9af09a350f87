package dev.jbolt.distill.internal;

import dev.jbolt.distill.InvalidInputException;
import dev.jbolt.distill.JboltException;
import dev.jbolt.distill.NativeLibraryException;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds and loads libtorch and the JNI library {@code jbolt_distill}, once per class loader.
 *
 * <p><b>libtorch</b> is not bundled. Its directory (the {@code torch} package directory, which
 * holds {@code lib/}) is searched in this order; the first hit wins:
 *
 * <ol>
 *   <li>an explicit setting: system property {@code jbolt.libtorch.dir}, else environment variable
 *       {@code JBOLT_LIBTORCH_DIR}, else {@code LIBTORCH} (a set but unusable value is an error,
 *       not skipped);
 *   <li>the project virtualenv: {@code jbolt.venv} / {@code JBOLT_VENV}, else the nearest {@code
 *       .venv} in the working directory or its parents, at {@code
 *       lib/python3.x/site-packages/torch};
 *   <li>a Python that can report torch's location: {@code jbolt.python} / {@code JBOLT_PYTHON},
 *       else {@code python3}, then {@code python} on the {@code PATH} (asked with {@code
 *       importlib.util.find_spec}, which does not import torch).
 * </ol>
 *
 * <p>Its version ({@code version.py} or {@code build-version}) must be 2.13.x. {@code libc10} and
 * {@code libtorch_cpu} are then loaded by absolute path, so the JNI library's dependencies are
 * already in the process and {@code LD_LIBRARY_PATH} is not needed.
 *
 * <p><b>The JNI library</b> is searched in this order:
 *
 * <ol>
 *   <li>an explicit file: system property {@code jbolt.native.library}, else environment variable
 *       {@code JBOLT_NATIVE_LIBRARY} (a set but missing file is an error);
 *   <li>the jar resource {@code /native/<os>-<arch>/<file>}, extracted into the versioned cache
 *       {@code <cache>/<version>-<sha256 prefix>/<os>-<arch>/} by writing a temporary file and
 *       moving it into place atomically; {@code <cache>} is {@code jbolt.cache.dir} / {@code
 *       JBOLT_CACHE_DIR}, else {@code ~/.jbolt/native};
 *   <li>{@code System.loadLibrary("jbolt_distill")} on {@code java.library.path}.
 * </ol>
 *
 * <p>After loading, the JNI library's version must equal the jar's and the libtorch mapped into the
 * process must be 2.13.x. The SLF4J level of the logger {@code jbolt_distill} is passed to Rust,
 * and {@code jbolt.threads} / {@code JBOLT_THREADS}, if set, fixes libtorch's intra-op thread
 * count. Any failure is a {@link NativeLibraryException} whose message names {@code os.name},
 * {@code os.arch}, every place tried and what to set; a failed load is remembered and reported
 * again on every later call.
 */
public final class NativeLoader {
    /** Base name of the JNI library. */
    public static final String LIBRARY_BASE = "jbolt_distill";

    /** The libtorch release series the engine is built against (tch 0.26). */
    public static final String LIBTORCH_SERIES = "2.13";

    private static final Logger LOG = LoggerFactory.getLogger(NativeLoader.class);
    private static final String FIX_LIBTORCH =
            "To fix: install torch "
                    + LIBTORCH_SERIES
                    + ".0 (scripts/setup does, or: pip install --no-deps torch=="
                    + LIBTORCH_SERIES
                    + ".0 nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85) and set"
                    + " JBOLT_LIBTORCH_DIR (or -Djbolt.libtorch.dir) to its site-packages/torch"
                    + " directory, or JBOLT_VENV to the virtualenv that holds it.";

    /** The calls the loader makes into the freshly loaded JNI library. */
    public interface Natives {
        /**
         * Returns the JNI library's version.
         *
         * @return the crate version
         */
        String nativeVersion();

        /**
         * Returns the version of the libtorch mapped into the process.
         *
         * @return for example {@code 2.13.0+cu130}
         */
        String libtorchVersion();

        /**
         * Sets the most verbose Rust log level forwarded to SLF4J.
         *
         * @param level 0 off, 1 error, 2 warn, 3 info, 4 debug, 5 trace
         */
        void setLogLevel(int level);

        /**
         * Sets libtorch's intra-op thread count.
         *
         * @param threads at least 1
         */
        void setThreads(int threads);

        /**
         * Returns libtorch's intra-op thread count.
         *
         * @return the thread count
         */
        int threads();
    }

    /**
     * A libtorch directory and how it was found.
     *
     * @param dir the torch directory (holds {@code lib/})
     * @param source the search step and its origin, for messages
     */
    record Libtorch(Path dir, String source) {}

    private static LoadReport loaded;
    private static NativeLibraryException failure;

    private final UnaryOperator<String> properties;
    private final UnaryOperator<String> environment;
    private final Path workingDir;
    private final Platform platform;

    /**
     * Creates a loader over the given settings; tests pass maps, production the JVM's own.
     *
     * @param properties system property lookup
     * @param environment environment variable lookup
     * @param workingDir directory where the search for {@code .venv} starts
     * @param platform the platform to load for
     */
    NativeLoader(
            UnaryOperator<String> properties,
            UnaryOperator<String> environment,
            Path workingDir,
            Platform platform) {
        this.properties = properties;
        this.environment = environment;
        this.workingDir = workingDir;
        this.platform = platform;
    }

    /**
     * Loads libtorch and the JNI library if not done yet, and returns what was loaded.
     *
     * @param natives the JNI library's entry points used for checks and start-up settings
     * @return the load report
     * @throws NativeLibraryException if a library cannot be found, loaded or matched
     */
    public static synchronized LoadReport load(Natives natives) {
        if (loaded != null) {
            return loaded;
        }
        if (failure != null) {
            throw new NativeLibraryException(failure.getMessage(), failure);
        }
        NativeLoader loader =
                new NativeLoader(
                        System::getProperty,
                        System::getenv,
                        Paths.get("").toAbsolutePath(),
                        Platform.current());
        try {
            loaded = loader.loadAll(natives);
            LOG.debug("Loaded native libraries:\n{}", loaded.describe());
            return loaded;
        } catch (NativeLibraryException e) {
            failure = e;
            throw e;
        }
    }

    /**
     * Returns what was loaded, if loading succeeded already.
     *
     * @return the load report, or empty before a successful {@link #load}
     */
    public static synchronized Optional<LoadReport> loadedFrom() {
        return Optional.ofNullable(loaded);
    }

    private LoadReport loadAll(Natives natives) {
        long start = System.nanoTime();
        String jarVersion = jarProperties().getProperty("version", "unknown");

        Libtorch libtorch = locateLibtorch();
        String fileVersion = libtorchFileVersion(libtorch.dir());
        preloadLibtorch(libtorch);

        NativeFile nativeFile = locateAndLoadJni(jarVersion);

        String nativeVersion = natives.nativeVersion();
        if (!jarVersion.equals(nativeVersion)) {
            throw new NativeLibraryException(
                    "The JNI library "
                            + nativeFile.path()
                            + " is version "
                            + nativeVersion
                            + " but the jbolt-distill jar is version "
                            + jarVersion
                            + " ("
                            + platform.describe()
                            + "). Use the library built with this jar: remove the"
                            + " jbolt.native.library / JBOLT_NATIVE_LIBRARY setting or point it at"
                            + " a matching build.");
        }
        natives.setLogLevel(rustLogLevel());
        String libtorchVersion = loadedLibtorchVersion(natives, fileVersion);
        int threads = configureThreads(natives);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        return new LoadReport(
                jarVersion,
                nativeVersion,
                libtorchVersion,
                platform.id(),
                nativeFile.path(),
                nativeFile.source(),
                nativeFile.origin(),
                nativeFile.extracted(),
                libtorch.dir(),
                libtorch.source(),
                threads,
                millis);
    }

    // ---- libtorch ------------------------------------------------------------------------

    /**
     * Finds the libtorch directory by the numbered search order in the class comment.
     *
     * @return the directory and how it was found
     * @throws NativeLibraryException naming every place tried
     */
    Libtorch locateLibtorch() {
        List<String> tried = new ArrayList<>();

        // 1. Explicit setting: property, then JBOLT_LIBTORCH_DIR, then LIBTORCH.
        String[][] explicit = {
            {"system property jbolt.libtorch.dir", properties.apply("jbolt.libtorch.dir")},
            {"environment variable JBOLT_LIBTORCH_DIR", environment.apply("JBOLT_LIBTORCH_DIR")},
            {"environment variable LIBTORCH", environment.apply("LIBTORCH")}
        };
        for (String[] setting : explicit) {
            if (isBlank(setting[1])) {
                tried.add("1. " + setting[0] + ": not set");
                continue;
            }
            Path dir = Paths.get(setting[1]).toAbsolutePath().normalize();
            if (hasLibtorch(dir)) {
                return new Libtorch(dir, "1. " + setting[0]);
            }
            tried.add("1. " + setting[0] + " = " + dir + ": no " + libtorchCpuPath(dir));
            throw libtorchNotFound(tried, "The explicit setting " + setting[0] + " is unusable.");
        }

        // 2. The project virtualenv.
        String venvSetting =
                firstSet(properties.apply("jbolt.venv"), environment.apply("JBOLT_VENV"));
        List<Path> venvs = new ArrayList<>();
        String venvOrigin;
        if (venvSetting != null) {
            venvs.add(Paths.get(venvSetting).toAbsolutePath().normalize());
            venvOrigin = "jbolt.venv / JBOLT_VENV";
        } else {
            for (Path dir = workingDir; dir != null; dir = dir.getParent()) {
                if (Files.isDirectory(dir.resolve(".venv"))) {
                    venvs.add(dir.resolve(".venv"));
                    break;
                }
            }
            venvOrigin = ".venv in " + workingDir + " or a parent";
        }
        if (venvs.isEmpty()) {
            tried.add("2. project virtualenv (" + venvOrigin + "): none found");
        }
        for (Path venv : venvs) {
            Optional<Path> torch = torchInVenv(venv);
            if (torch.isPresent()) {
                return new Libtorch(torch.get(), "2. project virtualenv " + venv);
            }
            tried.add(
                    "2. project virtualenv "
                            + venv
                            + " ("
                            + venvOrigin
                            + "): no lib/python3*/site-packages/torch with "
                            + libtorchCpuFile());
        }

        // 3. A Python that can report torch's location.
        String pythonSetting =
                firstSet(properties.apply("jbolt.python"), environment.apply("JBOLT_PYTHON"));
        List<String> pythons =
                pythonSetting != null ? List.of(pythonSetting) : List.of("python3", "python");
        for (String python : pythons) {
            String answer = askPython(python);
            if (answer.startsWith("/") || answer.matches("^[A-Za-z]:\\\\.*")) {
                Path dir = Paths.get(answer);
                if (hasLibtorch(dir)) {
                    return new Libtorch(dir, "3. " + python + " (find_spec('torch'))");
                }
                tried.add(
                        "3. "
                                + python
                                + " reports torch at "
                                + dir
                                + " without "
                                + libtorchCpuFile());
            } else {
                tried.add("3. " + python + ": " + answer);
            }
        }
        throw libtorchNotFound(tried, "libtorch was not found.");
    }

    private NativeLibraryException libtorchNotFound(List<String> tried, String what) {
        return new NativeLibraryException(
                "Cannot load libtorch "
                        + LIBTORCH_SERIES
                        + ".x for jbolt-distill on "
                        + platform.describe()
                        + ": "
                        + what
                        + " Tried, in order:\n  "
                        + String.join("\n  ", tried)
                        + "\n"
                        + FIX_LIBTORCH);
    }

    private Optional<Path> torchInVenv(Path venv) {
        List<Path> candidates = new ArrayList<>();
        candidates.add(venv.resolve("Lib").resolve("site-packages").resolve("torch"));
        Path lib = venv.resolve("lib");
        if (Files.isDirectory(lib)) {
            try (DirectoryStream<Path> pythons = Files.newDirectoryStream(lib, "python3*")) {
                for (Path python : pythons) {
                    candidates.add(python.resolve("site-packages").resolve("torch"));
                }
            } catch (IOException e) {
                LOG.debug("Cannot list {}: {}", lib, e.toString());
            }
        }
        return candidates.stream().filter(this::hasLibtorch).findFirst();
    }

    private String askPython(String python) {
        String script =
                "import importlib.util as u\n"
                        + "s = u.find_spec('torch')\n"
                        + "print(s.submodule_search_locations[0] if s and"
                        + " s.submodule_search_locations else 'torch is not installed')\n";
        try {
            Process process =
                    new ProcessBuilder(python, "-c", script).redirectErrorStream(true).start();
            process.getOutputStream().close();
            byte[] out = process.getInputStream().readAllBytes();
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return "did not answer within 20 s";
            }
            String text = new String(out, StandardCharsets.UTF_8).trim();
            String last = text.isEmpty() ? "" : text.substring(text.lastIndexOf('\n') + 1).trim();
            if (process.exitValue() != 0) {
                return "failed with exit code " + process.exitValue() + ": " + last;
            }
            return last;
        } catch (IOException e) {
            return "not runnable (" + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    private boolean hasLibtorch(Path dir) {
        return Files.isRegularFile(libtorchCpuPath(dir));
    }

    private Path libtorchCpuPath(Path dir) {
        return dir.resolve("lib").resolve(libtorchCpuFile());
    }

    private String libtorchCpuFile() {
        return platform.libraryFile("torch_cpu");
    }

    /**
     * Reads the libtorch version beside the libraries and checks it is 2.13.x.
     *
     * @param dir the torch directory
     * @return the version found
     */
    String libtorchFileVersion(Path dir) {
        String version = null;
        Path versionPy = dir.resolve("version.py");
        Path buildVersion = dir.resolve("build-version");
        try {
            if (Files.isRegularFile(versionPy)) {
                for (String line : Files.readAllLines(versionPy, StandardCharsets.UTF_8)) {
                    String t = line.trim();
                    if (t.startsWith("__version__")) {
                        version = t.substring(t.indexOf('=') + 1).trim().replaceAll("['\"]", "");
                        break;
                    }
                }
            }
            if (version == null && Files.isRegularFile(buildVersion)) {
                version = Files.readString(buildVersion, StandardCharsets.UTF_8).trim();
            }
        } catch (IOException e) {
            throw new NativeLibraryException(
                    "Cannot read the libtorch version in " + dir + " (" + platform.describe() + ")",
                    e);
        }
        if (version == null) {
            throw new NativeLibraryException(
                    "Cannot tell the libtorch version in "
                            + dir
                            + " ("
                            + platform.describe()
                            + "): neither "
                            + versionPy
                            + " nor "
                            + buildVersion
                            + " exists. Write the version (for example "
                            + LIBTORCH_SERIES
                            + ".0) into "
                            + buildVersion
                            + ".");
        }
        checkSeries(version, dir.toString());
        return version;
    }

    private void checkSeries(String version, String where) {
        if (!(version.equals(LIBTORCH_SERIES) || version.startsWith(LIBTORCH_SERIES + "."))) {
            throw new NativeLibraryException(
                    "libtorch at "
                            + where
                            + " is version "
                            + version
                            + " but jbolt-distill needs "
                            + LIBTORCH_SERIES
                            + ".x ("
                            + platform.describe()
                            + "). "
                            + FIX_LIBTORCH);
        }
    }

    private void preloadLibtorch(Libtorch libtorch) {
        Path lib = libtorch.dir().resolve("lib");
        for (String base : new String[] {"c10", "torch_cpu"}) {
            Path file = lib.resolve(platform.libraryFile(base));
            if (!Files.isRegularFile(file) && !base.equals("torch_cpu")) {
                continue;
            }
            try {
                System.load(file.toString());
                LOG.debug("Preloaded {}", file);
            } catch (UnsatisfiedLinkError e) {
                throw new NativeLibraryException(
                        "Cannot load "
                                + file
                                + " (libtorch found by "
                                + libtorch.source()
                                + ") on "
                                + platform.describe()
                                + ": "
                                + e.getMessage()
                                + ". "
                                + FIX_LIBTORCH,
                        e);
            }
        }
    }

    private String loadedLibtorchVersion(Natives natives, String fileVersion) {
        try {
            String version = natives.libtorchVersion();
            checkSeries(version, "the loaded libtorch_cpu");
            return version;
        } catch (JboltException e) {
            if (e instanceof NativeLibraryException) {
                throw e;
            }
            LOG.debug("The native side cannot tell the libtorch version: {}", e.getMessage());
            return fileVersion;
        }
    }

    // ---- the JNI library -----------------------------------------------------------------

    /**
     * The JNI library file and how it was found.
     *
     * @param path the file that was loaded
     * @param source the search step
     * @param origin setting, URL or path behind the step
     * @param extracted true if this load extracted it into the cache
     */
    record NativeFile(
            Path path, LoadReport.NativeSource source, String origin, boolean extracted) {}

    private NativeFile locateAndLoadJni(String jarVersion) {
        String file = platform.libraryFile(LIBRARY_BASE);
        List<String> tried = new ArrayList<>();

        // 1. Explicit file: property, then environment variable.
        String property = properties.apply("jbolt.native.library");
        String env = environment.apply("JBOLT_NATIVE_LIBRARY");
        if (!isBlank(property) || !isBlank(env)) {
            boolean fromProperty = !isBlank(property);
            String name =
                    fromProperty
                            ? "system property jbolt.native.library"
                            : "environment variable JBOLT_NATIVE_LIBRARY";
            Path path = Paths.get(fromProperty ? property : env).toAbsolutePath().normalize();
            if (!Files.isRegularFile(path)) {
                tried.add("1. " + name + " = " + path + ": no such file");
                throw jniNotFound(file, tried, null);
            }
            loadJni(path, file, tried);
            return new NativeFile(
                    path,
                    fromProperty
                            ? LoadReport.NativeSource.SYSTEM_PROPERTY
                            : LoadReport.NativeSource.ENVIRONMENT,
                    name,
                    false);
        }
        tried.add("1. system property jbolt.native.library / JBOLT_NATIVE_LIBRARY: not set");

        // 2. The jar resource, extracted into the versioned cache.
        String resource = "/native/" + platform.id() + "/" + file;
        URL url = NativeLoader.class.getResource(resource);
        if (url != null) {
            Extracted extracted;
            try {
                extracted = extract(url, jarVersion, file);
            } catch (IOException e) {
                tried.add("2. resource " + url + ": cannot extract (" + e + ")");
                throw jniNotFound(file, tried, e);
            }
            loadJni(extracted.path(), file, tried);
            return new NativeFile(
                    extracted.path(),
                    LoadReport.NativeSource.JAR_RESOURCE,
                    url.toString(),
                    extracted.written());
        }
        tried.add("2. jar resource " + resource + ": not in the jar (no build for this platform)");

        // 3. java.library.path.
        String libraryPath = System.getProperty("java.library.path", "");
        try {
            System.loadLibrary(LIBRARY_BASE);
        } catch (UnsatisfiedLinkError e) {
            tried.add("3. java.library.path = " + libraryPath + ": " + e.getMessage());
            throw jniNotFound(file, tried, e);
        }
        Path found = null;
        for (String dir : libraryPath.split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isRegularFile(Paths.get(dir, file))) {
                found = Paths.get(dir, file).toAbsolutePath();
                break;
            }
        }
        return new NativeFile(
                found != null ? found : Paths.get(file),
                LoadReport.NativeSource.LIBRARY_PATH,
                "java.library.path",
                false);
    }

    private void loadJni(Path path, String file, List<String> tried) {
        try {
            System.load(path.toString());
        } catch (UnsatisfiedLinkError e) {
            tried.add("load of " + path + " failed: " + e.getMessage());
            throw jniNotFound(file, tried, e);
        }
    }

    private NativeLibraryException jniNotFound(String file, List<String> tried, Throwable cause) {
        String message =
                "Cannot load the JNI library "
                        + file
                        + " on "
                        + platform.describe()
                        + ". Tried, in order:\n  "
                        + String.join("\n  ", tried)
                        + "\nTo fix: use a jbolt-distill jar built for "
                        + platform.id()
                        + ", or build the library (scripts/setup, or cargo build --release) and"
                        + " set JBOLT_NATIVE_LIBRARY (or -Djbolt.native.library) to the file.";
        return cause == null
                ? new NativeLibraryException(message)
                : new NativeLibraryException(message, cause);
    }

    /**
     * An extracted library file.
     *
     * @param path the file in the cache
     * @param written true if this call wrote it
     */
    record Extracted(Path path, boolean written) {}

    /**
     * Copies the library resource into {@code <cache>/<version>-<sha256 prefix>/<platform>/} unless
     * an identical copy is there, via a temporary file and an atomic move.
     */
    Extracted extract(URL url, String version, String file) throws IOException {
        byte[] bytes;
        try (InputStream in = url.openStream()) {
            bytes = in.readAllBytes();
        }
        String hash = sha256(bytes).substring(0, 16);
        Path dir = cacheRoot().resolve(version + "-" + hash).resolve(platform.id());
        Path target = dir.resolve(file);
        if (Files.isRegularFile(target) && Files.size(target) == bytes.length) {
            LOG.debug("Reusing cached JNI library {}", target);
            return new Extracted(target, false);
        }
        Files.createDirectories(dir);
        Path temp = Files.createTempFile(dir, file, ".tmp");
        try {
            Files.write(temp, bytes);
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(temp);
        }
        LOG.debug("Extracted {} to {}", url, target);
        return new Extracted(target, true);
    }

    private Path cacheRoot() {
        String setting =
                firstSet(properties.apply("jbolt.cache.dir"), environment.apply("JBOLT_CACHE_DIR"));
        if (setting != null) {
            return Paths.get(setting).toAbsolutePath();
        }
        return Paths.get(System.getProperty("user.home"), ".jbolt", "native");
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    // ---- start-up settings ---------------------------------------------------------------

    private static int rustLogLevel() {
        Logger nativeLog = LoggerFactory.getLogger(NativeLog.ROOT);
        if (nativeLog.isTraceEnabled()) {
            return 5;
        } else if (nativeLog.isDebugEnabled()) {
            return 4;
        } else if (nativeLog.isInfoEnabled()) {
            return 3;
        } else if (nativeLog.isWarnEnabled()) {
            return 2;
        } else if (nativeLog.isErrorEnabled()) {
            return 1;
        }
        return 0;
    }

    private int configureThreads(Natives natives) {
        String property = properties.apply("jbolt.threads");
        String value = firstSet(property, environment.apply("JBOLT_THREADS"));
        if (value != null) {
            String name = property != null ? "jbolt.threads" : "JBOLT_THREADS";
            int threads;
            try {
                threads = Integer.parseInt(value.trim());
            } catch (NumberFormatException e) {
                threads = 0;
            }
            if (threads < 1) {
                throw new InvalidInputException(
                        "INVALID_ARGUMENT",
                        "The thread count " + name + " must be a positive integer, got: " + value);
            }
            natives.setThreads(threads);
            LOG.debug("libtorch intra-op threads set to {} by {}", threads, name);
        }
        return natives.threads();
    }

    private static Properties jarProperties() {
        Properties properties = new Properties();
        try (InputStream in =
                NativeLoader.class.getResourceAsStream(
                        "/dev/jbolt/distill/jbolt-distill.properties")) {
            if (in != null) {
                properties.load(in);
            }
        } catch (IOException e) {
            LOG.warn("Cannot read jbolt-distill.properties from the jar: {}", e.toString());
        }
        return properties;
    }

    private static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }

    private static String firstSet(String... values) {
        for (String v : values) {
            if (!isBlank(v)) {
                return v;
            }
        }
        return null;
    }
}
