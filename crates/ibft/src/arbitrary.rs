//! proptest strategies for the table's types (feature `arbitrary`), for round-trip tests here
//! and in dependent crates.
//!
//! [`ibft`] generates any table this crate can emit whose addresses are canonical (no
//! unspecified address, IPv4 as IPv4), so `Ibft::parse(&ibft.to_bytes()?) == ibft` holds for
//! all of them. [`buildable`] generates only tables [`IbftBuilder`](crate::IbftBuilder)
//! accepts: names present, CHAP credentials matching the CHAP type, targets reaching a NIC.
//!
//! ```
//! use ibft::Ibft;
//! use proptest::strategy::{Strategy, ValueTree};
//! use proptest::test_runner::TestRunner;
//!
//! let mut runner = TestRunner::deterministic();
//! let ibft = ibft::arbitrary::ibft().new_tree(&mut runner).map_err(|reason| reason.to_string())?.current();
//! assert_eq!(Ibft::parse(&ibft.to_bytes()?)?, ibft);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use alloc::string::String;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use crate::{
    ChapType, Control, ControlFlags, Flags, Ibft, Initiator, Lun, MacAddr, Nic, Origin, PciAddress,
    Signature, TableHeader, Target,
};

/// The longest string [`text`] makes, so that a table of seven strings stays far below 64 KiB.
pub const MAX_TEXT_LEN: usize = 64;

/// An address that reads back as itself: IPv4 other than 0.0.0.0, or IPv6 other than `::` and
/// the IPv4-mapped range.
pub fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>()
            .prop_filter("0.0.0.0 reads as absent", |b| *b != [0; 4])
            .prop_map(|b| IpAddr::V4(Ipv4Addr::from(b))),
        any::<[u8; 16]>()
            .prop_map(Ipv6Addr::from)
            .prop_filter("canonical IPv6", |v6| {
                !v6.is_unspecified() && v6.to_ipv4_mapped().is_none()
            })
            .prop_map(IpAddr::V6),
    ]
}

/// An optional address field: absent, or an [`ip`].
pub fn ip_field() -> impl Strategy<Value = Option<IpAddr>> {
    proptest::option::of(ip())
}

/// Any text of up to [`MAX_TEXT_LEN`] characters (NULs and non-ASCII included: the table
/// stores lengths, not terminators alone).
pub fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>(), 0..=MAX_TEXT_LEN / 4)
        .prop_map(|chars| chars.into_iter().collect())
}

/// Non-empty printable ASCII without spaces, like an iSCSI name or CHAP credential.
pub fn word() -> impl Strategy<Value = String> {
    "[!-~]{1,48}"
}

/// Any table header.
pub fn header() -> impl Strategy<Value = TableHeader> {
    (
        prop_oneof![
            Just(Signature::Bios),
            Just(Signature::Acpi),
            Just(Signature::Broadcom)
        ],
        any::<[u8; 6]>(),
        any::<[u8; 8]>(),
        any::<u32>(),
        any::<[u8; 4]>(),
        any::<u32>(),
    )
        .prop_map(
            |(signature, oem_id, oem_table_id, oem_revision, creator_id, creator_revision)| {
                TableHeader {
                    signature,
                    oem_id,
                    oem_table_id,
                    oem_revision,
                    creator_id,
                    creator_revision,
                }
            },
        )
}

/// Any Initiator structure.
pub fn initiator() -> impl Strategy<Value = Initiator> {
    (
        any::<u8>(),
        ip_field(),
        ip_field(),
        ip_field(),
        ip_field(),
        text(),
    )
        .prop_map(|(flags, isns, slp, radius1, radius2, name)| Initiator {
            flags: Flags(flags),
            isns_server: isns,
            slp_server: slp,
            primary_radius_server: radius1,
            secondary_radius_server: radius2,
            name,
        })
}

/// Any NIC structure.
pub fn nic() -> impl Strategy<Value = Nic> {
    (
        (
            any::<u8>(),
            any::<u8>(),
            ip_field(),
            any::<u8>(),
            any::<u8>(),
        ),
        (ip_field(), ip_field(), ip_field(), ip_field()),
        (any::<u16>(), any::<[u8; 6]>(), any::<u16>(), text()),
    )
        .prop_map(
            |(
                (index, flags, ip, prefix_len, origin),
                (gateway, primary_dns, secondary_dns, dhcp_server),
                (vlan, mac, pci, hostname),
            )| Nic {
                index,
                flags: Flags(flags),
                ip,
                prefix_len,
                origin: Origin::from(origin),
                gateway,
                primary_dns,
                secondary_dns,
                dhcp_server,
                vlan,
                mac: MacAddr(mac),
                pci: PciAddress(pci),
                hostname,
            },
        )
}

/// Any Target structure.
pub fn target() -> impl Strategy<Value = Target> {
    (
        (
            any::<u8>(),
            any::<u8>(),
            ip_field(),
            any::<u16>(),
            any::<[u8; 8]>(),
            any::<u8>(),
            any::<u8>(),
        ),
        (text(), text(), text(), text(), text()),
    )
        .prop_map(
            |(
                (index, flags, ip, port, lun, chap_type, nic_association),
                (name, chap_name, chap_secret, reverse_chap_name, reverse_chap_secret),
            )| Target {
                index,
                flags: Flags(flags),
                ip,
                port,
                lun: Lun(lun),
                chap_type: ChapType::from(chap_type),
                nic_association,
                name,
                chap_name,
                chap_secret,
                reverse_chap_name,
                reverse_chap_secret,
            },
        )
}

