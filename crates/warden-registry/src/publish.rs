//! The publish check (`maintain --publish --raw-url URL`, seed T07): GET the
//! URL where consumers read the index; it passes when the answer is 200 and
//! its body's sha256 equals the index committed at HEAD (a 200 serving a
//! stale index is not a pass). No credentials are sent.

use crate::model::INDEX_PATH;
use schemars::JsonSchema;
use serde::Serialize;
use std::time::Duration;
use warden_core::Result;
use warden_core::digest::Digest;
use warden_core::git::Git;

pub const PUBLISH_SCHEMA_ID: &str = "warden.registry-publish/v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(title = "warden registry publish check")]
pub struct PublishReport {
    /// Always "warden.registry-publish/v1".
    pub schema: String,
    pub url: String,
    pub pass: bool,
    /// The HTTP status, when an answer came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// sha256 of the index committed at HEAD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_sha256: Option<String>,
    /// sha256 of what the URL served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub served_sha256: Option<String>,
    pub reason: String,
}

/// An HTTP agent with a global timeout; no proxy for loopback addresses.
pub fn agent(url: &str, timeout: Duration) -> ureq::Agent {
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| url.starts_with(p));
    let mut cfg = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false);
    if loopback {
        cfg = cfg.proxy(None);
    }
    cfg.build().into()
}

pub fn check(git: &Git, url: &str, timeout: Duration) -> Result<PublishReport> {
    let expected = git
        .show_file("HEAD", INDEX_PATH)?
        .map(|b| Digest::of(&b).hex());
    let mut report = PublishReport {
        schema: PUBLISH_SCHEMA_ID.into(),
        url: url.into(),
        pass: false,
        status: None,
        expected_sha256: expected.clone(),
        served_sha256: None,
        reason: String::new(),
    };
    let Some(expected) = expected else {
        report.reason = format!("{INDEX_PATH} is not committed at HEAD: commit it first");
        return Ok(report);
    };
    match agent(url, timeout).get(url).call() {
        Err(e) => report.reason = format!("no answer: {e}"),
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            report.status = Some(status);
            match resp.body_mut().with_config().limit(64 << 20).read_to_vec() {
                Err(e) => report.reason = format!("cannot read the body: {e}"),
                Ok(body) => {
                    let served = Digest::of(&body).hex();
                    report.served_sha256 = Some(served.clone());
                    if status != 200 {
                        report.reason = format!("the URL answered {status}, not 200");
                    } else if served != expected {
                        report.reason = "the URL serves a different index than HEAD's (not pushed yet, or a cache)".into();
                    } else {
                        report.pass = true;
                        report.reason = "the URL serves the index committed at HEAD".into();
                    }
                }
            }
        }
    }
    Ok(report)
}

/// The Markdown report.
pub fn markdown(r: &PublishReport) -> String {
    format!(
        "## Registry publish check: {}\n\n| | |\n|---|---|\n| URL | {} |\n| HTTP status | {} |\n| index at HEAD | `{}` |\n| served | `{}` |\n\n{}\n",
        if r.pass { "PASS" } else { "FAIL" },
        r.url,
        r.status.map_or("-".to_string(), |s| s.to_string()),
        r.expected_sha256.as_deref().unwrap_or("-"),
        r.served_sha256.as_deref().unwrap_or("-"),
        r.reason
    )
}
