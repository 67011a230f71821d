//! The tokeniser: how names, paths, content and keywords become words.
//!
//! A token is a run of letters and digits, lower-cased. Everything else
//! (`_`, `-`, `.`, `/`, spaces, punctuation) separates tokens, and so does a
//! camelCase boundary: a lower-case letter or digit followed by an upper-case
//! one (`appendOnly` → `append`, `only`), and the last capital of a run of
//! capitals followed by a lower-case letter (`HTTPServer` → `http`,
//! `server`). Digits stay with their letters (`v2`, `sha256`).
//!
//! A keyword is tokenised the same way and matches where its tokens occur
//! one after the other (`append_only` matches `append-only`, `AppendOnly`
//! and `append only`).

/// The tokens of `text`, in order.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_token(text, |t| out.push(t.to_string()));
    out
}

/// Call `f` with each token of `text`, in order, without allocating a
/// string per token (the scorer looks each one up in its vocabulary).
pub fn for_each_token(text: &str, mut f: impl FnMut(&str)) {
    if text.is_ascii() {
        return for_each_ascii_token(text.as_bytes(), f);
    }
    let mut cur = String::new();
    let mut prev: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                f(&cur);
                cur.clear();
            }
            prev = None;
            continue;
        }
        if c.is_uppercase()
            && !cur.is_empty()
            && let Some(p) = prev
        {
            let next_lower = chars.peek().is_some_and(|n| n.is_lowercase());
            if p.is_lowercase() || p.is_ascii_digit() || (p.is_uppercase() && next_lower) {
                f(&cur);
                cur.clear();
            }
        }
        if c.is_ascii() {
            cur.push(c.to_ascii_lowercase());
        } else {
            cur.extend(c.to_lowercase());
        }
        prev = Some(c);
    }
    if !cur.is_empty() {
        f(&cur);
    }
}

/// [`for_each_token`] for ASCII text (most names and content heads): the
/// same rules on bytes, with no `char` decoding and one buffer.
fn for_each_ascii_token(text: &[u8], mut f: impl FnMut(&str)) {
    let mut cur: Vec<u8> = Vec::with_capacity(32);
    let mut emit = |cur: &mut Vec<u8>| {
        if !cur.is_empty() {
            // Only ASCII alphanumerics are ever pushed.
            if let Ok(t) = std::str::from_utf8(cur) {
                f(t);
            }
            cur.clear();
        }
    };
    let mut prev: Option<u8> = None;
    for (i, &c) in text.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            emit(&mut cur);
            prev = None;
            continue;
        }
        if c.is_ascii_uppercase()
            && !cur.is_empty()
            && let Some(p) = prev
        {
            let next_lower = text.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if p.is_ascii_lowercase()
                || p.is_ascii_digit()
                || (p.is_ascii_uppercase() && next_lower)
            {
                emit(&mut cur);
            }
        }
        cur.push(c.to_ascii_lowercase());
        prev = Some(c);
    }
    emit(&mut cur);
}

/// Whether the token sequence `phrase` occurs contiguously in `haystack`.
pub fn contains_phrase<T: PartialEq>(haystack: &[T], phrase: &[T]) -> bool {
    match phrase {
        [] => false,
        // Most terms are one word: a plain scan, no slice comparison per window.
        [one] => haystack.contains(one),
        [first, rest @ ..] => haystack
            .windows(phrase.len())
            .any(|w| w[0] == *first && w[1..] == *rest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Vec<String> {
        tokens(s)
    }

    #[test]
    fn snake_kebab_camel_dots_and_case() {
        assert_eq!(t("append_only-log.PY"), ["append", "only", "log", "py"]);
        assert_eq!(t("appendOnlyLog"), ["append", "only", "log"]);
        assert_eq!(t("HTTPServer v2"), ["http", "server", "v2"]);
        assert_eq!(t("Goal_Normalizer_MOD"), ["goal", "normalizer", "mod"]);
        assert_eq!(t("sha256sum"), ["sha256sum"]);
        assert_eq!(t("ÄpfelBirnen"), ["äpfel", "birnen"]);
        assert!(t("--__..").is_empty());
    }

    #[test]
    fn phrases_match_contiguously() {
        let h = t("the append-only ledger");
        assert!(contains_phrase(&h, &t("append_only")));
        assert!(contains_phrase(&h, &t("Ledger")));
        assert!(!contains_phrase(&h, &t("only_append")));
        assert!(!contains_phrase(&h, &[]));
    }

    /// The general path, for comparison with the ASCII one.
    fn char_tokens(text: &str) -> Vec<String> {
        // A non-ASCII separator at the end forces the general path and adds
        // no token.
        tokens(&format!("{text}\u{2003}"))
    }

    proptest::proptest! {
        #[test]
        fn the_ascii_path_tokenises_like_the_general_one(s in "[a-zA-Z0-9_ ./:-]{0,60}") {
            proptest::prop_assert_eq!(tokens(&s), char_tokens(&s));
        }

        #[test]
        fn tokens_are_lower_case_alphanumeric_and_stable(s in "[a-zA-Z0-9_ ./ÄäÉé-]{0,40}") {
            let a = tokens(&s);
            for tok in &a {
                proptest::prop_assert!(!tok.is_empty());
                proptest::prop_assert!(tok.chars().all(|c| c.is_alphanumeric()));
            }
            // Tokenising the joined tokens again gives the same tokens.
            proptest::prop_assert_eq!(tokens(&a.join(" ")), a.clone());
        }
    }
}
