//! A commit's author and whole message, read exactly (`cat-file commit`), so
//! that a commit made again elsewhere (the bridge's re-derivation after a
//! conflicting rebase) keeps its author, author date, subject, body and
//! trailers.

use super::{Call, Error, ErrorKind, Git, Mode, Result};

/// What a commit says about itself, beyond its tree and parents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitMeta {
    /// The `author` header as git stores it: `Name <email> <unix time> <tz>`
    /// (the form `git fast-import` and `GIT_AUTHOR_*` take).
    pub author: String,
    /// The author date alone: `<unix time> <tz>`, e.g. `981173106 +0000`.
    pub author_date: String,
    /// The whole message (subject, body, trailers), byte for byte.
    pub message: Vec<u8>,
}

impl Git {
    /// The author and the whole message of commit `rev`.
    pub fn commit_meta(&self, rev: &str) -> Result<CommitMeta> {
        let spec = format!("{rev}^{{commit}}");
        let out = self.ok(Call::new(Mode::Read, ["cat-file", "commit", spec.as_str()]))?;
        parse_commit_object(&out).map_err(|e| e.in_dir(self.dir()))
    }
}

/// Parse a raw commit object (`cat-file commit`): headers, a blank line, the
/// message. Continuation lines (a signature's) are skipped.
pub fn parse_commit_object(raw: &[u8]) -> Result<CommitMeta> {
    let bad = |what: &str| {
        Error::new(
            ErrorKind::Unexpected,
            "git cat-file commit",
            format!("unexpected commit object: {what}"),
        )
    };
    let mut author: Option<String> = None;
    let mut rest = raw;
    loop {
        let (line, after) = match rest.iter().position(|b| *b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = after;
        if line.is_empty() {
            break;
        }
        if let Some(a) = line.strip_prefix(b"author ") {
            author = Some(String::from_utf8_lossy(a).into_owned());
        }
        if rest.is_empty() {
            break;
        }
    }
    let author = author.ok_or_else(|| bad("no author header"))?;
    // `Name <email> 123 +0000`: the date is what follows the last '>'.
    let author_date = author
        .rsplit_once('>')
        .map(|(_, d)| d.trim().to_string())
        .filter(|d| {
            let mut f = d.split(' ');
            matches!(
                (f.next(), f.next(), f.next()),
                (Some(t), Some(z), None)
                    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())
                        && z.len() == 5 && z.starts_with(['+', '-'])
            )
        })
        .ok_or_else(|| bad("the author header has no date"))?;
    Ok(CommitMeta {
        author,
        author_date,
        message: rest.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_commit_object_gives_its_author_date_and_whole_message() {
        let raw = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
parent 1111111111111111111111111111111111111111\n\
author Alice Example <alice@example.com> 981173106 +0100\n\
committer Bob <bob@example.com> 1700000000 +0000\n\
gpgsig -----BEGIN PGP SIGNATURE-----\n \n -----END PGP SIGNATURE-----\n\
\n\
bridge: results c1 (exit=0)\n\nWarden-Run: 01ABC\n";
        let m = parse_commit_object(raw).expect("parse");
        assert_eq!(
            m,
            CommitMeta {
                author: "Alice Example <alice@example.com> 981173106 +0100".into(),
                author_date: "981173106 +0100".into(),
                message: b"bridge: results c1 (exit=0)\n\nWarden-Run: 01ABC\n".to_vec(),
            }
        );
    }

    #[test]
    fn a_commit_object_without_an_author_is_an_error() {
        assert!(parse_commit_object(b"tree abc\n\nmsg\n").is_err());
        assert!(parse_commit_object(b"tree abc\nauthor A <a@b> soon\n\nmsg\n").is_err());
    }

    proptest! {
        #[test]
        fn any_bytes_parse_or_fail_without_panicking(raw in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_commit_object(&raw);
        }

        #[test]
        fn the_message_comes_back_byte_for_byte(
            msg in proptest::collection::vec(any::<u8>(), 0..256),
            t in 0u64..4_000_000_000,
        ) {
            let mut raw = format!("tree x\nauthor A B <a@b.c> {t} -0230\ncommitter C <c@d> 1 +0000\n\n").into_bytes();
            raw.extend_from_slice(&msg);
            let m = parse_commit_object(&raw).expect("parse");
            prop_assert_eq!(m.message, msg);
            prop_assert_eq!(m.author_date, format!("{t} -0230"));
        }
    }
}
