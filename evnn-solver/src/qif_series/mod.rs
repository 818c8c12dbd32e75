//! A QIF backend by Taylor series in homogeneous coordinates, where the QIF
//! is a linear ODE and spikes are the zeros of a smooth function.
//!
//! With `V = −w/u`, the QIF `τ V' = V² − V + I(t)` (τ = τ_mem, `I = i + b`)
//! becomes linear in `y = (u, w)`:
//!
//! ```text
//! u' = w / τ,    w' = −(w + I(t)·u) / τ,    I(t) = b + i(t_a)·e^{−(t − t_a)/τ_syn}
//! ```
//!
//! `V → +∞`, the spike, is `u` crossing zero (downward, `w < 0`), and the
//! reset to `V = −∞` is the same point of the projective line: the flow goes
//! straight through it. The phase of [`Qif`] is the angle of `y`:
//! `φ = ½ + θ/π` with `θ = atan2(−w/π, u)`, i.e. `u = cos π(φ − ½)`,
//! `w = −π sin π(φ − ½)`.
//!
//! Between inputs the coefficients are entire functions, so `y` is entire
//! and its Taylor series (order up to 12–22 by tolerance, fewer terms where a
//! short step needs fewer, coefficients by recurrence, no
//! trigonometry) converges for any step; the step size follows from the last
//! coefficients (truncation error below the tolerance, relative to `|y|`).
//!
//! Spikes cannot be missed: with `u = e^{−t/2τ} v`, `τ² v'' + (I(t) − ¼) v = 0`.
//! If `I − ¼ ≤ M` on a step, Sturm's comparison theorem puts consecutive
//! zeros of `v` (the zeros of `u`) at least `πτ/√M` apart (and at most one
//! zero when `M ≤ 0`); steps are shorter than that, so a step holds at most
//! one spike, and the lifted phase below is continuous. The shared event loop
//! then detects it by sign change and refines it on this dense output.
//!
//! The layers, each file importing only from the ones before: `series`
//! (the recurrences, evaluation and step-size rules), `stepper` (the
//! [`SeriesStepper`] the event loop drives), `backend` ([`QifSeries`]) and
//! `adjoint` (its [`Adjoint`](crate::Adjoint)).

mod adjoint;
mod backend;
mod series;
mod stepper;

pub use backend::QifSeries;
pub use stepper::SeriesStepper;
