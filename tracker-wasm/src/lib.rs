//! Stint's tracker, compiled to WebAssembly.
//!
//! `tracker` holds every decision (page views, engagement, scroll, clicks, custom events,
//! friction and speed, flushing, session rollover) against the [`host::Host`] trait;
//! `session` owns the session ID and its counters; `emit` turns each event into the wire
//! type and (field, value) pairs the JS entry builds the batch from; `transport` holds the
//! delivery rules (which answers settle a batch, how many wait); `config` holds the options;
//! `boundary` every number and wire name the JS entry and the module share, from which the
//! JS constants are generated. `wasm` implements the host with a few imported JS functions
//! and exports the entry points that `js/stint.js` calls from its event listeners. What the
//! numbers mean — the engaged-time clock, scroll depth, link classes, URL scrubbing, the
//! wire format — lives in `stint-shared`, tested natively.

pub mod boundary;
pub mod config;
pub mod emit;
pub mod host;
pub mod session;
pub mod tracker;
pub mod transport;

#[cfg(target_arch = "wasm32")]
mod wasm;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
