//! Every call between the worker and its Durable Objects: one request type per operation,
//! the type of its answer, and one way to send it ([`send`]) and to answer it ([`reply`]).
//!
//! A hop is a `POST` to `https://<object>.stint/<operation>` with the request as JSON; a 2xx
//! answer carries the answer as JSON, anything else `{"error": …}` (and `Retry-After` for a
//! refusal that passes), which [`send`] turns back into the same [`ApiError`], so an object's
//! 4xx reaches the client unchanged.

use crate::db::Rows;
use crate::error::ApiError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use stint_shared::journey::Journey;
use stint_shared::listing::{Filters, Position};
use stint_shared::protocol::Batch;
use stint_shared::report::{Partial, Want};
use stint_shared::session::{PageRecord, SessionSummary};
use stint_shared::vocab::Device;
use worker::{Env, Headers, Method, Request, RequestInit, Response};

/// One operation of an object: its path and its answer.
pub trait Hop: Serialize + DeserializeOwned {
    const PATH: &'static str;
    type Answer: Serialize + DeserializeOwned;
}

/// The object classes (`wrangler.toml` bindings).
#[derive(Clone, Copy)]
pub enum Class {
    Sessions,
    Index,
    Settings,
}

impl Class {
    fn binding(self) -> &'static str {
        match self {
            Class::Sessions => "SESSIONS",
            Class::Index => "INDEX",
            Class::Settings => "SETTINGS",
        }
    }
}

/// Sends `hop` to the object named `name` and reads its answer.
pub async fn send<H: Hop>(
    env: &Env,
    class: Class,
    name: &str,
    hop: &H,
) -> Result<H::Answer, ApiError> {
    let stub = env
        .durable_object(class.binding())?
        .id_from_name(name)?
        .get_stub()?;
    let body = serde_json::to_string(hop).map_err(|e| ApiError::internal(H::PATH, e))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    let req = Request::new_with_init(&format!("https://object.stint{}", H::PATH), &init)?;
    let mut resp = stub
        .fetch_with_request(req)
        .await
        .map_err(|e| ApiError::internal(H::PATH, e))?;
    let status = resp.status_code();
    let text = resp.text().await?;
    if (200..300).contains(&status) {
        return serde_json::from_str(&text).map_err(|e| ApiError::internal(H::PATH, e));
    }
    if (400..500).contains(&status) {
        #[derive(Deserialize)]
        struct Refused {
            error: String,
        }
        let message = serde_json::from_str::<Refused>(&text)
            .map(|r| r.error)
            .unwrap_or(text);
        let retry_after = resp
            .headers()
            .get("retry-after")?
            .and_then(|v| v.parse().ok());
        return Err(ApiError::new(status, message).with_retry_after(retry_after));
    }
    Err(ApiError::internal(H::PATH, status))
}

/// Reads a hop's request in the object.
pub fn read<H: Hop>(body: &str) -> Result<H, ApiError> {
    serde_json::from_str(body).map_err(|e| ApiError::bad_request(format!("{}: {e}", H::PATH)))
}

/// Reads a hop's request, runs its handler and answers: what every object operation does.
pub async fn serve<H: Hop, F>(body: &str, handle: impl FnOnce(H) -> F) -> worker::Result<Response>
where
    F: std::future::Future<Output = Result<H::Answer, ApiError>>,
{
    match read::<H>(body) {
        Ok(hop) => reply(handle(hop).await),
        Err(e) => e.into_response(),
    }
}

/// The object's answer to a hop.
pub fn reply<T: Serialize>(answer: Result<T, ApiError>) -> worker::Result<Response> {
    let value = match answer {
        Ok(value) => value,
        Err(e) => return e.into_response(),
    };
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    match serde_json::to_string(&value) {
        Ok(body) => Ok(Response::ok(body)?.with_headers(headers)),
        Err(e) => ApiError::internal("hop answer", e).into_response(),
    }
}

// ---- Session object ----------------------------------------------------------------------

/// What the edge derived from a request: verdicts only, never the IP or User-Agent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EdgeFacts {
    pub received_at: i64,
    pub country: Option<String>,
    pub device: Option<Device>,
    pub os: Option<String>,
    #[serde(default)]
    pub os_version: Option<String>,
    pub browser: Option<String>,
    #[serde(default)]
    pub browser_version: Option<String>,
    pub ua_bot: Option<String>,
    #[serde(default)]
    pub bot_name: Option<String>,
}

impl EdgeFacts {
    /// The verdicts on a request's User-Agent, which goes no further than this call.
    pub fn of_user_agent(received_at: i64, country: Option<String>, ua: &str) -> Self {
        let ua = stint_shared::classify::classify_user_agent(ua);
        EdgeFacts {
            received_at,
            country,
            device: ua.device,
            os: ua.os,
            os_version: ua.os_version,
            browser: ua.browser,
            browser_version: ua.browser_version,
            ua_bot: ua.bot.map(|b| b.as_str().to_string()),
            bot_name: ua.bot_name,
        }
    }

