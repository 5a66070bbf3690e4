//! The read API: everything behind the bearer token.

use crate::config;
use crate::error::{json_response, ApiError};
use crate::hops;
use crate::index_object;
use crate::session_object;
use crate::settings_object;
use futures_util::future::try_join_all;
use serde_json::{json, Value};
use std::cell::Cell;
use std::collections::BTreeSet;
use stint_shared::auth::bearer_matches;
use stint_shared::export::Format;
use stint_shared::friction;
use stint_shared::funnel::{compare_steps, FunnelSpec};
use stint_shared::linkmap;
use stint_shared::listing::{encode_cursor, ListParams, PageBuilder, Position};
use stint_shared::paths::{self, PathSpec};
use stint_shared::protocol::{is_uuid_v4, is_valid_site_id};
use stint_shared::query::{By, Compare, Interval, ParamError, Step};
use stint_shared::report::{compare_figures, FiguresOut, Partial, Want};
use stint_shared::session::SessionSummary;
use stint_shared::settings::SiteSettings;
use stint_shared::shard::{index_object_name, month_object_name, months_of_range};
use stint_shared::stats::{Stats, StatsAccumulator};
use stint_shared::time::{day_label, MINUTE_MS};
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
        headers.set("access-control-allow-methods", "GET, PUT, DELETE")?;
        headers.set(
            "access-control-allow-headers",
            "authorization, content-type",
        )?;
        headers.set("access-control-expose-headers", "stint-subrequests")?;
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

/// Most Durable Object subrequests one read makes, whatever its range: the Workers Free plan
/// allows 50 per request. A year is 13 month rollups (26 with a comparison) plus the shards
/// of the days the rollups do not hold yet (today's and yesterday's: 8).
pub const SUBREQUEST_BUDGET: usize = 50;

/// The query parameters of a request.
fn pairs(req: &Request) -> Result<Vec<(String, String)>, ApiError> {
    Ok(req.url()?.query_pairs().into_owned().collect())
}

fn now() -> i64 {
    Date::now().as_millis() as i64
}

/// The site, range, filter, paging and bot parameters, leaving `except` to the caller.
fn range_params(pairs: &[(String, String)], except: &[&str]) -> Result<ListParams, ApiError> {
    ListParams::parse_except(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        now(),
        except,
    )
    .map_err(bad)
}

