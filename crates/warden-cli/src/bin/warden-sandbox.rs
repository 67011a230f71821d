//! `warden-sandbox`: the plugin sandbox helper as a small executable of its
//! own, started once per plugin instead of a second copy of warden. It links
//! only `warden-isolate` (and what that needs): no argument parser, no JSON,
//! so it starts in a fraction of warden's time. Its first two arguments are
//! the handshake `--build ID`; a helper of another build refuses (exit 123)
//! and warden runs `warden __sandbox` instead. See `warden_isolate::helper`.

// No clap here (that is the point of this binary): the helper reads its
// few arguments by hand (`warden_isolate::helper::Request::parse`).
#[allow(clippy::disallowed_methods)]
fn main() -> std::process::ExitCode {
    let args = std::env::args_os();
    std::process::ExitCode::from(warden_isolate::helper::main_dedicated(args))
}
