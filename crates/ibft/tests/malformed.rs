//! Broken tables give typed errors naming the structure and field, `lint` turns them into
//! sentences, and nothing panics: truncations, a bad checksum, impossible lengths, offsets out of
//! the table, wrong structure headers, strings outside the table, every single-byte change of the
//! iPXE fixtures, and random bytes.

use ibft::{Error, Ibft, Location, Problem, Severity};
use proptest::prelude::*;

const PLAIN: &[u8] = include_bytes!("data/ipxe-plain.bin");
const CHAP: &[u8] = include_bytes!("data/ipxe-chap.bin");
const MUTUAL: &[u8] = include_bytes!("data/ipxe-mutual.bin");
const LUN: &[u8] = include_bytes!("data/ipxe-lun.bin");
const FIXTURES: [&[u8]; 4] = [PLAIN, CHAP, MUTUAL, LUN];

/// `table` with `bytes` written at `offset` and the checksum fixed, so that the parser gets
/// past the checksum to the change.
fn patched(table: &[u8], offset: usize, bytes: &[u8]) -> Vec<u8> {
    let mut t = table.to_vec();
    t[offset..offset + bytes.len()].copy_from_slice(bytes);
    ibft::checksum::fix(&mut t);
    t
}

fn lint_strings(bytes: &[u8]) -> Vec<String> {
    Ibft::lint(bytes).iter().map(ToString::to_string).collect()
}

// iPXE's layout in the fixtures.
const INITIATOR: usize = 0x50;
const NIC0: usize = 0xa0;
const TARGET0: usize = 0x180;
/// `ipxe-plain.bin` is 0x23a bytes.
const PLAIN_LEN: usize = 0x23a;

#[test]
fn every_truncation_is_a_truncated_error() {
    assert_eq!(PLAIN.len(), PLAIN_LEN);
    for len in 0..PLAIN.len() {
        let err = Ibft::parse(&PLAIN[..len]).expect_err("truncated");
        let want = if len < 48 {
            Error::Truncated {
                what: "table header",
                needed: 48,
                have: len,
            }
        } else {
            Error::Truncated {
                what: "table",
                needed: PLAIN_LEN,
                have: len,
            }
        };
        assert_eq!(err, want);
        assert_eq!(Ibft::lint(&PLAIN[..len]), [Problem::Unreadable(want)]);
    }
}

#[test]
#[cfg_attr(fuzzing, ignore = "cfg(fuzzing) skips the checksum")]
fn rejects_bad_checksum_and_says_which_byte_fixes_it() {
    let mut t = PLAIN.to_vec();
    t[0x100] += 0x10; // NIC 0: PCI device 3 becomes 5
    let err = Ibft::parse(&t).expect_err("bad checksum");
    assert_eq!(
        err,
        Error::Checksum {
            sum: 0x10,
            stored: 0x3b,
            expected: 0x2b
        }
    );
    // lint goes on past the checksum and reads the rest.
    let problems = Ibft::lint(&t);
    assert_eq!(problems, [Problem::Unreadable(err)]);
    assert_eq!(
        problems[0].to_string(),
        "error: checksum is wrong: the table's bytes sum to 0x10, not 0 (checksum byte 0x3b should be 0x2b)"
    );
}

#[test]
fn rejects_unknown_signature_and_revision() {
    let t = patched(PLAIN, 0, b"RSDT");
    assert_eq!(Ibft::parse(&t), Err(Error::Signature { found: *b"RSDT" }));
    for sig in [b"iBFT", b"IBFT", b"BIFT"] {
        assert!(Ibft::parse(&patched(PLAIN, 0, sig)).is_ok());
    }
    let t = patched(PLAIN, 8, &[2]);
    assert_eq!(Ibft::parse(&t), Err(Error::Revision { found: 2 }));
    assert_eq!(
        lint_strings(&t),
        ["error: table revision is 2, only revision 1 exists"]
    );
}

