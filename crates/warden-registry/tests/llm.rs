//! The LLM backends against a real HTTP server on 127.0.0.1 started by the
//! test: a valid answer, invalid JSON, a schema-invalid answer, missing
//! evidence, a refusal, a truncated answer, an answer slower than the
//! timeout, HTTP 500; retries stay bounded (at most 3 requests), errors are
//! fed back, and nothing unvalidated is written.
// Tests, examples and benches drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::Fx;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use warden_registry::llm::{Api, Http, LlmPlanner, Replay};
use warden_registry::maintain::{Gate, PatchOutcome, SessionOutcome};
use warden_registry::model::Entry;

#[derive(Clone)]
struct Answer {
    status: u16,
    body: String,
    delay: Duration,
}

fn ok(body: Value) -> Answer {
    Answer {
        status: 200,
        body: body.to_string(),
        delay: Duration::ZERO,
    }
}

/// A one-thread HTTP/1.1 server: answers each request with the next scripted
/// answer (the last one repeats) and keeps every request body.
struct Server {
    url: String,
    bodies: Arc<Mutex<Vec<Value>>>,
    paths: Arc<Mutex<Vec<String>>>,
}

fn serve(answers: Vec<Answer>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let paths = Arc::new(Mutex::new(Vec::new()));
    let (b, p) = (bodies.clone(), paths.clone());
    std::thread::spawn(move || {
        let mut i = 0;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            p.lock()
                .expect("lock")
                .push(line.split_whitespace().nth(1).unwrap_or("").to_string());
            let mut len = 0usize;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            b.lock()
                .expect("lock")
                .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
            let a = answers[i.min(answers.len() - 1)].clone();
            i += 1;
            std::thread::sleep(a.delay);
            let _ = write!(
                stream,
                "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                a.status,
                a.body.len(),
                a.body
            );
        }
    });
    Server { url, bodies, paths }
}

fn backend(api: Api, url: &str, timeout: Duration) -> LlmPlanner<Http> {
    LlmPlanner::new(Http {
        api,
        url: url.into(),
        model: Some("test-model".into()),
        api_key: None,
        timeout,
        max_tokens: 512,
    })
}

fn patch(kind: &str, field: &str, value: Value, append: Value, cite: &[&str]) -> Value {
    json!({"capability_id": "capability.demo.alpha", "kind": kind, "confidence": "high",
           "rationale": "r", "field_path": field, "value": value, "append": append,
           "evidence_citations": cite})
}

fn feedback() -> Value {
    json!({"patches": [patch("consumer_feedback", "consumer_feedback", Value::Null, json!("team X uses it daily"), &[])]})
}

/// Run `maintain --auto` for alpha only, with this planner.
fn session(fx: &Fx, planner: &LlmPlanner<Http>) -> warden_registry::maintain::MaintainReport {
    let mut o = fx.opts(None);
    o.scope = Some("capability.demo.alpha".into());
    fx.auto(&o, Some(planner), vec![])
}

fn alpha(fx: &Fx) -> Entry {
    Entry::parse(fx.read("registry/capabilities/alpha.md").as_bytes(), "a").expect("parse")
}

#[test]
fn a_valid_llm_connect_answer_is_applied_and_recorded() {
    let fx = Fx::new();
    let s = serve(vec![ok(json!({"output": feedback()}))]);
    let r = session(
        &fx,
        &backend(Api::LlmConnect, &s.url, Duration::from_secs(10)),
    );
    assert_eq!(r.outcome, SessionOutcome::Applied, "{r:#?}");
    assert_eq!(
        alpha(&fx).meta.consumer_feedback[0].text,
        "team X uses it daily"
    );
    assert_eq!(s.paths.lock().expect("lock").as_slice(), ["/execute"]);
    let req = &s.bodies.lock().expect("lock")[0];
    assert_eq!(req["task"], "registry.maintain");
    assert_eq!(req["schema_name"], "registry_patches");
    assert_eq!(req["metadata"]["capability_id"], "capability.demo.alpha");
    assert!(req["response_schema"]["properties"]["patches"].is_object());
    assert!(
        req["messages"][1]["content"]
            .as_str()
            .is_some_and(|c| c.contains("| C Confidence")),
        "the standard's summary table is in the prompt"
    );
    let run = r.run.expect("run");
    let rec = fx.root.join(format!(".runs/{run}/llm/alpha-0.json"));
    let rec: Value = serde_json::from_slice(&std::fs::read(&rec).expect("recorded")).expect("json");
    assert_eq!(rec["status"], 200);
    assert!(
        rec["response"]
            .as_str()
            .is_some_and(|r| r.contains("team X"))
    );
    assert_eq!(
        r.llm.recorded_in.as_deref(),
        Some(format!(".runs/{run}/llm/").as_str())
    );
}