fn bad(e: ParamError) -> ApiError {
    ApiError::bad_request(e.0)
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn compare_param(pairs: &[(String, String)]) -> Result<Option<Compare>, ApiError> {
    param(pairs, "compare")
        .map(|v| Compare::parse(v).map_err(bad))
        .transpose()
}

/// What one read cost and left out: Durable Object subrequests made, and the UTC days whose
/// sessions it could not count within [`SUBREQUEST_BUDGET`] (rollups still catching up).
#[derive(Default)]
struct Reach {
    subrequests: Cell<usize>,
    incomplete: std::cell::RefCell<BTreeSet<i64>>,
}

impl Reach {
    fn spend(&self, n: usize) {
        self.subrequests.set(self.subrequests.get() + n);
    }

    /// Adds `incomplete` to an answer when days were left out.
    fn note(&self, answer: &mut Value) {
        let days = self.incomplete.borrow();
        if !days.is_empty() {
            answer["incomplete"] = json!({
                "days": days.iter().map(|d| day_label(*d)).collect::<Vec<_>>(),
                "reason": "the month rollups are still copying these days; ask again shortly",
            });
        }
    }

    /// The pending (day, shard) pairs to ask, newest first, as far as `room` subrequests go;
    /// the days of the rest are noted as incomplete.
    fn within(&self, mut pending: hops::Pending, room: usize) -> hops::Pending {
        pending.sort_by(|a, b| b.cmp(a));
        let left = pending.split_off(room.min(pending.len()));
        self.incomplete
            .borrow_mut()
            .extend(left.iter().map(|(day, _)| *day));
        pending
    }

    fn respond(&self, mut answer: Value) -> Result<Response, ApiError> {
        self.note(&mut answer);
        let mut response = json_response(200, &answer)?;
        response
            .headers_mut()
            .set("stint-subrequests", &self.subrequests.get().to_string())?;
        Ok(response)
    }
}

/// Folds the site's sessions in `[from, to)`: the month rollups first, then the shards of
/// the days they do not hold yet, newest first, as far as `budget` subrequests go.
async fn fold_range(
    env: &Env,
    params: &ListParams,
    (from, to): (i64, i64),
    want: &Want,
    budget: usize,
    reach: &Reach,
) -> Result<Partial, ApiError> {
    let hop = |rollup| hops::Query {
        from,
        to,
        include_bots: params.include_bots,
        filters: params.filters.clone(),
        want: want.clone(),
        rollup,
    };
    let months = months_of_range(from, to);
    let asks = months.iter().map(|m| {
        let ensure = hops::Ensure {
            site: params.site.clone(),
            day: *m,
            shard: None,
        };
        let name = month_object_name(&params.site, *m);
        let hop = hop(Some(ensure));
        async move { index_object::send(env, &name, &hop).await }
    });
    let answers = try_join_all(asks).await?;
    reach.spend(months.len());
    let mut partial = Partial::new(want);
    let mut pending = Vec::new();
    for a in answers {
        partial.merge(a.partial);
        pending.extend(a.pending);
    }
    let ask = reach.within(pending, budget.saturating_sub(months.len()));
    let shard_hop = hop(None);
    let shards = try_join_all(ask.iter().map(|(day, shard)| {
        let name = index_object_name(&params.site, *day, *shard);
        let hop = &shard_hop;
        async move { index_object::send(env, &name, hop).await }
    }))
    .await?;
    reach.spend(ask.len());
    for a in shards {
        partial.merge(a.partial);
    }
    Ok(partial)
}

/// A read's own range and, with `compare=`, the compared one: budgets split so both fit.
/// A read's own partial, and with `compare=` the compared range's.
type Folded = (Partial, Option<(Compare, i64, i64, Partial)>);

async fn fold_both(
    env: &Env,
    params: &ListParams,
    compare: Option<Compare>,
    want: &Want,
    reach: &Reach,
) -> Result<Folded, ApiError> {
    // Reads that also ask the site's settings leave a subrequest for it.
    let budget = match want {
        Want::Stats | Want::Series(_) => SUBREQUEST_BUDGET,
        _ => SUBREQUEST_BUDGET - 1,
    };
    let Some(compare) = compare else {
        let now = fold_range(env, params, (params.from, params.to), want, budget, reach).await?;
        return Ok((now, None));
    };
    let (from, to) = compare.range(params.from, params.to);
    // The compared period is in the past: its rollups hold it, bar a day or two.
    let theirs = months_of_range(from, to).len() + 2;
    let (now, before) = futures_util::future::try_join(
        fold_range(
            env,
            params,
            (params.from, params.to),
            want,
            budget - theirs,
            reach,
        ),
        fold_range(env, params, (from, to), want, theirs, reach),
    )
    .await?;
    Ok((now, Some((compare, from, to, before))))
}

fn figures_of(stats: &Stats) -> FiguresOut {
    FiguresOut {
        sessions: stats.sessions,
        pageviews: stats.pageviews,
        median_active_ms: stats.median_active_ms,
        bounce_rate: stats.bounce_rate,
        pages_per_session: if stats.sessions == 0 {
            0.0
        } else {
            stats.pageviews as f64 / stats.sessions as f64
        },
    }
}

fn to_json<T: serde::Serialize>(what: &'static str, value: &T) -> Result<Value, ApiError> {
    serde_json::to_value(value).map_err(|e| ApiError::internal(what, e))
}

fn stats_of(partial: Partial) -> StatsAccumulator {
    match partial {
        Partial::Stats(acc) => acc,
        _ => StatsAccumulator::default(),
    }
}

/// `GET /api/stats`: totals, top lists and sessions per hour, with `compare=` the same for
/// the compared period and the change of each headline figure.
pub async fn site_stats(req: &Request, env: &Env) -> Result<Response, ApiError> {
    authorize(req, env)?;
    let pairs = pairs(req)?;
    let params = range_params(&pairs, &["compare"])?;
    let compare = compare_param(&pairs)?;
    let reach = Reach::default();
    let (now, before) = fold_both(env, &params, compare, &Want::Stats, &reach).await?;
    let stats = stats_of(now).finish();
    let mut answer = to_json("stats", &stats)?;
    let figures = figures_of(&stats);
    answer["pages_per_session"] = json!(figures.pages_per_session);
    if let Some((compare, from, to, before)) = before {
        let previous = stats_of(before).finish();
        answer["compare"] = json!({ "compare": compare_name(compare), "from": from, "to": to });
        answer["change"] = to_json("change", &compare_figures(&figures, &figures_of(&previous)))?;
        answer["previous"] = to_json("stats", &previous)?;
    }
    reach.respond(answer)
}

fn compare_name(c: Compare) -> &'static str {
    match c {
        Compare::Previous => "previous",
        Compare::Year => "year",
    }
}