/// Any table this crate can emit with canonical addresses: any structures present or absent,
/// any flags, indices and values.
pub fn ibft() -> impl Strategy<Value = Ibft> {
    (
        header(),
        any::<u8>(),
        proptest::option::of(initiator()),
        [proptest::option::of(nic()), proptest::option::of(nic())],
        [
            proptest::option::of(target()),
            proptest::option::of(target()),
        ],
    )
        .prop_map(|(header, control, initiator, nics, targets)| Ibft {
            header,
            control: Control {
                flags: ControlFlags(control),
            },
            initiator,
            nics,
            targets,
        })
}

/// A NIC the builder accepts: a MAC, an address with a prefix that fits it (or DHCP), a VLAN ID
/// of 12 bits, a gateway of the address's family.
fn valid_nic() -> impl Strategy<Value = Nic> {
    (
        nic(),
        any::<bool>(),
        1u8..=128,
        0u16..4096,
        any::<[u8; 6]>().prop_filter("a MAC", |m| *m != [0; 6]),
    )
        .prop_map(|(mut nic, v4, prefix, vlan, mac)| {
            let ip = nic.ip.unwrap_or(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
            let ip = match (v4, ip) {
                (true, IpAddr::V6(_)) => IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                (false, IpAddr::V4(v4)) => IpAddr::V6(Ipv6Addr::new(
                    0xfd00,
                    0,
                    0,
                    0,
                    0,
                    0,
                    u16::from_be_bytes([v4.octets()[0], v4.octets()[1]]),
                    1,
                )),
                (_, ip) => ip,
            };
            let max = if ip.is_ipv4() { 32 } else { 128 };
            nic.ip = Some(ip);
            nic.prefix_len = (prefix - 1) % max + 1;
            nic.origin = Origin::from(u8::from(nic.origin) % 5);
            nic.gateway = nic.gateway.filter(|gw| gw.is_ipv4() == ip.is_ipv4());
            nic.vlan = vlan;
            nic.mac = MacAddr(mac);
            nic.flags = Flags(nic.flags.0 | Flags::BLOCK_VALID.0);
            nic
        })
}

/// A target the builder accepts: a name, an address, a port, CHAP credentials exactly as its
/// CHAP type needs (secrets of 12 bytes or more).
fn valid_target() -> impl Strategy<Value = Target> {
    (
        target(),
        ip(),
        1u16..,
        0u8..3,
        word(),
        (word(), word(), word(), word()),
    )
        .prop_map(
            |(mut t, ip, port, chap, name, (user, secret, ruser, rsecret))| {
                let pad = |s: String| alloc::format!("{s:-<12}");
                t.ip = Some(ip);
                t.port = port;
                t.name = name;
                t.chap_type = ChapType::from(chap);
                t.flags = Flags(t.flags.0 | Flags::VALID_BOOT.0);
                let (forward, reverse) = (chap >= 1, chap == 2);
                t.chap_name = if forward { user } else { String::new() };
                t.chap_secret = if forward { pad(secret) } else { String::new() };
                t.reverse_chap_name = if reverse { ruser } else { String::new() };
                t.reverse_chap_secret = if reverse { pad(rsecret) } else { String::new() };
                t
            },
        )
}

/// Tables [`IbftBuilder`](crate::IbftBuilder) accepts, as the builder would return them from
/// [`IbftBuilder::build_ibft`](crate::IbftBuilder::build_ibft): an initiator with a name, one
/// or two NICs, one or two targets each reaching one of the NICs, indices equal to slots.
///
/// The builder fills slots in order, so NIC 1 and target 1 are present only with NIC 0 and
/// target 0.
pub fn buildable() -> impl Strategy<Value = Ibft> {
    (
        header(),
        any::<bool>(),
        initiator(),
        word(),
        proptest::collection::vec(valid_nic(), 1..=2),
        proptest::collection::vec((valid_target(), any::<bool>()), 1..=2),
    )
        .prop_map(|(header, single, mut initiator, name, nics, targets)| {
            initiator.name = name;
            initiator.flags = Flags(initiator.flags.0 | Flags::BLOCK_VALID.0);
            let nic_count = nics.len();
            let mut ibft = Ibft {
                header,
                control: Control {
                    flags: if single {
                        ControlFlags::SINGLE_LOGIN
                    } else {
                        ControlFlags::default()
                    },
                },
                initiator: Some(initiator),
                ..Ibft::default()
            };
            for (slot, mut nic) in nics.into_iter().enumerate() {
                nic.index = slot as u8;
                ibft.nics[slot] = Some(nic);
            }
            for (slot, (mut target, second_nic)) in targets.into_iter().enumerate() {
                target.index = slot as u8;
                target.nic_association = u8::from(second_nic && nic_count == 2);
                ibft.targets[slot] = Some(target);
            }
            ibft
        })
}
