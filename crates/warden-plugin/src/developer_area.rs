//! The developer area of a scaffolded plugin source: the lines between the
//! `---- DEVELOPER AREA` and `---- END OF DEVELOPER AREA` marker lines,
//! which `plugin gen` never rewrites. A tool that installs a ready-made
//! plugin (`warden modules install-plugin`) puts its code there.

const BEGIN: &str = "---- DEVELOPER AREA";
const END: &str = "---- END OF DEVELOPER AREA";

/// `text` with the lines between its developer-area markers replaced by
/// `code` (plus a newline); both marker lines and everything outside them
/// are kept byte for byte. `None` when `text` has no developer area.
pub fn replace(text: &str, code: &str) -> Option<String> {
    let begin = text.find(BEGIN)?;
    let start = begin + text[begin..].find('\n')? + 1;
    let end_marker = start + text[start..].find(END)?;
    // The end marker's whole line stays, comment prefix and all.
    let end = text[..end_marker]
        .rfind('\n')
        .map_or(0, |n| n + 1)
        .max(start);
    Some(format!("{}{code}\n{}", &text[..start], &text[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SH: &str = "#!/bin/sh\n# BEGIN AUTO SECTION: PLUGIN\nx=1\n# END AUTO SECTION: PLUGIN\n\n# ---- DEVELOPER AREA: your code goes below; warden never rewrites it. ----\nold\nlines\n# ---- END OF DEVELOPER AREA ----\n\ntail\n";

    #[test]
    fn only_the_lines_between_the_markers_change() {
        let out = replace(SH, "handle() { :; }").expect("an area");
        assert_eq!(
            out,
            SH.replace("old\nlines\n", "handle() { :; }\n"),
            "markers and the rest kept"
        );
        // Idempotent: replacing again with the same code changes nothing.
        assert_eq!(
            replace(&out, "handle() { :; }").as_deref(),
            Some(out.as_str())
        );
    }

    #[test]
    fn an_empty_area_and_other_comment_styles_work() {
        let rs =
            "// ---- DEVELOPER AREA: here ----\n// ---- END OF DEVELOPER AREA ----\nfn main() {}\n";
        assert_eq!(
            replace(rs, "fn handle() {}").as_deref(),
            Some(
                "// ---- DEVELOPER AREA: here ----\nfn handle() {}\n// ---- END OF DEVELOPER AREA ----\nfn main() {}\n"
            )
        );
    }

    #[test]
    fn a_source_without_an_area_is_none() {
        assert_eq!(replace("echo hi\n", "x"), None);
        assert_eq!(replace("# ---- DEVELOPER AREA\nno end\n", "x"), None);
        // The end before the begin is no area either.
        assert_eq!(
            replace(
                "# ---- END OF DEVELOPER AREA ----\n# ---- DEVELOPER AREA\n",
                "x"
            ),
            None
        );
    }
}
