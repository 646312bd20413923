//! The shipped Kubernetes Indexed Job (docs/examples/k8s-indexed-job.yaml): valid against the Job
//! schema (offline, with the `kubernetes-validate` package tests/run.sh installs), its credentials
//! from a Secret, and its container's arguments, run once per completion index against the
//! simulator, give the bytes of one scan — the `--shard auto/N` path the Slurm test proves.

mod common;

use std::path::Path;
use std::process::Command;

use common::s3meta;
use common::sim::{make_plan, start_sim, CREDS};
use serde_json::Value;

const MANIFEST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/docs/examples/k8s-indexed-job.yaml"
);

/// `kubernetes-validate`, or `None` where it is not installed (and not required).
fn validator() -> Option<String> {
    let tool = std::env::var("S3META_KUBERNETES_VALIDATE")
        .unwrap_or_else(|_| "kubernetes-validate".into());
    let found = Command::new(&tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let required = std::env::var("S3META_REQUIRE_TOOLS")
        .unwrap_or_default()
        .split(',')
        .any(|s| s == "kubernetes-validate");
    assert!(found || !required, "{tool} is required but cannot be run");
    found.then_some(tool)
}

/// The manifest as JSON (PyYAML comes with kubernetes-validate).
fn manifest() -> Value {
    let out = Command::new(std::env::var("S3META_PYTHON").unwrap_or_else(|_| "python3".into()))
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
            MANIFEST,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
#[ignore = "needs kubernetes-validate from tests/run.sh"]
fn the_indexed_job_is_a_valid_job_that_scans_one_shard_per_index() {
    let Some(tool) = validator() else {
        return;
    };
    let checked = Command::new(&tool)
        .args(["--strict", MANIFEST])
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );

    let job = manifest();
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    let completions = spec["completions"].as_u64().unwrap() as usize;
    let container = &spec["template"]["spec"]["containers"][0];
    let args: Vec<String> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    let after = |flag: &str| {
        let i = args
            .iter()
            .position(|a| a == flag)
            .unwrap_or_else(|| panic!("no {flag}"));
        args[i + 1].clone()
    };
    assert_eq!(after("--shard"), format!("auto/{completions}"));
    assert!(after("-o").contains("{shard}") && after("--checkpoint").contains("{shard}"));
    // Credentials only from the Secret.
    assert!(container["envFrom"][0]["secretRef"]["name"].is_string());
    for e in container["env"].as_array().unwrap() {
        let name = e["name"].as_str().unwrap();
        assert!(
            !name.starts_with("AWS_") || !name.contains("KEY") && !name.contains("TOKEN"),
            "{name}"
        );
    }

    // The container's arguments, one run per index, with the Job's paths in a scratch folder.
    let dir = std::env::temp_dir().join(format!("s3meta-k8s-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sim = start_sim(&["--objects", "8000", "--layout", "tree:4:3"]);
    let plan_path = after("--plan");
    let plan_here = dir.join(Path::new(&plan_path).file_name().unwrap());
    make_plan(&sim, completions, &plan_here, &[]);
    let data = dir.to_str().unwrap().to_owned();
    let here: Vec<String> = args
        .iter()
        .map(|a| {
            if a.starts_with("s3://") {
                "s3://sim".to_owned()
            } else if *a == plan_path {
                plan_here.to_str().unwrap().to_owned()
            } else {
                a.replacen("/data", &data, 1)
            }
        })
        .collect();
    let here: Vec<&str> = here.iter().map(String::as_str).collect();
    let mut joined = Vec::new();
    for index in 0..completions {
        let i = index.to_string();
        let mut env = CREDS.to_vec();
        env.extend([
            ("AWS_ENDPOINT_URL", sim.endpoint.as_str()),
            ("JOB_COMPLETION_INDEX", i.as_str()),
        ]);
        let pod = s3meta(&here, &env);
        assert_eq!(pod.code, 0, "index {index}: {}", pod.stderr);
        joined.extend(std::fs::read(dir.join(format!("shard-{index}.jsonl"))).unwrap());
    }
    let one = s3meta(
        &["scan", "s3://sim", "--endpoint-url", &sim.endpoint],
        &CREDS,
    );
    assert!(
        joined == one.stdout.as_bytes(),
        "the pods' outputs differ from one scan"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
