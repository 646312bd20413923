//! The signer against AWS's SigV4 test suite (fixtures/sigv4, all 38 header-signing cases, with generic
//! settings) and the seven signing examples of the S3 API reference (fixtures/sigv4-s3, S3 settings).

use std::fs;
use std::path::{Path, PathBuf};

use s3meta::core::sigv4::{
    canonical_query, canonical_request, canonical_uri, credential_scope, signature, signing_key,
    string_to_sign, SigningSettings,
};
use s3meta::core::uri::{encode_path_into, query_pairs};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn fixtures(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(dir)
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// request.txt: request line, `Name:value` headers (continuation lines start with whitespace), blank line, body.
struct RawRequest {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn parse_request(text: &str) -> RawRequest {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let request_line = lines.next().unwrap();
    let method_end = request_line.find(' ').unwrap();
    let version_start = request_line.rfind(' ').unwrap();
    let target = &request_line[method_end + 1..version_start];
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with(' ') || line.starts_with('\t') {
            let last = headers.last_mut().unwrap();
            last.1.push(' ');
            last.1.push_str(line.trim());
        } else {
            let (n, v) = line.split_once(':').unwrap();
            headers.push((n.to_string(), v.to_string()));
        }
    }
    RawRequest {
        method: request_line[..method_end].to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

fn canonical_query_of(query: &str) -> String {
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = query_pairs(query).collect();
    let refs: Vec<(&[u8], &[u8])> = pairs
        .iter()
        .map(|(n, v)| (n.as_slice(), v.as_slice()))
        .collect();
    canonical_query(&refs)
}

#[test]
fn aws_sigv4_test_suite_header_signing() {
    let mut cases: Vec<PathBuf> = fs::read_dir(fixtures("sigv4"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 38, "the suite has 38 cases");
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let ctx: Value = serde_json::from_str(&read(&case.join("context.json"))).unwrap();
        let req = parse_request(&read(&case.join("request.txt")));
        let settings = SigningSettings {
            double_uri_encode: true,
            normalize_uri_path: ctx["normalize"].as_bool().unwrap(),
            content_sha256_header: ctx["sign_body"].as_bool().unwrap(),
        };
        let amz_date = "20150830T123600Z";
        let payload_hash = hex::encode(Sha256::digest(&req.body));
        let mut headers = req.headers.clone();
        headers.push(("X-Amz-Date".into(), amz_date.into()));
        if let Some(token) = ctx["credentials"]["token"].as_str() {
            if !ctx["omit_session_token"].as_bool().unwrap_or(false) {
                headers.push(("X-Amz-Security-Token".into(), token.into()));
            }
        }
        if settings.content_sha256_header {
            headers.push(("x-amz-content-sha256".into(), payload_hash.clone()));
        }
        let header_refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        // The suite's request-target is the path as sent (raw bytes); generic SigV4 encodes it once more.
        let uri = canonical_uri(&req.path, settings);
        let creq = canonical_request(
            &req.method,
            &uri,
            &canonical_query_of(&req.query),
            &header_refs,
            &payload_hash,
        );
        assert_eq!(
            creq.text,
            read(&case.join("header-canonical-request.txt")),
            "{name}: canonical request"
        );
        let scope = credential_scope("20150830", "us-east-1", "service");
        let sts = string_to_sign(amz_date, &scope, &creq.text);
        assert_eq!(
            sts,
            read(&case.join("header-string-to-sign.txt")),
            "{name}: string to sign"
        );
        let key = signing_key(
            ctx["credentials"]["secret_access_key"].as_str().unwrap(),
            "20150830",
            "us-east-1",
            "service",
        );
        assert_eq!(
            signature(&key, &sts),
            read(&case.join("header-signature.txt")).trim(),
            "{name}: signature"
        );
    }
}

#[test]
fn aws_sigv4_test_suite_s3_rules_keep_paths_as_they_are() {
    // With S3's settings, the six "-normalized" cases must NOT be normalized: the canonical URI is the path.
    for (case, path) in [
        ("get-slash-dot-slash-normalized", "/./"),
        ("get-slashes-normalized", "//example//"),
        ("get-relative-normalized", "/example/.."),
    ] {
        let req = parse_request(&read(&fixtures("sigv4").join(case).join("request.txt")));
        assert_eq!(req.path, path);
        let mut wire = String::new();
        encode_path_into(&mut wire, req.path.as_bytes());
        assert_eq!(canonical_uri(&wire, SigningSettings::S3), path, "{case}");
    }
}

#[test]
fn s3_documented_examples() {
    let doc: Value = serde_json::from_str(&read(
        &fixtures("sigv4-s3").join("aws-s3-doc-examples.json"),
    ))
    .unwrap();
    let common = &doc["common"];
    let secret = common["secret_access_key"].as_str().unwrap();
    let access_key = common["access_key_id"].as_str().unwrap();
    let amz_date = common["x_amz_date"].as_str().unwrap();
    let scope = credential_scope(common["date"].as_str().unwrap(), "us-east-1", "s3");
    assert_eq!(scope, common["credential_scope"].as_str().unwrap());
    let key = signing_key(secret, common["date"].as_str().unwrap(), "us-east-1", "s3");
    assert_eq!(
        hex::encode(key),
        common["signing_key_hex_derived"].as_str().unwrap()
    );
    let empty_hash = common["empty_payload_sha256"].as_str().unwrap();

    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 7);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let req = &case["request"];
        let exp = &case["expected"];
        let style = case["style"].as_str().unwrap();

        let raw_path = match (
            req["object_key"].as_str(),
            req["path_style_target"].as_str(),
            req["request_target"].as_str(),
        ) {
            (Some(key), _, _) => format!("/{key}"),
            (None, Some(target), _) => target.to_string(),
            (None, None, Some(target)) => target.split('?').next().unwrap().to_string(),
            _ => panic!("{name}: no path"),
        };
        let mut wire_path = String::new();
        encode_path_into(&mut wire_path, raw_path.as_bytes());
        let uri = canonical_uri(&wire_path, SigningSettings::S3);
        let headers: Vec<(String, String)> = req["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h[0].as_str().unwrap().to_string(),
                    h[1].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let header_refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let query = if style == "query-string" {
            // A presigned URL: the X-Amz-* parameters are part of what is signed.
            let credential = format!("{access_key}/{scope}");
            let expires = req["expires_seconds"].as_u64().unwrap().to_string();
            let pairs: Vec<(&[u8], &[u8])> = vec![
                (b"X-Amz-Algorithm", b"AWS4-HMAC-SHA256"),
                (b"X-Amz-Credential", credential.as_bytes()),
                (b"X-Amz-Date", amz_date.as_bytes()),
                (b"X-Amz-Expires", expires.as_bytes()),
                (b"X-Amz-SignedHeaders", b"host"),
            ];
            canonical_query(&pairs)
        } else {
            canonical_query_of(
                req["request_target"]
                    .as_str()
                    .and_then(|t| t.split_once('?'))
                    .map(|(_, q)| q)
                    .unwrap_or(""),
            )
        };
        if let Some(expected) = exp["canonical_query_string"].as_str() {
            assert_eq!(query, expected, "{name}: canonical query");
        }
        if let Some(expected) = exp["canonical_uri"].as_str() {
            assert_eq!(uri, expected, "{name}: canonical URI");
        }
        let creq = canonical_request(
            req["method"].as_str().unwrap(),
            &uri,
            &query,
            &header_refs,
            req["payload_sha256"].as_str().unwrap(),
        );
        assert_eq!(
            creq.text,
            exp["canonical_request"].as_str().unwrap(),
            "{name}: canonical request"
        );
        assert_eq!(
            creq.signed_headers,
            exp["signed_headers"].as_str().unwrap(),
            "{name}: signed headers"
        );
        let sts = string_to_sign(amz_date, &scope, &creq.text);
        assert_eq!(
            sts,
            exp["string_to_sign"].as_str().unwrap(),
            "{name}: string to sign"
        );
        let sig = signature(&key, &sts);
        let expected_sig = exp["signature"]
            .as_str()
            .or(exp["seed_signature"].as_str())
            .unwrap();
        assert_eq!(sig, expected_sig, "{name}: signature");
        if let Some(auth) = exp["authorization"].as_str() {
            assert!(
                auth.ends_with(&format!("Signature={sig}")),
                "{name}: authorization"
            );
        }

        // Streaming uploads chain a signature per chunk (and one for the trailer) from the seed signature.
        let mut previous = sig;
        for chunk in exp["chunks"].as_array().into_iter().flatten() {
            let data = vec![b'a'; chunk["data_length"].as_u64().unwrap() as usize];
            let data_hash = hex::encode(Sha256::digest(&data));
            assert_eq!(data_hash, chunk["data_sha256"].as_str().unwrap());
            let chunk_sts = format!("AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{scope}\n{previous}\n{empty_hash}\n{data_hash}");
            assert_eq!(
                chunk_sts,
                chunk["string_to_sign"].as_str().unwrap(),
                "{name}: chunk string to sign"
            );
            previous = signature(&key, &chunk_sts);
            assert_eq!(
                previous,
                chunk["signature"].as_str().unwrap(),
                "{name}: chunk signature"
            );
        }
        if let Some(expected) = exp["trailer_signature"].as_str() {
            let trailer_hash = hex::encode(Sha256::digest(b"x-amz-checksum-crc32c:sOO8/Q==\n"));
            assert_eq!(
                trailer_hash,
                exp["trailer_canonical_sha256"].as_str().unwrap()
            );
            let trailer_sts = format!(
                "AWS4-HMAC-SHA256-TRAILER\n{amz_date}\n{scope}\n{previous}\n{trailer_hash}"
            );
            assert_eq!(trailer_sts, exp["trailer_string_to_sign"].as_str().unwrap());
            assert_eq!(
                signature(&key, &trailer_sts),
                expected,
                "{name}: trailer signature"
            );
        }
    }
}
