//! What the emitter writes for a full table (two NICs and two targets, IPv4 and IPv6, VLAN,
//! hostname, mutual CHAP, flags), checked byte by byte against the spec's offsets, and its
//! errors.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ibft::{
    ChapType, Error, Flags, Ibft, IbftBuilder, Initiator, Lun, MacAddr, Nic, Origin, PciAddress,
    Placement, Target,
};

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

/// The string a (length, offset) pair at `at` points to, checking its NUL.
fn string(b: &[u8], at: usize) -> &str {
    let (len, off) = (usize::from(le16(b, at)), usize::from(le16(b, at + 2)));
    if len == 0 {
        assert_eq!(off, 0, "absent strings are (0, 0)");
        return "";
    }
    assert_eq!(b[off + len], 0, "NUL after the string");
    std::str::from_utf8(&b[off..off + len]).expect("UTF-8")
}

fn full() -> IbftBuilder {
    let v6: Ipv6Addr = "fd00:10::15".parse().expect("address");
    IbftBuilder::new()
        .placement(Placement::Acpi {
            oem_id: *b"DLSCSI",
            oem_table_id: *b"TESTIBFT",
        })
        .single_login(true)
        .initiator(Initiator {
            isns_server: Some(Ipv4Addr::new(192, 168, 1, 5).into()),
            name: "iqn.2026-11.test:full".into(),
            ..Initiator::default()
        })
        .nic(Nic {
            flags: Flags::VALID_BOOT | Flags::NIC_GLOBAL,
            ip: Some(Ipv4Addr::new(192, 168, 1, 20).into()),
            prefix_len: 24,
            origin: Origin::Manual,
            gateway: Some(Ipv4Addr::new(192, 168, 1, 1).into()),
            primary_dns: Some(Ipv4Addr::new(192, 168, 1, 2).into()),
            secondary_dns: Some(Ipv4Addr::new(192, 168, 1, 3).into()),
            vlan: 42,
            mac: MacAddr([0x02, 0, 0, 0, 0, 0x20]),
            pci: PciAddress::new(0x12, 0x1f, 7).expect("PCI"),
            hostname: "client-full".into(),
            ..Nic::default()
        })
        .nic(Nic {
            flags: Flags::BLOCK_VALID,
            ip: Some(IpAddr::V6(v6)),
            prefix_len: 64,
            origin: Origin::RouterAdvertisement,
            gateway: Some("fd00:10::1".parse::<Ipv6Addr>().expect("address").into()),
            mac: MacAddr([0x02, 0, 0, 0, 0, 0x21]),
            pci: PciAddress::new(0, 4, 0).expect("PCI"),
            ..Nic::default()
        })
        .target(Target {
            ip: Some(Ipv4Addr::new(192, 168, 1, 10).into()),
            lun: Lun::from_number(300).expect("LUN"),
            name: "iqn.2026-11.test:disk-a".into(),
            chap_type: ChapType::Mutual,
            chap_name: "user".into(),
            chap_secret: "secret-123456".into(),
            reverse_chap_name: "target".into(),
            reverse_chap_secret: "rsecret-123456".into(),
            ..Target::default()
        })
        .target(Target {
            flags: Flags::BLOCK_VALID,
            ip: Some("fd00:10::10".parse::<Ipv6Addr>().expect("address").into()),
            port: 3261,
            lun: Lun([0, 1, 0, 2, 0, 0, 0, 0]),
            nic_association: 1,
            name: "iqn.2026-11.test:disk-b".into(),
            ..Target::default()
        })
}

