//! Stint's tracker, compiled to WebAssembly.
//!
//! `tracker` holds every decision (page views, engagement, scroll, clicks, custom events,
//! flushing, session rollover) against the [`host::Host`] trait; `session` owns the session
//! ID and its counters; `transport` keeps batches pending until delivered; `config` holds the
//! options; `boundary` every number the JS entry and the module share, from which the JS
//! constants are generated. `wasm` implements the host with a few imported JS functions and exports the
//! entry points that `js/stint.js` calls from its event listeners. What the numbers mean —
//! the engaged-time clock, scroll depth, link classes, URL scrubbing, the wire format —
//! lives in `stint-shared`, tested natively.

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
