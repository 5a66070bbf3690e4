//! Stint's collector and read API on Cloudflare Workers.
//!
//! A thin shell around `stint-shared`: the router below sends each request to one handler;
//! handlers parse with `stint-shared`, talk to Durable Objects, and map failures through
//! [`error::ApiError`] to the contract's answers. Storage lives in three object classes:
//! [`session_object::SessionObject`] (one per site and session: the batches, the timeline,
//! the folded summary), [`index_object::SessionIndex`] (one per site, UTC day and hash
//! shard, and one per site and month: the summaries to list and fold) and
//! [`settings_object::SiteSettingsObject`] (one per site: saved segments and
//! `min_sessions`). No object is global.

mod collect;
mod config;
mod db;
mod error;
mod hops;
mod index_object;
mod purge;
mod read_api;
mod rollup;
mod seed;
mod session_object;
mod settings_object;

use error::ApiError;
use worker::{event, Context, Env, Method, Request, Response, Result};

#[event(fetch)]
pub async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let path = req.path();
    let origin = req.headers().get("origin")?;
    let answer = match (req.method(), path.as_str()) {
        (Method::Post, "/collect") => collect::handle(req, &env).await,
        (Method::Options, "/collect") => collect::preflight(&req, &env),
        (Method::Post, "/bench/seed") if config::get(&env).bench_seed => {
            seed::seed(req, &env).await
        }
        (Method::Get, "/api/sessions") => read_api::list_sessions(&req, &env).await,
        (Method::Get, "/api/stats") => read_api::site_stats(&req, &env).await,
        (Method::Get, "/api/timeseries") => read_api::timeseries(&req, &env).await,
        (Method::Get, "/api/breakdown") => read_api::breakdown(&req, &env).await,
        (Method::Get, "/api/funnel") => read_api::funnel(&req, &env).await,
        (Method::Get, "/api/paths") => read_api::paths(&req, &env).await,
        (Method::Get, "/api/links") => read_api::links(&req, &env).await,
        (Method::Get, "/api/friction") => read_api::friction(&req, &env).await,
        (Method::Get, "/api/live") => read_api::live(&req, &env).await,
        (Method::Get, "/api/export") => read_api::export(&req, &env).await,
        (Method::Get, "/api/settings") => read_api::get_settings(&req, &env).await,
        (Method::Put, "/api/settings") => read_api::put_settings(req, &env).await,
        (Method::Get, p) if p.starts_with("/api/sessions/") => {
            read_api::session_timeline(&req, &env, &p["/api/sessions/".len()..]).await
        }
        (Method::Delete, p) if p.starts_with("/api/sessions/") => {
            read_api::erase_session(&req, &env, &p["/api/sessions/".len()..]).await
        }
        (Method::Options, p) if p.starts_with("/api/") => read_api::preflight(&req, &env),
        (_, "/collect") => Err(ApiError::method_not_allowed("POST, OPTIONS")),
        (_, p) if p.starts_with("/api/") => Err(ApiError::not_found("no such endpoint")),
        _ => Err(ApiError::not_found("not found")),
    };
    let response = answer.or_else(ApiError::into_response)?;
    if path.starts_with("/api/") {
        read_api::with_cors(response, origin.as_deref(), &env)
    } else {
        Ok(response)
    }
}
