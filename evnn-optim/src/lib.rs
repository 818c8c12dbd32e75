//! evnn-optim
