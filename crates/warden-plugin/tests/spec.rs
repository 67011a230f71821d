//! Every semantic rule of `PluginSpec::check`, in field order: a valid spec
//! with one thing broken is refused with the file, the field, the message
//! and the fix, whole.

use serde_json::{Value, json};
use warden_core::events::ActionKind;
use warden_plugin::spec::PluginSpec;

fn valid() -> Value {
    json!({
        "schema": "warden.plugin-spec/v1",
        "key": "tidy",
        "id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "name": "Tidy",
        "version": "0.1.0",
        "description": "d",
        "events": ["FileDetected", "Manual"],
        "lang": "sh",
        "protocol": 1,
        "actions": ["quarantine"],
        "operations": [
            {"name": "handle", "description": "h", "events": ["FileDetected"]},
            {"name": "sweep", "description": "s", "events": ["Manual"]}
        ]
    })
}

fn check(v: &Value) -> Result<PluginSpec, (String, Option<String>)> {
    let bytes = serde_json::to_vec(v).expect("json");
    PluginSpec::parse_bytes(&bytes, "plugin.spec.json")
        .map_err(|e| (e.to_string(), e.hint().map(|h| h.to_string())))
}

#[test]
fn the_valid_spec_passes() {
    let spec = check(&valid()).expect("valid");
    assert_eq!(spec.operations.len(), 2);
}

/// One broken rule: a name, the fields that replace the valid spec's, the
/// message after the file name, and the fix.
type Case = (&'static str, Value, &'static str, &'static str);

/// Schema, key, id, events, protocol and actions.
fn header_cases() -> Vec<Case> {
    vec![
        (
            "schema",
            json!({"schema": "warden.plugin-spec/v2"}),
            "schema: unknown schema \"warden.plugin-spec/v2\"",
            "set it to \"warden.plugin-spec/v1\"",
        ),
        (
            "key",
            json!({"key": "Tidy!"}),
            "key: \"Tidy!\" is not a plugin key",
            "use lowercase letters, digits, - and _ (at most 64), starting with a letter or digit",
        ),
        (
            "id",
            json!({"id": "not-a-ulid"}),
            "id: \"not-a-ulid\" is not a ULID",
            "the id is the plugin's ID card (ids/cards/<id>.yaml); `warden plugin new` mints one",
        ),
        (
            "no events",
            json!({"events": []}),
            "events: no events",
            "list at least one event from `warden events`",
        ),
        (
            "misspelt event",
            json!({"events": ["FileDetected", "Manul"]}),
            "events[1]: unknown event \"Manul\"",
            "did you mean \"Manual\"?",
        ),
        (
            "event twice",
            json!({"events": ["FileDetected", "Manual", "Manual"]}),
            "events[2]: \"Manual\" is listed twice",
            "list each event once",
        ),
        (
            "protocol 0",
            json!({"protocol": 0}),
            "protocol: protocol major 0 does not exist",
            "set it to 1",
        ),
        (
            "unsupported action",
            json!({"actions": ["quarantine", "create_branch"]}),
            "actions[1]: action \"create_branch\" is not supported yet",
            "remove it",
        ),
        (
            "misspelt action",
            json!({"actions": ["quarantin"]}),
            "actions[0]: unknown action \"quarantin\"",
            "did you mean \"quarantine\"?",
        ),
    ]
}

/// Operations, entry and limits.
fn operation_cases() -> Vec<Case> {
    vec![
        (
            "no operations",
            json!({"operations": []}),
            "operations: no operations",
            "declare at least one operation, e.g. {\"name\": \"handle\", ...}",
        ),
        (
            "operation token",
            json!({"operations": [
                {"name": "handle", "description": "h", "events": ["FileDetected"]},
                {"name": "Sweep", "description": "s", "events": ["Manual"]}]}),
            "operations[1].name: \"Sweep\" is not an operation token",
            "use lowercase letters, digits and _, starting with a letter",
        ),
        (
            "operation twice",
            json!({"operations": [
                {"name": "handle", "description": "h", "events": ["FileDetected"]},
                {"name": "handle", "description": "s", "events": ["Manual"]}]}),
            "operations[1].name: operation \"handle\" is declared twice",
            "give each operation its own name",
        ),
        (
            "foreign event",
            json!({"operations": [
                {"name": "handle", "description": "h", "events": ["FileDetected", "PreCommit"]},
                {"name": "sweep", "description": "s", "events": ["Manual"]}]}),
            "operations[0].events[1]: \"PreCommit\" is not one of the plugin's events",
            "add it to `events` or remove it here",
        ),
        (
            "event without an operation",
            json!({"operations": [
                {"name": "handle", "description": "h", "events": ["FileDetected"]}]}),
            "operations: event \"Manual\" is handled by 0 operations",
            "exactly one operation must list each event",
        ),
        (
            "event with two operations",
            json!({"operations": [
                {"name": "handle", "description": "h", "events": ["FileDetected", "Manual"]},
                {"name": "sweep", "description": "s", "events": ["Manual"]}]}),
            "operations: event \"Manual\" is handled by 2 operations",
            "exactly one operation must list each event",
        ),
        (
            "empty entry",
            json!({"entry": []}),
            "entry: empty command",
            "remove `entry` to use the language default",
        ),
        (
            "zero timeout",
            json!({"limits": {"timeout_ms": 0}}),
            "limits: limits must be positive",
            "remove `limits` for the defaults",
        ),
        (
            "zero output",
            json!({"limits": {"max_output_bytes": 0}}),
            "limits: limits must be positive",
            "remove `limits` for the defaults",
        ),
    ]
}

#[test]
fn every_rule_of_the_spec_names_its_field_message_and_fix() {
    let one_of_actions = format!(
        "one of: {}",
        ActionKind::names().collect::<Vec<_>>().join(", ")
    );
    let cases = [header_cases(), operation_cases()].concat();
    let mut wrong = Vec::new();
    for (name, change, message, fix) in &cases {
        let mut v = valid();
        for (k, x) in change.as_object().expect("object") {
            v[k] = x.clone();
        }
        let want: Result<(), _> = Err((
            format!("plugin.spec.json: {message}"),
            Some(fix.to_string()),
        ));
        let got = check(&v).map(|_| ());
        if got != want {
            wrong.push(format!("{name}:\n  got  {got:?}\n  want {want:?}"));
        }
    }
    // An unknown action with no near name lists them all.
    let mut v = valid();
    v["actions"] = json!(["zzzz"]);
    assert_eq!(
        check(&v).map(|_| ()),
        Err((
            "plugin.spec.json: actions[0]: unknown action \"zzzz\"".into(),
            Some(one_of_actions)
        ))
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
