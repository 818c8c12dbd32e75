//! evnn-net