#[test]
fn rejects_impossible_table_lengths() {
    for (length, reason_start) in [
        (0u32, "shorter"),
        (65, "shorter"),
        (65536, "offsets are 16-bit"),
    ] {
        let t = patched(PLAIN, 4, &length.to_le_bytes());
        match Ibft::parse(&t) {
            Err(Error::TableLength { length: l, reason }) => {
                assert_eq!(l, length);
                assert!(reason.starts_with(reason_start), "{reason}");
            }
            other => panic!("length {length}: {other:?}"),
        }
        assert_eq!(Ibft::lint(&t).len(), 1);
    }
    let t = patched(PLAIN, 4, &u32::MAX.to_le_bytes());
    assert!(matches!(Ibft::parse(&t), Err(Error::TableLength { .. })));
    // Longer than the bytes at hand.
    let t = patched(PLAIN, 4, &(PLAIN_LEN as u32 + 1).to_le_bytes());
    assert_eq!(
        Ibft::parse(&t),
        Err(Error::Truncated {
            what: "table",
            needed: PLAIN_LEN + 1,
            have: PLAIN_LEN
        })
    );
}

#[test]
fn rejects_bad_control_structure() {
    // Linux: "Control header is invalid!" for any ID, length or index but 1, 18, 0.
    let t = patched(PLAIN, 0x30, &[2]);
    assert!(matches!(
        Ibft::parse(&t),
        Err(Error::StructureHeader {
            structure: Location::Control,
            field: "structure ID",
            found: 2,
            expected: 1,
            ..
        })
    ));
    let t = patched(PLAIN, 0x32, &[22, 0]);
    assert!(matches!(
        Ibft::parse(&t),
        Err(Error::StructureHeader {
            structure: Location::Control,
            field: "length",
            found: 22,
            expected: 18,
            ..
        })
    ));
    let t = patched(PLAIN, 0x34, &[1]);
    assert!(matches!(
        Ibft::parse(&t),
        Err(Error::StructureHeader {
            structure: Location::Control,
            field: "index",
            found: 1,
            ..
        })
    ));
    let t = patched(PLAIN, 0x31, &[2]);
    assert!(matches!(
        Ibft::parse(&t),
        Err(Error::StructureHeader {
            structure: Location::Control,
            field: "version",
            found: 2,
            expected: 1,
            ..
        })
    ));
}

#[test]
fn rejects_wrong_structure_headers() {
    let t = patched(PLAIN, INITIATOR, &[4]);
    assert_eq!(
        Ibft::parse(&t),
        Err(Error::StructureHeader {
            structure: Location::Initiator,
            offset: INITIATOR,
            field: "structure ID",
            found: 4,
            expected: 2
        })
    );
    let t = patched(PLAIN, TARGET0 + 2, &[55, 0]);
    assert_eq!(
        Ibft::parse(&t),
        Err(Error::StructureHeader {
            structure: Location::Target(0),
            offset: TARGET0,
            field: "length",
            found: 55,
            expected: 54
        })
    );
    assert_eq!(
        lint_strings(&t),
        ["error: target 0 at byte 384: length is 55, expected 54"]
    );
    let t = patched(PLAIN, NIC0 + 1, &[3]);
    assert!(matches!(
        Ibft::parse(&t),
        Err(Error::StructureHeader {
            structure: Location::Nic(0),
            field: "version",
            found: 3,
            ..
        })
    ));
}

