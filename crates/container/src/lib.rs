//! Containers: the native .dpk format and Bloscpack v3 (.blp).
#![forbid(unsafe_code)]
