//! What each handler language contributes to generation: the bodies of the
//! handler's AUTO fences (PLUGIN: the spec's facts; PROTOCOL: the protocol
//! loop) and the developer area and per-operation test written once.

use crate::spec::{FEATURES, Lang, Operation, PluginSpec};

/// Whether an operation's default body quarantines temporary files: only when
/// the plugin may propose `quarantine` and the operation handles FileDetected.
pub fn quarantines(spec: &PluginSpec, op: &Operation) -> bool {
    spec.actions.iter().any(|a| a == "quarantine") && op.events.iter().any(|e| e == "FileDetected")
}

pub const QUARANTINE_RATIONALE: &str = "temporary files (*.tmp, *~) go to quarantine";
pub const IDLE_RATIONALE: &str = "nothing to propose";

pub fn rationale(spec: &PluginSpec, op: &Operation) -> &'static str {
    if quarantines(spec, op) {
        QUARANTINE_RATIONALE
    } else {
        IDLE_RATIONALE
    }
}

fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_default()
}

fn features() -> String {
    let f: Vec<String> = FEATURES.iter().map(|s| s.to_string()).collect();
    json_list(&f)
}

/// The PLUGIN fence body: the spec's facts in the handler's language.
pub fn plugin_fence(spec: &PluginSpec) -> String {
    let ops_py: Vec<String> = spec
        .operations
        .iter()
        .map(|o| format!("{}: {}", json_str(&o.name), json_list(&o.events)))
        .collect();
    match spec.lang {
        Lang::Python => format!(
            "PLUGIN_KEY = {}\nPLUGIN_ID = {}\nPLUGIN_VERSION = {}\nPROTOCOL_MAJOR = {}\nEVENTS = {}\nOPERATIONS = {{{}}}\nACTIONS = {}\n",
            json_str(&spec.key),
            json_str(&spec.id),
            json_str(&spec.version),
            spec.protocol,
            json_list(&spec.events),
            ops_py.join(", "),
            json_list(&spec.actions)
        ),
        Lang::Sh => {
            let ops: Vec<String> = spec
                .operations
                .iter()
                .flat_map(|o| o.events.iter().map(move |e| format!("{}:{e}", o.name)))
                .collect();
            format!(
                "PLUGIN_KEY='{}'\nPLUGIN_ID='{}'\nPLUGIN_VERSION='{}'\nPROTOCOL_MAJOR={}\nEVENTS='{}'\nOPERATIONS='{}'\nACTIONS='{}'\n",
                spec.key,
                spec.id,
                sh_safe(&spec.version),
                spec.protocol,
                spec.events.join(" "),
                ops.join(" "),
                spec.actions.join(" ")
            )
        }
        Lang::Pwsh => {
            let ops: Vec<String> = spec
                .operations
                .iter()
                .map(|o| format!("'{}' = @({})", o.name, ps_list(&o.events)))
                .collect();
            format!(
                "$PluginKey = '{}'\n$PluginId = '{}'\n$PluginVersion = '{}'\n$ProtocolMajor = {}\n$Events = @({})\n$Operations = @{{ {} }}\n$Actions = @({})\n",
                spec.key,
                spec.id,
                sh_safe(&spec.version),
                spec.protocol,
                ps_list(&spec.events),
                ops.join("; "),
                ps_list(&spec.actions)
            )
        }
        Lang::Rust => {
            let ops: Vec<String> = spec
                .operations
                .iter()
                .map(|o| format!("({}, &{})", json_str(&o.name), rs_list(&o.events)))
                .collect();
            format!(
                "const PLUGIN_KEY: &str = {};\nconst PLUGIN_ID: &str = {};\nconst PLUGIN_VERSION: &str = {};\nconst PROTOCOL_MAJOR: u32 = {};\nconst EVENTS: &[&str] = &{};\nconst OPERATIONS: &[(&str, &[&str])] = &[{}];\nconst ACTIONS: &[&str] = &{};\n",
                json_str(&spec.key),
                json_str(&spec.id),
                json_str(&spec.version),
                spec.protocol,
                rs_list(&spec.events),
                ops.join(", "),
                rs_list(&spec.actions)
            )
        }
    }
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn sh_safe(s: &str) -> String {
    s.replace('\'', "")
}

fn ps_list(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("'{}'", s.replace('\'', "")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn rs_list(items: &[String]) -> String {
    format!(
        "[{}]",
        items
            .iter()
            .map(|s| json_str(s))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The PROTOCOL fence body: read hello + request, dispatch, reply.
pub fn protocol_fence(spec: &PluginSpec) -> String {
    let f = features();
    match spec.lang {
        Lang::Python => protocol_py(&f),
        Lang::Sh => protocol_sh(&f),
        Lang::Pwsh => PROTOCOL_PWSH.to_string(),
        Lang::Rust => protocol_rs(spec, &f),
    }
}

/// Python's PROTOCOL fence; `f` is the features as a JSON list.
fn protocol_py(f: &str) -> String {
    format!(
        r#"def _reply(message):
    sys.stdout.write(json.dumps(message, sort_keys=True, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def _main():
    hello = json.loads(sys.stdin.readline())
    _reply({{"type": "hello", "protocol": {{"major": PROTOCOL_MAJOR, "features": {f}}}}})
    if hello.get("protocol", {{}}).get("major") != PROTOCOL_MAJOR:
        print("unsupported protocol: %r" % hello.get("protocol"), file=sys.stderr)
        sys.exit(3)
    request = json.loads(sys.stdin.readline())
    op, event = request.get("op"), request.get("event")
    if event not in OPERATIONS.get(op, []):
        _reply({{"type": "error", "message": "operation %r does not handle %r" % (op, event)}})
        sys.exit(2)
    actions, rationale = globals()[op](event, request["input"]["items"])
    _reply({{"type": "response", "output": {{"actions": actions, "rationale": rationale}}}})


if __name__ == "__main__":
    _main()
"#
    )
}

/// sh's PROTOCOL fence; `f` is the features as a JSON list.
fn protocol_sh(f: &str) -> String {
    format!(
        r#"IFS= read -r hello || exit 2
IFS= read -r request || exit 2
printf '{{"type":"hello","protocol":{{"major":%s,"features":{f}}}}}\n' "$PROTOCOL_MAJOR"
# JSON may put spaces after ':' and ',' (Python's default): compare without them.
compact=$(printf '%s' "$hello" | tr -d ' \t\r')
case "$compact" in
  *"\"major\":$PROTOCOL_MAJOR,"* | *"\"major\":$PROTOCOL_MAJOR}}"*) ;;
  *) echo "unsupported protocol: $hello" >&2; exit 3 ;;
esac
op=$(printf '%s\n' "$request" | sed -n 's/.*"op"[[:space:]]*:[[:space:]]*"\([a-z0-9_]*\)".*/\1/p')
event=$(printf '%s\n' "$request" | sed -n 's/.*"event"[[:space:]]*:[[:space:]]*"\([A-Za-z]*\)".*/\1/p')
case " $OPERATIONS " in
  *" $op:$event "*) ;;
  *) printf '{{"type":"error","message":"operation %s does not handle %s"}}\n' "$op" "$event"; exit 2 ;;
esac
# Each item's path, one per line, still JSON-escaped (`\"`, `\\`, `\t`, `\u001b`):
# a string body is any run of non-quote, non-backslash characters or escapes.
actions=$(printf '%s\n' "$request" | grep -oE '"path"[[:space:]]*:[[:space:]]*"([^"\\]|\\.)*"' | sed 's/^"path"[[:space:]]*:[[:space:]]*"//; s/"$//' | "$op" "$event" | paste -sd, -)
eval "rationale=\${{RATIONALE_$op:-}}"
printf '{{"type":"response","output":{{"actions":[%s],"rationale":"%s"}}}}\n' "$actions" "$rationale"
"#
    )
}

/// PowerShell's PROTOCOL fence.
const PROTOCOL_PWSH: &str = r#"$hello = [Console]::In.ReadLine() | ConvertFrom-Json
$request = [Console]::In.ReadLine() | ConvertFrom-Json
$reply = @{ type = 'hello'; protocol = @{ major = $ProtocolMajor; features = @('batch') } }
[Console]::Out.WriteLine(($reply | ConvertTo-Json -Compress -Depth 20))
if ($hello.protocol.major -ne $ProtocolMajor) { [Console]::Error.WriteLine("unsupported protocol"); exit 3 }
$op = [string]$request.op
if (-not $Operations.ContainsKey($op) -or -not ($Operations[$op] -contains $request.event)) {
    [Console]::Out.WriteLine((@{ type = 'error'; message = "operation $op does not handle $($request.event)" } | ConvertTo-Json -Compress))
    exit 2
}
$result = & $op $request.event @($request.input.items)
$response = @{ type = 'response'; output = @{ actions = @($result.actions); rationale = [string]$result.rationale } }
[Console]::Out.WriteLine(($response | ConvertTo-Json -Compress -Depth 20))
"#;

/// Rust's PROTOCOL fence: `main` and a match arm per operation.
fn protocol_rs(spec: &PluginSpec, f: &str) -> String {
    let arms: Vec<String> = spec
        .operations
        .iter()
        .map(|o| format!("        {:?} => {}(&event, &paths),\n", o.name, o.name))
        .collect();
    format!(
        r#"fn field(json: &str, key: &str) -> String {{
    let needle = format!("\"{{key}}\":\"");
    let Some(at) = json.rfind(&needle) else {{ return String::new() }};
    let rest = &json[at + needle.len()..];
    rest[..rest.find('"').unwrap_or(rest.len())].to_string()
}}

fn main() {{
    use std::io::{{BufRead, Write}};
    let mut lines = std::io::stdin().lock().lines().map_while(Result::ok);
    let hello = lines.next().unwrap_or_default();
    let request = lines.next().unwrap_or_default();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{{{{\"type\":\"hello\",\"protocol\":{{{{\"major\":{{PROTOCOL_MAJOR}},\"features\":{fe}}}}}}}}}");
    let major = format!("\"major\":{{PROTOCOL_MAJOR}}");
    if !(hello.contains(&format!("{{major}},")) || hello.contains(&format!("{{major}}}}}}"))) {{
        eprintln!("unsupported protocol: {{hello}}");
        std::process::exit(3);
    }}
    let (op, event) = (field(&request, "op"), field(&request, "event"));
    if !OPERATIONS.iter().any(|(o, evs)| *o == op && evs.contains(&event.as_str())) {{
        let _ = writeln!(out, "{{{{\"type\":\"error\",\"message\":\"operation {{op}} does not handle {{event}}\"}}}}");
        std::process::exit(2);
    }}
    let paths: Vec<String> = request
        .match_indices("\"path\":\"")
        .filter_map(|(i, m)| {{
            let rest = &request[i + m.len()..];
            rest.find('"').map(|end| rest[..end].to_string())
        }})
        .collect();
    let (actions, rationale) = match op.as_str() {{
{arms}        _ => (Vec::new(), String::new()),
    }};
    let _ = writeln!(
        out,
        "{{{{\"type\":\"response\",\"output\":{{{{\"actions\":[{{}}],\"rationale\":\"{{}}\"}}}}}}}}",
        actions.join(","),
        rationale
    );
}}
"#,
        arms = arms.concat(),
        fe = f.replace('"', "\\\"")
    )
}

/// The developer area written once by the scaffold: one function per operation.
pub fn developer_area(spec: &PluginSpec) -> String {
    let mut out = String::new();
    for (i, op) in spec.operations.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let dev = DevOp {
            name: &op.name,
            events: &op.events.join(", "),
            r: rationale(spec, op),
        };
        let q = quarantines(spec, op);
        out.push_str(&match spec.lang {
            Lang::Python => dev.python(q),
            Lang::Sh => dev.sh(q),
            Lang::Pwsh => dev.pwsh(q),
            Lang::Rust => dev.rust(q),
        });
    }
    out.trim_end().to_string()
}

/// One operation's function in a new developer area: `name` handles
/// `events` and explains itself with `r`; `q` when it quarantines temporary
/// files (the scaffold's example), else an empty proposal.
struct DevOp<'a> {
    name: &'a str,
    events: &'a str,
    r: &'a str,
}

impl DevOp<'_> {
    fn python(&self, q: bool) -> String {
        let DevOp { name, events, r } = self;
        if q {
            format!(
                r#"def {name}(event, items):
    """{events}: one batch of input items. Returns (actions, rationale)."""
    actions = []
    for item in items:
        path = item.get("path", "")
        if path.endswith(".tmp") or path.endswith("~"):
            actions.append({{"kind": "quarantine", "path": path, "reason": "temporary file"}})
    return actions, "{r}"
"#
            )
        } else {
            format!(
                r#"def {name}(event, items):
    """{events}: one batch of input items. Returns (actions, rationale)."""
    return [], "{r}"
"#
            )
        }
    }

    fn sh(&self, q: bool) -> String {
        let DevOp { name, events, r } = self;
        if q {
            format!(
                r#"# {name} EVENT ({events}): the items' paths arrive one per line on stdin;
# print one JSON action per line. RATIONALE_{name} explains the proposal.
RATIONALE_{name}='{r}'
{name}() {{
  while IFS= read -r path; do
    case "$path" in
      *.tmp | *~) printf '{{"kind":"quarantine","path":"%s","reason":"temporary file"}}\n' "$path" ;;
    esac
  done
}}
"#
            )
        } else {
            format!(
                r#"# {name} EVENT ({events}): the items' paths arrive one per line on stdin;
# print one JSON action per line. RATIONALE_{name} explains the proposal.
RATIONALE_{name}='{r}'
{name}() {{
  cat >/dev/null
}}
"#
            )
        }
    }

    fn pwsh(&self, q: bool) -> String {
        let DevOp { name, events, r } = self;
        if q {
            format!(
                r#"# {events}: one batch of input items. Returns @{{ actions; rationale }}.
function {name}($EventName, $Items) {{
    $actions = @()
    foreach ($item in $Items) {{
        $path = [string]$item.path
        if ($path.EndsWith('.tmp') -or $path.EndsWith('~')) {{
            $actions += [ordered]@{{ kind = 'quarantine'; path = $path; reason = 'temporary file' }}
        }}
    }}
    return @{{ actions = $actions; rationale = '{r}' }}
}}
"#
            )
        } else {
            format!(
                r#"# {events}: one batch of input items. Returns @{{ actions; rationale }}.
function {name}($EventName, $Items) {{
    return @{{ actions = @(); rationale = '{r}' }}
}}
"#
            )
        }
    }

    fn rust(&self, q: bool) -> String {
        let DevOp { name, events, r } = self;
        if q {
            format!(
                r#"/// {events}: one batch; `paths` are the items' "path" fields.
/// Returns (actions as JSON objects, rationale).
fn {name}(_event: &str, paths: &[String]) -> (Vec<String>, String) {{
    let actions = paths
        .iter()
        .filter(|p| p.ends_with(".tmp") || p.ends_with('~'))
        .map(|p| format!("{{{{\"kind\":\"quarantine\",\"path\":\"{{p}}\",\"reason\":\"temporary file\"}}}}"))
        .collect();
    (actions, "{r}".to_string())
}}
"#
            )
        } else {
            format!(
                r#"/// {events}: one batch; `paths` are the items' "path" fields.
/// Returns (actions as JSON objects, rationale).
fn {name}(_event: &str, _paths: &[String]) -> (Vec<String>, String) {{
    (Vec::new(), "{r}".to_string())
}}
"#
            )
        }
    }
}

