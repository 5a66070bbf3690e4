//! The one error type every handler returns, and its mapping to HTTP answers.

use serde_json::json;
use stint_shared::refusal::Refusal;
use worker::{Headers, Response};

/// An answer other than success: a status and a sentence for `{"error": …}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
    allow: Option<&'static str>,
    /// `Retry-After` seconds, for a refusal that passes.
    retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            allow: None,
            retry_after: None,
        }
    }

    pub fn with_retry_after(self, seconds: Option<u32>) -> Self {
        ApiError {
            retry_after: seconds,
            ..self
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "missing or wrong bearer token")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, message)
    }

    pub fn method_not_allowed(allow: &'static str) -> Self {
        ApiError {
            allow: Some(allow),
            ..Self::new(405, format!("method not allowed; use {allow}"))
        }
    }

    /// A failure of ours (storage, a subrequest). Logged without request data, answered 503
    /// so a tracker retries; never a panic.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        worker::console_error!("{context}: {err}");
        Self::new(503, "temporarily unavailable, retry later")
    }

    pub fn into_response(self) -> worker::Result<Response> {
        let headers = Headers::new();
        headers.set("content-type", "application/json")?;
        if let Some(allow) = self.allow {
            headers.set("allow", allow)?;
        }
        if let Some(seconds) = self.retry_after {
            headers.set("retry-after", &seconds.to_string())?;
        }
        let body = json!({ "error": self.message }).to_string();
        Ok(Response::ok(body)?
            .with_status(self.status)
            .with_headers(headers))
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        ApiError::new(r.status(), r.message()).with_retry_after(r.retry_after_s())
    }
}

impl From<worker::Error> for ApiError {
    fn from(err: worker::Error) -> Self {
        ApiError::internal("runtime", err)
    }
}

/// A JSON success answer.
pub fn json_response(status: u16, body: &serde_json::Value) -> Result<Response, ApiError> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    Ok(Response::ok(body.to_string())?
        .with_status(status)
        .with_headers(headers))
}
