//! {{NAME}}: {{DESCRIPTION}}
//!
//! A warden plugin (protocol {{PROTOCOL}}). warden starts it once per event
//! batch, writes two JSON lines on stdin (hello, request) and reads two JSON
//! lines from stdout (hello, response). The plugin only *proposes* actions;
//! warden's core checks them against the policy and applies them. Logs go to
//! stderr. This minimal handler has no dependencies: it reads the "path" of
//! each input item (paths without double quotes or backslashes).
#![allow(dead_code)]

// BEGIN AUTO SECTION: PLUGIN
// END AUTO SECTION: PLUGIN

// ---- DEVELOPER AREA: your code goes below; warden never rewrites it. ----
{{DEV_RS}}
// ---- END OF DEVELOPER AREA ----

// BEGIN AUTO SECTION: PROTOCOL
// END AUTO SECTION: PROTOCOL