#[test]
fn rejects_structure_offsets_out_of_the_table() {
    // NIC 0 moved so that it runs past the end.
    let t = patched(PLAIN, 0x3a, &(0x220u16).to_le_bytes());
    assert_eq!(
        Ibft::parse(&t),
        Err(Error::OutOfBounds {
            structure: Location::Nic(0),
            field: "structure",
            offset: 0x220,
            len: 102,
            table_len: PLAIN_LEN
        })
    );
    // Target 1 pointing far past the end.
    let t = patched(PLAIN, 0x40, &u16::MAX.to_le_bytes());
    assert!(matches!(
        Ibft::parse(&t),
        Err(Error::OutOfBounds {
            structure: Location::Target(1),
            offset: 0xffff,
            ..
        })
    ));
    // The initiator's slot pointing at the target: the ID check catches it.
    let t = patched(PLAIN, 0x38, &(TARGET0 as u16).to_le_bytes());
    assert!(matches!(
        Ibft::parse(&t),
        Err(Error::StructureHeader {
            structure: Location::Initiator,
            field: "structure ID",
            found: 4,
            ..
        })
    ));
}

#[test]
fn rejects_strings_outside_the_table() {
    // Target name (at target + 34): 0x1b bytes at 0x21e. Move it to the last bytes, and past.
    let t = patched(
        PLAIN,
        TARGET0 + 36,
        &((PLAIN_LEN - 0x1b) as u16).to_le_bytes(),
    );
    assert!(Ibft::parse(&t).is_ok());
    let t = patched(
        PLAIN,
        TARGET0 + 36,
        &((PLAIN_LEN - 0x1a) as u16).to_le_bytes(),
    );
    assert_eq!(
        Ibft::parse(&t),
        Err(Error::OutOfBounds {
            structure: Location::Target(0),
            field: "target name",
            offset: PLAIN_LEN - 0x1a,
            len: 0x1b,
            table_len: PLAIN_LEN
        })
    );
    // A huge length.
    let t = patched(PLAIN, INITIATOR + 70, &u16::MAX.to_le_bytes());
    assert!(matches!(
        Ibft::parse(&t),
        Err(Error::OutOfBounds {
            structure: Location::Initiator,
            field: "initiator name",
            len: 0xffff,
            ..
        })
    ));
    // A length with offset 0 (the signature).
    let t = patched(PLAIN, NIC0 + 98, &[4, 0, 0, 0]);
    assert_eq!(
        Ibft::parse(&t),
        Err(Error::StringAtZero {
            structure: Location::Nic(0),
            field: "hostname",
            len: 4
        })
    );
    // Not UTF-8.
    let t = patched(PLAIN, 0x200, &[0xff]);
    assert_eq!(
        Ibft::parse(&t),
        Err(Error::NotUtf8 {
            structure: Location::Initiator,
            field: "initiator name",
            offset: 0x200
        })
    );
}

#[test]
fn lint_names_what_to_fix() {
    // The CHAP name taken out of a one-way CHAP table.
    let t = patched(CHAP, TARGET0 + 38, &[0, 0, 0, 0]);
    assert_eq!(
        lint_strings(&t),
        ["error: target 0 has CHAP type 1 (one-way CHAP) but no CHAP name"]
    );
    // Reverse credentials left in a table whose CHAP type says one-way.
    let t = patched(MUTUAL, TARGET0 + 32, &[1]);
    assert_eq!(
        lint_strings(&t),
        [
            "warning: target 0 has a reverse CHAP name but CHAP type 1 (one-way CHAP), so it is not used",
            "warning: target 0 has a reverse CHAP secret but CHAP type 1 (one-way CHAP), so it is not used",
        ]
    );
    // A target reached through a NIC that is not there, on an unknown port.
    let t = patched(PLAIN, TARGET0 + 22, &[0, 0]);
    let t = patched(&t, TARGET0 + 33, &[1]);
    assert_eq!(
        lint_strings(&t),
        [
            "error: target 0 has TCP port 0 (iSCSI's is 3260)",
            "error: target 0 is reached through NIC 1, but no NIC structure has index 1",
        ]
    );
    // A string without its NUL.
    let t = patched(PLAIN, 0x21d, b"X");
    assert_eq!(
        lint_strings(&t),
        [
            "warning: the initiator has no NUL byte after its initiator name, which the spec requires and C readers rely on"
        ]
    );
    // A structure off the 8-byte grid (moved within iPXE's reserved space).
    let mut moved = PLAIN.to_vec();
    moved.copy_within(TARGET0..TARGET0 + 54, 0x1c4);
    let t = patched(&moved, 0x3c, &(0x1c4u16).to_le_bytes());
    assert!(Ibft::parse(&t).is_ok());
    assert_eq!(
        lint_strings(&t),
        ["warning: target 0 starts at byte 452, which is not a multiple of 8 as the spec requires"]
    );
    // Two structures on top of each other.
    let t = patched(PLAIN, 0x40, &(TARGET0 as u16).to_le_bytes());
    assert!(Ibft::parse(&t).is_ok());
    assert_eq!(
        lint_strings(&t),
        [
            "error: target 1 overlaps target 0",
            "warning: target 1 has index 0 in its header, which is not its slot number: Linux names it by the index, and targets refer to NICs by index",
        ]
    );
    // A string inside a structure.
    let t = patched(PLAIN, INITIATOR + 72, &(NIC0 as u16 + 6).to_le_bytes());
    let t = patched(&t, INITIATOR + 70, &[4, 0]);
    assert_eq!(
        lint_strings(&t),
        [
            "error: the initiator has its initiator name overlapping NIC 0",
            "warning: the initiator has a NUL byte inside its initiator name: C readers cut it short there",
        ]
    );
}