/// Whether the handler text defines operation `op` (a cheap, honest check).
pub fn defines_op(lang: Lang, text: &str, op: &str) -> bool {
    let needles = match lang {
        Lang::Python => vec![format!("def {op}(")],
        Lang::Sh => vec![format!("{op}() {{"), format!("{op}()")],
        Lang::Pwsh => vec![format!("function {op}(")],
        Lang::Rust => vec![format!("fn {op}(")],
    };
    text.lines().any(|l| {
        needles
            .iter()
            .any(|n| l.trim_start().starts_with(n.as_str()))
    })
}

/// The handler template with the developer area filled in.
pub fn handler_template(spec: &PluginSpec) -> String {
    let (tpl, slot) = match spec.lang {
        Lang::Python => (include_str!("templates/handler.py"), "{{DEV_PY}}"),
        Lang::Sh => (include_str!("templates/handler.sh"), "{{DEV_SH}}"),
        Lang::Pwsh => (include_str!("templates/handler.ps1"), "{{DEV_PS1}}"),
        Lang::Rust => (include_str!("templates/main.rs"), "{{DEV_RS}}"),
    };
    tpl.replace("{{NAME}}", &one_line(&spec.name))
        .replace("{{DESCRIPTION}}", &one_line(&spec.description))
        .replace("{{PROTOCOL}}", &spec.protocol.to_string())
        .replace(slot, &developer_area(spec))
}

