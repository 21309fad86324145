//! The Target structure ("Layout: Target", structure ID 4, 54 bytes): the iSCSI target the
//! firmware booted from, how to reach it and how to log in.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;

use crate::strings::{self, HeapWriter};
use crate::structure::{Structure, StructureView, checked_view};
use crate::{ChapType, Error, Flags, Location, Lun};

/// Length of the Target structure.
///
/// ```
/// use ibft::{Ibft, TARGET_LEN, Target};
/// let ibft = Ibft { targets: [Some(Target::default()), None], ..Ibft::default() };
/// // Header and Control end at byte 66; the Target starts 8-byte aligned at 72.
/// assert_eq!(ibft.buffer_len()?, 72 + TARGET_LEN);
/// # Ok::<(), ibft::Error>(())
/// ```
pub const TARGET_LEN: usize = 54;

/// The iSCSI well-known port.
///
/// ```
/// use ibft::{ISCSI_PORT, Target};
/// assert_eq!(ISCSI_PORT, 3260);
/// assert_eq!(Target::default().port, ISCSI_PORT);
/// ```
pub const ISCSI_PORT: u16 = 3260;

/// Byte offsets of the Target structure, relative to its start.
pub(crate) mod field {
    /// Target IP address (16 bytes).
    pub(crate) const IP: usize = 6;
    /// TCP port (u16).
    pub(crate) const PORT: usize = 22;
    /// Boot LUN (8 bytes, SAM order).
    pub(crate) const LUN: usize = 24;
    /// CHAP type.
    pub(crate) const CHAP_TYPE: usize = 32;
    /// Index of the NIC used to reach the target.
    pub(crate) const NIC_ASSOCIATION: usize = 33;
    /// Target name (length, offset).
    pub(crate) const NAME: usize = 34;
    /// CHAP name.
    pub(crate) const CHAP_NAME: usize = 38;
    /// CHAP secret.
    pub(crate) const CHAP_SECRET: usize = 42;
    /// Reverse CHAP name.
    pub(crate) const REVERSE_CHAP_NAME: usize = 46;
    /// Reverse CHAP secret.
    pub(crate) const REVERSE_CHAP_SECRET: usize = 50;
}

/// An iSCSI target to log in to.
///
/// The CHAP fields are kept as the table holds them, whatever `chap_type` says;
/// [`Ibft::lint`](crate::Ibft::lint) and the builder check that they agree.
///
/// ```
/// use ibft::{ChapType, Lun, Target};
/// use std::net::Ipv4Addr;
/// let target = Target {
///     ip: Some(Ipv4Addr::new(192, 168, 0, 2).into()),
///     lun: Lun::from_number(1)?,
///     name: "iqn.2010-04.org.example:disk1".into(),
///     chap_type: ChapType::OneWay,
///     chap_name: "chapuser".into(),
///     chap_secret: "chapsecret12".into(),
///     ..Target::default()
/// };
/// assert_eq!(target.port, 3260);
/// # Ok::<(), ibft::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// The header's index: the target number. The builder sets it to the slot.
    pub index: u8,
    /// Flags: Block Valid, Firmware Boot Selected, RADIUS CHAP, RADIUS reverse CHAP.
    pub flags: Flags,
    /// The target portal's address.
    pub ip: Option<IpAddr>,
    /// The target portal's TCP port.
    pub port: u16,
    /// The LUN to boot from.
    pub lun: Lun,
    /// Which authentication the login used.
    pub chap_type: ChapType,
    /// The `index` of the NIC that reaches this target.
    pub nic_association: u8,
    /// The target's iSCSI name.
    pub name: String,
    /// The initiator's CHAP name (CHAP_N); empty when absent.
    pub chap_name: String,
    /// The initiator's CHAP secret; empty when absent.
    pub chap_secret: String,
    /// The target's CHAP name for mutual CHAP; empty when absent.
    pub reverse_chap_name: String,
    /// The target's CHAP secret for mutual CHAP; empty when absent.
    pub reverse_chap_secret: String,
}

impl Default for Target {
    /// Target 0 on port 3260, LUN 0, no CHAP, reached through NIC 0, Block Valid and Firmware
    /// Boot Selected.
    fn default() -> Self {
        Target {
            index: 0,
            flags: Flags::VALID_BOOT,
            ip: None,
            port: ISCSI_PORT,
            lun: Lun::default(),
            chap_type: ChapType::None,
            nic_association: 0,
            name: String::new(),
            chap_name: String::new(),
            chap_secret: String::new(),
            reverse_chap_name: String::new(),
            reverse_chap_secret: String::new(),
        }
    }
}

