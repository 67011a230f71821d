//! The text of capability-registry files (warden-registry's entries and
//! index), for the registry's own tests and the CLI's.

/// An entry file `registry/capabilities/<slug>.md`: front matter with `id`,
/// `title`, the maturity `vector` (D, A, C, R current levels) and `paths`,
/// then `extra` front-matter lines as given, then `body` (the Markdown).
pub fn entry(
    id: &str,
    title: &str,
    vector: [u8; 4],
    paths: &[&str],
    extra: &str,
    body: &str,
) -> String {
    let paths: String = paths.iter().map(|p| format!("- {p}\n")).collect();
    format!(
        "---\nid: {id}\ntitle: {title}\nmaturity:\n  D: {{current: {}}}\n  A: {{current: {}}}\n  C: {{current: {}}}\n  R: {{current: {}}}\npaths:\n{paths}{extra}---\n{body}",
        vector[0], vector[1], vector[2], vector[3]
    )
}

/// The index `registry/indexes/capabilities.yaml`: `updated`, then one row
/// per `(id, entry path, vector)`.
pub fn index(updated: &str, rows: &[(&str, &str, &str)]) -> String {
    let rows: String = rows
        .iter()
        .map(|(id, entry, vector)| format!("- id: {id}\n  entry: {entry}\n  vector: {vector}\n"))
        .collect();
    format!("updated: \"{updated}\"\ncapabilities:\n{rows}")
}