fn one_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .replace("\"\"\"", "'''")
}

/// The per-operation test, written once (developer-owned afterwards). It runs
/// the handler on the operation's example request and compares the response.
pub fn op_test(spec: &PluginSpec, op: &Operation) -> String {
    let name = &op.name;
    let hello = format!(
        "{{\"type\":\"hello\",\"protocol\":{{\"major\":{},\"features\":{}}}}}",
        spec.protocol,
        features()
    );
    match spec.lang {
        Lang::Python => op_test_py(spec, name, &hello),
        Lang::Sh => op_test_sh(name, &hello),
        Lang::Pwsh => op_test_pwsh(name, &hello),
        Lang::Rust => op_test_rs(spec, name, &hello),
    }
}

/// Python's test of operation `name`; `hello` is warden's hello line.
fn op_test_py(spec: &PluginSpec, name: &str, hello: &str) -> String {
    format!(
        r#""""Contract test of operation `{name}`: example request -> example response."""
import json
import pathlib
import subprocess
import sys
import unittest

PLUGIN = pathlib.Path(__file__).resolve().parent.parent


class Test{camel}(unittest.TestCase):
    def test_example(self):
        request = json.loads((PLUGIN / "examples/{name}_request.json").read_text())
        expected = json.loads((PLUGIN / "examples/{name}_response.json").read_text())
        message = {{"type": "request", "op": "{name}", "event": request["event"], "input": {{"items": request["items"]}}}}
        stdin = '{hello}' + "\n" + json.dumps(message) + "\n"
        done = subprocess.run([sys.executable, "src/handler.py"], cwd=PLUGIN, input=stdin,
                              capture_output=True, text=True, check=True)
        hello, response = [json.loads(line) for line in done.stdout.splitlines()]
        self.assertEqual(hello["protocol"]["major"], {major})
        self.assertEqual(response["output"], expected)


if __name__ == "__main__":
    unittest.main()
"#,
        camel = camel(name),
        major = spec.protocol
    )
}