    /// What the reducer is told about a batch these facts came with.
    pub fn context(&self, keep_params: Vec<String>) -> stint_shared::session::BatchContext {
        stint_shared::session::BatchContext {
            received_at: self.received_at,
            keep_params,
            country: self.country.clone(),
            device: self.device,
            os: self.os.clone(),
            os_version: self.os_version.clone(),
            browser: self.browser.clone(),
            browser_version: self.browser_version.clone(),
            ua_bot: self.ua_bot.clone(),
            bot_name: self.bot_name.clone(),
        }
    }
}

/// A validated beacon for its session's object (decoded once, at the edge).
#[derive(Serialize, Deserialize)]
pub struct Ingest {
    pub facts: EdgeFacts,
    pub batch: Batch,
}

/// What one beacon cost, per phase.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct IngestCost {
    /// The session object's own rows (batch, state).
    pub session: Rows,
    /// The index shard's rows (summary, stats row, tallies), 0 when nothing was pushed.
    pub index: Rows,
}

#[derive(Serialize, Deserialize)]
pub struct Ingested {
    /// The batch had been applied before: nothing changed.
    pub duplicate: bool,
    pub cost: IngestCost,
}

impl Hop for Ingest {
    const PATH: &'static str = "/ingest";
    type Answer = Ingested;
}

#[derive(Serialize, Deserialize)]
pub struct GetTimeline {}

/// `GET /api/sessions/<sid>`'s answer (SPEC "Timeline").
#[derive(Serialize, Deserialize)]
pub struct Timeline {
    pub session: SessionSummary,
    pub pages: Vec<PageRecord>,
    pub events: Vec<serde_json::Value>,
}

impl Hop for GetTimeline {
    const PATH: &'static str = "/timeline";
    /// `None`: no such session.
    type Answer = Option<Timeline>;
}

#[derive(Serialize, Deserialize)]
pub struct Erase {}

impl Hop for Erase {
    const PATH: &'static str = "/erase";
    /// `false`: there was no such session.
    type Answer = bool;
}

// ---- Index shard -------------------------------------------------------------------------

/// A session's newest summary, at `version` batches applied, with its journey.
#[derive(Serialize, Deserialize)]
pub struct Upsert {
    pub version: i64,
    pub summary: SessionSummary,
    /// What the session did (absent from releases before journeys).
    #[serde(default)]
    pub journey: Option<Journey>,
    /// When the shard's day leaves the retention period.
    pub expires_at: i64,
    /// Set when a day shard passes the upsert on to its month rollup: the shard (0..4) it
    /// came from.
    #[serde(default)]
    pub shard: Option<u32>,
}

impl Hop for Upsert {
    const PATH: &'static str = "/upsert";
    type Answer = Rows;
}

/// Several sessions' summaries at once (`POST /bench/seed` only).
#[derive(Serialize, Deserialize)]
pub struct UpsertMany {
    pub rows: Vec<Upsert>,
}

impl Hop for UpsertMany {
    const PATH: &'static str = "/upsert-many";
    type Answer = Rows;
}

/// Deletes a session's rows (retention).
#[derive(Serialize, Deserialize)]
pub struct Remove {
    pub id: String,
}

impl Hop for Remove {
    const PATH: &'static str = "/remove";
    type Answer = Rows;
}

/// Deletes a session's rows and rewrites the shard without it (erasure, a day move).
#[derive(Serialize, Deserialize)]
pub struct Purge {
    pub id: String,
    /// The shard's own name, for its held copy.
    pub shard: String,
}

impl Hop for Purge {
    const PATH: &'static str = "/purge";
    type Answer = ();
}

/// A (UTC day, shard) whose sessions a month rollup does not hold yet: the reader asks the
/// day's shard itself.
pub type Pending = Vec<(i64, u32)>;

/// One index object's part of a listing page: up to `limit` matching sessions before
/// `before`, newest first.
#[derive(Serialize, Deserialize)]
pub struct List {
    pub from: i64,
    pub before: Position,
    pub limit: u32,
    pub include_bots: bool,
    pub filters: Filters,
    /// Only sessions seen at or after this time (the live view).
    #[serde(default)]
    pub seen_since: Option<i64>,
    /// Set when asking a month rollup: it starts counting its days if it has not yet.
    #[serde(default)]
    pub rollup: Option<Ensure>,
}

#[derive(Serialize, Deserialize)]
pub struct Listed {
    /// Newest first.
    pub sessions: Vec<SessionSummary>,
    pub pending: Pending,
}

impl Hop for List {
    const PATH: &'static str = "/list";
    type Answer = Listed;
}

/// One index object's partial answer for `[from, to)`: its matching sessions folded as
/// `want` says.
#[derive(Serialize, Deserialize)]
pub struct Query {
    pub from: i64,
    pub to: i64,
    pub include_bots: bool,
    pub filters: Filters,
    pub want: Want,
    /// As in [`List`].
    #[serde(default)]
    pub rollup: Option<Ensure>,
}

