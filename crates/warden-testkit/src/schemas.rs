//! Checking documents against published JSON Schemas (draft-07).

use serde_json::Value;

/// Every error of `doc` against `schema`, each as `<instance path>: <error>`.
///
/// # Panics
/// If `schema` does not compile.
pub fn errors(schema: &Value, doc: &Value) -> Vec<String> {
    let v = jsonschema::draft7::new(schema).expect("schema compiles");
    v.iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// Asserts that `doc` is valid against `schema`, the schema called `name`.
///
/// # Panics
/// If `schema` does not compile or `doc` is not valid against it; the message
/// names the schema, lists the errors and prints the document.
pub fn assert_valid(name: &str, schema: &Value, doc: &Value) {
    let errors = errors(schema, doc);
    assert!(errors.is_empty(), "{name}: {errors:?}\n{doc:#}");
}
