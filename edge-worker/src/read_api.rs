//! The read API: everything behind the bearer token.

use crate::config;
use crate::error::{json_response, ApiError};
use crate::index_object::{self, ListQuery, Position};
use crate::session_object;
use futures_util::future::try_join_all;
use serde_json::{json, Value};
use stint_shared::auth::bearer_matches;
use stint_shared::listing::{encode_cursor, ListParams};
use stint_shared::protocol::{is_uuid_v4, is_valid_site_id};
use stint_shared::shard::{index_object_name, INDEX_SHARDS};
use stint_shared::stats::StatsAccumulator;
use worker::{Date, Env, Request, Response};

/// Whether `origin` is one of `DASHBOARD_ORIGINS`.
fn is_dashboard_origin(origin: Option<&str>, env: &Env) -> bool {
    origin.is_some_and(|o| {
        config::dashboard_origins(env)
            .iter()
            .any(|allowed| allowed == o)
    })
}

/// Adds CORS headers to a read-API answer, for configured dashboard origins only.
pub fn with_cors(
    mut response: Response,
    origin: Option<&str>,
    env: &Env,
) -> worker::Result<Response> {
    if let Some(origin) = origin.filter(|o| is_dashboard_origin(Some(o), env)) {
        let headers = response.headers_mut();
        headers.set("access-control-allow-origin", origin)?;
        headers.set("vary", "origin")?;
    }
    Ok(response)
}

/// `OPTIONS /api/*`: the preflight a dashboard on another origin sends before a call with
/// an `Authorization` header. Only configured origins get the allow headers.
pub fn preflight(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let mut response = Response::empty()?.with_status(204);
    let origin = req.headers().get("origin")?;
    if is_dashboard_origin(origin.as_deref(), env) {
        let headers = response.headers_mut();
        headers.set("access-control-allow-methods", "GET, DELETE")?;
        headers.set("access-control-allow-headers", "authorization")?;
        headers.set("access-control-max-age", "600")?;
    }
    Ok(response)
}

fn authorize(req: &Request, env: &Env) -> Result<(), ApiError> {
    let header = req.headers().get("authorization")?;
    if bearer_matches(header.as_deref(), config::read_token(env).as_deref()) {
        Ok(())
    } else {
        Err(ApiError::unauthorized())
    }
}

/// The site, range, paging and bot parameters shared by the listing and the stats.
fn range_params(req: &Request) -> Result<ListParams, ApiError> {
    let url = req.url()?;
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let now = Date::now().as_millis() as i64;
    ListParams::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())), now)
        .map_err(|e| ApiError::bad_request(e.0))
}

/// `GET /api/sessions`: summaries newest first, a page at a time.
pub async fn list_sessions(req: &Request, env: &Env) -> Result<Response, ApiError> {
    authorize(req, env)?;
    let params = range_params(req)?;

    let (started_at, id) = params.start();
    let mut before = Position { started_at, id };
    let mut page: Vec<Value> = Vec::new();
    for day in params.days() {
        let want = params.limit - page.len() as u32;
        let query = ListQuery {
            from: params.from,
            before: &before,
            limit: want,
            include_bots: params.include_bots,
            filters: &params.filters,
        };
        let names: Vec<String> = (0..INDEX_SHARDS)
            .map(|shard| index_object_name(&params.site, day, shard))
            .collect();
        let shards = try_join_all(
            names
                .iter()
                .map(|name| index_object::list(env, name, &query)),
        );
        let mut day_rows: Vec<Value> = shards.await?.into_iter().flatten().collect();
        day_rows.sort_by_key(|row| std::cmp::Reverse(position(row)));
        day_rows.truncate(want as usize);
        page.extend(day_rows);
        if page.len() as u32 >= params.limit {
            break;
        }
        // Later days are older; everything before this day's start qualifies.
        before = Position {
            started_at: day * stint_shared::time::DAY_MS,
            id: String::new(),
        };
    }
    let next_cursor = if page.len() as u32 >= params.limit {
        page.last().map(|last| {
            let (t, id) = position(last);
            encode_cursor(t, &id)
        })
    } else {
        None
    };
    json_response(
        200,
        &json!({ "sessions": page, "next_cursor": next_cursor }),
    )
}

/// The `site` query parameter and the session ID of `/api/sessions/<sid>?site=…`.
fn session_address(req: &Request, sid: &str) -> Result<String, ApiError> {
    let url = req.url()?;
    let site = url
        .query_pairs()
        .find(|(k, _)| k == "site")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| ApiError::bad_request("site: missing"))?;
    if !is_valid_site_id(&site) {
        return Err(ApiError::bad_request("site: not a valid site id"));
    }
    if !is_uuid_v4(sid) {
        return Err(ApiError::bad_request("sid: must be a lowercase UUID v4"));
    }
    Ok(site)
}

/// `DELETE /api/sessions/<sid>?site=…`: erases the session from its object and its index.
pub async fn erase_session(req: &Request, env: &Env, sid: &str) -> Result<Response, ApiError> {
    authorize(req, env)?;
    let site = session_address(req, sid)?;
    if session_object::erase(env, &site, sid).await? {
        Ok(Response::empty()?.with_status(204))
    } else {
        Err(ApiError::not_found("session: unknown session"))
    }
}

/// `GET /api/sessions/<sid>?site=…`: one session's summary, pages and events.
pub async fn session_timeline(req: &Request, env: &Env, sid: &str) -> Result<Response, ApiError> {
    authorize(req, env)?;
    let site = session_address(req, sid)?;
    match session_object::timeline(env, &site, sid).await? {
        Some(timeline) => json_response(200, &timeline),
        None => Err(ApiError::not_found("session: unknown session")),
    }
}

/// `GET /api/stats?site=…&from=…&to=…[&bots=include]`: totals over every shard of every day.
pub async fn site_stats(req: &Request, env: &Env) -> Result<Response, ApiError> {
    authorize(req, env)?;
    let params = range_params(req)?;
    let names: Vec<String> = params
        .days()
        .flat_map(|day| (0..INDEX_SHARDS).map(move |shard| (day, shard)))
        .map(|(day, shard)| index_object_name(&params.site, day, shard))
        .collect();
    let partials = try_join_all(
        names
            .iter()
            .map(|name| index_object::stats(env, name, &params)),
    )
    .await?;
    let mut total = StatsAccumulator::default();
    for partial in partials {
        total.merge(partial);
    }
    let stats = serde_json::to_value(total.finish()).map_err(|e| ApiError::internal("stats", e))?;
    json_response(200, &stats)
}

fn position(summary: &Value) -> (i64, String) {
    (
        summary["started_at"].as_i64().unwrap_or(0),
        summary["id"].as_str().unwrap_or_default().to_string(),
    )
}
