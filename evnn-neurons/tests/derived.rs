//! The derivatives derived by dual numbers agree with the hand-written ones
//! of the built-in models to round-off, over random states, parameters,
//! adjoint vectors and weights.

use evnn_neurons::{derived, Lif, NeuronModel, Qif};
use proptest::prelude::*;

/// `|a − b| ≤ 1e-13 · max(|a|, |b|, s)`, where `s` is the size of the terms
/// that `a` and `b` sum (a hand-written entry and the derived one add the
/// same products in other orders, so an entry that cancels to near zero is
/// judged against its terms).
fn close(what: &str, a: f64, b: f64, s: f64) {
    let tol = 1e-13 * a.abs().max(b.abs()).max(s);
    assert!(
        (a - b).abs() <= tol,
        "{what}: hand-written {a}, derived {b}"
    );
}

/// Compares every derivative of `model` at one point; `scale` bounds the
/// magnitude of the terms of each entry.
fn agree<N: NeuronModel<State = [f64; 2], Params = [f64; 1]>>(
    model: &N,
    p: [f64; 1],
    x: [f64; 2],
    l: [f64; 2],
    w: f64,
    scale: f64,
) {
    let s = scale * (l[0].abs() + l[1].abs());
    let (mut a, mut ap, mut b, mut bp) = ([0.0; 2], [0.0], [0.0; 2], [0.0]);
    model.dynamics_vjp(&p, &x, &l, &mut a, &mut ap);
    derived::dynamics_vjp(model, &p, &x, &l, &mut b, &mut bp);
    for k in 0..2 {
        close("dynamics_vjp x", a[k], b[k], s);
    }
    close("dynamics_vjp p", ap[0], bp[0], s);
    model.dynamics_jvp(&p, &x, &l, &mut a);
    derived::dynamics_jvp(model, &p, &x, &l, &mut b);
    for k in 0..2 {
        close("dynamics_jvp", a[k], b[k], s);
    }
    model.event_grad(&x, &mut a);
    derived::event_grad(model, &x, &mut b);
    assert_eq!(a, b, "event_grad");
    model.reset_vjp(&x, &l, &mut a);
    derived::reset_vjp(model, &x, &l, &mut b);
    assert_eq!(a, b, "reset_vjp");
    let dw = model.input_jump_vjp(&x, w, &l, &mut a);
    let dwd = derived::input_jump_vjp(model, &x, w, &l, &mut b);
    assert_eq!((a, dw), (b, dwd), "input_jump_vjp");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn lif_derived_equals_hand_written(
        tau_mem in 1.0..50.0f64, tau_syn in 0.5..20.0f64,
        b in -2.0..2.0f64, v in -3.0..3.0f64, i in -5.0..5.0f64,
        l0 in -10.0..10.0f64, l1 in -10.0..10.0f64, w in -5.0..5.0f64,
    ) {
        prop_assume!((tau_mem - tau_syn).abs() > 1e-3);
        let lif = Lif::new(tau_mem, tau_syn, 1.0, 0.0).unwrap();
        agree(&lif, [b], [v, i], [l0, l1], w, 1.0 / tau_syn.min(tau_mem));
    }

    #[test]
    fn qif_derived_equals_hand_written(
        tau_mem in 1.0..50.0f64, tau_syn in 0.5..20.0f64,
        b in -2.0..2.0f64, phi in -0.999..0.999f64, i in -5.0..5.0f64,
        l0 in -10.0..10.0f64, l1 in -10.0..10.0f64, w in -5.0..5.0f64,
    ) {
        let qif = Qif::new(tau_mem, tau_syn).unwrap();
        // Terms of ∂f/∂φ: up to 2π + (2/π)|i + b| + 2, over τ.
        let scale = (10.0 + i.abs() + b.abs()) / tau_syn.min(tau_mem);
        agree(&qif, [b], [phi, i], [l0, l1], w, scale);
    }
}
