//! Replays the committed fuzz seeds (`fuzz/corpus/scsi_exec/`) and fixed crash inputs
//! (`fuzz/regressions/scsi_exec/`, when present) through the fuzz target's entry point, so
//! `cargo test` checks them on stable Rust without cargo-fuzz.

use std::path::{Path, PathBuf};

use scsi::fuzzing;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Runs every file of `fuzz/<kind>/<target>/`; returns how many there were.
fn replay(kind: &str, target: &str, run: fn(&[u8])) -> usize {
    let Ok(entries) = std::fs::read_dir(fuzz_dir().join(kind).join(target)) else {
        return 0;
    };
    let mut count = 0;
    for entry in entries.flatten() {
        let Ok(data) = std::fs::read(entry.path()) else {
            continue;
        };
        run(&data);
        count += 1;
    }
    count
}

#[test]
fn scsi_exec_seeds_run_clean() {
    assert!(
        replay("corpus", "scsi_exec", fuzzing::scsi_exec) > 0,
        "no seeds"
    );
    replay("regressions", "scsi_exec", fuzzing::scsi_exec);
}

#[test]
fn scsi_exec_survives_hostile_inputs() {
    // Every opcode with all-ones fields, and truncated CDBs.
    for op in 0..=255u8 {
        for sel in 0..4u8 {
            let mut input = vec![sel << 2, op];
            input.extend_from_slice(&[0xff; 15]);
            input.push(0xff);
            input.extend_from_slice(&[0xa5; 300]);
            fuzzing::scsi_exec(&input);
            fuzzing::scsi_exec(&input[..3]);
            fuzzing::cdb_parse(&input[1..]);
        }
    }
}

mod random {
    use proptest::prelude::*;

    /// Opcodes the target implements, so random inputs reach the handlers.
    const OPCODES: &[u8] = &[
        0x00, 0x03, 0x08, 0x0a, 0x12, 0x15, 0x16, 0x17, 0x1a, 0x1b, 0x1e, 0x25, 0x28, 0x2a, 0x2e,
        0x2f, 0x34, 0x35, 0x37, 0x41, 0x42, 0x55, 0x56, 0x57, 0x5a, 0x5e, 0x5f, 0x88, 0x89, 0x8a,
        0x8b, 0x8e, 0x8f, 0x90, 0x91, 0x93, 0x9c, 0x9e, 0xa0, 0xa3, 0xa8, 0xaa, 0xae, 0xaf, 0xb7,
    ];

    fn command() -> impl Strategy<Value = Vec<u8>> {
        (
            any::<u8>(),
            proptest::sample::select(OPCODES),
            proptest::collection::vec(prop_oneof![Just(0u8), 0u8..4, any::<u8>()], 15),
            0u8..20,
            proptest::collection::vec(any::<u8>(), 0..1300),
        )
            .prop_map(|(head, op, fields, n, data)| {
                let sel = match op >> 5 {
                    0 => 0,
                    1 | 2 => 1,
                    5 => 2,
                    _ => 3,
                };
                let mut v = vec![(head & 0xf3) | (sel << 2), op];
                v.extend_from_slice(&fields[..[5, 9, 11, 15][usize::from(sel)]]);
                v.push(n);
                v.extend_from_slice(&data);
                v
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn scsi_exec_never_panics(cmds in proptest::collection::vec(command(), 1..6)) {
            let input: Vec<u8> = cmds.concat();
            scsi::fuzzing::scsi_exec(&input);
        }
    }
}

#[test]
fn scsi_reservations_seeds_run_clean() {
    assert!(
        replay("corpus", "scsi_reservations", fuzzing::reservations) >= 5,
        "seeds missing"
    );
    replay("regressions", "scsi_reservations", fuzzing::reservations);
    // The image seeds are valid images, so the target's restore path runs from the start.
    let dir = fuzz_dir().join("corpus/scsi_reservations");
    for name in ["image-held", "image-empty", "image-all-registrants"] {
        let image = std::fs::read(dir.join(name)).unwrap();
        let lu = scsi::LogicalUnit::new(
            std::sync::Arc::new(scsi::MemDevice::new(512, 8)),
            scsi::LuIdentity::from_name("seed"),
        );
        assert_eq!(lu.restore_reservations(&image), Ok(()), "{name}");
    }
    for name in ["transport-id-port", "transport-id-name"] {
        let id = std::fs::read(dir.join(name)).unwrap();
        assert!(scsi::TransportId::parse(&id).is_ok(), "{name}");
    }
}
