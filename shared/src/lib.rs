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

// Both sides: the wire protocol (the tracker encodes, the collector decodes and validates),
// URL handling, time arithmetic, byte-level text helpers and the JSON writer.
pub mod json;
pub mod protocol;
pub mod text;
pub mod time;
pub mod url;

// Page side: what the tracker measures.
pub mod engagement;
pub mod links;
pub mod scroll;
pub mod signals;

// Collector side (feature `collector`): classification, the reducer and stored state, the
// stats contributions, listing, sharding, limits, refusals, retention, sites, auth.
#[cfg(feature = "collector")]
pub mod auth;
#[cfg(feature = "collector")]
pub mod bots;
#[cfg(feature = "collector")]
pub mod channels;
#[cfg(feature = "collector")]
pub mod classify;
#[cfg(feature = "collector")]
pub mod export;
#[cfg(feature = "collector")]
pub mod friction;
#[cfg(feature = "collector")]
pub mod funnel;
#[cfg(feature = "collector")]
pub mod generated;
#[cfg(feature = "collector")]
pub mod journey;
#[cfg(feature = "collector")]
pub mod linkmap;
#[cfg(feature = "collector")]
pub mod listing;
#[cfg(feature = "collector")]
pub mod paths;
#[cfg(feature = "collector")]
pub mod query;
#[cfg(feature = "collector")]
pub mod rate;
#[cfg(feature = "collector")]
pub mod refusal;
#[cfg(feature = "collector")]
pub mod report;
#[cfg(feature = "collector")]
pub mod retention;
#[cfg(feature = "collector")]
pub mod session;
#[cfg(feature = "collector")]
pub mod settings;
#[cfg(feature = "collector")]
pub mod shard;
#[cfg(feature = "collector")]
pub mod sites;
#[cfg(feature = "collector")]
pub mod stats;
#[cfg(feature = "collector")]
pub mod vocab;
#[cfg(feature = "collector")]
pub mod weburl;
