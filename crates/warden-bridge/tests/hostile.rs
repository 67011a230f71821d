//! The hostile corpus: every broken or malicious command lands in
//! `dead_letter/` with its precise reason, writes nothing else (no result,
//! archive, diff, ledger entry or target file), and leaves `commands/`.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use common::*;
use serde_json::{Value, json};
use warden_bridge::reason::Reason;

type Make = Box<dyn Fn(&Env) -> (String, Vec<u8>)>;

fn file(name: &str, bytes: Vec<u8>) -> (String, Vec<u8>) {
    (name.to_string(), bytes)
}

fn with(id: &str, f: impl Fn(&mut Value)) -> Vec<u8> {
    let mut v = noop(id);
    f(&mut v);
    signed(&v)
}

fn op(id: &str, op: Value, allowed: &[&str]) -> Vec<u8> {
    signed(&doc(id, json!([op]), allowed))
}

/// One hostile command: what it is, the reason it is dead-lettered with, and
/// how to make its file (name, bytes) in an environment.
type Case = (&'static str, Reason, Make);

/// The whole corpus, in order.
fn cases() -> Vec<Case> {
    [
        signature_cases(),
        canonical_form_and_time_cases(),
        replay_and_malformed_file_cases(),
        schema_cases(),
        action_cases(),
        write_file_content_cases(),
        path_escape_cases(),
        escape_and_git_dir_cases(),
        bridge_directory_cases(),
        protected_path_and_limit_cases(),
        file_digest_and_validation_cases(),
        runtime_target_and_file_cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A wrong, missing, duplicated or malformed HMAC, or a payload changed after signing.
fn signature_cases() -> Vec<Case> {
    use Reason::*;
    vec![
        (
            "wrong secret",
            HmacMismatch,
            Box::new(|_| file("h01.json", sign_with(&noop("h01"), "another-secret"))),
        ),
        (
            "missing hmac",
            HmacMissing,
            Box::new(|_| file("h02.json", serde_json::to_vec(&noop("h02")).expect("json"))),
        ),
        (
            "duplicated hmac",
            HmacDuplicated,
            Box::new(|_| {
                let v = noop("h03");
                let mac = mac_of(&v);
                let text = serde_json::to_string(&v).expect("json");
                let text = format!(
                    "{},\"hmac\":\"{mac}\",\"hmac\":\"{mac}\"}}",
                    &text[..text.len() - 1]
                );
                file("h03.json", text.into_bytes())
            }),
        ),
        (
            "hmac is a number",
            HmacMalformed,
            Box::new(|_| {
                let mut v = noop("h04");
                v["hmac"] = json!(42);
                file("h04.json", serde_json::to_vec(&v).expect("json"))
            }),
        ),
        (
            "hmac not base64",
            HmacMalformed,
            Box::new(|_| {
                let mut v = noop("h05");
                v["hmac"] = json!("not*base64!");
                file("h05.json", serde_json::to_vec(&v).expect("json"))
            }),
        ),
        (
            "hmac of the wrong length",
            HmacMalformed,
            Box::new(|_| {
                let mut v = noop("h06");
                v["hmac"] = json!("AAAAAAAAAAAAAAAAAAAAAA==");
                file("h06.json", serde_json::to_vec(&v).expect("json"))
            }),
        ),
        (
            "payload changed after signing",
            HmacMismatch,
            Box::new(|_| {
                let v = write("h07", "docs/a.md", "harmless\n");
                let mac = mac_of(&v);
                let mut t = write("h07", "docs/a.md", "evil\n");
                t["hmac"] = json!(mac);
                file("h07.json", serde_json::to_vec(&t).expect("json"))
            }),
        ),
    ]
}

/// Signed over another form than the canonical one; outside its validity window.
fn canonical_form_and_time_cases() -> Vec<Case> {
    use Reason::*;
    vec![
        (
            "signed over pretty JSON, not the canonical form",
            HmacMismatch,
            Box::new(|_| {
                use base64::Engine as _;
                use hmac::Mac as _;
                let v = noop("h08");
                let pretty = serde_json::to_vec_pretty(&v).expect("json");
                let mut m =
                    hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
                m.update(&pretty);
                let mut t = v.clone();
                t["hmac"] = json!(
                    base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes())
                );
                file("h08.json", serde_json::to_vec(&t).expect("json"))
            }),
        ),
        (
            "expired",
            Expired,
            Box::new(|_| {
                file(
                    "h09.json",
                    with("h09", |v| {
                        v["issued_at"] = json!("2020-01-01T00:00:00Z");
                        v["expires_at"] = json!("2020-01-01T00:05:00Z");
                    }),
                )
            }),
        ),
        (
            "issued in the future",
            NotYetValid,
            Box::new(|_| {
                file(
                    "h10.json",
                    with("h10", |v| {
                        v["issued_at"] = json!("2099-01-01T00:00:00Z");
                        v["expires_at"] = json!("2099-01-01T00:05:00Z");
                    }),
                )
            }),
        ),
        (
            "expires before it is issued",
            Schema,
            Box::new(|_| {
                file(
                    "h11.json",
                    with("h11", |v| {
                        v["expires_at"] = v["issued_at"].clone();
                    }),
                )
            }),
        ),
        (
            "timestamp without a zone",
            Schema,
            Box::new(|_| {
                file(
                    "h12.json",
                    with("h12", |v| {
                        v["expires_at"] = json!("2099-01-01 00:05:00");
                    }),
                )
            }),
        ),
    ]
}

/// A replayed id, a file that is no command, JSON that is not well formed.
fn replay_and_malformed_file_cases() -> Vec<Case> {
    use Reason::*;
    vec![
        (
            "replay of an archived id",
            DuplicateId,
            Box::new(|e| {
                let first = e.one("h13.json", &signed(&noop("h13")));
                assert_eq!(
                    first.outcome,
                    warden_bridge::pipeline::ItemOutcome::Archived
                );
                file("h13.json", signed(&noop("h13")))
            }),
        ),
        (
            "hidden file name",
            Hidden,
            Box::new(|_| file(".h14.json", signed(&noop("h14")))),
        ),
        (
            "a .retries.json in commands/",
            Hidden,
            Box::new(|_| file(".retries.json", b"{}".to_vec())),
        ),
        (
            "zero bytes",
            Empty,
            Box::new(|_| file("h16.json", Vec::new())),
        ),
        (
            "truncated JSON",
            InvalidJson,
            Box::new(|_| {
                let b = signed(&noop("h17"));
                file("h17.json", b[..b.len() / 2].to_vec())
            }),
        ),
        (
            "binary garbage",
            InvalidJson,
            Box::new(|_| file("h18.json", vec![0xff, 0x00, 0x13, 0x37])),
        ),
        (
            "top level is an array",
            HmacMissing,
            Box::new(|_| file("h19.json", b"[1,2,3]".to_vec())),
        ),
        (
            "NaN literal",
            InvalidJson,
            Box::new(|_| file("h20.json", br#"{"id":"h20","x":NaN}"#.to_vec())),
        ),
        (
            "duplicated ordinary key",
            DuplicateKey,
            Box::new(|_| file("h21.json", br#"{"id":"h21","id":"h21b"}"#.to_vec())),
        ),
        (
            "lone surrogate",
            InvalidJson,
            Box::new(|_| file("h22.json", br#"{"id":"\ud800"}"#.to_vec())),
        ),
        (
            "nesting too deep",
            InvalidJson,
            Box::new(|_| {
                let s = format!("{{\"id\":{}{}}}", "[".repeat(200), "]".repeat(200));
                file("h23.json", s.into_bytes())
            }),
        ),
    ]
}

/// Well-formed JSON that breaks the command schema.
fn schema_cases() -> Vec<Case> {
    use Reason::*;
    vec![
        (
            "maxFilesChanged is a string",
            Schema,
            Box::new(|_| {
                file(
                    "h24.json",
                    with("h24", |v| {
                        v["constraints"]["maxFilesChanged"] = json!("1");
                    }),
                )
            }),
        ),
        (
            "id is a number",
            Schema,
            Box::new(|_| {
                file(
                    "h25.json",
                    with("h25", |v| {
                        v["id"] = json!(25);
                    }),
                )
            }),
        ),
        (
            "id that cannot name a file",
            Schema,
            Box::new(|_| {
                file(
                    "h26.json",
                    with("h26", |v| {
                        v["id"] = json!("../../etc/passwd");
                    }),
                )
            }),
        ),
        (
            "unknown top-level field",
            Schema,
            Box::new(|_| {
                file(
                    "h27.json",
                    with("h27", |v| {
                        v["shell"] = json!("rm -rf /");
                    }),
                )
            }),
        ),
        (
            "missing nonce",
            Schema,
            Box::new(|_| {
                file(
                    "h28.json",
                    with("h28", |v| {
                        v.as_object_mut().expect("obj").remove("nonce");
                    }),
                )
            }),
        ),
    ]
}

/// Unknown actions and ops, or ops beyond allowedActions.
fn action_cases() -> Vec<Case> {
    use Reason::*;
    vec![
        (
            "unknown action",
            UnknownAction,
            Box::new(|_| {
                file(
                    "h29.json",
                    with("h29", |v| {
                        v["action"] = json!("runShell");
                    }),
                )
            }),
        ),
        (
            "unknown patchType",
            UnknownPatchType,
            Box::new(|_| {
                file(
                    "h30.json",
                    with("h30", |v| {
                        v["patchType"] = json!("binary");
                    }),
                )
            }),
        ),
        (
            "unknown op",
            UnknownOp,
            Box::new(|_| {
                file(
                    "h31.json",
                    op("h31", json!({"op": "exec", "cmd": "id"}), &["writeFile"]),
                )
            }),
        ),
        (
            "op outside allowedActions",
            OpNotAllowed,
            Box::new(|_| {
                file(
                    "h32.json",
                    op(
                        "h32",
                        json!({"op": "deleteFile", "path": "README.md"}),
                        &["writeFile"],
                    ),
                )
            }),
        ),
        (
            "allowedActions empty",
            OpNotAllowed,
            Box::new(|_| file("h33.json", op("h33", json!({"op": "noop"}), &[]))),
        ),
        (
            "allowedActions beyond the executor",
            OpNotAllowed,
            Box::new(|_| {
                file(
                    "h34.json",
                    op("h34", json!({"op": "noop"}), &["writeFile", "runShell"]),
                )
            }),
        ),
    ]
}

/// writeFile with no single, inline source of content.
fn write_file_content_cases() -> Vec<Case> {
    use Reason::*;
    vec![
        (
            "writeFile with both content and content_base64",
            Schema,
            Box::new(|_| {
                file(
                    "h80.json",
                    op(
                        "h80",
                        json!({"op": "writeFile", "path": "x.bin", "content": "x", "content_base64": "eA=="}),
                        &["writeFile"],
                    ),
                )
            }),
        ),
        (
            "writeFile with neither content nor content_base64",
            Schema,
            Box::new(|_| {
                file(
                    "h81.json",
                    op(
                        "h81",
                        json!({"op": "writeFile", "path": "x.bin"}),
                        &["writeFile"],
                    ),
                )
            }),
        ),
        (
            "writeFile naming a local content_file",
            Schema,
            Box::new(|_| {
                file(
                    "h82.json",
                    op(
                        "h82",
                        json!({"op": "writeFile", "path": "x.bin", "content_file": "/etc/passwd", "content_sha256": "00"}),
                        &["writeFile"],
                    ),
                )
            }),
        ),
        (
            "writeFile with content_base64 that is not base64",
            Schema,
            Box::new(|_| {
                file(
                    "h83.json",
                    op(
                        "h83",
                        json!({"op": "writeFile", "path": "x.bin", "content_base64": "*not base64*"}),
                        &["writeFile"],
                    ),
                )
            }),
        ),
    ]
}

/// Paths that leave the target repository.
fn path_escape_cases() -> Vec<Case> {
    use Reason::*;
    let outside = |e: &Env| e.dir.path().canonicalize().expect("canon").join("outside");
    vec![
        (
            "path with ..",
            PathEscape,
            Box::new(|_| {
                file(
                    "h35.json",
                    op(
                        "h35",
                        json!({"op": "writeFile", "path": "docs/../../x", "content": "x"}),
                        &["writeFile"],
                    ),
                )
            }),
        ),
        (
            "absolute path",
            PathEscape,
            Box::new(|_| {
                file(
                    "h36.json",
                    op(
                        "h36",
                        json!({"op": "writeFile", "path": "/tmp/x", "content": "x"}),
                        &["writeFile"],
                    ),
                )
            }),
        ),
        (
            "backslash path",
            PathEscape,
            Box::new(|_| {
                file(
                    "h37.json",
                    op(
                        "h37",
                        json!({"op": "writeFile", "path": "..\\x", "content": "x"}),
                        &["writeFile"],
                    ),
                )
            }),
        ),
        (
            "symlink in the repo pointing out",
            PathEscape,
            Box::new(move |e| {
                let out = outside(e);
                std::fs::create_dir_all(&out).expect("mkdir");
                std::fs::write(out.join("target.txt"), "outside\n").expect("write");
                std::os::unix::fs::symlink(out.join("target.txt"), e.root.join("link.txt"))
                    .expect("symlink");
                file(
                    "h38.json",
                    op(
                        "h38",
                        json!({"op": "writeFile", "path": "link.txt", "content": "pwned"}),
                        &["writeFile"],
                    ),
                )
            }),
        ),
    ]
}

/// More ways out of the target; writes into .git/.
fn escape_and_git_dir_cases() -> Vec<Case> {
    use Reason::*;
    let outside = |e: &Env| e.dir.path().canonicalize().expect("canon").join("outside");
    vec![
        (
            "symlinked parent directory",
            PathEscape,
            Box::new(move |e| {
                let out = outside(e);
                std::fs::create_dir_all(&out).expect("mkdir");
                std::os::unix::fs::symlink(&out, e.root.join("linkdir")).expect("symlink");
                file(
                    "h39.json",
                    op(
                        "h39",
                        json!({"op": "writeFile", "path": "linkdir/new.txt", "content": "pwned"}),
                        &["writeFile"],
                    ),
                )
            }),
        ),
        (
            "move out through ..",
            PathEscape,
            Box::new(|_| {
                file(
                    "h40.json",
                    op(
                        "h40",
                        json!({"op": "moveFile", "from": "README.md", "to": "../README.md"}),
                        &["moveFile"],
                    ),
                )
            }),
        ),
        (
            "write into .git/",
            ProtectedPath,
            Box::new(|_| {
                file(
                    "h41.json",
                    op(
                        "h41",
                        json!({"op": "writeFile", "path": ".git/hooks/post-checkout", "content": "#!/bin/sh\n"}),
                        &["writeFile"],
                    ),
                )
            }),
        ),
        (
            "write into .GIT/ (case)",
            ProtectedPath,
            Box::new(|_| {
                file(
                    "h42.json",
                    op(
                        "h42",
                        json!({"op": "writeFile", "path": ".GIT/config", "content": "x"}),
                        &["writeFile"],
                    ),
                )
            }),
        ),
    ]
}

/// Writes into the bridge's own directories.
fn bridge_directory_cases() -> Vec<Case> {
    use Reason::*;
    vec![
        (
            "write into commands/",
            ProtectedPath,
            Box::new(|_| {
                file(
                    "h43.json",
                    op(
                        "h43",
                        json!({"op": "writeFile", "path": "commands/next.json", "content": "{}"}),
                        &["writeFile"],
                    ),
                )
            }),
        ),
        (
            "write into Commands/ (case)",
            ProtectedPath,
            Box::new(|_| {
                file(
                    "h44.json",
                    op(
                        "h44",
                        json!({"op": "writeFile", "path": "Commands/next.json", "content": "{}"}),
                        &["writeFile"],
                    ),
                )
            }),
        ),
        (
            "write into meta/",
            ProtectedPath,
            Box::new(|_| {
                file(
                    "h45.json",
                    op(
                        "h45",
                        json!({"op": "writeFile", "path": "meta/retries.json", "content": "{}"}),
                        &["writeFile"],
                    ),
                )
            }),
        ),
        (
            "write into archive/",
            ProtectedPath,
            Box::new(|_| {
                file(
                    "h46.json",
                    op(
                        "h46",
                        json!({"op": "writeFile", "path": "archive/h13.json", "content": "{}"}),
                        &["writeFile"],
                    ),
                )
            }),
        ),
    ]
}

/// Protected dot-directories; the limits on files, deletions and size.
fn protected_path_and_limit_cases() -> Vec<Case> {
    use Reason::*;
    vec![
        (
            "write into a dot-directory",
            ProtectedPath,
            Box::new(|_| {
                file(
                    "h47.json",
                    op(
                        "h47",
                        json!({"op": "writeFile", "path": ".github/workflows/x.yml", "content": "x"}),
                        &["writeFile"],
                    ),
                )
            }),
        ),
        (
            "write into .warden/",
            ProtectedPath,
            Box::new(|_| {
                file(
                    "h48.json",
                    op(
                        "h48",
                        json!({"op": "writeFile", "path": ".warden/policy.yaml", "content": "x"}),
                        &["writeFile"],
                    ),
                )
            }),
        ),
        (
            "too many files",
            ConstraintViolation,
            Box::new(|_| {
                let mut v = doc(
                    "h49",
                    json!([
                        {"op": "writeFile", "path": "a.txt", "content": "a"},
                        {"op": "writeFile", "path": "b.txt", "content": "b"}
                    ]),
                    &["writeFile"],
                );
                v["constraints"]["maxFilesChanged"] = json!(1);
                file("h49.json", signed(&v))
            }),
        ),
        (
            "deletion the policy does not allow",
            PolicyDenied,
            Box::new(|_| {
                file(
                    "h50.json",
                    op(
                        "h50",
                        json!({"op": "deleteFile", "path": "README.md"}),
                        &["deleteFile"],
                    ),
                )
            }),
        ),
        (
            "oversize file",
            TooLarge,
            Box::new(|_| {
                let big = "x".repeat(600 * 1024);
                file("h51.json", signed(&write("h51", "big.txt", &big)))
            }),
        ),
    ]
}

/// A symlinked command file; diffs and digests of other content; validationPlan.
fn file_digest_and_validation_cases() -> Vec<Case> {
    use Reason::*;
    vec![
        (
            "command file is a symlink",
            Symlink,
            Box::new(|e| {
                std::os::unix::fs::symlink("/etc/hostname", e.layout().commands().join("h52.json"))
                    .expect("symlink");
                ("h52.json".to_string(), Vec::new())
            }),
        ),
        (
            "diff against other content",
            PreconditionFailed,
            Box::new(|_| {
                let mut v = doc("h53", json!([]), &["writeFile"]);
                v["patchType"] = json!("unified");
                v["payload"]["inline"] = json!({"diff": "--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-goodbye\n+evil\n"});
                file("h53.json", signed(&v))
            }),
        ),
        (
            "expected digest does not match",
            PreconditionFailed,
            Box::new(|_| {
                file(
                    "h54.json",
                    op(
                        "h54",
                        json!({"op": "writeFile", "path": "README.md", "content": "x", "expect": {"sha256": "0".repeat(64)}}),
                        &["writeFile"],
                    ),
                )
            }),
        ),
        (
            "validationPlan steps",
            Schema,
            Box::new(|_| {
                file(
                    "h55.json",
                    with("h55", |v| {
                        v["validationPlan"] = json!([{"run": "make test"}]);
                    }),
                )
            }),
        ),
        (
            "validationPlan names a check the operator did not define",
            UnknownCheck,
            Box::new(|_| {
                let mut v = write("h58", "docs/h58.md", "x\n");
                v["validationPlan"] = json!(["deploy"]);
                file("h58.json", signed(&v))
            }),
        ),
        (
            "a validationPlan check fails",
            ValidationFailed,
            Box::new(|_| {
                let mut v = write("h59", "docs/h59.md", "x\n");
                v["validationPlan"] = json!(["tests", "fails"]);
                file("h59.json", signed(&v))
            }),
        ),
    ]
}

/// Runtime, target and replay refusals; a command file that is no plain file.
fn runtime_target_and_file_cases() -> Vec<Case> {
    use Reason::*;
    vec![
        (
            "runtime exceeded (a check still running at maxRuntimeMs is killed)",
            RuntimeExceeded,
            Box::new(|_| {
                let mut v = write("h60", "docs/h60.md", "x\n");
                v["validationPlan"] = json!(["slow"]);
                v["constraints"]["maxRuntimeMs"] = json!(300);
                file("h60.json", signed(&v))
            }),
        ),
        (
            "unknown target",
            Schema,
            Box::new(|_| {
                file(
                    "h56.json",
                    with("h56", |v| {
                        v["target"] = json!("PROD");
                    }),
                )
            }),
        ),
        (
            "replay of an id dead-lettered after a valid HMAC",
            DuplicateId,
            Box::new(|e| {
                let expired = with("h57", |v| {
                    v["issued_at"] = json!("2020-01-01T00:00:00Z");
                    v["expires_at"] = json!("2020-01-01T00:05:00Z");
                });
                let first = e.one("h57.json", &expired);
                assert_eq!(first.reason, Some(Reason::Expired), "{first:?}");
                file("h57.json", signed(&noop("h57")))
            }),
        ),
        (
            "file name differs from the id",
            IdMismatch,
            Box::new(|_| file("h61-other.json", signed(&noop("h61")))),
        ),
        (
            "command file is a hard link to a file elsewhere",
            HardLink,
            Box::new(|e| {
                let secret = e.dir.path().join("h62-secret.txt");
                std::fs::write(&secret, "TOP-SECRET-h62\n").expect("write");
                std::fs::hard_link(&secret, e.layout().commands().join("h62.json")).expect("link");
                ("h62.json".to_string(), Vec::new())
            }),
        ),
        (
            "command file is a FIFO",
            NotRegular,
            Box::new(|e| {
                mkfifo(&e.layout().commands().join("h63.json"));
                ("h63.json".to_string(), Vec::new())
            }),
        ),
    ]
}

#[test]
fn every_hostile_command_is_dead_lettered_with_its_reason_and_writes_nothing_else() {
    let env = Env::new();
    let layout = env.layout();
    with_the_operators_checks(&env);
    let cases = cases();
    assert!(cases.len() >= 40, "the corpus has {} cases", cases.len());
    let mut seen = std::collections::BTreeSet::new();
    for (what, reason, make) in cases {
        let (name, bytes) = make(&env);
        if !bytes.is_empty() || !layout.commands().join(&name).exists() {
            env.drop_file(&name, &bytes);
        }
        let before = env.snapshot();
        let ledger_before = env.ledger_len();
        let report = env.pass();
        let hostile = Hostile {
            what,
            reason,
            name: &name,
        };
        let dl = it_alone_is_dead_lettered_with_its_reason(&env, &report, &hostile, &mut seen);
        nothing_else_was_written(&env, &report, &hostile, &dl, &before, ledger_before);
        assert!(
            !layout.commands().join(&name).exists(),
            "{what}: the command stayed in commands/"
        );
    }
    the_corpus_left_nothing_outside_and_logged_every_command(&env);
}

/// The operator's checks a validationPlan may name.
fn with_the_operators_checks(env: &Env) {
    std::fs::write(
        env.layout().config(),
        serde_json::to_vec_pretty(&json!({
            "schema": "warden.bridge-config/v1",
            "checks": {
                "tests": ["true"],
                "fails": ["sh", "-c", "echo the check says no; exit 1"],
                "slow": ["sleep", "30"]
            }
        }))
        .expect("json"),
    )
    .expect("config");
}

/// One case of the corpus as dropped: what it is, its reason, its file name.
struct Hostile<'a> {
    what: &'static str,
    reason: Reason,
    name: &'a str,
}

/// The pass dead-letters exactly this command, under a key not used before,
/// and the dead letter names the reason, the layer and what is wrong.
/// Returns the dead letter.
fn it_alone_is_dead_lettered_with_its_reason(
    env: &Env,
    report: &warden_bridge::pipeline::PassReport,
    hostile: &Hostile<'_>,
    seen: &mut std::collections::BTreeSet<String>,
) -> Value {
    use Reason::*;
    let Hostile { what, reason, name } = *hostile;
    let dead: Vec<_> = report
        .items
        .iter()
        .filter(|i| i.outcome == warden_bridge::pipeline::ItemOutcome::DeadLetter)
        .collect();
    assert_eq!(dead.len(), 1, "{what}: {report:?}");
    let item = dead[0];
    assert_eq!(item.reason, Some(reason), "{what}: {:?}", item.detail);
    assert!(
        seen.insert(item.id.clone()),
        "{what}: dead-letter key reused"
    );
    // The dead letter names the reason, the layer and what is wrong.
    let dl: serde_json::Value = serde_json::from_slice(
        &std::fs::read(env.layout().dead_letter(&item.id)).expect("dead letter"),
    )
    .expect("json");
    assert_eq!(dl["reason"], json!(reason.as_str()), "{what}");
    assert!(
        !dl["detail"].as_str().unwrap_or("").is_empty(),
        "{what}: no detail"
    );
    assert_eq!(dl["file"], json!(format!("commands/{name}")), "{what}");
    if matches!(reason, Symlink | HardLink | NotRegular | TooLarge) {
        // Refused at the file layer: its content was never read, so the
        // (published) dead letter carries none of it.
        for k in ["original_text", "original_base64"] {
            assert!(dl.get(k).is_none(), "{what}: {k} in {dl}");
        }
        assert_eq!(dl["input_sha256"], Value::Null, "{what}");
        assert!(dl["file_type"].is_string(), "{what}: {dl}");
    }
    dl
}

/// Nothing else was written: no outputs, no ledger entry, no target file.
fn nothing_else_was_written(
    env: &Env,
    report: &warden_bridge::pipeline::PassReport,
    hostile: &Hostile<'_>,
    dl: &Value,
    before: &std::collections::BTreeMap<String, Vec<u8>>,
    ledger_before: usize,
) {
    let Hostile { what, reason, .. } = *hostile;
    let layout = env.layout();
    let archived = report
        .items
        .iter()
        .filter(|i| i.outcome == warden_bridge::pipeline::ItemOutcome::Archived)
        .count();
    if archived == 0 && matches!(reason, Reason::RuntimeExceeded | Reason::ValidationFailed) {
        // The change was applied, then rolled back before its commit
        // point: the tree is byte for byte as before, and the ledger
        // holds the attempt as rolled_back — never applied.
        let run_state = |k: &String| {
            [".ledger/", ".runs/", ".warden/state/"]
                .iter()
                .any(|p| k.starts_with(p))
        };
        let mut now = env.snapshot();
        now.retain(|k, _| !run_state(k));
        let mut was = before.clone();
        was.retain(|k, _| !run_state(k));
        assert_eq!(now, was, "{what}: the target's files changed");
        let entries = env.repo().ledger().entries().expect("entries");
        let added = &entries[ledger_before..];
        assert_eq!(added.len(), 1, "{what}: {added:?}");
        assert_eq!(
            added[0].result,
            warden_core::ledger::RunResult::RolledBack,
            "{what}"
        );
        assert_eq!(dl["id"].as_str(), Some(added[0].actor.id.as_str()));
    } else if archived == 0 {
        assert_eq!(
            &env.snapshot(),
            before,
            "{what}: something besides the dead letter changed"
        );
        assert_eq!(env.ledger_len(), ledger_before, "{what}: ledgered");
    }
    if let Some(id) = dl["id"].as_str().filter(|_| reason != Reason::DuplicateId) {
        assert!(!layout.result(id).exists(), "{what}: a result was written");
        assert!(!layout.archive(id).exists(), "{what}: archived");
        assert!(!layout.diff(id).exists(), "{what}: a diff was written");
    }
}

/// After the whole corpus: the file outside is untouched, no retries are
/// pending, the ledger verifies, and one audit line per command, each with
/// hmac_ok and a result.
fn the_corpus_left_nothing_outside_and_logged_every_command(env: &Env) {
    let outside = env.dir.path().join("outside");
    assert_eq!(
        std::fs::read_to_string(outside.join("target.txt")).expect("read"),
        "outside\n"
    );
    assert!(!outside.join("new.txt").exists());
    assert!(!env.layout().commands().join(".retries.json").exists());
    assert!(env.repo().ledger().verify().expect("verify").ok);
    // One audit line per command, each with hmac_ok and a result.
    let log = std::fs::read_to_string(env.layout().log()).expect("log");
    assert!(log.lines().count() >= 40);
    for l in log.lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("log line is JSON");
        for k in [
            "ts",
            "id",
            "action",
            "result",
            "exit",
            "files_changed",
            "hmac_ok",
        ] {
            assert!(v.get(k).is_some(), "log line without {k}: {l}");
        }
    }
}

/// A change that outruns `constraints.maxRuntimeMs` never commits: the
/// target's own validation command, still running at the deadline, is killed,
/// the files are restored before the commit point, and the only ledger entry
/// is the rolled-back attempt.
#[test]
fn runtime_exceeded_never_commits() {
    let env = Env::new();
    let policy = env.root.join(".warden/policy.yaml");
    let text = std::fs::read_to_string(&policy).expect("policy");
    std::fs::write(
        &policy,
        format!("{text}\nvalidation:\n  command: [\"sleep\", \"30\"]\n"),
    )
    .expect("write");
    let mut v = write("slow", "docs/slow.md", "slow\n");
    v["constraints"]["maxRuntimeMs"] = json!(200);
    let started = std::time::Instant::now();
    let item = env.one("slow.json", &signed(&v));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the validation command was not killed at the deadline"
    );
    assert_eq!(item.reason, Some(Reason::RuntimeExceeded), "{item:?}");
    assert!(
        item.detail
            .as_deref()
            .is_some_and(|d| d.contains("rolled back before it committed")),
        "{item:?}"
    );
    assert!(!env.root.join("docs/slow.md").exists(), "the change stayed");
    assert!(!env.layout().result("slow").exists());
    assert!(!env.layout().archive("slow").exists());
    let entries = env.repo().ledger().entries().expect("entries");
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(
        entries[0].result,
        warden_core::ledger::RunResult::RolledBack
    );
    assert!(entries[0].undoes.is_none());
    // A replay of the same id is refused: the rolled-back run was its answer.
    let again = env.one("slow.json", &signed(&v));
    assert_eq!(again.reason, Some(Reason::DuplicateId), "{again:?}");
}

/// validationPlan checks run in the target after the change and before it
/// commits: passing checks let it commit.
#[test]
fn passing_validation_plan_checks_commit() {
    let env = Env::new();
    std::fs::write(
        env.layout().config(),
        // The spelling of the tag before v1 tags followed the schema names: still read.
        br#"{"schema": "warden.bridge.config/v1", "checks": {"has-file": ["test", "-f", "docs/ok.md"]}}"#,
    )
    .expect("config");
    let mut v = write("ok", "docs/ok.md", "ok\n");
    v["validationPlan"] = json!(["has-file"]);
    let item = env.one("ok.json", &signed(&v));
    assert_eq!(
        item.outcome,
        warden_bridge::pipeline::ItemOutcome::Archived,
        "{item:?}"
    );
    assert_eq!(
        std::fs::read_to_string(env.root.join("docs/ok.md")).expect("read"),
        "ok\n"
    );
}

/// A broken meta/bridge.json stops the executor with the file and field named.
#[test]
fn a_broken_config_names_the_file_and_field() {
    let env = Env::new();
    std::fs::write(
        env.layout().config(),
        br#"{"schema": "warden.bridge-config/v1", "checks": {"t": []}}"#,
    )
    .expect("config");
    let repo = env.repo();
    let e = warden_bridge::pipeline::Bridge::new(
        env.layout(),
        &repo,
        &env.ctx,
        &env.secrets,
        env.opts.clone(),
    )
    .err()
    .expect("refused");
    let msg = e.to_string();
    assert!(
        msg.contains("meta/bridge.json") && msg.contains("checks.t"),
        "{msg}"
    );
}

/// Files still being written are left alone until they settle.
#[test]
fn unsettled_and_non_json_files_are_left_alone() {
    let mut env = Env::new();
    env.opts.settle_ms = 60_000;
    env.drop_file("fresh.json", &signed(&noop("fresh")));
    env.drop_file("notes.txt", b"not a command");
    let r = env.pass();
    assert!(r.items.is_empty());
    assert_eq!(r.waiting, 1);
    assert_eq!(r.ignored, vec!["notes.txt".to_string()]);
    assert!(env.layout().commands().join("fresh.json").exists());
    assert!(env.layout().commands().join("notes.txt").exists());
}

/// The archive is the verified command, byte for byte, linked to the
/// descriptor it was verified through (so the inbox removal frees no inode).
#[test]
fn the_archive_is_a_link_to_the_verified_file() {
    use std::os::unix::fs::MetadataExt;
    let env = Env::new();
    let bytes = signed(&noop("a1"));
    std::fs::write(env.layout().commands().join("a1.json"), &bytes).expect("write");
    let ino = std::fs::metadata(env.layout().commands().join("a1.json"))
        .expect("meta")
        .ino();
    let r = env.pass();
    assert_eq!(
        r.items[0].outcome,
        warden_bridge::pipeline::ItemOutcome::Archived,
        "{r:?}"
    );
    let archive = env.layout().archive("a1");
    assert_eq!(std::fs::read(&archive).expect("archive"), bytes);
    let meta = std::fs::metadata(&archive).expect("meta");
    assert_eq!(meta.nlink(), 1);
    assert_eq!(meta.ino(), ino, "the archive is the verified inode");
}

/// Finding 1: a hard link in commands/ to any readable file put that file's
/// content into dead_letter/<id>.json (`original_text`), which publish pushed.
/// Now it is refused as `hard_link` and nothing of it is read or copied.
#[test]
fn hard_link_in_commands_is_dead_lettered_without_reading() {
    let env = Env::new();
    let secret = env.dir.path().join("secret.txt");
    std::fs::write(&secret, "TOP-SECRET-VALUE\n").expect("write");
    // Even a hard link to a *valid signed command* is refused: the bridge
    // cannot tell whose file it is.
    let cmd = env.dir.path().join("a2-outside.json");
    std::fs::write(&cmd, signed(&noop("a2"))).expect("write");
    std::fs::hard_link(&secret, env.layout().commands().join("leak.json")).expect("link");
    std::fs::hard_link(&cmd, env.layout().commands().join("a2.json")).expect("link");
    let r = env.pass();
    assert_eq!(r.items.len(), 2, "{r:?}");
    for item in &r.items {
        assert_eq!(item.reason, Some(Reason::HardLink), "{item:?}");
    }
    assert_no_byte_of(&env, "TOP-SECRET-VALUE");
    assert!(!env.layout().archive("a2").exists());
    // The files elsewhere are untouched; only the names in commands/ went.
    assert_eq!(
        std::fs::read_to_string(&secret).expect("read"),
        "TOP-SECRET-VALUE\n"
    );
    assert!(cmd.exists());
    assert!(!env.layout().commands().join("leak.json").exists());
}

/// Finding 1 (the link variant): a symlink is neither followed nor read.
#[test]
fn symlink_in_commands_is_dead_lettered_without_reading() {
    let env = Env::new();
    let secret = env.dir.path().join("secret.txt");
    std::fs::write(&secret, "TOP-SECRET-VALUE\n").expect("write");
    std::os::unix::fs::symlink(&secret, env.layout().commands().join("leak.json"))
        .expect("symlink");
    let item = env.pass().items.remove(0);
    assert_eq!(item.reason, Some(Reason::Symlink), "{item:?}");
    let dl: Value = serde_json::from_slice(
        &std::fs::read(env.layout().dead_letter(&item.id)).expect("dead letter"),
    )
    .expect("json");
    assert_eq!(dl["file_type"], json!("symlink"));
    assert_no_byte_of(&env, "TOP-SECRET-VALUE");
    assert!(secret.exists());
}

/// Finding 1 (the race): a name swapped between a regular file and a symlink
/// to a secret while the bridge looks at it is either refused or read as the
/// regular file; the secret's bytes never come back from the file layer.
#[test]
fn symlink_swapped_in_during_the_check_is_never_read() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().expect("tempdir");
    let commands = dir.path().join("commands");
    std::fs::create_dir(&commands).expect("mkdir");
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "TOP-SECRET-VALUE\n").expect("write");
    let plain = dir.path().join("plain.json");
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&secret, &link).expect("symlink");
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let swapper = {
        let (stop, commands, plain, link) =
            (stop.clone(), commands.clone(), plain.clone(), link.clone());
        std::thread::spawn(move || {
            let dst = commands.join("c.json");
            let tmp_link = commands.join(".l");
            while !stop.load(Ordering::Relaxed) {
                std::fs::write(&plain, b"{\"plain\": true}").expect("write");
                std::fs::rename(&plain, &dst).expect("rename");
                let _ = std::fs::remove_file(&tmp_link);
                std::os::unix::fs::symlink(std::fs::read_link(&link).expect("link"), &tmp_link)
                    .expect("symlink");
                std::fs::rename(&tmp_link, &dst).expect("rename");
            }
        })
    };
    let (mut read, mut refused) = (0, 0);
    let until = std::time::Instant::now() + std::time::Duration::from_millis(1500);
    while std::time::Instant::now() < until {
        match warden_bridge::inbox::open_verified(&commands, "c.json", 1024, None) {
            Ok(warden_bridge::inbox::Taken::Verified(v)) => {
                assert_eq!(v.bytes, b"{\"plain\": true}", "read through a link");
                read += 1;
            }
            Ok(warden_bridge::inbox::Taken::Refused(r)) => {
                assert!(
                    matches!(r.rejection.reason, Reason::Symlink),
                    "{:?}",
                    r.rejection
                );
                refused += 1;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("{e}"),
        }
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().expect("swapper");
    assert!(read > 0 && refused > 0, "read {read}, refused {refused}");
}

/// A FIFO is never opened for a blocking read: the pass ends and the FIFO is
/// dead-lettered as `not_regular` with its type named.
#[test]
fn fifo_in_commands_is_dead_lettered_without_blocking() {
    let env = Env::new();
    mkfifo(&env.layout().commands().join("pipe.json"));
    let item = env.pass().items.remove(0);
    assert_eq!(item.reason, Some(Reason::NotRegular), "{item:?}");
    let dl: Value = serde_json::from_slice(
        &std::fs::read(env.layout().dead_letter(&item.id)).expect("dead letter"),
    )
    .expect("json");
    assert_eq!(dl["file_type"], json!("fifo"));
}

/// Finding 11: a command whose file name differs from its id was accepted.
#[test]
fn command_named_other_than_its_id_is_dead_lettered_as_id_mismatch() {
    let env = Env::new();
    let item = env.one("innocent.json", &signed(&write("x1", "docs/x1.md", "x\n")));
    assert_eq!(item.reason, Some(Reason::IdMismatch), "{item:?}");
    assert!(!env.root.join("docs/x1.md").exists());
    assert!(!env.layout().archive("x1").exists());
}

/// A copy of a signed command under another name spent its id, so whoever
/// saw the command could cancel it before it arrived as `<id>.json`.
#[test]
fn a_signed_command_copied_under_another_name_does_not_cancel_the_real_one() {
    let env = Env::new();
    let copy = env.one("0.json", &signed(&write("x1", "docs/x1.md", "x\n")));
    assert_eq!(copy.reason, Some(Reason::IdMismatch), "{copy:?}");
    let real = env.one("x1.json", &signed(&write("x1", "docs/x1.md", "x\n")));
    assert_eq!(real.reason, None, "{real:?}");
    assert_eq!(
        std::fs::read_to_string(env.root.join("docs/x1.md")).expect("written"),
        "x\n"
    );
    // Once it ran, it is spent as every command is.
    let again = env.one("x1.json", &signed(&write("x1", "docs/x1.md", "x\n")));
    assert_eq!(again.reason, Some(Reason::DuplicateId), "{again:?}");
}

/// `results/<id>.integrity.json` is `<id>`'s integrity report: a command
/// whose id ends in `.integrity` would overwrite it with its own result.
#[test]
fn an_id_ending_in_integrity_is_refused() {
    assert!(!warden_bridge::command::valid_id("s1.integrity"));
    assert!(warden_bridge::command::valid_id("s1.integrity-check"));
    let env = Env::new();
    let item = env.one(
        "s1.integrity.json",
        &signed(&write("s1.integrity", "docs/i.md", "i\n")),
    );
    assert_eq!(item.reason, Some(Reason::Schema), "{item:?}");
}

/// No file under the bridge root's published directories holds `needle`.
fn assert_no_byte_of(env: &Env, needle: &str) {
    for dir in warden_bridge::layout::SAFE_DIRS {
        let d = env.layout().dir(dir);
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let bytes = std::fs::read(e.path()).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(needle), "{} holds it", e.path().display());
        }
    }
}

fn mkfifo(path: &std::path::Path) {
    let st = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo");
    assert!(st.success());
}

/// A flood of refused commands published one commit each; now all the dead
/// letters of a pass go in one commit (accepted commands keep theirs).
#[test]
fn many_dead_letters_publish_in_one_commit_per_pass() {
    let env = Env::new();
    common::git(&env.root, &["config", "user.name", "t"]);
    common::git(&env.root, &["config", "user.email", "t@warden.invalid"]);
    for n in 0..12 {
        env.drop_file(&format!("bad{n:02}.json"), b"{\"not\": \"signed\"}");
    }
    env.drop_file("other.json", &signed(&noop("x9")));
    env.drop_file("ok1.json", &signed(&noop("ok1")));
    let r = env.pass();
    assert_eq!(r.items.len(), 14, "{r:?}");
    let before = common::git(&env.root, &["rev-list", "--count", "HEAD"]);
    let report = warden_bridge::publish::publish(
        &env.layout(),
        &warden_bridge::publish::Backoff::default(),
        Some(&env.root),
    )
    .expect("publish");
    let subjects: Vec<&String> = report
        .commits
        .iter()
        .filter(|s| s.starts_with("bridge: DLQ"))
        .collect();
    assert_eq!(
        subjects,
        ["bridge: DLQ 13 dead letters (hmac_missing x12, id_mismatch)"],
        "{report:?}"
    );
    assert_eq!(
        report
            .ids
            .iter()
            .filter(|i| i.starts_with("dead_letter/"))
            .count(),
        13
    );
    assert!(
        report
            .commits
            .iter()
            .any(|s| s == "bridge: results ok1 (exit=0)")
    );
    let after = common::git(&env.root, &["rev-list", "--count", "HEAD"]);
    let made = after.trim().parse::<u32>().expect("n") - before.trim().parse::<u32>().expect("n");
    assert_eq!(made as usize, report.commits.len(), "{report:?}");
    assert!(made <= 3, "{report:?}");
    assert_eq!(
        common::git(&env.root, &["status", "--porcelain", "dead_letter", "logs"]),
        ""
    );
}

/// Finding 6 (bridge part): one validly signed command the engine cannot
/// apply wedged the executor, and valid commands piled up. `bad` is such a
/// command between two good ones: it is dead-lettered, the good one before
/// it is applied, and so is the one after it, in the same pass.
fn bad_command_between_two_good_ones(bad: serde_json::Value) {
    let env = Env::new();
    env.drop_file("g1.json", &signed(&write("g1", "docs/g1.md", "one\n")));
    env.drop_file("g2.json", &signed(&bad));
    env.drop_file("g3.json", &signed(&write("g3", "docs/g3.md", "three\n")));
    let r = env.pass();
    let by_id: std::collections::BTreeMap<&str, &warden_bridge::pipeline::ItemReport> =
        r.items.iter().map(|i| (i.id.as_str(), i)).collect();
    assert_eq!(
        by_id["g1"].outcome,
        warden_bridge::pipeline::ItemOutcome::Archived,
        "{r:?}"
    );
    let g2 = by_id["g2"];
    assert_eq!(
        g2.outcome,
        warden_bridge::pipeline::ItemOutcome::DeadLetter,
        "{r:?}"
    );
    assert!(env.layout().dead_letter("g2").exists());
    // The engine refuses what it cannot apply at planning, so the command
    // after the bad one is served in the same pass.
    let g3 = by_id
        .get("g3")
        .unwrap_or_else(|| panic!("g3 was not served: {r:?}"));
    assert_eq!(
        g3.outcome,
        warden_bridge::pipeline::ItemOutcome::Archived,
        "{r:?}"
    );
    assert!(r.deferred.is_empty() && r.target_error.is_none(), "{r:?}");
    assert_eq!(
        std::fs::read_to_string(env.root.join("docs/g3.md")).expect("g3"),
        "three\n"
    );
    // Later passes are served too.
    let item = env.one("g4.json", &signed(&write("g4", "docs/g4.md", "four\n")));
    assert_eq!(
        item.outcome,
        warden_bridge::pipeline::ItemOutcome::Archived,
        "{item:?}"
    );
    let entries = env.repo().ledger().entries().expect("entries");
    assert!(
        !entries
            .iter()
            .any(|e| e.actor.id == "g2" && e.result == warden_core::ledger::RunResult::Applied),
        "{entries:?}"
    );
}

#[test]
fn one_unappliable_command_never_wedges_the_executor_long_name() {
    // 259 bytes: a name over NAME_MAX, which the engine refuses at planning.
    let long = format!("docs/{}.md", "n".repeat(256));
    bad_command_between_two_good_ones(write("g2", &long, "long\n"));
}

#[test]
fn a_232_byte_name_through_the_bridge_applies() {
    // It used to wedge the executor: the engine's temp name grew past NAME_MAX.
    let env = Env::new();
    let long = format!("docs/{}.md", "n".repeat(229));
    let item = env.one("g1.json", &signed(&write("g1", &long, "long\n")));
    assert_eq!(
        item.outcome,
        warden_bridge::pipeline::ItemOutcome::Archived,
        "{item:?}"
    );
    assert_eq!(
        std::fs::read_to_string(env.root.join(&long)).expect("applied"),
        "long\n"
    );
}

#[test]
fn one_unappliable_command_never_wedges_the_executor_file_and_child() {
    bad_command_between_two_good_ones(doc(
        "g2",
        json!([
            {"op": "writeFile", "path": "x", "content": "file\n"},
            {"op": "writeFile", "path": "x/y", "content": "child\n"}
        ]),
        &["writeFile"],
    ));
}

/// The target's recovery cannot finish (the state one failed run left): a
/// pass still answers what it can — refused commands are dead-lettered — and
/// verified commands wait in commands/, neither lost nor dead-lettered for a
/// fault that is not theirs; the pass names the reason.
#[test]
fn unrecoverable_target_defers_verified_commands_and_still_dead_letters_bad_ones() {
    let env = Env::new();
    // A journal the engine cannot open (a directory where the file is).
    let journal = env.root.join(".warden/state/journal");
    let _ = std::fs::remove_file(&journal);
    std::fs::create_dir_all(journal.join("x")).expect("dir");
    assert!(env.repo().session(&env.ctx, true, &mut |_| {}).is_err());
    env.drop_file("ok1.json", &signed(&write("ok1", "docs/ok1.md", "x\n")));
    env.drop_file("bad.json", b"{\"not\": \"signed\"}");
    let r = env.pass();
    assert!(
        r.items
            .iter()
            .any(|i| i.reason == Some(Reason::HmacMissing)),
        "{r:?}"
    );
    assert_eq!(r.items.len(), 1, "{r:?}");
    assert_eq!(r.deferred, ["ok1.json"], "{r:?}");
    assert!(r.target_error.is_some(), "{r:?}");
    assert!(env.layout().commands().join("ok1.json").exists());
    assert!(!env.layout().commands().join("bad.json").exists());
}

/// Finding 11 (bridge part): unknown fields are refused with a did-you-mean,
/// a BOM is named as such, duplicate keys are refused.
#[test]
fn a_misspelt_field_in_a_command_is_refused_with_a_did_you_mean() {
    let env = Env::new();
    let mut v = noop("m1");
    let allowed = v["allowedActions"].take();
    v.as_object_mut().expect("object").remove("allowedActions");
    v["allowedActons"] = allowed;
    let item = env.one("m1.json", &signed(&v));
    assert_eq!(item.reason, Some(Reason::Schema), "{item:?}");
    let dl: Value = serde_json::from_slice(
        &std::fs::read(env.layout().dead_letter("m1")).expect("dead letter"),
    )
    .expect("json");
    assert_eq!(dl["field"], json!("allowedActons"));
    assert!(
        dl["hint"]
            .as_str()
            .is_some_and(|h| h.contains("did you mean \"allowedActions\"")),
        "{dl}"
    );
    // A BOM is named.
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend(signed(&noop("m2")));
    let item = env.one("m2.json", &bom);
    assert_eq!(item.reason, Some(Reason::InvalidJson), "{item:?}");
    assert!(
        item.detail
            .as_deref()
            .is_some_and(|d| d.contains("byte-order mark")),
        "{item:?}"
    );
}

/// meta/bridge.json is read strictly: an unknown field (did-you-mean), a
/// duplicate key and a BOM each stop the executor naming the file and field.
#[test]
fn a_loose_bridge_config_is_refused_naming_the_file_and_field() {
    let env = Env::new();
    let refused = |text: &[u8]| -> String {
        std::fs::write(env.layout().config(), text).expect("config");
        let repo = env.repo();
        warden_bridge::pipeline::Bridge::new(
            env.layout(),
            &repo,
            &env.ctx,
            &env.secrets,
            env.opts.clone(),
        )
        .err()
        .expect("refused")
        .to_string()
    };
    let msg = refused(br#"{"schema": "warden.bridge-config/v1", "chekcs": {}}"#);
    assert!(
        msg.contains("meta/bridge.json")
            && msg.contains("chekcs")
            && msg.contains("did you mean \"checks\""),
        "{msg}"
    );
    let msg = refused(
        br#"{"schema": "warden.bridge-config/v1", "checks": {"t": ["true"], "t": ["false"]}}"#,
    );
    assert!(
        msg.contains("meta/bridge.json") && msg.contains("\"t\" twice"),
        "{msg}"
    );
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend_from_slice(br#"{"schema": "warden.bridge-config/v1"}"#);
    let msg = refused(&bom);
    assert!(msg.contains("byte-order mark"), "{msg}");
}

/// A command file the executor may not open used to fail the whole pass,
/// every pass. Now it is dead-lettered `unreadable` and the others are served.
#[test]
fn an_unreadable_command_file_is_dead_lettered_not_a_wedge() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let locked = env.layout().commands().join("locked.json");
    std::fs::write(&locked, signed(&noop("locked"))).expect("write");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    if std::fs::File::open(&locked).is_ok() {
        // Running as root (or with CAP_DAC_OVERRIDE): mode 000 does not stop
        // reading, so there is nothing to test here.
        eprintln!("skipped: this user can read a mode-000 file");
        return;
    }
    env.drop_file("fine.json", &signed(&noop("fine")));
    let r = env.pass();
    let reasons: Vec<_> = r
        .items
        .iter()
        .map(|i| (i.file.as_str(), i.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            ("fine.json", None),
            ("locked.json", Some(Reason::Unreadable))
        ],
        "{r:?}"
    );
}
