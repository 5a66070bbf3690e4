//! `SiteSettingsObject`: one Durable Object per site (named by the site id) holding its
//! settings as one JSON row (`stint_shared::settings::SiteSettings`, checked before it is
//! stored).

use crate::db::Db;
use crate::error::ApiError;
use crate::hops::{self, serve, Class, Hop};
use serde::Deserialize;
use stint_shared::settings::SiteSettings;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

/// The version of this object's table.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: [&str; 2] = [
    crate::db::SCHEMA_TABLE,
    "CREATE TABLE IF NOT EXISTS settings (k INTEGER PRIMARY KEY CHECK (k = 1), json TEXT NOT NULL)",
];

#[durable_object]
pub struct SiteSettingsObject {
    state: State,
}

impl DurableObject for SiteSettingsObject {
    fn new(state: State, _env: Env) -> Self {
        let db = Db::new(state.storage().sql());
        let made = SCHEMA
            .iter()
            .try_for_each(|s| db.run(s, vec![]))
            .and_then(|()| db.set_schema_version(SCHEMA_VERSION));
        if let Err(e) = made {
            worker::console_error!("settings schema: {}", e.message);
        }
        SiteSettingsObject { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        let body = req.text().await?;
        match path.as_str() {
            hops::GetSettings::PATH => {
                serve(&body, |_: hops::GetSettings| async { self.get() }).await
            }
            hops::PutSettings::PATH => {
                serve(&body, |h: hops::PutSettings| async { self.put(h.0) }).await
            }
            _ => ApiError::not_found("no such settings operation").into_response(),
        }
    }
}

impl SiteSettingsObject {
    fn db(&self) -> Db {
        Db::new(self.state.storage().sql())
    }

    fn get(&self) -> std::result::Result<SiteSettings, ApiError> {
        #[derive(Deserialize)]
        struct Row {
            json: String,
        }
        let row: Option<Row> = self
            .db()
            .first("SELECT json FROM settings WHERE k = 1", vec![])?;
        Ok(row
            .and_then(|r| serde_json::from_str(&r.json).ok())
            .unwrap_or_default())
    }

    fn put(&self, settings: SiteSettings) -> std::result::Result<(), ApiError> {
        let json =
            serde_json::to_string(&settings).map_err(|e| ApiError::internal("settings", e))?;
        self.db().run(
            "INSERT OR REPLACE INTO settings (k, json) VALUES (1, ?)",
            vec![json.into()],
        )
    }
}

/// Sends a hop to the settings object of `site`.
pub async fn send<H: Hop>(
    env: &Env,
    site: &str,
    hop: &H,
) -> std::result::Result<H::Answer, ApiError> {
    hops::send(env, Class::Settings, site, hop).await
}