#[test]
fn writes_every_field_where_the_spec_puts_it() {
    let b = full().build().expect("builds");
    assert_eq!(&b[0..4], b"IBFT");
    assert_eq!(le16(&b, 4) as usize, b.len());
    assert_eq!(b[8], 1, "revision");
    assert_eq!(&b[10..16], b"DLSCSI");
    assert_eq!(&b[16..24], b"TESTIBFT");
    assert_eq!(ibft::checksum::sum(&b), 0);
    // Control: ID 1, version 1, length 18, index 0, flags: single login.
    assert_eq!(&b[48..54], &[1, 1, 18, 0, 0, 1]);
    let slot = |i: usize| usize::from(le16(&b, 48 + 8 + 2 * i));
    let (ini, nic0, tgt0, nic1, tgt1) = (slot(0), slot(1), slot(2), slot(3), slot(4));
    for (offset, id, len, index) in [
        (ini, 2, 74, 0),
        (nic0, 3, 102, 0),
        (tgt0, 4, 54, 0),
        (nic1, 3, 102, 1),
        (tgt1, 4, 54, 1),
    ] {
        assert_eq!(offset % 8, 0, "8-byte aligned");
        assert_eq!(&b[offset..offset + 5], &[id, 1, len, 0, index]);
        assert!(offset < b.len() - 48, "before Linux's bound");
    }
    // Initiator.
    assert_eq!(b[ini + 5], 0x03);
    assert_eq!(
        &b[ini + 6..ini + 22],
        &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 1, 5]
    );
    assert_eq!(
        &b[ini + 22..ini + 70],
        &[0; 48][..],
        "SLP and RADIUS absent"
    );
    assert_eq!(string(&b, ini + 70), "iqn.2026-11.test:full");
    // NIC 0.
    assert_eq!(b[nic0 + 5], 0x07, "valid, boot, global");
    assert_eq!(&b[nic0 + 18..nic0 + 22], &[192, 168, 1, 20]);
    assert_eq!(
        (b[nic0 + 22], b[nic0 + 23]),
        (24, 1),
        "prefix, origin manual"
    );
    assert_eq!(&b[nic0 + 36..nic0 + 40], &[192, 168, 1, 1]);
    assert_eq!(&b[nic0 + 52..nic0 + 56], &[192, 168, 1, 2]);
    assert_eq!(&b[nic0 + 68..nic0 + 72], &[192, 168, 1, 3]);
    assert_eq!(&b[nic0 + 72..nic0 + 88], &[0; 16], "no DHCP server");
    assert_eq!(le16(&b, nic0 + 88), 42, "VLAN");
    assert_eq!(&b[nic0 + 90..nic0 + 96], &[2, 0, 0, 0, 0, 0x20]);
    assert_eq!(le16(&b, nic0 + 96), 0x12ff, "PCI 12:1f.7");
    assert_eq!(string(&b, nic0 + 98), "client-full");
    // NIC 1: IPv6 as is.
    assert_eq!(b[nic1 + 5], 0x01);
    assert_eq!(&b[nic1 + 6..nic1 + 10], &[0xfd, 0, 0, 0x10]);
    assert_eq!((b[nic1 + 22], b[nic1 + 23]), (64, 4));
    assert_eq!(string(&b, nic1 + 98), "");
    // Target 0: mutual CHAP, flat-space LUN 300.
    assert_eq!(&b[tgt0 + 18..tgt0 + 22], &[192, 168, 1, 10]);
    assert_eq!(le16(&b, tgt0 + 22), 3260);
    assert_eq!(&b[tgt0 + 24..tgt0 + 32], &[0x41, 0x2c, 0, 0, 0, 0, 0, 0]);
    assert_eq!((b[tgt0 + 32], b[tgt0 + 33]), (2, 0));
    assert_eq!(string(&b, tgt0 + 34), "iqn.2026-11.test:disk-a");
    assert_eq!(string(&b, tgt0 + 38), "user");
    assert_eq!(string(&b, tgt0 + 42), "secret-123456");
    assert_eq!(string(&b, tgt0 + 46), "target");
    assert_eq!(string(&b, tgt0 + 50), "rsecret-123456");
    // Target 1: IPv6, port 3261, two-level LUN, through NIC 1, no CHAP.
    assert_eq!(b[tgt1 + 5], 0x01);
    assert_eq!(&b[tgt1 + 6..tgt1 + 8], &[0xfd, 0]);
    assert_eq!(le16(&b, tgt1 + 22), 3261);
    assert_eq!(&b[tgt1 + 24..tgt1 + 32], &[0, 1, 0, 2, 0, 0, 0, 0]);
    assert_eq!((b[tgt1 + 32], b[tgt1 + 33]), (0, 1));
    for at in [38, 42, 46, 50] {
        assert_eq!(&b[tgt1 + at..tgt1 + at + 4], &[0; 4]);
    }
    // The strings come last, one after the other.
    let heap = tgt1 + 54;
    assert_eq!(usize::from(le16(&b, ini + 72)), heap);
    // And it all reads back, with nothing to complain about.
    let parsed = Ibft::parse(&b).expect("parses");
    assert_eq!(parsed, full().build_ibft().expect("builds"));
    assert!(
        Ibft::lint(&b).is_empty(),
        "{:?}",
        Ibft::lint(&b)
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    );
}

