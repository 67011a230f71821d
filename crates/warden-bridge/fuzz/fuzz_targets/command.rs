//! Untrusted command bytes through every parsing layer: the JSON parser, the
//! Python-compatible canonicaliser, HMAC verification, the schema, the unified
//! diff parser. Invariants checked: nothing panics; canonical output is
//! deterministic and a fixed point (parse(canonical(x)) canonicalises to the
//! same bytes); pretty printing re-parses to the same canonical form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_bridge::canon;
use warden_bridge::command;
use warden_bridge::sign::Secrets;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = command::parse_json(data) else {
        return;
    };
    let c1 = canon::canonical(&doc);
    let again = canon::parse(c1.as_bytes()).expect("canonical output must parse");
    assert_eq!(canon::canonical(&again), c1, "canonical form is not a fixed point");
    let pretty = canon::pretty(&doc);
    let re = canon::parse(pretty.as_bytes()).expect("pretty output must parse");
    assert_eq!(canon::canonical(&re), c1, "pretty printing changed the document");
    let secrets = Secrets::new("fuzz", None);
    let _ = command::authenticate(&doc, &secrets);
    if let Ok(cmd) = command::parse_command(&doc) {
        let _ = command::check_allowed(&cmd);
        if let Some(d) = &cmd.diff
            && let Ok(files) = warden_bridge::diff::parse(d)
        {
            for f in files {
                let _ = f.apply(Some(data));
                let _ = f.apply(None);
            }
        }
    }
});
