//! The ListObjects and error parsers against every sample in fixtures/s3-xml and its expected.json.

use std::fs;
use std::path::Path;

use s3meta::core::list::parse_list_page;
use s3meta::core::s3error::parse_error;
use serde_json::Value;

fn text(v: &Option<Vec<u8>>) -> Value {
    match v {
        Some(b) => Value::String(String::from_utf8(b.clone()).expect("UTF-8")),
        None => Value::Null,
    }
}

fn opt(v: &Option<String>) -> Value {
    v.clone().map(Value::String).unwrap_or(Value::Null)
}

fn check_field(file: &str, field: &str, expected: &Value, got: Value) {
    if let Some(e) = expected.get(field) {
        assert_eq!(&got, e, "{file}: {field}");
    }
}

#[test]
fn every_sample_parses_as_expected() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/s3-xml");
    let expected: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let mut checked = 0;
    for (file, exp) in expected.as_object().unwrap() {
        if file.starts_with('_') {
            continue;
        }
        let body = fs::read(dir.join(file)).unwrap();
        match exp["root_element"].as_str().unwrap() {
            "Error" => {
                let err = parse_error(&body).unwrap_or_else(|e| panic!("{file}: {e}"));
                check_field(file, "code", exp, opt(&err.code));
                check_field(file, "message", exp, opt(&err.message));
                check_field(file, "request_id", exp, opt(&err.request_id));
                check_field(file, "host_id", exp, opt(&err.host_id));
                let others: serde_json::Map<String, Value> = err
                    .other
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                assert_eq!(
                    &Value::Object(others),
                    &exp["other_elements"],
                    "{file}: other elements"
                );
                // An error body is never mistaken for a listing.
                assert!(parse_list_page(&body).is_err(), "{file}");
            }
            "ListBucketResult" => {
                let page = parse_list_page(&body).unwrap_or_else(|e| panic!("{file}: {e}"));
                check_field(file, "name", exp, opt(&page.name));
                check_field(file, "encoding_type", exp, opt(&page.encoding_type));
                check_field(file, "prefix", exp, text(&page.prefix));
                check_field(file, "delimiter", exp, text(&page.delimiter));
                check_field(file, "start_after", exp, text(&page.start_after));
                check_field(file, "marker", exp, text(&page.marker));
                check_field(file, "next_marker", exp, text(&page.next_marker));
                check_field(
                    file,
                    "continuation_token",
                    exp,
                    opt(&page.continuation_token),
                );
                check_field(
                    file,
                    "next_continuation_token",
                    exp,
                    opt(&page.next_continuation_token),
                );
                check_field(
                    file,
                    "key_count",
                    exp,
                    page.key_count.map(Value::from).unwrap_or(Value::Null),
                );
                check_field(
                    file,
                    "max_keys",
                    exp,
                    page.max_keys.map(Value::from).unwrap_or(Value::Null),
                );
                check_field(file, "is_truncated", exp, Value::Bool(page.is_truncated));
                let prefixes: Vec<Value> = page
                    .common_prefixes
                    .iter()
                    .map(|p| Value::String(String::from_utf8(p.clone()).unwrap()))
                    .collect();
                check_field(file, "common_prefixes", exp, Value::Array(prefixes));
                if exp.get("v1_marker_for_next_page").is_some() {
                    let m = page
                        .v1_next_marker()
                        .map(|m| String::from_utf8(m.to_vec()).unwrap());
                    check_field(file, "v1_marker_for_next_page", exp, opt(&m));
                }
                let contents = exp["contents"].as_array().unwrap();
                assert_eq!(
                    page.contents.len(),
                    contents.len(),
                    "{file}: number of contents"
                );
                for (got, want) in page.contents.iter().zip(contents) {
                    let key = String::from_utf8(got.key.clone()).unwrap();
                    check_field(file, "key", want, Value::String(key));
                    check_field(file, "last_modified", want, opt(&got.last_modified));
                    check_field(file, "etag", want, opt(&got.etag));
                    check_field(
                        file,
                        "size",
                        want,
                        got.size.map(Value::from).unwrap_or(Value::Null),
                    );
                    check_field(file, "storage_class", want, opt(&got.storage_class));
                    if let Some(owner) = want.get("owner") {
                        if owner.is_null() {
                            assert!(
                                got.owner_id.as_deref().unwrap_or("").is_empty(),
                                "{file}: owner"
                            );
                        } else {
                            check_field(file, "id", owner, opt(&got.owner_id));
                            check_field(file, "display_name", owner, opt(&got.owner_display_name));
                        }
                    }
                }
            }
            other => panic!("{file}: unexpected root {other}"),
        }
        checked += 1;
    }
    assert_eq!(checked, 33, "every sample is checked");
}

#[test]
fn truncated_samples_are_errors_not_panics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/s3-xml");
    let expected: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let mut cuts = 0;
    for (file, exp) in expected.as_object().unwrap() {
        if file.starts_with('_') {
            continue;
        }
        let body = fs::read(dir.join(file)).unwrap();
        // Each sample through the parser of its own kind: a cut that loses the root's closing tag
        // must fail cleanly there (the other parser refuses the root anyway, which proves nothing).
        let is_error = exp["root_element"] == "Error";
        assert!(
            if is_error {
                parse_error(&body).is_ok()
            } else {
                parse_list_page(&body).is_ok()
            },
            "{file}"
        );
        let root_close = body.iter().rposition(|&b| b == b'<').unwrap();
        for cut in (0..root_close).step_by(7) {
            let part = &body[..cut];
            let failed = if is_error {
                parse_error(part).is_err()
            } else {
                parse_list_page(part).is_err()
            };
            assert!(failed, "{file}: cut at {cut} parsed");
            cuts += 1;
        }
    }
    assert!(cuts > 500, "{cuts} cuts tried");
}
