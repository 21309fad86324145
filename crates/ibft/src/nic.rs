//! The NIC structure ("Layout: NIC", structure ID 3, 102 bytes): how the firmware configured a
//! network interface, so that the OS can bring up the same one.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;

use crate::strings::{self, HeapWriter};
use crate::structure::{Structure, StructureView, checked_view};
use crate::{Error, Flags, Location, MacAddr, Origin, PciAddress};

/// Length of the NIC structure.
///
/// ```
/// use ibft::{Ibft, NIC_LEN, Nic};
/// let ibft = Ibft { nics: [Some(Nic::default()), None], ..Ibft::default() };
/// // Header and Control end at byte 66; the NIC starts 8-byte aligned at 72.
/// assert_eq!(ibft.buffer_len()?, 72 + NIC_LEN);
/// # Ok::<(), ibft::Error>(())
/// ```
pub const NIC_LEN: usize = 102;

/// Byte offsets of the NIC structure, relative to its start.
pub(crate) mod field {
    /// IP address (16 bytes).
    pub(crate) const IP: usize = 6;
    /// Subnet mask prefix length in bits.
    pub(crate) const PREFIX_LEN: usize = 22;
    /// Origin of the address.
    pub(crate) const ORIGIN: usize = 23;
    /// Gateway.
    pub(crate) const GATEWAY: usize = 24;
    /// Primary DNS server.
    pub(crate) const PRIMARY_DNS: usize = 40;
    /// Secondary DNS server.
    pub(crate) const SECONDARY_DNS: usize = 56;
    /// DHCP server.
    pub(crate) const DHCP: usize = 72;
    /// 802.1Q VLAN (u16).
    pub(crate) const VLAN: usize = 88;
    /// MAC address (6 bytes).
    pub(crate) const MAC: usize = 90;
    /// PCI bus/device/function (u16).
    pub(crate) const PCI: usize = 96;
    /// Hostname (length, offset).
    pub(crate) const HOSTNAME: usize = 98;
}

/// A network interface the firmware used.
///
/// ```
/// use ibft::{MacAddr, Nic, Origin};
/// use std::net::Ipv4Addr;
/// let nic = Nic {
///     ip: Some(Ipv4Addr::new(10, 0, 2, 15).into()),
///     prefix_len: 24,
///     origin: Origin::Dhcp,
///     mac: MacAddr([0x52, 0x54, 0, 0x12, 0x34, 0x56]),
///     ..Nic::default()
/// };
/// assert_eq!(nic.index, 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Nic {
    /// The header's index: the NIC number targets refer to. The builder sets it to the slot.
    pub index: u8,
    /// Flags: Block Valid, Firmware Boot Selected, Global.
    pub flags: Flags,
    /// The interface's address.
    pub ip: Option<IpAddr>,
    /// Subnet prefix length in bits (24 for 255.255.255.0).
    pub prefix_len: u8,
    /// Where the address came from.
    pub origin: Origin,
    /// Default gateway.
    pub gateway: Option<IpAddr>,
    /// Primary DNS server.
    pub primary_dns: Option<IpAddr>,
    /// Secondary DNS server.
    pub secondary_dns: Option<IpAddr>,
    /// The DHCP server the address came from.
    pub dhcp_server: Option<IpAddr>,
    /// 802.1Q VLAN ID (0: none). iPXE stores the 12-bit VID only.
    pub vlan: u16,
    /// MAC address.
    pub mac: MacAddr,
    /// PCI location.
    pub pci: PciAddress,
    /// Host name; empty when absent.
    pub hostname: String,
}

impl Default for Nic {
    /// NIC 0, Block Valid and Firmware Boot Selected, everything else zero or absent.
    fn default() -> Self {
        Nic {
            index: 0,
            flags: Flags::VALID_BOOT,
            ip: None,
            prefix_len: 0,
            origin: Origin::Other,
            gateway: None,
            primary_dns: None,
            secondary_dns: None,
            dhcp_server: None,
            vlan: 0,
            mac: MacAddr::default(),
            pci: PciAddress::default(),
            hostname: String::new(),
        }
    }
}

