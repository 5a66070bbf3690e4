//! `GET /api/export`: session summaries as CSV (RFC 4180) or NDJSON, one line each.
//!
//! CSV cells are quoted when they hold a comma, quote or line break, and a text cell that a
//! spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage
//! return) gets a leading `'`: an exported referrer or page must not run in someone's
//! spreadsheet (OWASP "CSV injection").

use crate::session::SessionSummary;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Ndjson,
}

impl Format {
    pub fn parse(v: &str) -> Option<Format> {
        match v {
            "csv" => Some(Format::Csv),
            "ndjson" => Some(Format::Ndjson),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Ndjson => "application/x-ndjson",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
        }
    }

    /// What comes before the first session (the CSV header line).
    pub fn head(self) -> String {
        match self {
            Format::Csv => {
                let mut line = COLUMNS.join(",");
                line.push_str("\r\n");
                line
            }
            Format::Ndjson => String::new(),
        }
    }

    /// A last line that is not a session: where to go on (`next_cursor`), why the export
    /// stopped (`error`), or which days it could not read (`incomplete`). NDJSON gets an
    /// object of those fields, CSV a comment line (`# next_cursor=…; error=…`), so a reader
    /// of either knows the file is not the whole range.
    pub fn trailer(self, fields: &[(&str, &str)]) -> String {
        match self {
            Format::Ndjson => {
                let object: serde_json::Map<String, serde_json::Value> = fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
                    .collect();
                let mut line = serde_json::Value::Object(object).to_string();
                line.push('\n');
                line
            }
            Format::Csv => {
                let pairs: Vec<String> = fields
                    .iter()
                    // One line whatever the text holds.
                    .map(|(k, v)| format!("{k}={}", v.replace(['\r', '\n'], " ")))
                    .collect();
                format!("# {}\r\n", pairs.join("; "))
            }
        }
    }

    /// One session's line.
    pub fn line(self, s: &SessionSummary) -> String {
        match self {
            Format::Ndjson => {
                let mut line = serde_json::to_string(s).unwrap_or_default();
                line.push('\n');
                line
            }
            Format::Csv => {
                let cells = cells(s);
                let mut line = String::new();
                for (i, cell) in cells.iter().enumerate() {
                    if i > 0 {
                        line.push(',');
                    }
                    push_cell(&mut line, cell);
                }
                line.push_str("\r\n");
                line
            }
        }
    }
}

/// The CSV columns: the summary's fields (SPEC "Summary"), UTM fields apart. The friction
/// and speed fields came last, after `started_at_iso`, so that every earlier column kept its
/// place.
pub const COLUMNS: [&str; 40] = [
    "id",
    "site",
    "started_at",
    "last_seen_at",
    "duration_ms",
    "active_ms",
    "pageviews",
    "clicks",
    "outbound_clicks",
    "events",
    "max_scroll",
    "entry_page",
    "exit_page",
    "referrer_host",
    "channel",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "country",
    "device",
    "os",
    "os_version",
    "browser",
    "browser_version",
    "bot",
    "bot_name",
    "bounce",
    "weekday",
    "started_at_iso",
    "rage_clicks",
    "dead_clicks",
    "errors",
    "forms_started",
    "forms_submitted",
    "forms_abandoned",
    "lcp_ms",
    "inp_ms",
    "cls",
];

enum Cell {
    Number(i64),
    Text(Option<String>),
}

