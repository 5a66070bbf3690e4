//! `POST /collect`: validate a beacon at the edge, then hand it to its session's object.

use crate::config;
use crate::error::ApiError;
use crate::session_object::{self, EdgeFacts};
use stint_shared::classify::classify_user_agent;
use stint_shared::protocol::{decode_batch, is_accepted_content_type, DecodeError, MAX_BODY_BYTES};
use stint_shared::sites::SiteRefusal;
use worker::{Date, Env, Headers, Request, Response};

pub async fn handle(mut req: Request, env: &Env) -> Result<Response, ApiError> {
    let headers = req.headers();
    if let Some(len) = headers
        .get("content-length")?
        .and_then(|v| v.parse::<usize>().ok())
    {
        if len > MAX_BODY_BYTES {
            return Err(too_large(len));
        }
    }
    if let Some(ct) = headers.get("content-type")? {
        if !is_accepted_content_type(&ct) {
            return Err(ApiError::new(
                415,
                "content-type: must be text/plain or application/json",
            ));
        }
    }
    let origin = headers.get("origin")?;
    let body = req
        .bytes()
        .await
        .map_err(|_| ApiError::bad_request("body: could not be read"))?;
    let batch = decode_batch(&body).map_err(|e| match e {
        DecodeError::TooLarge { bytes } => too_large(bytes),
        invalid => ApiError::bad_request(invalid.message()),
    })?;
    let sites = config::sites(env)?;
    sites
        .admit(&batch.site, origin.as_deref())
        .map_err(|refusal| match refusal {
            SiteRefusal::UnknownSite => ApiError::forbidden("site: unknown site"),
            SiteRefusal::OriginNotAllowed => {
                ApiError::forbidden("origin: not allowed to send for this site")
            }
        })?;
    // Enrichment: the verdicts travel on, the inputs (IP, User-Agent) stop here.
    let edge = EdgeFacts {
        received_at: Date::now().as_millis() as i64,
        country: req
            .cf()
            .and_then(|cf| cf.country())
            .filter(|c| c.len() == 2),
        ua: classify_user_agent(&req.headers().get("user-agent")?.unwrap_or_default()),
    };
    let answer = session_object::ingest(env, &batch, body, &edge).await?;
    with_cors(answer, origin.as_deref()).await
}

/// Preflight for `fetch` senders that use `application/json`. `sendBeacon` with
/// `text/plain` needs none.
pub fn preflight(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let origin = req.headers().get("origin")?;
    let sites = config::sites(env)?;
    let allowed = origin.as_deref().is_some_and(|o| sites.origin_known(o));
    let headers = Headers::new();
    if allowed {
        headers.set(
            "access-control-allow-origin",
            origin.as_deref().unwrap_or_default(),
        )?;
        headers.set("access-control-allow-methods", "POST")?;
        headers.set("access-control-allow-headers", "content-type")?;
        headers.set("access-control-max-age", "86400")?;
        headers.set("vary", "origin")?;
    }
    Ok(Response::empty()?.with_status(204).with_headers(headers))
}

/// The session object's answer, re-issued with CORS headers for the sending Origin (a
/// subrequest's response headers are immutable, so the answer is copied).
async fn with_cors(mut answer: Response, origin: Option<&str>) -> Result<Response, ApiError> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    if let Some(origin) = origin {
        headers.set("access-control-allow-origin", origin)?;
        headers.set("vary", "origin")?;
    }
    let status = answer.status_code();
    let body = answer.text().await?;
    Ok(Response::ok(body)?
        .with_status(status)
        .with_headers(headers))
}

fn too_large(bytes: usize) -> ApiError {
    ApiError::new(
        413,
        format!("body: {bytes} bytes is over the limit of {MAX_BODY_BYTES} bytes"),
    )
}