#[test]
fn a_recorded_session_replays_without_the_network() {
    let fx = Fx::new();
    let s = serve(vec![ok(json!({"text": feedback().to_string()}))]);
    let r = session(
        &fx,
        &backend(Api::LlmConnect, &s.url, Duration::from_secs(10)),
    );
    let run = r.run.expect("run");
    let dir = fx.root.join(format!(".runs/{run}/llm"));
    fx.undo(&run);
    assert!(alpha(&fx).meta.consumer_feedback.is_empty());
    let replay = LlmPlanner::new(Replay { dir });
    let mut o = fx.opts(None);
    o.scope = Some("capability.demo.alpha".into());
    let prepared = fx.prepare(&o, Some(&replay), vec![]);
    assert_eq!(
        prepared.suggestions.len(),
        1,
        "the same patch, from the record"
    );
    assert_eq!(s.bodies.lock().expect("lock").len(), 1, "no second request");
}

#[test]
fn invalid_json_is_retried_with_the_parse_error_and_bounded() {
    let fx = Fx::new();
    let before = fx.tree();
    let s = serve(vec![ok(json!({"text": "{not json"}))]);
    let r = session(
        &fx,
        &backend(Api::LlmConnect, &s.url, Duration::from_secs(10)),
    );
    let bodies = s.bodies.lock().expect("lock").clone();
    assert_eq!(bodies.len(), 3, "one call and at most 2 retries");
    let last = bodies[2]["messages"].as_array().expect("messages");
    assert!(
        last.iter().any(|m| m["content"]
            .as_str()
            .is_some_and(|c| c.contains("not valid JSON"))),
        "the parse error is fed back"
    );
    assert_eq!(r.llm.failures, 1);
    assert_eq!(r.exit_code, 5, "an LLM failure is a partial session");
    assert_eq!(fx.tree(), before, "nothing unvalidated is written");
}

#[test]
fn a_schema_invalid_answer_is_retried_with_the_validator_errors() {
    let fx = Fx::new();
    let bad = json!({"patches": [{"capability_id": "capability.demo.alpha", "kind": "consumer_feedback"}]});
    let s = serve(vec![
        ok(json!({"output": bad})),
        ok(json!({"output": feedback()})),
    ]);
    let r = session(
        &fx,
        &backend(Api::LlmConnect, &s.url, Duration::from_secs(10)),
    );
    let bodies = s.bodies.lock().expect("lock").clone();
    assert_eq!(bodies.len(), 2);
    let msgs = bodies[1]["messages"].as_array().expect("messages");
    let fed = msgs
        .last()
        .and_then(|m| m["content"].as_str())
        .unwrap_or("");
    assert!(
        fed.contains("/patches/0") && fed.contains("required"),
        "{fed}"
    );
    assert_eq!(r.outcome, SessionOutcome::Applied, "{r:#?}");
}

#[test]
fn a_promotion_without_evidence_on_disk_is_refused_not_retried() {
    let fx = Fx::new();
    let promo = json!({"patches": [patch("maturity_promote", "maturity.C.current", json!(2), Value::Null, &["src/alpha/tests/ghost.py"])]});
    let s = serve(vec![ok(promo)]);
    let r = session(
        &fx,
        &backend(Api::LlmConnect, &s.url, Duration::from_secs(10)),
    );
    assert_eq!(
        s.bodies.lock().expect("lock").len(),
        1,
        "a gate refusal is not retried"
    );
    assert_eq!(r.patches[0].outcome, PatchOutcome::Rejected);
    assert_eq!(r.patches[0].gate, Some(Gate::Evidence));
    assert_eq!(alpha(&fx).meta.maturity.C.current, 1);
}

