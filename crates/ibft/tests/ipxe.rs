//! The iBFTs that real iPXE wrote when it sanbooted in QEMU (`tests/data/ipxe-*.bin`, captured
//! by the probe boot sector of `cargo xtask interop`): this crate reads them, finds nothing to
//! complain about, and its builder makes, from the same parameters, tables that parse to the same
//! fields (layout and OEM identifiers differ).
//!
//! The four parameter sets: QEMU user networking (the guest is 10.0.2.15/24 by DHCP from
//! 10.0.2.2, DNS 10.0.2.3, an e1000 at PCI 00:03.0), the target on the host at 10.0.2.2:3291.
//!
//! | fixture | initiator | target | LUN | CHAP | MAC |
//! |---|---|---|---|---|---|
//! | plain | `iqn.2026-11.test:client-plain` | `iqn.2026-11.test:ibft-plain` | 1 | none | 52:54:00:12:34:56 |
//! | chap | `…:client-chap` | `…:ibft-chap` | 1 | `chapuser` / `chapsecret12` | 52:54:00:12:34:56 |
//! | mutual | `…:client-mutual` | `…:ibft-mutual` | 1 | `mutualuser` / `mutualsecret1`, reverse `targetuser` / `targetsecret1` | 52:54:00:12:34:56 |
//! | lun | `…:client-lun` | `…:ibft-lun` | 2 | none | 52:54:00:ab:cd:ef |

use std::net::{IpAddr, Ipv4Addr};

use ibft::{
    ChapType, Control, Flags, Ibft, IbftBuilder, Initiator, Lun, MacAddr, Nic, Origin, PciAddress,
    Placement, Signature, TableHeader, Target,
};

const PLAIN: &[u8] = include_bytes!("data/ipxe-plain.bin");
const CHAP: &[u8] = include_bytes!("data/ipxe-chap.bin");
const MUTUAL: &[u8] = include_bytes!("data/ipxe-mutual.bin");
const LUN: &[u8] = include_bytes!("data/ipxe-lun.bin");

/// What one iPXE boot was given.
struct Params {
    file: &'static [u8],
    client: &'static str,
    disk: &'static str,
    lun: u16,
    mac: [u8; 6],
    chap: Option<(&'static str, &'static str)>,
    reverse_chap: Option<(&'static str, &'static str)>,
}

const QEMU_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

