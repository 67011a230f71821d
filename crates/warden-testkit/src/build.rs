//! Documents tests hand to warden: proposals and (unsigned) bridge commands.

use serde_json::{Value, json};

/// A proposal (`warden.proposal/v1`) from `source_kind:source_id` on `event`.
pub fn proposal(source_kind: &str, source_id: &str, event: &str, actions: Vec<Value>) -> Value {
    json!({
        "schema": "warden.proposal/v1",
        "source": {"kind": source_kind, "id": source_id},
        "event": event,
        "actions": actions,
    })
}

/// A proposal by a person on the Manual event.
pub fn manual(actions: Vec<Value>) -> Value {
    proposal("person", "test", "Manual", actions)
}

/// `expect` of a file that must not exist.
pub fn absent() -> Value {
    json!("absent")
}

/// `expect` of a file with this sha256 (64 hex).
pub fn sha256(hex: &str) -> Value {
    json!({"sha256": hex})
}

/// A `write_file` action.
pub fn write_file(path: &str, content: &str, expect: Value) -> Value {
    json!({"kind": "write_file", "path": path, "content": content, "expect": expect})
}

/// A `delete_file` action.
pub fn delete_file(path: &str, expect: Value) -> Value {
    json!({"kind": "delete_file", "path": path, "expect": expect})
}

/// A `move_file` action.
pub fn move_file(from: &str, to: &str, expect: Value) -> Value {
    json!({"kind": "move_file", "from": from, "to": to, "expect": expect})
}

/// A bridge command without its `hmac`: sign it with the
/// bridge's signer. `issued_at`/`expires_at` are RFC 3339 with an offset.
pub fn bridge_command(
    id: &str,
    ops: Vec<Value>,
    allowed: &[&str],
    issued_at: &str,
    expires_at: &str,
) -> Value {
    json!({
        "schemaVersion": "1.0",
        "id": id,
        "issued_at": issued_at,
        "expires_at": expires_at,
        "nonce": format!("nonce-{id}"),
        "target": "MAIN",
        "action": "applyPatch",
        "patchType": "hybrid",
        "payload": {"inline": {"version": "1", "ops": ops}},
        "validationPlan": [],
        "allowedActions": allowed,
        "constraints": {"maxRuntimeMs": 60000, "maxFilesChanged": 10},
    })
}

/// A bridge `writeFile` op.
pub fn write_op(path: &str, content: &str) -> Value {
    json!({"op": "writeFile", "path": path, "content": content})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_make_the_documented_shapes() {
        let p = manual(vec![write_file("a.txt", "a\n", absent())]);
        assert_eq!(p["schema"], "warden.proposal/v1");
        assert_eq!(p["actions"][0]["expect"], "absent");
        assert_eq!(move_file("a", "b", sha256("00"))["expect"]["sha256"], "00");
        let c = bridge_command(
            "c1",
            vec![write_op("x", "y")],
            &["writeFile"],
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:05:00Z",
        );
        assert_eq!(c["payload"]["inline"]["ops"][0]["op"], "writeFile");
        assert!(c.get("hmac").is_none());
    }
}