/// `GET /api/timeseries?interval=hour|day|week|month`: a point per interval, empty ones
/// included; with `compare=` the compared period's points, one for one.
pub async fn timeseries(req: &Request, env: &Env) -> Result<Response, ApiError> {
    authorize(req, env)?;
    let pairs = pairs(req)?;
    let params = range_params(&pairs, &["interval", "compare"])?;
    let compare = compare_param(&pairs)?;
    let interval = match param(&pairs, "interval") {
        Some(v) => Interval::parse(v).map_err(bad)?,
        None => Interval::default_for(params.from, params.to),
    };
    interval.check(params.from, params.to).map_err(bad)?;
    let reach = Reach::default();
    let want = Want::Series(interval);
    let (now, before) = fold_both(env, &params, compare, &want, &reach).await?;
    let points = |p: &Partial, from, to| match p {
        Partial::Series(series) => series.finish(from, to),
        _ => Vec::new(),
    };
    let mut answer = json!({
        "interval": interval.name(),
        "from": params.from,
        "to": params.to,
        "points": to_json("points", &points(&now, params.from, params.to))?,
    });
    if let Some((compare, from, to, before)) = before {
        answer["compare"] = json!({
            "compare": compare_name(compare),
            "from": from,
            "to": to,
            "points": to_json("points", &points(&before, from, to))?,
        });
    }
    reach.respond(answer)
}

/// Most rows a breakdown answers.
const MAX_BREAKDOWN_ROWS: usize = 1_000;

/// `GET /api/breakdown?by=<dimension>[&goal=<step>][&limit=]`: rows with sessions, page
/// views, median engaged time, bounce rate and share, conversions for a goal; with
/// `compare=` each row's figures then and the change in sessions.
pub async fn breakdown(req: &Request, env: &Env) -> Result<Response, ApiError> {
    authorize(req, env)?;
    let pairs = pairs(req)?;
    let params = range_params(&pairs, &["by", "goal", "limit", "compare"])?;
    let compare = compare_param(&pairs)?;
    let by = param(&pairs, "by")
        .ok_or_else(|| ApiError::bad_request(format!("by: missing; {}", By::expected())))?;
    let by =
        By::parse(by).ok_or_else(|| ApiError::bad_request(format!("by: {}", By::expected())))?;
    let goal = param(&pairs, "goal")
        .map(|g| Step::parse(g).map_err(|e| ApiError::bad_request(format!("goal: {e}"))))
        .transpose()?;
    let limit = limit_param(&pairs, 100, MAX_BREAKDOWN_ROWS)?;
    let reach = Reach::default();
    let want = Want::Breakdown {
        by: by.clone(),
        goal: goal.clone(),
    };
    let ((now, before), min) = fold_with_min(env, &params, compare, &want, &reach).await?;
    let Partial::Breakdown(now) = now else {
        return Err(ApiError::internal("breakdown", "another partial"));
    };
    let rows = now.finish(limit, min);
    let mut rows_json = to_json("rows", &rows)?;
    let mut answer = json!({
        "by": by.name(),
        "goal": goal.as_ref().map(Step::text),
        "sessions": now.total.sessions,
        "conversions": goal.as_ref().map(|_| now.total_conversions),
        "rows_total": now.cells.len(),
    });
    if let Some((compare, from, to, Partial::Breakdown(before))) = before {
        let previous = before.finish(usize::MAX, min);
        if let Some(list) = rows_json.as_array_mut() {
            for (row, json_row) in rows.iter().zip(list.iter_mut()) {
                let then = previous.iter().find(|p| p.value == row.value);
                json_row["previous"] = match then {
                    Some(p) => to_json("row", &p.figures)?,
                    None => Value::Null,
                };
                json_row["change"] = json!(stint_shared::query::change(
                    row.figures.sessions as f64,
                    then.map_or(0.0, |p| p.figures.sessions as f64),
                    now.total.sessions,
                    before.total.sessions,
                ));
            }
        }
        answer["compare"] = json!({
            "compare": compare_name(compare),
            "from": from,
            "to": to,
            "sessions": before.total.sessions,
        });
    }
    answer["rows"] = rows_json;
    reach.respond(answer)
}

