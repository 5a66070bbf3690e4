//! `POST /bench/seed`, for `cargo xtask bench` only: answered only with `STINT_BENCH_SEED=1`,
//! a var no `wrangler.toml` sets (404 otherwise, like any unknown path). It lists sessions in
//! their index shards without session objects, so the bench can measure the read path on a
//! 100k-session day without the ~45 minutes the local runtime takes to ingest one through
//! `POST /collect`. Each body is a session's first batch; its summary is what the reducer
//! makes of it, pushed as the session object would push it, a shard's share in one hop.

use crate::config;
use crate::error::{json_response, ApiError};
use crate::hops::{EdgeFacts, Upsert, UpsertMany};
use crate::index_object;
use std::collections::BTreeMap;
use stint_shared::protocol::decode_batch;
use stint_shared::retention::shard_expires_at;
use stint_shared::session::SessionState;
use stint_shared::shard::index_object_for;
use worker::{Date, Env, Request, Response};

/// `?now=<ms>` sets the receive time the batches are folded with (a year of past days for the
/// long-range read bench; the reducer clamps client clocks to a day of it).
pub async fn seed(mut req: Request, env: &Env) -> Result<Response, ApiError> {
    let config = config::get(env);
    let now = req
        .url()?
        .query_pairs()
        .find(|(k, _)| k == "now")
        .and_then(|(_, v)| v.parse::<i64>().ok())
        .unwrap_or_else(|| Date::now().as_millis() as i64);
    let facts = EdgeFacts::of_user_agent(
        now,
        None,
        &req.headers().get("user-agent")?.unwrap_or_default(),
    );
    let bodies: Vec<serde_json::Value> = serde_json::from_slice(&req.bytes().await?)
        .map_err(|e| ApiError::bad_request(format!("body: an array of batches ({e})")))?;
    let mut shards: BTreeMap<String, Vec<Upsert>> = BTreeMap::new();
    // What the index keeps per session for funnels, paths and link maps, as it stores it.
    let mut journey_bytes = 0usize;
    let mut journey_max = 0usize;
    for (i, body) in bodies.iter().enumerate() {
        let batch = decode_batch(body.to_string().as_bytes())
            .map_err(|e| ApiError::bad_request(format!("[{i}]: {}", e.message())))?;
        let keep_params = config
            .sites()?
            .get(&batch.site)
            .map(|s| s.keep_params.clone())
            .unwrap_or_default();
        let ctx = facts.context(keep_params);
        let mut state = SessionState::new(&batch.site, &batch.sid);
        state.apply(&batch, &ctx);
        let journey = state.journey();
        let bytes = journey.to_json().len();
        journey_bytes += bytes;
        journey_max = journey_max.max(bytes);
        let shard = index_object_for(&batch.site, &batch.sid, state.summary.started_at);
        shards.entry(shard).or_default().push(Upsert {
            version: 1,
            expires_at: shard_expires_at(state.summary.started_at, config.retention_ms),
            journey: Some(journey),
            summary: state.summary,
            shard: None,
        });
    }
    for (shard, rows) in shards {
        index_object::send(env, &shard, &UpsertMany { rows }).await?;
    }
    json_response(
        202,
        &serde_json::json!({
            "seeded": bodies.len(),
            "journey_bytes": journey_bytes,
            "journey_max_bytes": journey_max,
        }),
    )
}
