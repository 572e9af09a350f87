//! Models: the BERT-family encoder, tokenizer, loading, teachers and students.

pub mod bert;
pub mod hf;
pub mod student;
pub mod tokenizer;
pub mod transformer;
