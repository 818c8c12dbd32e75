//! Errors of the network crate.

use evnn_solver::SolverError;

/// Everything that can go wrong building, running or differentiating a
/// network.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// A neuron's simulation or adjoint failed.
    #[error("layer {layer}, neuron {neuron}: {source}")]
    Solver {
        /// Layer index (0 = first hidden layer).
        layer: usize,
        /// Neuron index within the layer.
        neuron: usize,
        /// What the solver reported.
        source: SolverError,
    },
    /// The same error, for sample `sample` of a batch.
    #[error("sample {sample}: {source}")]
    Sample {
        /// Index of the sample in the batch.
        sample: usize,
        /// The error.
        source: Box<NetError>,
    },
    /// A buffer or description has the wrong size.
    #[error("shape mismatch for {what}: expected {expected}, got {got}")]
    Shape {
        /// What was checked.
        what: &'static str,
        /// Expected size.
        expected: usize,
        /// Actual size.
        got: usize,
    },
    /// A buffer's length `rows × cols` does not fit in a `usize`.
    #[error("{what}: {rows} × {cols} entries do not fit in memory")]
    TooLarge {
        /// Which buffer.
        what: &'static str,
        /// Rows (neurons).
        rows: usize,
        /// Columns (inputs, or parameters per neuron).
        cols: usize,
    },
    /// A forward trace handed to the backward pass does not come from this
    /// network's forward pass of this input (a trace of another input or
    /// network, or one edited since).
    #[error(
        "the forward trace does not fit this network and input: layer {layer}{}, {what}: expected {expected}, got {got}",
        .neuron.map(|j| format!(", neuron {j}")).unwrap_or_default()
    )]
    TraceMismatch {
        /// Layer index (0 = first hidden layer).
        layer: usize,
        /// The neuron, where the mismatch is in one neuron's record.
        neuron: Option<usize>,
        /// What does not fit.
        what: &'static str,
        /// What the network, input or rest of the trace implies.
        expected: f64,
        /// What the trace holds.
        got: f64,
    },
    /// Spike trains read from a file whose channel offsets are
    /// inconsistent: they must start at 0, never decrease and end at the
    /// number of spike times.
    #[error("spike trains: channel offset {index} = {offset} is invalid ({reason}; {n_spikes} spike times)")]
    InvalidOffsets {
        /// Position in the offsets.
        index: usize,
        /// The offending offset.
        offset: usize,
        /// Number of spike times.
        n_spikes: usize,
        /// What it must satisfy.
        reason: &'static str,
    },
    /// A network must have at least one layer and every layer at least one
    /// neuron and one input.
    #[error("invalid architecture: {reason} (layer sizes {sizes:?})")]
    Architecture {
        /// What is wrong.
        reason: &'static str,
        /// The sizes given (inputs first).
        sizes: Vec<usize>,
    },
    /// An input spike time is NaN, infinite or negative.
    #[error(
        "input channel {channel}, spike {index}: invalid time {time} (must be finite and >= 0)"
    )]
    InvalidInputTime {
        /// Input channel.
        channel: usize,
        /// Spike number within the channel.
        index: usize,
        /// The offending time.
        time: f64,
    },
    /// An input channel's spike times are not sorted.
    #[error("input channel {channel}: spike {index} at t = {time} comes after t = {previous}")]
    UnsortedInput {
        /// Input channel.
        channel: usize,
        /// Spike number within the channel.
        index: usize,
        /// Its time.
        time: f64,
        /// The time before it.
        previous: f64,
    },
    /// A parameter (weight or neuron parameter) is NaN or infinite.
    #[error("layer {layer}: {what}[{index}] = {value} is not finite")]
    NonFiniteParameter {
        /// Layer index.
        layer: usize,
        /// `"weights"` or the neuron parameter name.
        what: &'static str,
        /// Flat index within the layer's buffer.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A transmission delay is NaN, infinite or negative (delays must be
    /// finite and `>= 0`; training keeps them there by projection,
    /// [`NetworkParams::project_flat`](crate::NetworkParams::project_flat)).
    #[error(
        "layer {layer}: {what}[{index}] = {value} is invalid (delays must be finite and >= 0)"
    )]
    InvalidDelay {
        /// Layer index.
        layer: usize,
        /// `"synaptic delays"` or `"axonal delays"`.
        what: &'static str,
        /// Flat index within the layer's delay buffer.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A configuration value is out of range.
    #[error("invalid {name} = {value}: {reason}")]
    InvalidConfig {
        /// Name of the setting.
        name: &'static str,
        /// The offending value.
        value: f64,
        /// What it must satisfy.
        reason: &'static str,
    },
    /// A label is not a valid class index.
    #[error("label {label} out of range for {n_classes} classes")]
    InvalidLabel {
        /// The label.
        label: usize,
        /// Number of classes (output neurons).
        n_classes: usize,
    },
    /// A loss sensitivity is NaN or infinite.
    #[error("non-finite {what}[{index}] = {value}")]
    NonFinite {
        /// What was checked.
        what: &'static str,
        /// Index.
        index: usize,
        /// The offending value.
        value: f64,
    },
}