#[test]
fn emit_needs_a_buffer_of_exactly_buffer_len() {
    let ibft = full().build_ibft().expect("builds");
    let len = ibft.buffer_len().expect("fits");
    for wrong in [0, len - 1, len + 1] {
        let mut buf = vec![0; wrong];
        assert_eq!(
            ibft.emit(&mut buf),
            Err(Error::BufferSize {
                needed: len,
                have: wrong
            })
        );
    }
    let mut buf = vec![0xa5; len];
    ibft.emit(&mut buf).expect("emits");
    assert_eq!(buf, ibft.to_bytes().expect("emits"));
}

#[test]
fn refuses_tables_past_16_bit_offsets() {
    let mut ibft = full().build_ibft().expect("builds");
    if let Some(t) = ibft.targets[0].as_mut() {
        t.chap_secret = "x".repeat(65_000);
    }
    assert!(matches!(ibft.to_bytes(), Err(Error::TooLarge { len }) if len > 65_535));
    // The largest string that fits still round-trips.
    let base = full().build_ibft().expect("builds");
    let room = ibft::MAX_TABLE_LEN - base.buffer_len().expect("fits") + "secret-123456".len();
    if let Some(t) = ibft.targets[0].as_mut() {
        t.chap_secret = "y".repeat(room);
    }
    let bytes = ibft.to_bytes().expect("fits exactly");
    assert_eq!(bytes.len(), ibft::MAX_TABLE_LEN);
    assert_eq!(Ibft::parse(&bytes).expect("parses"), ibft);
}

#[test]
fn builder_refuses_a_third_nic_and_explains_chap_mistakes() {
    let nic = Nic {
        ip: Some(Ipv4Addr::new(10, 0, 0, 9).into()),
        prefix_len: 8,
        mac: MacAddr([2, 0, 0, 0, 0, 9]),
        ..Nic::default()
    };
    assert!(matches!(
        full().nic(nic).build(),
        Err(Error::InvalidInput { what: "NICs", .. })
    ));
    let err = IbftBuilder::new()
        .initiator(Initiator {
            name: "iqn.2026-11.test:c".into(),
            ..Initiator::default()
        })
        .nic(Nic {
            ip: Some(Ipv4Addr::new(10, 0, 0, 9).into()),
            prefix_len: 8,
            mac: MacAddr([2, 0, 0, 0, 0, 9]),
            ..Nic::default()
        })
        .target(Target {
            ip: Some(Ipv4Addr::new(10, 0, 0, 1).into()),
            name: "iqn.2026-11.test:d".into(),
            chap_type: ChapType::OneWay,
            chap_secret: "secret-123456".into(),
            ..Target::default()
        })
        .build()
        .expect_err("no CHAP name");
    assert_eq!(
        err.to_string(),
        "target 0 has CHAP type 1 (one-way CHAP) but no CHAP name"
    );
    // No initiator at all.
    let err = IbftBuilder::new().build().expect_err("empty");
    assert_eq!(
        err.to_string(),
        "the table has no initiator structure: the OS cannot learn its initiator name"
    );
}
