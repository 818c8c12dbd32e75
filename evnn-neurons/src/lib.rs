//! evnn-neurons
