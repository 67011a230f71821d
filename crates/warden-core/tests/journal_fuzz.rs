//! The journal frame reader against arbitrary bytes (property tests): a
//! journal is local state that a crash, a disk or a person can leave in any
//! shape, so reading it must never panic or allocate without bound, a torn
//! tail must be cut back to the last valid frame, and valid frames before it
//! must stay readable.
// Tests drive real processes, clocks and environments directly.
#![allow(clippy::disallowed_methods)]

use proptest::prelude::*;
use warden_core::Digest;
use warden_core::journal::{self, FrameHeader, FrameRef, Journal, Tail};

fn done(run: &str) -> FrameHeader {
    FrameHeader::Done {
        run: run.into(),
        result: "applied".into(),
        written: Vec::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic_the_frame_reader(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        offset in any::<u64>(),
        len in any::<u64>(),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("journal");
        std::fs::write(&p, &bytes).expect("write");
        let mut j = Journal::open(&p).expect("open");
        let _ = j.tail();
        let _ = j.read_frame(FrameRef { offset, len, digest: Digest([0; 32]) });
        let cut = j.cut_torn_tail().expect("cut");
        prop_assert!(cut <= bytes.len() as u64);
        prop_assert!(!matches!(j.tail().expect("tail"), Tail::Torn), "a cut journal ends in a frame");
    }

    #[test]
    fn a_torn_tail_is_cut_back_to_the_last_valid_frame(
        garbage in proptest::collection::vec(any::<u8>(), 1..512),
        prefix_of_frame in any::<bool>(),
        big_len in any::<u64>(),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("journal");
        let mut j = Journal::open(&p).expect("open");
        let a = j.append(&journal::encode(&done("A"), b"blob").expect("enc"), true).expect("a");
        let b = j.append(&journal::encode(&done("B"), b"").expect("enc"), true).expect("b");
        let mut tail = Vec::new();
        if prefix_of_frame {
            // A frame header whose length field is anything at all.
            tail.extend_from_slice(b"WRDNFRM1");
            tail.extend_from_slice(&big_len.to_le_bytes());
        }
        tail.extend_from_slice(&garbage);
        use std::io::Write;
        std::fs::OpenOptions::new().append(true).open(&p).expect("open")
            .write_all(&tail).expect("write");
        let mut j = Journal::open(&p).expect("open");
        j.cut_torn_tail().expect("cut");
        match j.tail().expect("tail") {
            Tail::Frame(f) => prop_assert_eq!(f.at, b),
            _ => prop_assert!(false, "the last valid frame must be the tail"),
        }
        prop_assert!(j.read_frame(a).is_ok());
    }
}

#[test]
fn a_frame_header_with_a_huge_length_is_cut_not_a_panic() {
    for huge in [u64::MAX, u64::MAX - 63, u64::MAX / 2] {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("journal");
        let mut j = Journal::open(&p).expect("open");
        let a = j
            .append(&journal::encode(&done("A"), b"").expect("enc"), true)
            .expect("a");
        let mut tail = b"WRDNFRM1".to_vec();
        tail.extend_from_slice(&huge.to_le_bytes());
        tail.extend_from_slice(b"rest");
        use std::io::Write;
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .expect("open")
            .write_all(&tail)
            .expect("write");
        let mut j = Journal::open(&p).expect("open");
        assert_eq!(j.cut_torn_tail().expect("cut"), tail.len() as u64);
        assert!(matches!(j.tail().expect("tail"), Tail::Frame(f) if f.at == a));
        let bad = FrameRef {
            offset: huge,
            len: huge,
            digest: Digest([0; 32]),
        };
        assert!(
            j.read_frame(bad).is_err(),
            "a handle past the end is an error"
        );
    }
}