#[test]
fn refusal_truncation_http_500_and_timeouts_are_failures_without_retries() {
    let cases = [
        (
            "refusal",
            ok(json!({"refusal": "I cannot help with that"})),
            "refused",
        ),
        (
            "truncated",
            ok(json!({"output": "{\"patches\": [", "finish_reason": "length"})),
            "truncated",
        ),
        (
            "http 500",
            Answer {
                status: 500,
                body: "{}".into(),
                delay: Duration::ZERO,
            },
            "HTTP 500",
        ),
        (
            "slow",
            Answer {
                status: 200,
                body: feedback().to_string(),
                delay: Duration::from_secs(3),
            },
            "no answer",
        ),
    ];
    for (name, answer, why) in cases {
        let fx = Fx::new();
        let before = fx.tree();
        let s = serve(vec![answer]);
        let r = session(
            &fx,
            &backend(Api::LlmConnect, &s.url, Duration::from_millis(800)),
        );
        assert_eq!(s.bodies.lock().expect("lock").len(), 1, "{name}: no retry");
        assert_eq!(r.llm.failures, 1, "{name}");
        assert!(
            r.remaining_manual.iter().any(|m| m.contains(why)),
            "{name}: {:?}",
            r.remaining_manual
        );
        assert_eq!(fx.tree(), before, "{name}: nothing written");
    }
}

#[test]
fn the_openai_backend_sends_a_strict_json_schema_and_reads_the_choice() {
    let fx = Fx::new();
    let answer = json!({"choices": [{"finish_reason": "stop", "message": {"role": "assistant", "content": feedback().to_string(), "refusal": null}}]});
    let s = serve(vec![ok(answer)]);
    let r = session(
        &fx,
        &backend(
            Api::OpenAi,
            &format!("{}/v1", s.url),
            Duration::from_secs(10),
        ),
    );
    assert_eq!(r.outcome, SessionOutcome::Applied, "{r:#?}");
    assert_eq!(
        s.paths.lock().expect("lock").as_slice(),
        ["/v1/chat/completions"]
    );
    let req = &s.bodies.lock().expect("lock")[0];
    assert_eq!(req["response_format"]["type"], "json_schema");
    assert_eq!(req["response_format"]["json_schema"]["strict"], true);
    assert_eq!(
        req["response_format"]["json_schema"]["name"],
        "registry_patches"
    );
    assert_eq!(req["model"], "test-model");
    // A refusal and a truncation in the OpenAI shape.
    for (answer, why) in [
        (
            json!({"choices": [{"finish_reason": "stop", "message": {"content": null, "refusal": "no"}}]}),
            "refused",
        ),
        (
            json!({"choices": [{"finish_reason": "length", "message": {"content": "{\"pat", "refusal": null}}]}),
            "truncated",
        ),
    ] {
        let fx = Fx::new();
        let s = serve(vec![ok(answer)]);
        let r = session(&fx, &backend(Api::OpenAi, &s.url, Duration::from_secs(10)));
        assert!(
            r.remaining_manual.iter().any(|m| m.contains(why)),
            "{:?}",
            r.remaining_manual
        );
    }
}

#[test]
fn an_answer_about_another_capability_is_fed_back() {
    let fx = Fx::new();
    let wrong = json!({"patches": [{"capability_id": "capability.demo.beta", "kind": "consumer_feedback", "confidence": "high",
        "rationale": "r", "field_path": "consumer_feedback", "value": null, "append": "x", "evidence_citations": []}]});
    let s = serve(vec![ok(wrong)]);
    let r = session(
        &fx,
        &backend(Api::LlmConnect, &s.url, Duration::from_secs(10)),
    );
    assert_eq!(s.bodies.lock().expect("lock").len(), 3);
    assert_eq!(r.llm.failures, 1);
    assert!(
        r.remaining_manual
            .iter()
            .any(|m| m.contains("must be \\\"capability.demo.alpha\\\"")
                || m.contains("must be \"capability.demo.alpha\"")),
        "{:?}",
        r.remaining_manual
    );
}
