//! Replays every committed fuzz input (fuzz/corpus/TARGET/ and fuzz/regressions/TARGET/) through
//! the checks of its fuzz target, on stable and in every test run: what the fuzzers found stays
//! found. Fuzzing itself is `cargo +nightly fuzz run TARGET` (docs/FUZZING.md).

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;

#[test]
fn every_committed_fuzz_input_passes_its_targets_checks() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (target, check) in harness::TARGETS {
        let mut replayed = 0;
        for folder in ["corpus", "regressions"] {
            let Ok(entries) = std::fs::read_dir(fuzz.join(folder).join(target)) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                // A fuzzer running meanwhile replaces corpus files as it shortens them.
                let Ok(data) = std::fs::read(&path) else {
                    continue;
                };
                let outcome = std::panic::catch_unwind(|| check(&data));
                assert!(outcome.is_ok(), "{target}: {} fails", path.display());
                replayed += 1;
            }
        }
        assert!(replayed > 0, "no corpus for the fuzz target {target}");
    }
}