/// The site's `min_sessions` (rows naming fewer sessions are folded into "other").
async fn min_sessions(env: &Env, site: &str, reach: &Reach) -> Result<u64, ApiError> {
    let settings = settings_object::send(env, site, &hops::GetSettings {}).await?;
    reach.spend(1);
    Ok(u64::from(settings.min_sessions.max(1)))
}

/// [`fold_both`] and, asked beside it, the site's [`min_sessions`]: what every report that
/// folds rare rows into "other" reads.
async fn fold_with_min(
    env: &Env,
    params: &ListParams,
    compare: Option<Compare>,
    want: &Want,
    reach: &Reach,
) -> Result<(Folded, u64), ApiError> {
    futures_util::future::try_join(
        fold_both(env, params, compare, want, reach),
        min_sessions(env, &params.site, reach),
    )
    .await
}

/// A `limit` parameter between 1 and `max`, `default` when absent.
fn limit_param(pairs: &[(String, String)], default: usize, max: usize) -> Result<usize, ApiError> {
    match param(pairs, "limit") {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::bad_request(format!("limit: must be between 1 and {max}"))),
    }
}

fn str_pairs(pairs: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

/// `GET /api/funnel?step=…&step=…[&mode=][&window=]`: per step the sessions reaching it,
/// conversion, drop-off, median engaged time from the step before, where the dropped
/// sessions went and a few of their IDs; with `compare=` each step's figures then.
pub async fn funnel(req: &Request, env: &Env) -> Result<Response, ApiError> {
    authorize(req, env)?;
    let pairs = pairs(req)?;
    let params = range_params(&pairs, &["step", "mode", "window", "compare"])?;
    let compare = compare_param(&pairs)?;
    let spec = FunnelSpec::parse(str_pairs(&pairs)).map_err(bad)?;
    let reach = Reach::default();
    let want = Want::Funnel(spec.clone());
    let (folded, min) = fold_with_min(env, &params, compare, &want, &reach).await?;
    let (now, before) = folded;
    let Partial::Funnel(now) = now else {
        return Err(ApiError::internal("funnel", "another partial"));
    };
    let steps = now.finish(min);
    let mut steps_json = to_json("steps", &steps)?;
    let mut answer = json!({
        "mode": spec.mode.name(),
        "window_minutes": spec.window_ms.map(|w| w / MINUTE_MS),
        "sessions": now.sessions,
    });
    if let Some((compare, from, to, Partial::Funnel(before))) = before {
        let then = before.finish(min);
        let changes = compare_steps(&steps, &then);
        if let Some(list) = steps_json.as_array_mut() {
            for ((row, p), change) in list.iter_mut().zip(&then).zip(changes) {
                row["previous"] = json!({ "sessions": p.sessions, "conversion": p.conversion });
                row["change"] = json!(change);
            }
        }
        answer["compare"] = json!({
            "compare": compare_name(compare),
            "from": from,
            "to": to,
            "sessions": before.sessions,
        });
    }
    answer["steps"] = steps_json;
    reach.respond(answer)
}

/// `GET /api/paths?start=<step>|end=<step>[&depth=][&limit=][&via=…]`: per step after the
/// start (before the end) the top pages and the sessions that went no further.
pub async fn paths(req: &Request, env: &Env) -> Result<Response, ApiError> {
    authorize(req, env)?;
    let pairs = pairs(req)?;
    let params = range_params(&pairs, &["start", "end", "depth", "via", "limit"])?;
    let spec = PathSpec::parse(str_pairs(&pairs)).map_err(bad)?;
    let limit = limit_param(&pairs, paths::DEFAULT_LIMIT, paths::MAX_LIMIT)?;
    let reach = Reach::default();
    let want = Want::Paths(spec.clone());
    let (folded, min) = fold_with_min(env, &params, None, &want, &reach).await?;
    let Partial::Paths(p) = folded.0 else {
        return Err(ApiError::internal("paths", "another partial"));
    };
    let (key, direction) = if spec.backward {
        ("end", "backward")
    } else {
        ("start", "forward")
    };
    reach.respond(json!({
        key: spec.anchor.text(),
        "direction": direction,
        "depth": spec.depth,
        "sessions": p.sessions,
        "steps": to_json("steps", &p.finish(limit, min))?,
    }))
}

/// `GET /api/links?page=<path>[&limit=]`: every link clicked on the page.
pub async fn links(req: &Request, env: &Env) -> Result<Response, ApiError> {
    authorize(req, env)?;
    let pairs = pairs(req)?;
    let params = range_params(&pairs, &["page", "limit"])?;
    let page =
        match param(&pairs, "page").map(Step::parse) {
            Some(Ok(Step::Page(p))) => p,
            Some(Err(e)) => return Err(ApiError::bad_request(format!("page: {e}"))),
            Some(Ok(_)) => return Err(ApiError::bad_request(
                "page: must be a page path like /pricing or a pattern like /blog/*, not an event",
            )),
            None => {
                return Err(ApiError::bad_request(
                    "page: missing; a page path like /pricing or a pattern like /blog/*",
                ))
            }
        };
    let limit = limit_param(&pairs, 100, linkmap::MAX_LINKS)?;
    let reach = Reach::default();
    let want = Want::Links(page.clone());
    let (folded, min) = fold_with_min(env, &params, None, &want, &reach).await?;
    let Partial::Links(map) = folded.0 else {
        return Err(ApiError::internal("links", "another partial"));
    };
    let (links, other) = map.finish(limit, min);
    reach.respond(json!({
        "page": page,
        "sessions": map.sessions,
        "clicking_sessions": map.clicking_sessions,
        "clicks": map.clicks,
        "links": to_json("links", &links)?,
        "other_clicks": other,
        "links_total": map.links.len(),
    }))
}

/// `GET /api/friction[&sort=][&limit=]`: per page, rage and dead clicks, errors, forms
/// started and abandoned, and page speed (median and p75), ranked by `sort`.
pub async fn friction(req: &Request, env: &Env) -> Result<Response, ApiError> {
    authorize(req, env)?;
    let pairs = pairs(req)?;
    let params = range_params(&pairs, &["sort", "limit"])?;
    let sort = match param(&pairs, "sort") {
        None => friction::Sort::Friction,
        Some(name) => friction::Sort::parse(name).ok_or_else(|| {
            ApiError::bad_request(format!(
                "sort: must be one of {}",
                friction::Sort::NAMES.join(", ")
            ))
        })?,
    };
    let limit = limit_param(&pairs, friction::DEFAULT_PAGES, friction::MAX_PAGES)?;
    let reach = Reach::default();
    let (folded, min) = fold_with_min(env, &params, None, &Want::Friction, &reach).await?;
    let Partial::Friction(f) = folded.0 else {
        return Err(ApiError::internal("friction", "another partial"));
    };
    let mut answer = to_json("totals", &f.totals())?;
    answer["sort"] = json!(sort.name());
    answer["pages"] = to_json("pages", &f.finish(sort, limit, min))?;
    reach.respond(answer)
}

/// Lists sessions newest first across the range: each month rollup, then the shards of the
/// days it does not hold yet, until the page is full.
async fn list_range(
    env: &Env,
    params: &ListParams,
    limit: u32,
    seen_since: Option<i64>,
    reach: &Reach,
) -> Result<(Vec<SessionSummary>, Option<String>), ApiError> {
    let mut before = params.start();
    let mut page = PageBuilder::new(limit);
    for month in months_of_range(params.from, before.started_at) {
        let hop = |rollup| hops::List {
            from: params.from,
            before: before.clone(),
            limit: page.want(),
            include_bots: params.include_bots,
            filters: params.filters.clone(),
            seen_since,
            rollup,
        };
        let ensure = hops::Ensure {
            site: params.site.clone(),
            day: month,
            shard: None,
        };
        let listed = index_object::send(
            env,
            &month_object_name(&params.site, month),
            &hop(Some(ensure)),
        )
        .await?;
        reach.spend(1);
        let ask = reach.within(
            listed.pending,
            SUBREQUEST_BUDGET.saturating_sub(reach.subrequests.get()),
        );
        let shard_hop = hop(None);
        let mut lists = vec![listed.sessions];
        for answer in try_join_all(ask.iter().map(|(day, shard)| {
            let name = index_object_name(&params.site, *day, *shard);
            let hop = &shard_hop;
            async move { index_object::send(env, &name, hop).await }
        }))
        .await?
        {
            lists.push(answer.sessions);
        }
        reach.spend(ask.len());
        page.add_day(lists, position);
        if page.is_full() {
            break;
        }
        // Earlier months are older; everything before this month's start qualifies.
        before = Position::day_start(month);
        if reach.subrequests.get() >= SUBREQUEST_BUDGET {
            // Out of subrequests with the page not full: the next page goes on below this
            // month (a cursor of the month's start), unless the range ends in it.
            let (rows, next) = page.finish(position);
            let on = (before.started_at > params.from)
                .then(|| encode_cursor(before.started_at, &before.id));
            return Ok((rows, next.or(on)));
        }
    }
    Ok(page.finish(position))
}

/// `GET /api/sessions`: summaries newest first, a page at a time.
pub async fn list_sessions(req: &Request, env: &Env) -> Result<Response, ApiError> {
    authorize(req, env)?;
    let pairs = pairs(req)?;
    let params = range_params(&pairs, &[])?;
    let reach = Reach::default();
    let (sessions, next_cursor) = list_range(env, &params, params.limit, None, &reach).await?;
    reach.respond(json!({ "sessions": sessions, "next_cursor": next_cursor }))
}

/// Sessions seen this recently are live.
pub const LIVE_MS: i64 = 5 * MINUTE_MS;
/// Most live sessions listed.
const LIVE_LIMIT: u32 = 200;

/// `GET /api/live`: sessions seen in the last five minutes, with their current page and
/// engaged time so far (SPEC `live`; filters apply).
pub async fn live(req: &Request, env: &Env) -> Result<Response, ApiError> {
    authorize(req, env)?;
    let pairs = pairs(req)?;
    let mut params = range_params(&pairs, &["from", "to", "limit", "cursor"])?;
    let now = now();
    // A session started up to two days ago may still be going.
    params.to = now + 1;
    params.from = now - 2 * stint_shared::time::DAY_MS;
    params.cursor = None;
    let reach = Reach::default();
    let (sessions, _) = list_range(env, &params, LIVE_LIMIT, Some(now - LIVE_MS), &reach).await?;
    let mut live: Vec<Value> = sessions
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "page": s.exit_page,
                "active_ms": s.active_ms,
                "pageviews": s.pageviews,
                "started_at": s.started_at,
                "last_seen_at": s.last_seen_at,
                "channel": s.channel,
                "referrer_host": s.referrer_host,
                "country": s.country,
                "device": s.device,
            })
        })
        .collect();
    live.sort_by_key(|s| std::cmp::Reverse(s["last_seen_at"].as_i64().unwrap_or(0)));
    reach.respond(json!({ "count": live.len(), "window_ms": LIVE_MS, "sessions": live }))
}

