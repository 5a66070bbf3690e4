//! Data generated from pinned, maintained lists by `cargo xtask lists`; `cargo xtask test`
//! fails when a file here is not what the pinned list gives. Never edited by hand.

#[rustfmt::skip]
pub mod crawlers;
