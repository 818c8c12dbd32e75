//! evnn-data
