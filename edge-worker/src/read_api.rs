//! The read API: everything behind the bearer token.

use crate::config;
use crate::error::{json_response, ApiError};
use crate::hops;
use crate::index_object;
use crate::session_object;
use futures_util::future::try_join_all;
use serde_json::json;
use stint_shared::auth::bearer_matches;
use stint_shared::listing::{ListParams, PageBuilder, Position};
use stint_shared::protocol::{is_uuid_v4, is_valid_site_id};
use stint_shared::session::SessionSummary;
use stint_shared::shard::{index_object_name, INDEX_SHARDS};
use stint_shared::stats::StatsAccumulator;
use worker::{Date, Env, Request, Response};

/// Whether `origin` is one of `DASHBOARD_ORIGINS`.
fn is_dashboard_origin(origin: Option<&str>, env: &Env) -> bool {
    origin.is_some_and(|o| {
        config::get(env)
            .dashboard_origins
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
    if bearer_matches(header.as_deref(), config::get(env).read_token.as_deref()) {
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

    let mut before = params.start();
    let mut page = PageBuilder::new(params.limit);
    for day in params.days() {
        let hop = hops::List {
            from: params.from,
            before: before.clone(),
            limit: page.want(),
            include_bots: params.include_bots,
            filters: params.filters.clone(),
        };
        let names: Vec<String> = (0..INDEX_SHARDS)
            .map(|shard| index_object_name(&params.site, day, shard))
            .collect();
        let shards = try_join_all(names.iter().map(|name| index_object::send(env, name, &hop)));
        page.add_day(shards.await?, position);
        if page.is_full() {
            break;
        }
        // Later days are older; everything before this day's start qualifies.
        before = Position::day_start(day);
    }
    let (sessions, next_cursor) = page.finish(position);
    json_response(
        200,
        &json!({ "sessions": sessions, "next_cursor": next_cursor }),
    )
}

fn position(s: &SessionSummary) -> Position {
    Position {
        started_at: s.started_at,
        id: s.id.clone(),
    }
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
    if session_object::send(env, &site, sid, &hops::Erase {}).await? {
        Ok(Response::empty()?.with_status(204))
    } else {
        Err(ApiError::not_found("session: unknown session"))
    }
}

/// `GET /api/sessions/<sid>?site=…`: one session's summary, pages and events.
pub async fn session_timeline(req: &Request, env: &Env, sid: &str) -> Result<Response, ApiError> {
    authorize(req, env)?;
    let site = session_address(req, sid)?;
    match session_object::send(env, &site, sid, &hops::GetTimeline {}).await? {
        Some(timeline) => json_response(
            200,
            &serde_json::to_value(timeline).map_err(|e| ApiError::internal("timeline", e))?,
        ),
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
    let hop = hops::Stats {
        from: params.from,
        to: params.to,
        include_bots: params.include_bots,
        filters: params.filters.clone(),
    };
    let partials =
        try_join_all(names.iter().map(|name| index_object::send(env, name, &hop))).await?;
    let mut total = StatsAccumulator::default();
    for partial in partials {
        total.merge(partial);
    }
    let stats = serde_json::to_value(total.finish()).map_err(|e| ApiError::internal("stats", e))?;
    json_response(200, &stats)
}
