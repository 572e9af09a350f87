//! Models: the BERT-family encoder, tokenization, Hugging Face directory loading, TorchScript
//! teachers, model-name resolution and the teacher abstraction.

pub mod bert;
pub mod hf;
pub mod tokenizer;
