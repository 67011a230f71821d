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
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            flush(&mut cur, &mut out);
            continue;
        }
        if c.is_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                flush(&mut cur, &mut out);
            }
        }
        cur.extend(c.to_lowercase());
    }
    flush(&mut cur, &mut out);
    out
}

fn flush(cur: &mut String, out: &mut Vec<String>) {
    if !cur.is_empty() {
        out.push(std::mem::take(cur));
    }
}

/// Whether the token sequence `phrase` occurs contiguously in `haystack`.
pub fn contains_phrase(haystack: &[String], phrase: &[String]) -> bool {
    if phrase.is_empty() || phrase.len() > haystack.len() {
        return false;
    }
    haystack.windows(phrase.len()).any(|w| w == phrase)
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

    proptest::proptest! {
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
