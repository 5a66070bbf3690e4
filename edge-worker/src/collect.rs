//! `POST /collect`: validate a beacon at the edge, then hand it to its session's object.

use crate::config;
use crate::error::ApiError;
use crate::hops::{EdgeFacts, Ingest, Ingested};
use crate::session_object;
use futures_util::StreamExt;
use stint_shared::protocol::{decode_batch, is_accepted_content_type, DecodeError, MAX_BODY_BYTES};
use stint_shared::sites::SiteRefusal;
use worker::{Date, Env, Headers, Request, Response};

pub async fn handle(req: Request, env: &Env) -> Result<Response, ApiError> {
    let origin = req.headers().get("origin")?;
    let answer = match accept(req, env).await {
        Ok((ingested, cost_report)) => {
            let body = if ingested.duplicate {
                r#"{"ok":true,"duplicate":true}"#
            } else {
                r#"{"ok":true}"#
            };
            let mut response = Response::ok(body)?.with_status(202);
            let headers = response.headers_mut();
            headers.set("content-type", "application/json")?;
            if cost_report {
                let c = ingested.cost;
                headers.set(
                    "x-stint-rows-session",
                    &format!("{} {}", c.session.read, c.session.written),
                )?;
                headers.set(
                    "x-stint-rows-index",
                    &format!("{} {}", c.index.read, c.index.written),
                )?;
            }
            response
        }
        Err(e) => e.into_response()?,
    };
    with_cors(answer, origin.as_deref())
}

/// Validates a beacon and hands it to its session's object.
async fn accept(mut req: Request, env: &Env) -> Result<(Ingested, bool), ApiError> {
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
    let body = read_body(&mut req).await?;
    let batch = decode_batch(&body).map_err(|e| match e {
        DecodeError::TooLarge { bytes } => too_large(bytes),
        invalid => ApiError::bad_request(invalid.message()),
    })?;
    let config = config::get(env);
    config
        .sites()?
        .admit(&batch.site, origin.as_deref())
        .map_err(|refusal| match refusal {
            SiteRefusal::UnknownSite => ApiError::forbidden("site: unknown site"),
            SiteRefusal::OriginNotAllowed => {
                ApiError::forbidden("origin: not allowed to send for this site")
            }
        })?;
    // Enrichment: the verdicts travel on, the inputs (IP, User-Agent) stop here.
    let mut received_at = Date::now().as_millis() as i64;
    let mut country = req.cf().and_then(|cf| cf.country());
    if config.test_edge {
        // Tests only (`STINT_TEST_EDGE=1`, set by no wrangler.toml): a data set spread over
        // past weeks and countries, sent through the real path.
        let test = req.headers();
        if let Some(now) = test.get("stint-test-now")?.and_then(|v| v.parse().ok()) {
            received_at = now;
        }
        if let Some(c) = test.get("stint-test-country")? {
            country = Some(c);
        }
    }
    let facts = EdgeFacts::of_user_agent(
        received_at,
        country.filter(|c| c.len() == 2),
        &req.headers().get("user-agent")?.unwrap_or_default(),
    );
    let (site, sid) = (batch.site.clone(), batch.sid.clone());
    let ingested = session_object::send(env, &site, &sid, &Ingest { facts, batch }).await?;
    Ok((ingested, config.cost_report))
}

/// Preflight for `fetch` senders that use `application/json`. `sendBeacon` with
/// `text/plain` needs none.
pub fn preflight(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let origin = req.headers().get("origin")?;
    let config = config::get(env);
    let allowed = origin
        .as_deref()
        .is_some_and(|o| config.sites().is_ok_and(|s| s.origin_known(o)));
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

/// Every answer to a beacon carries CORS headers for the sending Origin, refusals too: a
/// `fetch` sender must be able to read the status to tell "final" from "retry later".
fn with_cors(mut answer: Response, origin: Option<&str>) -> Result<Response, ApiError> {
    if let Some(origin) = origin {
        let headers = answer.headers_mut();
        headers.set("access-control-allow-origin", origin)?;
        headers.set("access-control-expose-headers", "retry-after")?;
        headers.set("vary", "origin")?;
    }
    Ok(answer)
}

fn too_large(bytes: usize) -> ApiError {
    ApiError::new(413, DecodeError::TooLarge { bytes }.message())
}

/// The body, read as it arrives: past [`MAX_BODY_BYTES`] the rest is read and dropped and
/// the answer is 413, so one sent without `Content-Length` (chunked) is never held whole,
/// however long it is. The upload is read to its end rather than answered mid-way: under
/// `wrangler dev` an answer that overtakes the upload is now and then lost to its proxies
/// (a 502 or 503 instead of the 413), and a deployed worker's request bodies end (the
/// platform caps them).
async fn read_body(req: &mut Request) -> Result<Vec<u8>, ApiError> {
    // No body at all reads as an empty one (the decoder names what is missing).
    let Ok(mut stream) = req.stream() else {
        return Ok(Vec::new());
    };
    let mut body = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::bad_request("body: could not be read"))?;
        seen = seen.saturating_add(chunk.len());
        if seen <= MAX_BODY_BYTES {
            body.extend_from_slice(&chunk);
        }
    }
    if seen > MAX_BODY_BYTES {
        return Err(too_large(seen));
    }
    Ok(body)
}
