//! Replays the committed fuzz seeds (`fuzz/corpus/ibft_parse/`) and fixed crash inputs
//! (`fuzz/regressions/ibft_parse/`, when present) through the fuzz target's entry point, so that
//! `cargo test` checks them on stable Rust without cargo-fuzz.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) -> usize {
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
    count
}

#[test]
fn ibft_parse_seeds() {
    assert!(
        replay("ibft_parse", ibft::fuzzing::ibft_parse) >= 4,
        "the iPXE fixtures are seeds of ibft_parse"
    );
}

#[test]
fn seeds_include_the_ipxe_fixtures() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/ibft_parse");
    for name in [
        "ipxe-plain.bin",
        "ipxe-chap.bin",
        "ipxe-mutual.bin",
        "ipxe-lun.bin",
    ] {
        assert_eq!(
            std::fs::read(data.join(name)).expect("fixture"),
            std::fs::read(corpus.join(name)).expect("seed"),
            "{name}"
        );
    }
}
