//! Gradient property tests held to a minimum of compared entries: shared
//! by the solver's single-neuron and the network crate's gradient tests
//! (`evnn-net/tests/gradients.rs` includes this file).

use proptest::strategy::Strategy;
use proptest::test_runner::{
    Config as ProptestConfig, FileFailurePersistence, TestCaseError, TestError, TestRunner,
};
use std::cell::Cell;

/// Gradient entries of one case: candidates, compared (not skipped) and
/// compared with a nonzero analytic value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Compared {
    /// Entries the check considered.
    pub entries: usize,
    /// Entries compared with finite differences (not skipped).
    pub compared: usize,
    /// Compared entries whose analytic value is not zero.
    pub nonzero: usize,
}

/// Runs `cases` random cases of `strategy` through `case` (a gradient
/// check that fails on a mismatch and counts its entries) and holds them to
/// a minimum of compared entries.
///
/// A case that compares fewer than a quarter of its entries (most
/// perturbations change its event sequence: a spike grazes the threshold or
/// ties with an input) tests little: it does not count, and proptest draws
/// another. At most a quarter as many such cases as `cases` may occur, so a
/// check that skips everything fails. At least an eighth of the counted
/// cases must compare a nonzero entry (not all networks silent). Failures
/// are persisted to `regressions`.
pub fn gradient_property<S: Strategy>(
    cases: u32,
    regressions: &'static str,
    strategy: S,
    case: impl Fn(S::Value) -> Result<Compared, String>,
) {
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        // A check that skips everything stops here, not after proptest's
        // default 1024 rejections.
        max_global_rejects: cases,
        ..ProptestConfig::default()
    });
    let (sparse, informative) = (Cell::new(0u32), Cell::new(0u32));
    let result = runner.run(&strategy, |value| {
        let c = case(value).map_err(TestCaseError::fail)?;
        if 4 * c.compared < c.entries {
            sparse.set(sparse.get() + 1);
            return Err(TestCaseError::reject(format!(
                "compared {} of {} entries",
                c.compared, c.entries
            )));
        }
        informative.set(informative.get() + u32::from(c.nonzero > 0));
        Ok(())
    });
    match result {
        Ok(()) => {}
        Err(TestError::Abort(why)) => panic!(
            "{why}: {} cases compared fewer than a quarter of their entries",
            sparse.get()
        ),
        Err(e) => panic!("{e}"),
    }
    assert!(
        4 * sparse.get() <= cases,
        "{} cases compared fewer than a quarter of their entries ({cases} counted)",
        sparse.get()
    );
    assert!(
        8 * informative.get() >= cases,
        "only {} of {cases} cases compared a nonzero gradient entry",
        informative.get()
    );
}
