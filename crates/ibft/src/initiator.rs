//! The Initiator structure ("Layout: Initiator", structure ID 2, 74 bytes): the initiator's
//! iSCSI name and the addresses of its iSNS, SLP and RADIUS servers.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;

use crate::strings::{self, HeapWriter};
use crate::structure::{Structure, StructureView, checked_view};
use crate::{Error, Flags, Location};

/// Length of the Initiator structure.
///
/// ```
/// use ibft::{INITIATOR_LEN, Ibft, Initiator};
/// let ibft = Ibft { initiator: Some(Initiator::default()), ..Ibft::default() };
/// // Header and Control end at byte 66; the Initiator starts 8-byte aligned at 72.
/// assert_eq!(ibft.buffer_len()?, 72 + INITIATOR_LEN);
/// # Ok::<(), ibft::Error>(())
/// ```
pub const INITIATOR_LEN: usize = 74;

/// Byte offsets of the Initiator structure, relative to its start.
pub(crate) mod field {
    /// iSNS server address (16 bytes).
    pub(crate) const ISNS_SERVER: usize = 6;
    /// SLP server address.
    pub(crate) const SLP_SERVER: usize = 22;
    /// Primary RADIUS server address.
    pub(crate) const PRIMARY_RADIUS_SERVER: usize = 38;
    /// Secondary RADIUS server address.
    pub(crate) const SECONDARY_RADIUS_SERVER: usize = 54;
    /// Initiator name (length, offset).
    pub(crate) const NAME: usize = 70;
}

/// The initiator: who logs in to the targets.
///
/// ```
/// use ibft::{Flags, Initiator};
/// let initiator = Initiator {
///     name: "iqn.2010-04.org.ipxe:client1".into(),
///     ..Initiator::default()
/// };
/// assert_eq!(initiator.flags, Flags::VALID_BOOT);
/// assert_eq!(initiator.isns_server, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Initiator {
    /// Flags: Block Valid, Firmware Boot Selected.
    pub flags: Flags,
    /// iSNS server.
    pub isns_server: Option<IpAddr>,
    /// SLP server.
    pub slp_server: Option<IpAddr>,
    /// Primary RADIUS server.
    pub primary_radius_server: Option<IpAddr>,
    /// Secondary RADIUS server.
    pub secondary_radius_server: Option<IpAddr>,
    /// The initiator's iSCSI name (IQN or EUI); empty when absent.
    pub name: String,
}

impl Default for Initiator {
    /// Block Valid and Firmware Boot Selected, no servers, no name.
    fn default() -> Self {
        Initiator {
            flags: Flags::VALID_BOOT,
            isns_server: None,
            slp_server: None,
            primary_radius_server: None,
            secondary_radius_server: None,
            name: String::new(),
        }
    }
}

impl Structure for Initiator {
    const LEN: usize = INITIATOR_LEN;
    const STRINGS: &'static [(&'static str, usize)] = &[("initiator name", field::NAME)];

    fn parse(table: &[u8], offset: usize, location: Location) -> Result<Self, Error> {
        let view = checked_view(table, offset, INITIATOR_LEN, location)?;
        Ok(Initiator {
            flags: view.flags(),
            isns_server: view.ip_at(field::ISNS_SERVER),
            slp_server: view.ip_at(field::SLP_SERVER),
            primary_radius_server: view.ip_at(field::PRIMARY_RADIUS_SERVER),
            secondary_radius_server: view.ip_at(field::SECONDARY_RADIUS_SERVER),
            name: strings::read(
                table,
                view.string_at(field::NAME),
                location,
                "initiator name",
            )?,
        })
    }

    fn strings(&self) -> Vec<&str> {
        alloc::vec![self.name.as_str()]
    }

    fn emit(&self, table: &mut [u8], offset: usize, location: Location, heap: &mut HeapWriter) {
        let name = heap.put(table, &self.name);
        let Some(bytes) = table.get_mut(offset..offset + INITIATOR_LEN) else {
            return;
        };
        let mut view = StructureView::new_unchecked(bytes);
        view.set_header(location.structure_id(), INITIATOR_LEN, 0, self.flags);
        view.set_ip(field::ISNS_SERVER, self.isns_server);
        view.set_ip(field::SLP_SERVER, self.slp_server);
        view.set_ip(field::PRIMARY_RADIUS_SERVER, self.primary_radius_server);
        view.set_ip(field::SECONDARY_RADIUS_SERVER, self.secondary_radius_server);
        view.set_string(field::NAME, name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    /// iPXE's Initiator structure at 0x50 of a table whose heap starts at 0x200, annotated.
    fn ipxe_initiator() -> [u8; INITIATOR_LEN] {
        let mut s = [0u8; INITIATOR_LEN];
        s[..6].copy_from_slice(&[
            0x02, // structure ID: Initiator
            0x01, // version
            0x4a, 0x00, // length 74
            0x00, // index
            0x03, // flags: block valid, firmware boot selected
        ]);
        // iSNS, SLP, RADIUS servers: all zero (absent).
        s[70..74].copy_from_slice(&[
            0x1c, 0x00, // name length 28
            0x00, 0x02, // name offset 0x200
        ]);
        s
    }

    fn table_with(structure: &[u8], at: usize, heap: &[u8]) -> Vec<u8> {
        let mut t = alloc::vec![0u8; 0x200];
        t[at..at + structure.len()].copy_from_slice(structure);
        t.extend_from_slice(heap);
        t
    }

    #[test]
    fn parses_ipxe_initiator() {
        let t = table_with(&ipxe_initiator(), 0x50, b"iqn.2010-04.org.ipxe:client1\0");
        let parsed = Initiator::parse(&t, 0x50, Location::Initiator).unwrap();
        assert_eq!(
            parsed,
            Initiator {
                name: "iqn.2010-04.org.ipxe:client1".into(),
                ..Initiator::default()
            }
        );
    }

    #[test]
    fn emits_ipxe_initiator() {
        let initiator = Initiator {
            name: "iqn.2010-04.org.ipxe:client1".into(),
            ..Initiator::default()
        };
        let mut t = alloc::vec![0u8; 0x200 + 29];
        let mut heap = HeapWriter::new(0x200);
        initiator.emit(&mut t, 0x50, Location::Initiator, &mut heap);
        assert_eq!(
            t,
            table_with(&ipxe_initiator(), 0x50, b"iqn.2010-04.org.ipxe:client1\0")
        );
    }

    #[test]
    fn server_addresses_round_trip() {
        let initiator = Initiator {
            isns_server: Some(Ipv4Addr::new(10, 0, 0, 1).into()),
            secondary_radius_server: Some("fd00::5".parse().unwrap()),
            name: "iqn.x".into(),
            ..Initiator::default()
        };
        let mut t = alloc::vec![0u8; 0x100 + 6];
        initiator.emit(
            &mut t,
            0x48,
            Location::Initiator,
            &mut HeapWriter::new(0x100),
        );
        assert_eq!(
            Initiator::parse(&t, 0x48, Location::Initiator).unwrap(),
            initiator
        );
    }

    #[test]
    fn rejects_wrong_structure_id() {
        let mut s = ipxe_initiator();
        s[0] = 3;
        let t = table_with(&s, 0x50, b"iqn.2010-04.org.ipxe:client1\0");
        assert!(matches!(
            Initiator::parse(&t, 0x50, Location::Initiator),
            Err(Error::StructureHeader {
                field: "structure ID",
                found: 3,
                expected: 2,
                ..
            })
        ));
    }
}
