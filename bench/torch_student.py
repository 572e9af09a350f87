"""The benchmark's PyTorch eager re-implementation of a jbolt-distill transformer student.

It loads a bundle's `config.json` and `model.safetensors` (read here without the safetensors
package) and computes what `rust/models/transformer.rs` and `rust/models/bert.rs` compute:
teacher-vocabulary ids mapped to the student's rows, BERT embeddings (word + position +
token type 0, LayerNorm), post-norm encoder layers with erf GELU and an additive mask of
float32's lowest value, mean pooling over the mask, a linear classifier.
"""

import json
import math
import struct
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

_DTYPES = {"F32": torch.float32, "I64": torch.int64}


def read_safetensors(path):
    """Tensors of a safetensors file by name (F32 and I64 only)."""
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        buf = bytearray(data[8 + n + start : 8 + n + end])
        t = torch.frombuffer(buf, dtype=_DTYPES[info["dtype"]]) if buf else torch.empty(0)
        out[name] = t.reshape(info["shape"]).clone()
    return out


class Layer(nn.Module):
    def __init__(self, h, inter, heads, eps, dropout):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.attention_out = nn.Linear(h, h)
        self.attention_norm = nn.LayerNorm(h, eps=eps)
        self.intermediate = nn.Linear(h, inter)
        self.output = nn.Linear(inter, h)
        self.output_norm = nn.LayerNorm(h, eps=eps)

    def forward(self, xs, additive):
        b, l, h = xs.shape
        dh = h // self.heads

        def split(t):
            return t.view(b, l, self.heads, dh).transpose(1, 2)

        p = self.dropout if self.training else 0.0
        ctx = F.scaled_dot_product_attention(
            split(self.query(xs)), split(self.key(xs)), split(self.value(xs)),
            attn_mask=additive, dropout_p=p, scale=1.0 / math.sqrt(dh),
        )
        ctx = ctx.transpose(1, 2).contiguous().view(b, l, h)
        att = self.attention_norm(F.dropout(self.attention_out(ctx), p, self.training) + xs)
        inner = F.gelu(self.intermediate(att))
        return self.output_norm(F.dropout(self.output(inner), p, self.training) + att)


class Student(nn.Module):
    """A transformer student; `forward(ids, mask)` takes teacher-vocabulary ids [B, L] int64
    and a mask [B, L] int64 and returns logits [B, C] float32."""

    def __init__(self, arch, tensors):
        super().__init__()
        enc = arch["encoder"]
        h, eps = enc["hidden_size"], enc["layer_norm_eps"]
        self.dropout = enc["hidden_dropout_prob"]
        vocab_ids = tensors["vocab_ids"]
        unk_row = int((vocab_ids == arch["unk_id"]).nonzero()[0, 0])
        vocab_map = torch.full((arch["teacher_vocab_size"],), unk_row, dtype=torch.int64)
        vocab_map[vocab_ids] = torch.arange(len(vocab_ids))
        self.register_buffer("vocab_map", vocab_map)
        self.word = nn.Embedding(enc["vocab_size"], h)
        self.position = nn.Embedding(enc["max_position_embeddings"], h)
        self.token_type = nn.Embedding(enc["type_vocab_size"], h)
        self.norm = nn.LayerNorm(h, eps=eps)
        self.layers = nn.ModuleList(
            Layer(h, enc["intermediate_size"], enc["num_attention_heads"], eps, self.dropout)
            for _ in range(enc["num_hidden_layers"])
        )
        self.classifier = nn.Linear(h, arch["num_labels"])
        self._load(tensors, enc["num_hidden_layers"])

    def _load(self, t, n_layers):
        names = {
            "word.weight": "embeddings.word_embeddings.weight",
            "position.weight": "embeddings.position_embeddings.weight",
            "token_type.weight": "embeddings.token_type_embeddings.weight",
            "norm.weight": "embeddings.LayerNorm.weight",
            "norm.bias": "embeddings.LayerNorm.bias",
            "classifier.weight": "classifier.weight",
            "classifier.bias": "classifier.bias",
        }
        parts = {
            "query": "attention.self.query", "key": "attention.self.key",
            "value": "attention.self.value", "attention_out": "attention.output.dense",
            "attention_norm": "attention.output.LayerNorm",
            "intermediate": "intermediate.dense", "output": "output.dense",
            "output_norm": "output.LayerNorm",
        }
        for i in range(n_layers):
            for ours, theirs in parts.items():
                for w in ("weight", "bias"):
                    names[f"layers.{i}.{ours}.{w}"] = f"encoder.layer.{i}.{theirs}.{w}"
        state = {ours: t[theirs] for ours, theirs in names.items()}
        state["vocab_map"] = self.vocab_map
        self.load_state_dict(state, strict=True)

    def forward(self, ids, mask):
        rows = self.vocab_map[ids]
        l = ids.shape[1]
        xs = self.word(rows) + self.position(torch.arange(l)) + self.token_type.weight[0]
        xs = F.dropout(self.norm(xs), self.dropout, self.training)
        keep = mask.to(torch.float32).view(mask.shape[0], 1, 1, l)
        additive = (1.0 - keep) * torch.finfo(torch.float32).min
        for layer in self.layers:
            xs = layer(xs, additive)
        m = mask.to(xs.dtype).unsqueeze(-1)
        pooled = (xs * m).sum(1) / m.sum(1).clamp_min(1e-9)
        return self.classifier(F.dropout(pooled, self.dropout, self.training))


def load(bundle_dir):
    """The student of the fp32 bundle at `bundle_dir`, in eval mode, and its config."""
    bundle_dir = Path(bundle_dir)
    config = json.loads((bundle_dir / "config.json").read_text())
    if config["quantization"] != "none":
        raise ValueError(f"{bundle_dir} is not an fp32 bundle")
    tensors = read_safetensors(bundle_dir / "model.safetensors")
    return Student(config["architecture"], tensors).eval(), config


def pad(rows, pad_id):
    """Right-padded ids and mask [B, L] int64 for rows of token ids."""
    longest = max(len(r) for r in rows)
    ids = torch.full((len(rows), longest), pad_id, dtype=torch.int64)
    mask = torch.zeros((len(rows), longest), dtype=torch.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
    return ids, mask
