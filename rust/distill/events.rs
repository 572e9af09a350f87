//! Progress events sent to the caller's listener during a distillation run.
//!
//! One [`Event`] is emitted per training step and at the start and end of each stage; it
//! serialises to the event JSON of the team contract. The listener returns `false` to ask
//! the run to stop; the trainer checks the answer between steps and returns
//! [`crate::error::Error::Cancelled`].

use serde::{Deserialize, Serialize};

/// The stage a run is in, as named in the event JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Reading and tokenizing data.
    Load,
    /// Running the teacher over the data once.
    TeacherCache,
    /// Fitting a linear head on frozen teacher features.
    TeacherHead,
    /// Training on hard labels before distillation starts.
    Warmup,
    /// Training on the teacher's soft targets (mixed with hard labels).
    Distill,
    /// The optional final stage on hard labels.
    Final,
    /// Training the hard-label baseline student.
    Baseline,
    /// Writing the bundle.
    Save,
    /// Int8 quantization and its check.
    Quantize,
    /// Teacher and student evaluation on the test split.
    Evaluate,
    /// The run finished.
    Done,
}

/// One progress record (the contract's event JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Current stage.
    pub stage: Stage,
    /// Epoch, counted from 1 (0 outside training).
    pub epoch: usize,
    /// Optimizer steps done so far in this training run.
    pub step: usize,
    /// Optimizer steps the training run will make in total.
    pub total_steps: usize,
    /// Total loss of the last step.
    pub loss: f64,
    /// Soft (distillation) part of the loss.
    pub soft_loss: f64,
    /// Hard-label part of the loss.
    pub hard_loss: f64,
    /// Hidden-state alignment part of the loss.
    pub hidden_loss: f64,
    /// Attention-map alignment part of the loss (0 when off; absent from older event JSON).
    #[serde(default)]
    pub attention_loss: f64,
    /// Distillation temperature at this step.
    pub temperature: f64,
    /// Weight of the soft loss at this step.
    pub alpha: f64,
    /// Learning rate at this step.
    pub lr: f64,
    /// Training throughput over the last step.
    pub examples_per_sec: f64,
    /// Validation accuracy, when it was measured at this event.
    pub val_accuracy: Option<f64>,
    /// Free-form note (stage summaries, warnings).
    pub message: Option<String>,
}

impl Event {
    /// An event for `stage` with every number at zero and no message.
    pub fn stage(stage: Stage) -> Self {
        Event {
            stage,
            epoch: 0,
            step: 0,
            total_steps: 0,
            loss: 0.0,
            soft_loss: 0.0,
            hard_loss: 0.0,
            hidden_loss: 0.0,
            attention_loss: 0.0,
            temperature: 0.0,
            alpha: 0.0,
            lr: 0.0,
            examples_per_sec: 0.0,
            val_accuracy: None,
            message: None,
        }
    }

    /// Same event with a message attached.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }
}