/// Rows per page of an export, and most pages one export asks for (each page is a
/// subrequest or a few).
const EXPORT_PAGE: u32 = 2_000;

/// `GET /api/export?format=csv|ndjson`: every session summary in range, newest first,
/// streamed a page at a time. Past [`SUBREQUEST_BUDGET`] it stops and says where to go on:
/// a last line `{"next_cursor": …}` (NDJSON) or `# next_cursor=…` (CSV).
pub async fn export(req: &Request, env: &Env) -> Result<Response, ApiError> {
    authorize(req, env)?;
    let pairs = pairs(req)?;
    let params = range_params(&pairs, &["format", "limit"])?;
    let format = param(&pairs, "format")
        .map(|f| {
            Format::parse(f).ok_or_else(|| ApiError::bad_request("format: must be csv or ndjson"))
        })
        .transpose()?
        .unwrap_or(Format::Csv);
    let env = env.clone();
    let reach = Reach::default();
    let first = list_range(&env, &params, EXPORT_PAGE, None, &reach).await?;
    let head = format.head();
    // Each later page comes from its own read, so a long export streams as it is read.
    let stream = futures_util::stream::unfold(
        (Some(first), head, reach, false),
        move |(page, head, reach, done)| {
            let env = env.clone();
            let mut params = params.clone();
            async move {
                if done {
                    return None;
                }
                let (sessions, next) = match page {
                    Some(page) => page,
                    None => {
                        return None;
                    }
                };
                let mut chunk = head;
                for s in &sessions {
                    chunk.push_str(&format.line(s));
                }
                // Days the month rollups are still copying, which no page of this export
                // (nor the next, from its cursor) reads.
                let days: Vec<String> = reach
                    .incomplete
                    .borrow()
                    .iter()
                    .map(|d| day_label(*d))
                    .collect();
                let days = days.join(" ");
                let Some(cursor) = next else {
                    if !days.is_empty() {
                        chunk.push_str(&format.trailer(&[("incomplete", &days)]));
                    }
                    return Some((
                        Ok::<Vec<u8>, worker::Error>(chunk.into_bytes()),
                        (None, String::new(), reach, true),
                    ));
                };
                if reach.subrequests.get() >= SUBREQUEST_BUDGET {
                    let mut fields = vec![("next_cursor", cursor.as_str())];
                    if !days.is_empty() {
                        fields.push(("incomplete", &days));
                    }
                    chunk.push_str(&format.trailer(&fields));
                    return Some((Ok(chunk.into_bytes()), (None, String::new(), reach, true)));
                }
                params.cursor = stint_shared::listing::decode_cursor(&cursor);
                match list_range(&env, &params, EXPORT_PAGE, None, &reach).await {
                    Ok(p) => Some((
                        Ok(chunk.into_bytes()),
                        (Some(p), String::new(), reach, false),
                    )),
                    Err(e) => {
                        // The answer has begun: the failure and where to go on end the file.
                        worker::console_error!("export: {}", e.message);
                        let mut fields =
                            vec![("error", e.message.as_str()), ("next_cursor", &cursor)];
                        if !days.is_empty() {
                            fields.push(("incomplete", &days));
                        }
                        chunk.push_str(&format.trailer(&fields));
                        Some((Ok(chunk.into_bytes()), (None, String::new(), reach, true)))
                    }
                }
            }
        },
    );
    let mut response = Response::from_stream(stream)?;
    let headers = response.headers_mut();
    headers.set("content-type", format.content_type())?;
    headers.set(
        "content-disposition",
        &format!(
            "attachment; filename=\"stint-sessions.{}\"",
            format.extension()
        ),
    )?;
    Ok(response)
}