fn cells(s: &SessionSummary) -> Vec<Cell> {
    let t = |v: &Option<String>| Cell::Text(v.clone());
    let n = Cell::Number;
    vec![
        Cell::Text(Some(s.id.clone())),
        Cell::Text(Some(s.site.clone())),
        n(s.started_at),
        n(s.last_seen_at),
        n(s.duration_ms),
        n(s.active_ms.min(i64::MAX as u64) as i64),
        n(i64::from(s.pageviews)),
        n(i64::from(s.clicks)),
        n(i64::from(s.outbound_clicks)),
        n(i64::from(s.events)),
        n(i64::from(s.max_scroll)),
        t(&s.entry_page),
        t(&s.exit_page),
        t(&s.referrer_host),
        Cell::Text(s.channel.map(|c| c.as_str().to_string())),
        t(&s.utm.source),
        t(&s.utm.medium),
        t(&s.utm.campaign),
        t(&s.utm.term),
        t(&s.utm.content),
        t(&s.country),
        Cell::Text(s.device.map(|d| d.as_str().to_string())),
        t(&s.os),
        t(&s.os_version),
        t(&s.browser),
        t(&s.browser_version),
        t(&s.bot),
        t(&s.bot_name),
        Cell::Text(Some(s.bounce.to_string())),
        n(i64::from(s.weekday)),
        Cell::Text(Some(iso_time(s.started_at))),
        n(i64::from(s.rage_clicks)),
        n(i64::from(s.dead_clicks)),
        n(i64::from(s.errors)),
        n(i64::from(s.forms_started)),
        n(i64::from(s.forms_submitted)),
        n(i64::from(s.forms_abandoned)),
        Cell::Text(s.lcp_ms.map(|v| v.to_string())),
        Cell::Text(s.inp_ms.map(|v| v.to_string())),
        Cell::Text(s.cls.map(|v| v.to_string())),
    ]
}

/// `2026-11-23T14:05:09Z`.
fn iso_time(ms: i64) -> String {
    let day = crate::time::utc_day(ms);
    let secs = (ms - day * crate::time::DAY_MS) / 1000;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        crate::time::day_label(day),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn push_cell(line: &mut String, cell: &Cell) {
    let text = match cell {
        Cell::Number(n) => return line.push_str(&n.to_string()),
        Cell::Text(None) => return,
        Cell::Text(Some(text)) => text,
    };
    let formula = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = formula || text.contains([',', '"', '\n', '\r']);
    if quote {
        line.push('"');
    }
    if formula {
        line.push('\'');
    }
    for c in text.chars() {
        if c == '"' {
            line.push('"');
        }
        line.push(c);
    }
    if quote {
        line.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Channel;

    fn summary() -> SessionSummary {
        SessionSummary {
            id: "0b5f0c54-1e9c-4a8e-9d3a-2f8f0a6c1b7e".into(),
            site: "demo".into(),
            started_at: 1_732_370_709_000,
            pageviews: 3,
            entry_page: Some("/a,b".into()),
            referrer_host: Some("=cmd|' /C calc'!A0".into()),
            channel: Some(Channel::Referral),
            utm: crate::session::Utm {
                campaign: Some("say \"hi\"".into()),
                ..Default::default()
            },
            rage_clicks: 2,
            lcp_ms: Some(2_400),
            cls: Some(0.05),
            ..Default::default()
        }
    }

    #[test]
    fn trailers_say_where_to_go_on_in_either_format() {
        let fields = [
            ("next_cursor", "1732370709000."),
            ("error", "shard\nfailed"),
        ];
        assert_eq!(
            Format::Csv.trailer(&fields),
            "# next_cursor=1732370709000.; error=shard failed\r\n"
        );
        let json: serde_json::Value =
            serde_json::from_str(Format::Ndjson.trailer(&fields).trim_end()).unwrap();
        assert_eq!(json["next_cursor"], "1732370709000.");
        assert_eq!(json["error"], "shard\nfailed");
    }

    #[test]
    fn csv_lines_quote_and_defuse_formulas() {
        let head = Format::Csv.head();
        let line = Format::Csv.line(&summary());
        let cells: Vec<&str> = head.trim_end().split(',').collect();
        assert_eq!(cells.len(), COLUMNS.len());
        assert!(line.ends_with("\r\n"));
        assert!(line.contains(",\"/a,b\","), "{line}");
        assert!(line.contains(",\"'=cmd|' /C calc'!A0\","), "{line}");
        assert!(line.contains(",\"say \"\"hi\"\"\","), "{line}");
        // The friction and speed columns last: 2 rage clicks, LCP 2.4 s, no INP, CLS 0.05.
        assert!(
            line.contains(",2024-11-23T14:05:09Z,2,0,0,0,0,0,2400,,0.05\r\n"),
            "{line}"
        );
        assert!(line.starts_with("0b5f0c54-1e9c-4a8e-9d3a-2f8f0a6c1b7e,demo,1732370709000,"));
    }

    #[test]
    fn ndjson_lines_are_summaries() {
        let line = Format::Ndjson.line(&summary());
        assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
        let back: SessionSummary = serde_json::from_str(&line).unwrap();
        assert_eq!(back, summary());
    }
}
