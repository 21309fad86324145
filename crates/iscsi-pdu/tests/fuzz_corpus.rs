//! Replays the committed fuzz seeds (`fuzz/corpus/<target>/`) and fixed crash inputs
//! (`fuzz/regressions/<target>/`, when present) through the fuzz targets' entry points, so that
//! `cargo test` checks them on stable Rust without cargo-fuzz.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut count = 0;
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(kind).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("readable directory").path();
            let data = std::fs::read(&path).expect("readable seed");
            run(&data);
            count += 1;
        }
    }
    assert!(count > 0, "no seeds for fuzz target {target}");
}

#[test]
fn pdu_framer_seeds() {
    replay("pdu_framer", iscsi_pdu::fuzzing::pdu_framer);
}

#[test]
fn pdu_round_trip_seeds() {
    replay("pdu_round_trip", iscsi_pdu::fuzzing::pdu_round_trip);
}

#[test]
fn text_data_seeds() {
    replay("text_data", iscsi_pdu::fuzzing::text_data);
}
