//! `warden-sandbox`: the plugin sandbox helper as a small executable of its
//! own, started once per plugin instead of a second copy of warden. It links
//! only `warden-isolate` (and what that needs): no argument parser, no JSON,
//! so it starts in a fraction of warden's time. Its first two arguments are
//! the handshake `--build ID`; a helper of another build refuses (exit 123)
//! and warden runs `warden __sandbox` instead. See `warden_isolate::helper`.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(warden_isolate::helper::main_dedicated(std::env::args_os()))
}
