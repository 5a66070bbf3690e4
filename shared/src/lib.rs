//! The functional core of Stint.
//!
//! Everything that decides what a number means lives here: the wire protocol and its
//! validation, the session reducer that folds batches into a summary, and the small pieces
//! of arithmetic (shards, days, token comparison) that the collector needs. The tracker
//! (`stint-tracker`, in the page) and the collector (`stint-worker`, at the edge) are shells
//! around this crate that do the I/O.
//!
//! The key decision: this crate takes time and identifiers as arguments. It has no clock, no
//! randomness and no I/O, and it never panics on input — a malformed beacon is an `Err` that
//! names the offending field. That is what lets every rule be tested natively, fast, and
//! with property tests, rather than through a browser or a Workers runtime.
//!
//! The `collector` feature (on by default) adds what only the collector runs: decoding of the
//! wire format, the session reducer, stored state and its serialisation, site configuration
//! and stats; the tracker turns it off and encodes with [`json`], which keeps `serde` and
//! `core::fmt` out of the page's WebAssembly.

pub mod auth;
pub mod classify;
pub mod engagement;
pub mod json;
pub mod links;
pub mod listing;
pub mod protocol;
pub mod rate;
#[cfg(feature = "collector")]
pub mod refusal;
pub mod retention;
pub mod scroll;
#[cfg(feature = "collector")]
pub mod session;
pub mod shard;
#[cfg(feature = "collector")]
pub mod sites;
#[cfg(feature = "collector")]
pub mod stats;
pub mod text;
pub mod time;
pub mod url;
pub mod vocab;
