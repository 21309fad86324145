//! Replays the committed fuzz seeds (`fuzz/corpus/ipxe_render/`) and fixed crash inputs
//! (`fuzz/regressions/ipxe_render/`, when present) through the fuzz target's entry point, so
//! that `cargo test` checks them on stable Rust without cargo-fuzz.

#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

use std::path::{Path, PathBuf};

use ipxe_script::fuzzing;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Runs every file of `fuzz/<kind>/ipxe_render/`; returns how many there were.
fn replay(kind: &str) -> usize {
    let Ok(entries) = std::fs::read_dir(fuzz_dir().join(kind).join("ipxe_render")) else {
        return 0;
    };
    let mut count = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        eprintln!("{}", path.display());
        fuzzing::ipxe_render(&data);
        count += 1;
    }
    count
}

#[test]
fn ipxe_render_seeds() {
    assert!(replay("corpus") > 0, "no seeds for fuzz target ipxe_render");
}

#[test]
fn ipxe_render_regressions() {
    replay("regressions");
}

#[test]
fn ipxe_render_never_panics_on_short_or_empty_input() {
    for len in 0..64u8 {
        let data: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37) ^ len).collect();
        fuzzing::ipxe_render(&data);
    }
}