#[derive(Serialize, Deserialize)]
pub struct Answered {
    pub partial: Partial,
    pub pending: Pending,
}

impl Hop for Query {
    const PATH: &'static str = "/query";
    type Answer = Answered;
}

/// To a month rollup: make sure it exists and its alarm runs (from a day shard's first
/// upsert, and from reads).
#[derive(Clone, Serialize, Deserialize)]
pub struct Ensure {
    pub site: String,
    /// Any UTC day of the month.
    pub day: i64,
    /// From a day shard that just got its first session: the rollup copies it (again, if it
    /// found it empty before).
    #[serde(default)]
    pub shard: Option<u32>,
}

impl Hop for Ensure {
    const PATH: &'static str = "/ensure";
    type Answer = ();
}

/// To a day shard, from its month rollup: the next rows after `after` (a rowid) for the
/// rollup to copy. From the first of these on, the shard passes every change on to the
/// rollup.
#[derive(Serialize, Deserialize)]
pub struct Deliver {
    pub after: i64,
    pub limit: u32,
    /// The shard's expiry, for its mark (it must go with the day).
    pub expires_at: i64,
    /// The rollup's name, which the shard passes its changes on to from now on.
    pub rollup: String,
}

#[derive(Serialize, Deserialize)]
pub struct Delivered {
    pub rows: Vec<HeldRow>,
    /// The cursor of the next page; `None` when this was the last.
    pub next: Option<i64>,
}

impl Hop for Deliver {
    const PATH: &'static str = "/deliver";
    type Answer = Delivered;
}

/// A summary row as a shard stores it: what a month rollup copies.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HeldRow {
    pub id: String,
    pub started_at: i64,
    pub bot: i64,
    pub version: i64,
    pub summary: String,
    #[serde(default)]
    pub journey: Option<String>,
    /// In a month rollup, the day shard the session came from.
    #[serde(default)]
    pub shard: Option<i64>,
}

/// What a purge's copy in `<object>/held` is, besides its rows: whose it is, which purge made
/// it, and what the object's reset drops besides its sessions.
#[derive(Serialize, Deserialize)]
pub struct HeldFrame {
    pub shard: String,
    pub nonce: String,
    pub alarm: Option<i64>,
    /// The object's `meta` and `deliveries` rows as JSON arrays (what kind of index object
    /// it is), put back with the rows.
    pub meta: Option<String>,
    pub deliveries: Option<String>,
}

/// One part of the copy a purge leaves in `<object>/held` before it resets the object: the
/// first part replaces any earlier copy. `rows` is a JSON array of session rows in the column
/// order `json_each` statements read (`id, started_at, bot, version, summary, journey,
/// shard`), as SQLite wrote it: no row is decoded on the way.
#[derive(Serialize, Deserialize)]
pub struct HoldPart {
    pub frame: HeldFrame,
    pub first: bool,
    /// Carried as it is, not as a string of JSON: nothing is escaped on the way.
    pub rows: Box<serde_json::value::RawValue>,
}

impl Hop for HoldPart {
    const PATH: &'static str = "/hold";
    type Answer = ();
}

/// The held copy's rows after rowid `after`, at most `limit` of them (0: only what the copy
/// is); `None` when nothing is held.
#[derive(Serialize, Deserialize)]
pub struct TakePart {
    pub after: i64,
    pub limit: i64,
}

#[derive(Serialize, Deserialize)]
pub struct HeldPage {
    pub frame: HeldFrame,
    /// As in [`HoldPart`].
    pub rows: Box<serde_json::value::RawValue>,
    /// The `after` of the next page; `None` when this was the last.
    pub next: Option<i64>,
}

impl Hop for TakePart {
    const PATH: &'static str = "/take";
    type Answer = Option<HeldPage>;
}

/// To an object from its copy's alarm: make sure the purge `nonce` finished, and bring the
/// copy's rows back if it did not. Answers whether rows came back.
#[derive(Serialize, Deserialize)]
pub struct Resume {
    pub shard: String,
    pub nonce: String,
}

impl Hop for Resume {
    const PATH: &'static str = "/resume";
    type Answer = bool;
}

/// Drops the held copy: the purge is written.
#[derive(Serialize, Deserialize)]
pub struct Release {}

impl Hop for Release {
    const PATH: &'static str = "/release";
    type Answer = ();
}

// ---- Site settings ------------------------------------------------------------------------

/// The site's settings (defaults when none were saved).
#[derive(Serialize, Deserialize)]
pub struct GetSettings {}

impl Hop for GetSettings {
    const PATH: &'static str = "/get";
    type Answer = stint_shared::settings::SiteSettings;
}

/// Replaces the site's settings (already checked).
#[derive(Serialize, Deserialize)]
pub struct PutSettings(pub stint_shared::settings::SiteSettings);

impl Hop for PutSettings {
    const PATH: &'static str = "/put";
    type Answer = ();
}
