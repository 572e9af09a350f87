//! Student bundles: the directory a distillation writes and `StudentModel` loads.
//!
//! Layout: `config.json` (format version, student kind and architecture, labels, tokenizer
//! settings, quantization), `model.safetensors`, `tokenizer.json` (text students) and
//! `metrics.json`. A bundle is written into a temporary sibling directory and renamed into
//! place, so a reader never sees half a bundle.