impl Structure for Nic {
    const LEN: usize = NIC_LEN;
    const STRINGS: &'static [(&'static str, usize)] = &[("hostname", field::HOSTNAME)];

    fn parse(table: &[u8], offset: usize, location: Location) -> Result<Self, Error> {
        let view = checked_view(table, offset, NIC_LEN, location)?;
        Ok(Nic {
            index: view.index(),
            flags: view.flags(),
            ip: view.ip_at(field::IP),
            prefix_len: view.u8_at(field::PREFIX_LEN),
            origin: Origin::from(view.u8_at(field::ORIGIN)),
            gateway: view.ip_at(field::GATEWAY),
            primary_dns: view.ip_at(field::PRIMARY_DNS),
            secondary_dns: view.ip_at(field::SECONDARY_DNS),
            dhcp_server: view.ip_at(field::DHCP),
            vlan: view.u16_at(field::VLAN),
            mac: MacAddr(view.bytes::<6>(field::MAC)),
            pci: PciAddress(view.u16_at(field::PCI)),
            hostname: strings::read(table, view.string_at(field::HOSTNAME), location, "hostname")?,
        })
    }

    fn strings(&self) -> Vec<&str> {
        alloc::vec![self.hostname.as_str()]
    }

    fn emit(&self, table: &mut [u8], offset: usize, location: Location, heap: &mut HeapWriter) {
        let hostname = heap.put(table, &self.hostname);
        let Some(bytes) = table.get_mut(offset..offset + NIC_LEN) else {
            return;
        };
        let mut view = StructureView::new_unchecked(bytes);
        view.set_header(location.structure_id(), NIC_LEN, self.index, self.flags);
        view.set_ip(field::IP, self.ip);
        view.set_u8(field::PREFIX_LEN, self.prefix_len);
        view.set_u8(field::ORIGIN, self.origin.into());
        view.set_ip(field::GATEWAY, self.gateway);
        view.set_ip(field::PRIMARY_DNS, self.primary_dns);
        view.set_ip(field::SECONDARY_DNS, self.secondary_dns);
        view.set_ip(field::DHCP, self.dhcp_server);
        view.set_u16(field::VLAN, self.vlan);
        view.set_bytes(field::MAC, &self.mac.0);
        view.set_u16(field::PCI, self.pci.0);
        view.set_string(field::HOSTNAME, hostname);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    /// The NIC structure iPXE wrote in `tests/data/ipxe-lun.bin` (at 0xa0), field by field.
    #[rustfmt::skip]
    const IPXE_NIC: [u8; NIC_LEN] = [
        0x03, 0x01, 0x66, 0x00, 0x00, 0x03,   // ID 3, version 1, length 102, index 0, flags 0x03
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 2, 15, // IP ::ffff:10.0.2.15
        0x18,                                 // prefix length 24
        0x03,                                 // origin: DHCP
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 2, 2,  // gateway 10.0.2.2
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 2, 3,  // primary DNS 10.0.2.3
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,         // secondary DNS: none
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 2, 2,  // DHCP server 10.0.2.2
        0x00, 0x00,                           // VLAN: none
        0x52, 0x54, 0x00, 0xab, 0xcd, 0xef,   // MAC
        0x18, 0x00,                           // PCI 00:03.0
        0x00, 0x00, 0x00, 0x00,               // hostname: absent
    ];

    fn ipxe_nic() -> Nic {
        let v4 = |d| Some(IpAddr::V4(Ipv4Addr::new(10, 0, 2, d)));
        Nic {
            ip: v4(15),
            prefix_len: 24,
            origin: Origin::Dhcp,
            gateway: v4(2),
            primary_dns: v4(3),
            dhcp_server: v4(2),
            mac: MacAddr([0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]),
            pci: PciAddress::new(0, 3, 0).unwrap(),
            ..Nic::default()
        }
    }

    #[test]
    fn parses_ipxe_nic() {
        let mut t = alloc::vec![0u8; 0x200];
        t[0xa0..0xa0 + NIC_LEN].copy_from_slice(&IPXE_NIC);
        assert_eq!(Nic::parse(&t, 0xa0, Location::Nic(0)).unwrap(), ipxe_nic());
    }

    #[test]
    fn emits_ipxe_nic() {
        let mut t = alloc::vec![0u8; 0x200];
        ipxe_nic().emit(&mut t, 0xa0, Location::Nic(0), &mut HeapWriter::new(0x200));
        assert_eq!(&t[0xa0..0xa0 + NIC_LEN], &IPXE_NIC[..]);
    }

    #[test]
    fn hostname_round_trips_through_heap() {
        let nic = Nic {
            index: 1,
            hostname: "client1".into(),
            vlan: 42,
            ..ipxe_nic()
        };
        let mut t = alloc::vec![0u8; 0x100 + 8];
        nic.emit(&mut t, 0x10, Location::Nic(1), &mut HeapWriter::new(0x100));
        assert_eq!(&t[0x100..], b"client1\0");
        assert_eq!(Nic::parse(&t, 0x10, Location::Nic(1)).unwrap(), nic);
    }

    #[test]
    fn rejects_structure_running_past_table() {
        let t = alloc::vec![0u8; 0x100];
        assert!(matches!(
            Nic::parse(&t, 0xa0, Location::Nic(0)),
            Err(Error::OutOfBounds {
                offset: 0xa0,
                len: NIC_LEN,
                ..
            })
        ));
    }
}
