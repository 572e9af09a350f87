"""The PyTorch eager side of the benchmark harness (`scripts/bench`); prints one JSON object.

    py_bench.py export BUNDLE OUT.onnx IDS.json      fp32 ONNX export of the bundle's student
    py_bench.py latency BUNDLE TEXTS.json IDS.json ROUNDS RUNS1 RUNS32
    py_bench.py train BUNDLE IDS.json STEPS           distillation step throughput

Threads come from BENCH_THREADS (default 1), set before any torch work, as on the Rust side.
Latency is timed two ways: from token ids (the model alone) and from texts (tokenization with
the `tokenizers` package on the bundle's tokenizer.json, then the model).
"""

import json
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import torch_student  # noqa: E402

THREADS = int(os.environ.get("BENCH_THREADS", "1"))
torch.set_num_threads(THREADS)
torch.set_num_interop_threads(1)


def rss():
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            out["peak_mib"] = int(line.split()[1]) / 1024
        elif line.startswith("VmRSS:"):
            out["current_mib"] = int(line.split()[1]) / 1024
    return out


def percentile(values, q):
    v = sorted(values)
    rank = min(max(int(-(-q * len(v) // 1)), 1), len(v))
    return v[rank - 1]


def summary(times, round_medians):
    return {"p50_ms": percentile(times, 0.5), "p99_ms": percentile(times, 0.99),
            "runs": len(times), "round_p50_ms": round_medians}


def export(bundle, out, ids_path):
    model, _ = torch_student.load(bundle)
    d = json.loads(Path(ids_path).read_text())
    ids, mask = torch_student.pad(d["ids"][:4], d["pad_id"])
    batch = torch.export.Dim("batch", min=1, max=1024)
    length = torch.export.Dim("length", min=2, max=model.position.num_embeddings)
    torch.onnx.export(
        model, (ids, mask), out, input_names=["input_ids", "attention_mask"],
        output_names=["logits"], dynamo=True,
        dynamic_shapes={"ids": {0: batch, 1: length}, "mask": {0: batch, 1: length}},
    )
    return {"onnx": str(out), "bytes": Path(out).stat().st_size}


def latency(bundle, texts_path, ids_path, rounds, runs1, runs32):
    from tokenizers import Tokenizer

    model, config = torch_student.load(bundle)
    texts = json.loads(Path(texts_path).read_text())
    d = json.loads(Path(ids_path).read_text())
    rows, pad_id = d["ids"], d["pad_id"]
    tok = Tokenizer.from_file(str(Path(bundle) / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(config["max_length"])

    def from_ids(a, b):
        ids, mask = torch_student.pad(rows[a:b], pad_id)
        return torch.softmax(model(ids, mask), -1)

    def from_texts(a, b):
        enc = tok.encode_batch(texts[a:b])
        ids, mask = torch_student.pad([e.ids for e in enc], pad_id)
        return torch.softmax(model(ids, mask), -1)

    out = {}
    with torch.inference_mode():
        # the same ids as the Rust tokenizer gives, or the from-texts timing is not comparable
        same = all(e.ids == r for e, r in zip(tok.encode_batch(texts), rows))
        for batch, runs in ((1, runs1), (32, runs32)):
            res = {}
            for name, fn in (("torch_eager_from_ids", from_ids),
                             ("torch_eager_from_texts", from_texts)):
                times, medians, nxt = [], [], 0
                for _ in range(rounds):
                    rt = []
                    for i in range(-max(3, runs // 10), runs):
                        a = nxt % (len(texts) - batch + 1)
                        nxt += batch
                        t = time.perf_counter()
                        fn(a, a + batch)
                        if i >= 0:
                            rt.append((time.perf_counter() - t) * 1e3)
                    times += rt
                    medians.append(percentile(rt, 0.5))
                res[name] = summary(times, medians)
            out[f"batch{batch}"] = res
        out["probabilities"] = from_ids(0, 32).tolist()
    out["tokenizer_ids_match_rust"] = same
    return out


def train(bundle, ids_path, steps):
    batch_size, temperature, alpha, lr = 32, 2.0, 0.5, 1e-4
    model, config = torch_student.load(bundle)
    model.train()
    d = json.loads(Path(ids_path).read_text())
    rows, labels, pad_id = d["ids"], torch.tensor(d["labels"]), d["pad_id"]
    classes = len(config["labels"])
    torch.manual_seed(0)
    teacher = torch.randn(len(rows), classes) * 3.0
    params = [p for n, p in model.named_parameters()]
    decay = [p for p in params if p.dim() >= 2]
    rest = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": rest, "weight_decay": 0.0}], lr=lr, foreach=False)
    batches = [list(range(i, min(i + batch_size, len(rows)))) for i in range(0, len(rows), batch_size)]
    rates, losses, warmup = [], [], 2
    for step in range(steps + warmup):
        b = batches[step % len(batches)]
        t = time.perf_counter()
        ids, mask = torch_student.pad([rows[i] for i in b], pad_id)
        idx = torch.tensor(b)
        logits = model(ids, mask)
        t_logits = teacher[idx]
        # the engine's loss: alpha * T^2 * KL(p_t || p_s) (batchmean) + (1 - alpha) * CE
        soft = F.kl_div(F.log_softmax(logits / temperature, -1),
                        F.log_softmax(t_logits / temperature, -1),
                        reduction="batchmean", log_target=True) * temperature**2
        loss = alpha * soft + (1 - alpha) * F.cross_entropy(logits, labels[idx])
        opt.zero_grad(set_to_none=False)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        value = loss.item()
        secs = time.perf_counter() - t
        if step >= warmup:
            rates.append(len(b) / secs)
            losses.append(value)
    return {"examples_per_sec_median": sorted(rates)[len(rates) // 2],
            "examples_per_sec": rates, "losses": losses, "steps": steps,
            "batch_size": batch_size}


def main(argv):
    cmd = argv[0]
    if cmd == "export":
        out = export(argv[1], argv[2], argv[3])
    elif cmd == "latency":
        out = latency(argv[1], argv[2], argv[3], *map(int, argv[4:7]))
    elif cmd == "train":
        out = train(argv[1], argv[2], int(argv[3]))
    else:
        raise SystemExit(f"unknown command {cmd}")
    out["threads"] = THREADS
    out["torch_version"] = torch.__version__
    out["rss"] = rss()
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