/// sh's test of operation `name`; `hello` is warden's hello line.
fn op_test_sh(name: &str, hello: &str) -> String {
    format!(
        r#"#!/bin/sh
# Contract test of operation `{name}`: example request -> example response.
# Run from the plugin folder: sh tests/test_{name}.sh
set -eu
cd "$(dirname "$0")/.."
request=$(python3 -c 'import json,sys; r=json.load(open("examples/{name}_request.json")); print(json.dumps({{"type":"request","op":"{name}","event":r["event"],"input":{{"items":r["items"]}}}},separators=(",",":")))')
out=$(printf '%s\n%s\n' '{hello}' "$request" | sh src/handler.sh)
printf '%s\n' "$out" | python3 -c 'import json,sys; lines=sys.stdin.read().splitlines(); assert json.loads(lines[1])["output"] == json.load(open("examples/{name}_response.json")), lines[1]'
echo "ok: {name}"
"#
    )
}

/// PowerShell's test of operation `name`; `hello` is warden's hello line.
fn op_test_pwsh(name: &str, hello: &str) -> String {
    format!(
        r#"# Contract test of operation `{name}`: example request -> example response.
# Run from the plugin folder: pwsh tests/test_{name}.ps1
$ErrorActionPreference = 'Stop'
Set-Location (Join-Path $PSScriptRoot '..')
$request = Get-Content 'examples/{name}_request.json' -Raw | ConvertFrom-Json
$message = @{{ type = 'request'; op = '{name}'; event = $request.event; input = @{{ items = @($request.items) }} }} | ConvertTo-Json -Compress -Depth 20
$out = ("{hello_ps}", $message) -join "`n" | pwsh -NoProfile -File src/handler.ps1
$expected = Get-Content 'examples/{name}_response.json' -Raw | ConvertFrom-Json | ConvertTo-Json -Compress -Depth 20
$actual = ($out -split "`n")[1] | ConvertFrom-Json
if (($actual.output | ConvertTo-Json -Compress -Depth 20) -ne $expected) {{ throw "response differs: $($out)" }}
'ok: {name}'
"#,
        hello_ps = hello.replace('"', "`\"")
    )
}

