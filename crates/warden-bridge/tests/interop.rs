//! Interoperability with the seed's Python signer: python3 generates the
//! canonical JSON and the HMAC of documents where naive canonicalisers differ
//! from `json.dumps(obj, sort_keys=True, separators=(",", ":"))` — non-ASCII,
//! astral characters, nested objects, floats, big integers, key orders — and
//! the Rust side must produce the same bytes and MAC. The smoke fixture must be
//! the seed's script, unchanged.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

mod common;

use std::process::{Command, Stdio};
use warden_bridge::canon;
use warden_bridge::sign::{KeySlot, Secrets};

const VECTORS_PY: &str = r#"
import json, sys, hmac, hashlib, base64
docs = [
  r'{"b":1,"a":2,"A":3,"_":4,"é":5,"\u00e9x":6,"😀":7,"\uff5e":8}',
  r'{"s":"caf\u00e9 – 😀 \u0000\u001f\u007f\u2028 \"q\" \\\\ /","t":"tab\there\nnl"}',
  r'{"f":[1.0,1e30,1.5E30,0.00001,0.0001,1e16,1e15,-0.0,0.1,123.456e-7,5e-324,1.7976931348623157e308,2.5,100.0,1e-7,3.14159]}',
  r'{"i":[0,-0,17,-17,123456789012345678901234567890,-98765432109876543210987654321098765432]}',
  r'{"nested":{"z":{"y":[{"b":true,"a":null}],"x":{}},"a":[[],[{}]]},"e":""}',
  r'{"hmac":"ignored","id":"x","k":{"hmac":"kept: only the top-level hmac is left out"}}',
  r'{"id":"noop-1","schemaVersion":"1.0","payload":{"inline":{"ops":[{"op":"noop"}]}},"constraints":{"maxRuntimeMs":60000,"maxFilesChanged":1}}',
]
secret = "s3cr\u00e9t-\U0001F511".encode()
out = []
for d in docs:
    obj = json.loads(d)
    payload = json.dumps({k: v for k, v in obj.items() if k != "hmac"}, separators=(",", ":"), sort_keys=True)
    mac = base64.b64encode(hmac.new(secret, payload.encode(), hashlib.sha256).digest()).decode()
    out.append({"doc": d, "canonical": payload, "hmac": mac})
json.dump(out, sys.stdout)
"#;

fn python(script: &str, stdin: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is required for the interop tests (it is how the seed signs)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write");
    let out = child.wait_with_output().expect("python3");
    assert!(
        out.status.success(),
        "python3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn canonical_json_and_hmac_match_python_byte_for_byte() {
    let out = python(VECTORS_PY, b"");
    let vectors: serde_json::Value = serde_json::from_slice(&out).expect("json");
    let secrets = Secrets::new("s3cr\u{e9}t-\u{1F511}", None);
    let vectors = vectors.as_array().expect("array");
    assert_eq!(vectors.len(), 7);
    for v in vectors {
        let text = v["doc"].as_str().expect("doc");
        let doc = canon::parse(text.as_bytes()).expect("parse");
        let ours = String::from_utf8(canon::signing_payload(&doc)).expect("utf8");
        assert_eq!(
            ours,
            v["canonical"].as_str().expect("canonical"),
            "doc {text}"
        );
        let mac = warden_bridge::sign::sign(&doc, &secrets, KeySlot(0)).expect("mac");
        assert_eq!(mac, v["hmac"].as_str().expect("hmac"), "doc {text}");
    }
}

/// Random documents from Python's side (fixed seed): strings mixing ASCII,
/// Latin-1, BMP and astral characters, floats of every magnitude, huge ints.
#[test]
fn random_documents_canonicalise_like_python() {
    let script = r#"
import json, random, sys
r = random.Random(20261121)
alphabet = "aZ09 _-\"\\/\n\t\u0001\u007f\u00e9\u00ff\u0100\u2028\u4e2d\ufffd\U0001F600\U0010FFFF"
def s(): return "".join(r.choice(alphabet) for _ in range(r.randint(0, 12)))
def num():
    k = r.randint(0, 3)
    if k == 0: return r.randint(-10**r.randint(1, 60), 10**r.randint(1, 60))
    if k == 1: return r.uniform(-1e6, 1e6)
    if k == 2: return r.random() * 10 ** r.randint(-320, 300)
    return float(r.randint(-10**17, 10**17))
def val(d):
    k = r.randint(0, 6 if d < 4 else 3)
    if k == 0: return s()
    if k == 1: return num()
    if k == 2: return r.choice([True, False, None])
    if k == 3: return r.randint(-5, 5)
    if k == 4: return [val(d + 1) for _ in range(r.randint(0, 4))]
    return {s(): val(d + 1) for _ in range(r.randint(0, 5))}
out = []
for _ in range(300):
    doc = {s(): val(0) for _ in range(r.randint(1, 6))}
    out.append([json.dumps(doc, indent=r.choice([None, 2]), sort_keys=r.choice([False, True]), ensure_ascii=r.choice([False, True])),
                json.dumps(doc, sort_keys=True, separators=(",", ":"))])
json.dump(out, sys.stdout)
"#;
    let out = python(script, b"");
    let pairs: Vec<(String, String)> = serde_json::from_slice(&out).expect("json");
    assert_eq!(pairs.len(), 300);
    for (text, want) in pairs {
        let doc = canon::parse(text.as_bytes()).expect("parse");
        assert_eq!(canon::canonical(&doc), want, "input {text}");
    }
}

/// The fixture is the original executor script, byte for byte (checked when the
/// shared seeds are beside the repository, as in CI).
#[test]
fn smoke_fixture_is_the_seed_script_unchanged() {
    let fixture = include_str!("fixtures/smoke.py");
    assert!(fixture.contains("separators=(\",\",\":\"),sort_keys=True"));
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/seeds");
    let Ok(rd) = std::fs::read_dir(&seeds) else {
        eprintln!("skipped: {} not found", seeds.display());
        return;
    };
    let seed = rd
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("002_"))
        .map(|e| std::fs::read_to_string(e.path()).expect("seed"));
    let Some(seed) = seed else {
        eprintln!("skipped: the original executor script is not beside the repository");
        return;
    };
    let start = seed.find("python3 - <<'PY'\n").expect("heredoc") + "python3 - <<'PY'\n".len();
    let end = start + seed[start..].find("\nPY\n").expect("end") + 1;
    assert_eq!(&seed[start..end], fixture);
}