fn fixtures() -> [(&'static str, Params); 4] {
    [
        (
            "plain",
            Params {
                file: PLAIN,
                client: "client-plain",
                disk: "ibft-plain",
                lun: 1,
                mac: QEMU_MAC,
                chap: None,
                reverse_chap: None,
            },
        ),
        (
            "chap",
            Params {
                file: CHAP,
                client: "client-chap",
                disk: "ibft-chap",
                lun: 1,
                mac: QEMU_MAC,
                chap: Some(("chapuser", "chapsecret12")),
                reverse_chap: None,
            },
        ),
        (
            "mutual",
            Params {
                file: MUTUAL,
                client: "client-mutual",
                disk: "ibft-mutual",
                lun: 1,
                mac: QEMU_MAC,
                chap: Some(("mutualuser", "mutualsecret1")),
                reverse_chap: Some(("targetuser", "targetsecret1")),
            },
        ),
        (
            "lun",
            Params {
                file: LUN,
                client: "client-lun",
                disk: "ibft-lun",
                lun: 2,
                mac: [0x52, 0x54, 0x00, 0xab, 0xcd, 0xef],
                chap: None,
                reverse_chap: None,
            },
        ),
    ]
}

fn v4(d: u8) -> Option<IpAddr> {
    Some(IpAddr::V4(Ipv4Addr::new(10, 0, 2, d)))
}

/// The initiator, NIC and target of a parameter set, as a caller of the builder gives them.
fn parts(p: &Params) -> (Initiator, Nic, Target) {
    let initiator = Initiator {
        name: format!("iqn.2026-11.test:{}", p.client),
        ..Initiator::default()
    };
    let nic = Nic {
        ip: v4(15),
        prefix_len: 24,
        origin: Origin::Dhcp,
        gateway: v4(2),
        primary_dns: v4(3),
        dhcp_server: v4(2),
        mac: MacAddr(p.mac),
        pci: PciAddress::new(0, 3, 0).expect("valid PCI address"),
        ..Nic::default()
    };
    let (chap_type, (chap_name, chap_secret), (reverse_name, reverse_secret)) =
        match (p.chap, p.reverse_chap) {
            (None, _) => (ChapType::None, ("", ""), ("", "")),
            (Some(c), None) => (ChapType::OneWay, c, ("", "")),
            (Some(c), Some(r)) => (ChapType::Mutual, c, r),
        };
    let target = Target {
        ip: v4(2),
        port: 3291,
        lun: Lun::from_number(p.lun).expect("small LUN"),
        chap_type,
        name: format!("iqn.2026-11.test:{}", p.disk),
        chap_name: chap_name.into(),
        chap_secret: chap_secret.into(),
        reverse_chap_name: reverse_name.into(),
        reverse_chap_secret: reverse_secret.into(),
        ..Target::default()
    };
    (initiator, nic, target)
}

/// The header iPXE writes: `"iBFT"`, OEM ID `"FENSYS"`, OEM table ID `"iPXE"`, the rest zero.
fn ipxe_header() -> TableHeader {
    TableHeader {
        signature: Signature::Bios,
        oem_id: *b"FENSYS",
        oem_table_id: *b"iPXE\0\0\0\0",
        oem_revision: 0,
        creator_id: [0; 4],
        creator_revision: 0,
    }
}

/// The whole table iPXE describes for a parameter set, field by field.
fn expected(p: &Params) -> Ibft {
    let (initiator, nic, target) = parts(p);
    Ibft {
        header: ipxe_header(),
        control: Control::default(),
        initiator: Some(initiator),
        nics: [Some(nic), None],
        targets: [Some(target), None],
    }
}

#[test]
fn parses_every_ipxe_table_field_by_field() {
    for (name, p) in fixtures() {
        let parsed = Ibft::parse(p.file).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(parsed, expected(&p), "{name}");
    }
}

#[test]
fn ipxe_writes_what_the_reference_notes_say() {
    // Spot checks of the values behind `expected`, against the raw bytes.
    let t = Ibft::parse(MUTUAL).expect("parses");
    let nic = t.nics[0].as_ref().expect("NIC 0");
    assert_eq!(nic.flags, Flags::VALID_BOOT);
    assert_eq!(nic.mac.to_string(), "52:54:00:12:34:56");
    assert_eq!(nic.pci.to_string(), "00:03.0");
    assert_eq!(nic.secondary_dns, None);
    assert_eq!(nic.hostname, "");
    let target = t.targets[0].as_ref().expect("target 0");
    assert_eq!(target.chap_type, ChapType::Mutual);
    assert_eq!(target.lun.0, [0, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        Ibft::parse(LUN).expect("parses").targets[0]
            .as_ref()
            .expect("target 0")
            .lun
            .0,
        [0, 2, 0, 0, 0, 0, 0, 0]
    );
    // iPXE's layout: initiator at 0x50, NIC 0 at 0xa0, target 0 at 0x180, strings at 0x200.
    assert_eq!(&PLAIN[0x38..0x42], &[0x50, 0, 0xa0, 0, 0x80, 1, 0, 0, 0, 0]);
    assert_eq!(&PLAIN[0x200..0x204], b"iqn.");
}

#[test]
fn ipxe_tables_lint_clean() {
    for (name, p) in fixtures() {
        let problems = Ibft::lint(p.file);
        assert!(
            problems.is_empty(),
            "{name}: {:?}",
            problems.iter().map(ToString::to_string).collect::<Vec<_>>()
        );
    }
}

#[test]
fn ipxe_tables_parse_with_memory_after_them() {
    // A scan of BIOS memory hands over more than the table: the Length field bounds it.
    for (name, p) in fixtures() {
        let mut memory = p.file.to_vec();
        memory.extend_from_slice(&[0xa5; 300]);
        assert_eq!(Ibft::parse(&memory), Ibft::parse(p.file), "{name}");
        assert!(Ibft::lint(&memory).is_empty(), "{name}");
    }
}

fn build(p: &Params, placement: Placement) -> Vec<u8> {
    let (initiator, nic, target) = parts(p);
    IbftBuilder::new()
        .placement(placement)
        .initiator(initiator)
        .nic(nic)
        .target(target)
        .build()
        .expect("the builder accepts iPXE's parameters")
}

#[test]
fn our_tables_from_the_same_parameters_have_the_same_fields() {
    let acpi = Placement::Acpi {
        oem_id: *b"OEMID ",
        oem_table_id: *b"OEMTABLE",
    };
    for (name, p) in fixtures() {
        let theirs = Ibft::parse(p.file).expect("iPXE's table parses");
        for placement in [Placement::BiosMemory, acpi] {
            let bytes = build(&p, placement);
            let ours = Ibft::parse(&bytes).expect("our table parses");
            assert_eq!(ours.header, placement.header(), "{name}");
            // Every field but the header's signature and OEM identifiers.
            assert_eq!(
                Ibft {
                    header: theirs.header,
                    ..ours
                },
                theirs,
                "{name} ({placement:?})"
            );
            assert!(Ibft::lint(&bytes).is_empty(), "{name}");
            // The signature follows the placement.
            let signature: &[u8] = match placement {
                Placement::BiosMemory => b"iBFT",
                Placement::Acpi { .. } => b"IBFT",
            };
            assert_eq!(&bytes[..4], signature);
        }
    }
}

#[test]
fn our_layout_is_compact_aligned_and_terminated() {
    for (name, p) in fixtures() {
        let bytes = build(&p, Placement::BiosMemory);
        // Control at 48; initiator, NIC 0 and target 0 8-byte aligned right after each other.
        assert_eq!(&bytes[0x30..0x34], &[1, 1, 18, 0], "{name}");
        let offsets: Vec<u16> = (0..5)
            .map(|i| u16::from_le_bytes([bytes[0x38 + 2 * i], bytes[0x39 + 2 * i]]))
            .collect();
        assert_eq!(offsets, [72, 152, 256, 0, 0], "{name}");
        // Strings start right after target 0 (256 + 54) and each ends in a NUL.
        let heap = &bytes[310..];
        let strings: Vec<&[u8]> = heap.split(|b| *b == 0).collect();
        assert_eq!(strings.last(), Some(&&b""[..]), "{name}: ends with a NUL");
        assert_eq!(
            strings[0],
            format!("iqn.2026-11.test:{}", p.client).as_bytes()
        );
        assert_eq!(
            bytes.len(),
            u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize
        );
        assert_eq!(ibft::checksum::sum(&bytes), 0);
    }
}

#[test]
fn with_ipxe_header_our_table_parses_exactly_as_ipxe_table() {
    for (name, p) in fixtures() {
        let (initiator, nic, target) = parts(&p);
        let bytes = IbftBuilder::new()
            .header(ipxe_header())
            .initiator(initiator)
            .nic(nic)
            .target(target)
            .build()
            .expect("builds");
        assert_eq!(Ibft::parse(&bytes), Ibft::parse(p.file), "{name}");
        // Shorter than iPXE's: no space reserved for a second NIC and target.
        assert!(bytes.len() < p.file.len(), "{name}");
    }
}

#[test]
fn reemitting_an_ipxe_table_keeps_its_meaning() {
    // iPXE's layout is not ours (16-byte alignment, room for a second pair), so the bytes
    // differ, but the re-emitted table means the same.
    for (name, p) in fixtures() {
        let theirs = Ibft::parse(p.file).expect("parses");
        let ours = theirs.to_bytes().expect("emits");
        assert_ne!(ours, p.file, "{name}");
        assert_eq!(Ibft::parse(&ours).expect("parses"), theirs, "{name}");
        assert_eq!(
            ours,
            theirs.to_bytes().expect("emits"),
            "{name}: deterministic"
        );
    }
}