/// Rust's test of operation `name`; `hello` is warden's hello line.
fn op_test_rs(spec: &PluginSpec, name: &str, hello: &str) -> String {
    format!(
        r#"//! Contract test of operation `{name}`: example request -> example response.
//! Run from the plugin folder: cargo test

use std::io::Write;
use std::process::{{Command, Stdio}};

fn compact(json: &str) -> String {{
    // The examples are simple JSON: drop insignificant whitespace outside strings.
    let mut out = String::new();
    let mut in_str = false;
    let mut prev = ' ';
    for c in json.chars() {{
        if c == '"' && prev != '\\' {{
            in_str = !in_str;
        }}
        if in_str || !c.is_whitespace() {{
            out.push(c);
        }}
        prev = c;
    }}
    out
}}

#[test]
fn example_{name}() {{
    let request = compact(include_str!("../examples/{name}_request.json"));
    let expected = compact(include_str!("../examples/{name}_response.json"));
    let items = &request[request.find("\"items\":").expect("items") + 8..request.len() - 1];
    let event = request.split("\"event\":\"").nth(1).and_then(|r| r.split('"').next()).expect("event");
    let message = format!("{{{{\"type\":\"request\",\"op\":\"{name}\",\"event\":\"{{event}}\",\"input\":{{{{\"items\":{{items}}}}}}}}}}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_{key}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the plugin");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{hello_rs}").expect("hello");
    writeln!(stdin, "{{message}}").expect("request");
    drop(stdin);
    let out = child.wait_with_output().expect("run");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let response = text.lines().nth(1).expect("a response line");
    assert!(response.contains(&expected), "{{response}} does not carry {{expected}}");
}}
"#,
        key = spec.key,
        hello_rs = hello
            .replace('"', "\\\"")
            .replace('{', "{{")
            .replace('}', "}}")
    )
}

fn camel(s: &str) -> String {
    s.split('_')
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Cargo.lock of a rust plugin (written once): with it and `--locked`, cargo
/// never needs to write the (read-only) plugin folder.
pub fn cargo_lock(spec: &PluginSpec) -> String {
    format!(
        "# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 4\n\n[[package]]\nname = \"warden-plugin-{}\"\nversion = \"{}\"\n",
        spec.key, spec.version
    )
}

/// Cargo.toml of a rust plugin (written once).
pub fn cargo_toml(spec: &PluginSpec) -> String {
    format!(
        "# A standalone package (the empty [workspace] keeps it out of any parent workspace).\n[package]\nname = \"warden-plugin-{key}\"\nversion = \"{v}\"\nedition = \"2021\"\npublish = false\n\n[[bin]]\nname = \"{key}\"\npath = \"src/main.rs\"\n\n[workspace]\n",
        key = spec.key,
        v = spec.version
    )
}