/// `GET /api/settings?site=`: the site's saved segments and `min_sessions`.
pub async fn get_settings(req: &Request, env: &Env) -> Result<Response, ApiError> {
    authorize(req, env)?;
    let site = site_param(req)?;
    let settings = settings_object::send(env, &site, &hops::GetSettings {}).await?;
    json_response(200, &to_json("settings", &settings)?)
}

/// `PUT /api/settings?site=`: replaces them (a 400 names the first bad field).
pub async fn put_settings(mut req: Request, env: &Env) -> Result<Response, ApiError> {
    authorize(&req, env)?;
    let site = site_param(&req)?;
    let body = req.bytes().await?;
    let settings = SiteSettings::parse(&body).map_err(bad)?;
    settings_object::send(env, &site, &hops::PutSettings(settings.clone())).await?;
    json_response(200, &to_json("settings", &settings)?)
}

fn site_param(req: &Request) -> Result<String, ApiError> {
    let url = req.url()?;
    let site = url
        .query_pairs()
        .find(|(k, _)| k == "site")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| ApiError::bad_request("site: missing"))?;
    if !is_valid_site_id(&site) {
        return Err(ApiError::bad_request("site: not a valid site id"));
    }
    Ok(site)
}

fn position(s: &SessionSummary) -> Position {
    Position {
        started_at: s.started_at,
        id: s.id.clone(),
    }
}

/// The session ID of `/api/sessions/<sid>?site=…`, and the site.
fn session_address(req: &Request, sid: &str) -> Result<String, ApiError> {
    let site = site_param(req)?;
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

/// `GET /api/sessions/<sid>?site=…`: one session's summary, pages and events; each page
/// with its speed figures rated (`ratings`, [`friction::view_ratings`]).
pub async fn session_timeline(req: &Request, env: &Env, sid: &str) -> Result<Response, ApiError> {
    authorize(req, env)?;
    let site = session_address(req, sid)?;
    let Some(timeline) = session_object::send(env, &site, sid, &hops::GetTimeline {}).await? else {
        return Err(ApiError::not_found("session: unknown session"));
    };
    let mut answer = to_json("timeline", &timeline)?;
    if let Some(pages) = answer.get_mut("pages").and_then(Value::as_array_mut) {
        for (page, record) in pages.iter_mut().zip(&timeline.pages) {
            page["ratings"] = to_json("ratings", &friction::view_ratings(&record.vitals))?;
        }
    }
    json_response(200, &answer)
}
