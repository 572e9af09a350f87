//! Models: the BERT-family encoder, tokenizer, loading, teachers and students.

pub mod student;