impl Structure for Target {
    const LEN: usize = TARGET_LEN;
    const STRINGS: &'static [(&'static str, usize)] = &[
        ("target name", field::NAME),
        ("CHAP name", field::CHAP_NAME),
        ("CHAP secret", field::CHAP_SECRET),
        ("reverse CHAP name", field::REVERSE_CHAP_NAME),
        ("reverse CHAP secret", field::REVERSE_CHAP_SECRET),
    ];

    fn parse(table: &[u8], offset: usize, location: Location) -> Result<Self, Error> {
        let view = checked_view(table, offset, TARGET_LEN, location)?;
        let string = |at, name| strings::read(table, view.string_at(at), location, name);
        Ok(Target {
            index: view.index(),
            flags: view.flags(),
            ip: view.ip_at(field::IP),
            port: view.u16_at(field::PORT),
            lun: Lun(view.bytes::<8>(field::LUN)),
            chap_type: ChapType::from(view.u8_at(field::CHAP_TYPE)),
            nic_association: view.u8_at(field::NIC_ASSOCIATION),
            name: string(field::NAME, "target name")?,
            chap_name: string(field::CHAP_NAME, "CHAP name")?,
            chap_secret: string(field::CHAP_SECRET, "CHAP secret")?,
            reverse_chap_name: string(field::REVERSE_CHAP_NAME, "reverse CHAP name")?,
            reverse_chap_secret: string(field::REVERSE_CHAP_SECRET, "reverse CHAP secret")?,
        })
    }

    fn strings(&self) -> Vec<&str> {
        alloc::vec![
            self.name.as_str(),
            self.chap_name.as_str(),
            self.chap_secret.as_str(),
            self.reverse_chap_name.as_str(),
            self.reverse_chap_secret.as_str(),
        ]
    }

    fn emit(&self, table: &mut [u8], offset: usize, location: Location, heap: &mut HeapWriter) {
        let name = heap.put(table, &self.name);
        let chap_name = heap.put(table, &self.chap_name);
        let chap_secret = heap.put(table, &self.chap_secret);
        let reverse_chap_name = heap.put(table, &self.reverse_chap_name);
        let reverse_chap_secret = heap.put(table, &self.reverse_chap_secret);
        let Some(bytes) = table.get_mut(offset..offset + TARGET_LEN) else {
            return;
        };
        let mut view = StructureView::new_unchecked(bytes);
        view.set_header(location.structure_id(), TARGET_LEN, self.index, self.flags);
        view.set_ip(field::IP, self.ip);
        view.set_u16(field::PORT, self.port);
        view.set_bytes(field::LUN, &self.lun.0);
        view.set_u8(field::CHAP_TYPE, self.chap_type.into());
        view.set_u8(field::NIC_ASSOCIATION, self.nic_association);
        view.set_string(field::NAME, name);
        view.set_string(field::CHAP_NAME, chap_name);
        view.set_string(field::CHAP_SECRET, chap_secret);
        view.set_string(field::REVERSE_CHAP_NAME, reverse_chap_name);
        view.set_string(field::REVERSE_CHAP_SECRET, reverse_chap_secret);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    /// The Target structure iPXE wrote in `tests/data/ipxe-chap.bin` (at 0x180), field by
    /// field; its heap strings start at 0x21d.
    #[rustfmt::skip]
    const IPXE_TARGET: [u8; TARGET_LEN] = [
        0x04, 0x01, 0x36, 0x00, 0x00, 0x03,   // ID 4, version 1, length 54, index 0, flags 0x03
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 2, 2, // IP ::ffff:10.0.2.2
        0xdb, 0x0c,                           // port 3291
        0x00, 0x01, 0, 0, 0, 0, 0, 0,         // LUN 1
        0x01,                                 // CHAP type: one-way
        0x00,                                 // NIC 0
        0x1a, 0x00, 0x1d, 0x02,               // target name: 26 bytes at 0x21d
        0x08, 0x00, 0x38, 0x02,               // CHAP name: 8 bytes at 0x238
        0x0c, 0x00, 0x41, 0x02,               // CHAP secret: 12 bytes at 0x241
        0x00, 0x00, 0x00, 0x00,               // reverse CHAP name: absent
        0x00, 0x00, 0x00, 0x00,               // reverse CHAP secret: absent
    ];

    const HEAP: &[u8] = b"iqn.2026-11.test:ibft-chap\0chapuser\0chapsecret12\0";

    fn ipxe_target() -> Target {
        Target {
            ip: Some(Ipv4Addr::new(10, 0, 2, 2).into()),
            port: 3291,
            lun: Lun::from_number(1).unwrap(),
            chap_type: ChapType::OneWay,
            name: "iqn.2026-11.test:ibft-chap".into(),
            chap_name: "chapuser".into(),
            chap_secret: "chapsecret12".into(),
            ..Target::default()
        }
    }

    #[test]
    fn parses_ipxe_target() {
        let mut t = alloc::vec![0u8; 0x21d];
        t[0x180..0x180 + TARGET_LEN].copy_from_slice(&IPXE_TARGET);
        t.extend_from_slice(HEAP);
        assert_eq!(
            Target::parse(&t, 0x180, Location::Target(0)).unwrap(),
            ipxe_target()
        );
    }

    #[test]
    fn emits_ipxe_target() {
        let mut t = alloc::vec![0u8; 0x21d + HEAP.len()];
        let mut heap = HeapWriter::new(0x21d);
        ipxe_target().emit(&mut t, 0x180, Location::Target(0), &mut heap);
        assert_eq!(&t[0x180..0x180 + TARGET_LEN], &IPXE_TARGET[..]);
        assert_eq!(&t[0x21d..], HEAP);
    }

    #[test]
    fn rejects_string_past_table_end() {
        let mut t = alloc::vec![0u8; 0x21d];
        t[0x180..0x180 + TARGET_LEN].copy_from_slice(&IPXE_TARGET);
        t.extend_from_slice(&HEAP[..HEAP.len() - 5]);
        assert!(matches!(
            Target::parse(&t, 0x180, Location::Target(0)),
            Err(Error::OutOfBounds {
                field: "CHAP secret",
                offset: 0x241,
                len: 12,
                ..
            })
        ));
    }
}
