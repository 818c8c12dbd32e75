//! How a neuron's spiking variable is reset at its own spike.

use serde::{Deserialize, Serialize};

/// The reset of a model whose spiking variable `V` crosses a threshold `θ`
/// (a model says what `θ` and the reset value `V_r` are).
///
/// The two differ in the gradient they pass backwards: after a hard reset
/// the new `V` does not depend on the old one (`∂V⁺/∂V⁻ = 0`), after a
/// subtractive one it does (`∂V⁺/∂V⁻ = 1`). At the spike, where `V⁻ = θ`,
/// both give the same state.
///
/// # Examples
///
/// ```
/// use evnn_neurons::{Eif, EifConstants, NeuronModel, Reset};
///
/// let c = EifConstants::default();
/// let hard = Eif::new(c)?;
/// let subtractive = Eif::new(c.with_reset(Reset::Subtractive))?;
/// let (mut a, mut b) = ([hard.v_peak(), 1.0], [hard.v_peak(), 1.0]);
/// hard.reset(&mut a);
/// subtractive.reset(&mut b);
/// assert!((a[0] - b[0]).abs() < 1e-15); // the same state at the spike ...
/// let (mut ga, mut gb) = ([0.0; 2], [0.0; 2]);
/// hard.reset_vjp(&a, &[1.0, 0.0], &mut ga);
/// subtractive.reset_vjp(&b, &[1.0, 0.0], &mut gb);
/// assert_eq!((ga[0], gb[0]), (0.0, 1.0)); // ... and another gradient
/// # Ok::<(), evnn_neurons::NeuronError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reset {
    /// `V ← V_r`.
    Hard,
    /// `V ← V − (θ − V_r)`.
    Subtractive,
}
