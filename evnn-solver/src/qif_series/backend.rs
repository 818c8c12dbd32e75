//! [`QifSeries`], the backend that hands out [`SeriesStepper`]s.

use super::stepper::SeriesStepper;
use crate::{Backend, RunPlan};
use evnn_neurons::{NeuronModel, Qif};

/// Exact-to-tolerance QIF integration by Taylor series in homogeneous
/// coordinates: `u' = w/τ_mem`, `w' = −(w + (i + b)·u)/τ_mem` with the
/// phase `φ = ½ + atan2(−w/π, u)/π`, a linear ODE whose zeros of `u` are the
/// spikes. One step (order up to 16 at the default tolerance) typically spans a
/// whole interval between input spikes and costs no trigonometric function;
/// a Sturm comparison bound caps steps to hold at most one spike, so none is
/// missed. Its [`Adjoint`](crate::Adjoint) differentiates the
/// same series in forward mode over each segment between events.
///
/// # Examples
///
/// ```
/// use evnn_neurons::Qif;
/// use evnn_solver::{Dopri5Backend, EventSolver, InputSpike, QifSeries, SolverOptions};
///
/// let opts = SolverOptions::default().with_tolerances(1e-12, 1e-12);
/// let inputs = [InputSpike::new(0.0, 10.0), InputSpike::new(4.0, 3.0)];
/// let mut a = EventSolver::new(Qif::default(), QifSeries, opts)?;
/// let mut b = EventSolver::new(Qif::default(), Dopri5Backend::default(), opts)?;
/// let (ta, tb) = (a.simulate(&[0.0], &inputs, 30.0)?, b.simulate(&[0.0], &inputs, 30.0)?);
/// assert_eq!(ta.spikes.len(), tb.spikes.len());
/// for (x, y) in ta.spikes.iter().zip(&tb.spikes) {
///     assert!((x - y).abs() < 1e-9);
/// }
/// # Ok::<(), evnn_solver::SolverError>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct QifSeries;

impl Backend<Qif> for QifSeries {
    type Stepper = SeriesStepper;

    fn stepper(&self, model: &Qif, params: &[f64; 1], plan: &RunPlan) -> Option<SeriesStepper> {
        Some(SeriesStepper::new(
            model,
            params[0],
            plan.options(),
            model.initial_state(),
        ))
    }

    /// Keeps the stepper's series constants (the decay series and the
    /// order) when the time constants and tolerance are those it was built
    /// for: only the bias and the state change.
    fn reset_stepper(
        &self,
        stepper: &mut SeriesStepper,
        model: &Qif,
        params: &[f64; 1],
        plan: &RunPlan,
    ) {
        stepper.reset(model, params[0], plan.options(), model.initial_state());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NeuronTrace, SolverOptions};
    use std::f64::consts::PI;

    /// Constant current `I = b > ¼` (`i = 0`): with `k = √(b − ¼)`,
    /// `V − ½ = k tan(k(t − c)/τ)`, so from `V = 0` the first spike is at
    /// `τ/k·(π/2 + atan(1/(2k)))` and the period is `πτ/k`.
    #[test]
    fn periodic_firing_matches_closed_form() {
        let qif = Qif::new(20.0, 5.0).unwrap();
        for b in [0.3, 1.0, 7.5, 60.0] {
            let opts = SolverOptions::default().with_tolerances(1e-13, 1e-13);
            let mut trace = NeuronTrace::new(qif.initial_state());
            let plan = RunPlan::new(400.0, &opts).unwrap();
            QifSeries
                .simulate(&qif, &[b], &[], &plan, &mut trace)
                .unwrap();
            let k = (b - 0.25_f64).sqrt();
            let tau = qif.tau_mem();
            let first = tau / k * (PI / 2.0 + (1.0 / (2.0 * k)).atan());
            let period = PI * tau / k;
            assert!(!trace.spikes.is_empty(), "b {b}");
            for (n, t) in trace.spikes.iter().enumerate() {
                let expected = first + n as f64 * period;
                assert!(
                    (t - expected).abs() <= 1e-9 * expected,
                    "b {b}, spike {n}: got {t}, expected {expected}"
                );
            }
            let n_expected = ((400.0 - first) / period).floor() as usize + 1;
            assert_eq!(trace.spikes.len(), n_expected, "b {b}");
        }
    }
}