#[test]
fn lint_reports_unreadable_structures_and_goes_on() {
    // NIC 0 unreadable (bad version) and the checksum also wrong: both reported.
    let mut t = patched(PLAIN, NIC0 + 1, &[9]);
    t[0x9] ^= 1;
    let problems = Ibft::lint(&t);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(matches!(
        problems[0],
        Problem::Unreadable(Error::Checksum { .. })
    ));
    assert_eq!(problems[1].location(), Location::Nic(0));
    assert!(problems.iter().all(|p| p.severity() == Severity::Error));
}

#[test]
fn no_single_byte_change_of_a_fixture_panics() {
    for fixture in FIXTURES {
        for offset in 0..fixture.len() {
            for value in [0x00, 0x01, 0x02, 0x04, 0x10, 0x36, 0x7f, 0x80, 0xff] {
                let mut t = fixture.to_vec();
                t[offset] = value;
                if offset != 9 {
                    ibft::checksum::fix(&mut t);
                }
                let parsed = Ibft::parse(&t);
                let problems = Ibft::lint(&t);
                // lint reports an unreadable part exactly when parse fails (under
                // cfg(fuzzing), parse skips the checksum and lint does not).
                let unreadable = problems.iter().any(|p| matches!(p, Problem::Unreadable(_)));
                if !cfg!(fuzzing) {
                    assert_eq!(
                        parsed.is_err(),
                        unreadable,
                        "offset {offset} value {value:#x}"
                    );
                }
                ibft::fuzzing::ibft_parse(&t);
            }
        }
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..700)) {
        let _ = Ibft::parse(&data);
        let _ = Ibft::lint(&data);
        ibft::fuzzing::ibft_parse(&data);
    }

    #[test]
    fn random_patches_of_a_fixture_never_panic(
        which in 0usize..4,
        patches in proptest::collection::vec((0usize..0x270, any::<u8>()), 1..12),
        fix in any::<bool>(),
    ) {
        let mut t = FIXTURES[which].to_vec();
        for (offset, value) in patches {
            if let Some(b) = t.get_mut(offset) {
                *b = value;
            }
        }
        if fix {
            ibft::checksum::fix(&mut t);
        }
        let parsed = Ibft::parse(&t);
        let problems = Ibft::lint(&t);
        let unreadable = problems.iter().any(|p| matches!(p, Problem::Unreadable(_)));
        if !cfg!(fuzzing) {
            prop_assert_eq!(parsed.is_err(), unreadable);
        }
        ibft::fuzzing::ibft_parse(&t);
    }
}
