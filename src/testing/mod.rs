//! Helpers for testing tokengate and the stores built for it.
#![allow(missing_docs)]
pub mod conformance;
