//! Adaptive binary range coder and the residual models of the DAS codec.
#![forbid(unsafe_code)]
