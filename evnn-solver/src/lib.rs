//! evnn-solver
