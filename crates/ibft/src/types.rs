//! Small value types of the iBFT fields: MAC address, PCI location, SAM LUN, flags, the NIC's
//! address origin and the target's CHAP type.

use core::fmt;

use crate::Error;

/// An Ethernet MAC address (iBFT NIC structure, "MAC Address", 6 bytes).
///
/// ```
/// use ibft::MacAddr;
/// let mac = MacAddr([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
/// assert_eq!(mac.to_string(), "52:54:00:12:34:56");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// A PCI location as the iBFT NIC structure stores it: `bus << 8 | device << 3 | function`
/// (there is no PCI segment field).
///
/// ```
/// use ibft::PciAddress;
/// let pci = PciAddress::new(0, 3, 0)?;
/// assert_eq!(pci.0, 0x0018);
/// assert_eq!((pci.bus(), pci.device(), pci.function()), (0, 3, 0));
/// assert_eq!(pci.to_string(), "00:03.0");
/// # Ok::<(), ibft::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PciAddress(pub u16);

impl PciAddress {
    /// The location of `bus:device.function`.
    ///
    /// ```
    /// use ibft::PciAddress;
    /// assert_eq!(PciAddress::new(0x12, 0x1f, 7)?, PciAddress(0x12ff));
    /// assert!(PciAddress::new(0, 32, 0).is_err());
    /// # Ok::<(), ibft::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if `device > 31` or `function > 7`.
    pub fn new(bus: u8, device: u8, function: u8) -> Result<Self, Error> {
        if device > 31 || function > 7 {
            return Err(Error::InvalidInput {
                what: "PCI address",
                reason: "device must be at most 31 and function at most 7",
            });
        }
        Ok(PciAddress(
            u16::from(bus) << 8 | u16::from(device) << 3 | u16::from(function),
        ))
    }

    /// The bus number.
    ///
    /// ```
    /// assert_eq!(ibft::PciAddress(0x12ff).bus(), 0x12);
    /// ```
    pub fn bus(self) -> u8 {
        (self.0 >> 8) as u8
    }

    /// The device number (0–31).
    ///
    /// ```
    /// assert_eq!(ibft::PciAddress(0x12ff).device(), 0x1f);
    /// ```
    pub fn device(self) -> u8 {
        (self.0 >> 3) as u8 & 0x1f
    }

    /// The function number (0–7).
    ///
    /// ```
    /// assert_eq!(ibft::PciAddress(0x12ff).function(), 7);
    /// ```
    pub fn function(self) -> u8 {
        self.0 as u8 & 0x07
    }
}

impl fmt::Display for PciAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02x}:{:02x}.{}",
            self.bus(),
            self.device(),
            self.function()
        )
    }
}

/// An 8-byte SCSI logical unit number in SAM wire order (iBFT Target structure, "Boot LUN").
///
/// The iBFT copies the LUN as it travels in iSCSI PDUs: LUN 1 is `00 01 00 00 00 00 00 00`,
/// not a little-endian integer.
///
/// ```
/// use ibft::Lun;
/// assert_eq!(Lun::from_number(1)?.0, [0, 1, 0, 0, 0, 0, 0, 0]);
/// assert_eq!(Lun::from_number(300)?.0, [0x41, 0x2c, 0, 0, 0, 0, 0, 0]);
/// assert_eq!(Lun([0, 2, 0, 0, 0, 0, 0, 0]).number(), Some(2));
/// assert_eq!(Lun::from_number(2)?.to_string(), "2");
/// # Ok::<(), ibft::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Lun(pub [u8; 8]);

impl Lun {
    /// The largest LUN [`Lun::from_number`] encodes (flat space addressing, 14 bits).
    ///
    /// ```
    /// use ibft::Lun;
    /// assert_eq!(Lun::from_number(Lun::MAX_NUMBER)?.number(), Some(Lun::MAX_NUMBER));
    /// assert!(Lun::from_number(Lun::MAX_NUMBER + 1).is_err());
    /// # Ok::<(), ibft::Error>(())
    /// ```
    pub const MAX_NUMBER: u16 = 0x3fff;

    /// The single-level LUN `n` (SAM-5 §4.7): peripheral device addressing below 256, flat
    /// space addressing up to [`Lun::MAX_NUMBER`].
    ///
    /// ```
    /// use ibft::Lun;
    /// assert_eq!(Lun::from_number(5)?, Lun([0, 5, 0, 0, 0, 0, 0, 0]));
    /// assert_eq!(Lun::from_number(0x1234)?, Lun([0x52, 0x34, 0, 0, 0, 0, 0, 0]));
    /// # Ok::<(), ibft::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if `n > Lun::MAX_NUMBER`.
    pub fn from_number(n: u16) -> Result<Self, Error> {
        let [hi, lo] = n.to_be_bytes();
        let first = match n {
            0..=0xff => 0,
            0x100..=Self::MAX_NUMBER => 0x40 | hi,
            _ => {
                return Err(Error::InvalidInput {
                    what: "LUN",
                    reason: "single-level LUNs go up to 16383",
                });
            }
        };
        Ok(Lun([first, lo, 0, 0, 0, 0, 0, 0]))
    }

    /// The number of a single-level LUN (peripheral or flat addressing), or `None` for any
    /// other encoding.
    ///
    /// ```
    /// use ibft::Lun;
    /// assert_eq!(Lun([0x41, 0x2c, 0, 0, 0, 0, 0, 0]).number(), Some(300));
    /// assert_eq!(Lun([0, 1, 0, 2, 0, 0, 0, 0]).number(), None); // two levels
    /// ```
    pub fn number(self) -> Option<u16> {
        let [a, b, rest @ ..] = self.0;
        if rest != [0; 6] {
            return None;
        }
        match a >> 6 {
            0 if a == 0 => Some(u16::from(b)),
            1 => Some(u16::from(a & 0x3f) << 8 | u16::from(b)),
            _ => None,
        }
    }
}

impl fmt::Display for Lun {
    /// The decimal number of a single-level LUN, otherwise the four 16-bit levels in hex as
    /// iPXE prints them (`0001-0002-0000-0000`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(n) = self.number() {
            return write!(f, "{n}");
        }
        let b = self.0;
        write!(
            f,
            "{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]
        )
    }
}

/// The flags byte of a structure header.
///
/// Bit 0 (Block Valid) and bit 1 (Firmware Boot Selected) have the same meaning in the
/// Initiator, NIC and Target structures; bit 2 and 3 depend on the structure. Unknown bits are
/// kept.
///
/// ```
/// use ibft::Flags;
/// let flags = Flags::BLOCK_VALID | Flags::FIRMWARE_BOOT_SELECTED;
/// assert_eq!(flags.0, 0x03);
/// assert!(flags.contains(Flags::BLOCK_VALID));
/// assert!(!flags.contains(Flags::NIC_GLOBAL));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u8);

impl Flags {
    /// No flag set.
    ///
    /// ```
    /// use ibft::{Flags, Ibft, IssueKind, Target};
    /// let ibft = Ibft { targets: [Some(Target { flags: Flags::NONE, ..Target::default() }), None], ..Ibft::default() };
    /// assert!(ibft.check().iter().any(|i| i.kind == IssueKind::NotBlockValid));
    /// ```
    pub const NONE: Flags = Flags(0);
    /// Bit 0, "Block Valid": the structure holds valid data.
    ///
    /// ```
    /// use ibft::{Flags, Ibft, Initiator};
    /// let bytes = Ibft { initiator: Some(Initiator::default()), ..Ibft::default() }.to_bytes()?;
    /// // The Initiator's flags byte: byte 5 of its header, which starts at 72.
    /// assert!(Flags(bytes[72 + 5]).contains(Flags::BLOCK_VALID));
    /// # Ok::<(), ibft::Error>(())
    /// ```
    pub const BLOCK_VALID: Flags = Flags(0x01);
    /// Bit 1, "Firmware Boot Selected": the firmware booted through this structure. open-iscsi
    /// picks its boot NIC and target by this bit.
    ///
    /// ```
    /// use ibft::{Flags, Ibft, IssueKind, Target};
    /// let target = Target { flags: Flags::BLOCK_VALID, ..Target::default() };
    /// let ibft = Ibft { targets: [Some(target), None], ..Ibft::default() };
    /// assert!(ibft.check().iter().any(|i| i.kind == IssueKind::NoBootTarget));
    /// ```
    pub const FIRMWARE_BOOT_SELECTED: Flags = Flags(0x02);
    /// NIC bit 2: the address is global (set) or link-local (clear).
    ///
    /// ```
    /// use ibft::{Flags, Ibft, Nic};
    /// let nic = Nic { flags: Flags::VALID_BOOT | Flags::NIC_GLOBAL, ..Nic::default() };
    /// let bytes = Ibft { nics: [Some(nic), None], ..Ibft::default() }.to_bytes()?;
    /// let nic = Ibft::parse(&bytes)?.nics[0].clone().map(|n| n.flags);
    /// assert_eq!(nic, Some(Flags(0x07)));
    /// # Ok::<(), ibft::Error>(())
    /// ```
    pub const NIC_GLOBAL: Flags = Flags(0x04);
    /// Target bit 2: use RADIUS for CHAP.
    ///
    /// ```
    /// use ibft::{Flags, Ibft, Target};
    /// let target = Target { flags: Flags::VALID_BOOT | Flags::TARGET_RADIUS_CHAP, ..Target::default() };
    /// let bytes = Ibft { targets: [Some(target), None], ..Ibft::default() }.to_bytes()?;
    /// let flags = Ibft::parse(&bytes)?.targets[0].clone().map(|t| t.flags);
    /// assert!(flags.is_some_and(|f| f.contains(Flags::TARGET_RADIUS_CHAP)));
    /// # Ok::<(), ibft::Error>(())
    /// ```
    pub const TARGET_RADIUS_CHAP: Flags = Flags(0x04);
    /// Target bit 3: use RADIUS for reverse CHAP.
    ///
    /// ```
    /// use ibft::{Flags, Ibft, Target};
    /// let target = Target { flags: Flags::VALID_BOOT | Flags::TARGET_RADIUS_REVERSE_CHAP, ..Target::default() };
    /// let bytes = Ibft { targets: [Some(target), None], ..Ibft::default() }.to_bytes()?;
    /// let flags = Ibft::parse(&bytes)?.targets[0].clone().map(|t| t.flags);
    /// assert_eq!(flags, Some(Flags(0x0b)));
    /// # Ok::<(), ibft::Error>(())
    /// ```
    pub const TARGET_RADIUS_REVERSE_CHAP: Flags = Flags(0x08);
    /// What firmware writes for the structures it booted through: Block Valid and Firmware
    /// Boot Selected.
    ///
    /// ```
    /// use ibft::{Flags, Nic, Target};
    /// assert_eq!(Flags::VALID_BOOT, Flags::BLOCK_VALID | Flags::FIRMWARE_BOOT_SELECTED);
    /// assert_eq!(Target::default().flags, Flags::VALID_BOOT);
    /// assert_eq!(Nic::default().flags, Flags::VALID_BOOT);
    /// ```
    pub const VALID_BOOT: Flags = Flags(0x03);

    /// Whether every bit of `other` is set.
    ///
    /// ```
    /// use ibft::Flags;
    /// assert!(Flags::VALID_BOOT.contains(Flags::FIRMWARE_BOOT_SELECTED));
    /// assert!(!Flags::BLOCK_VALID.contains(Flags::VALID_BOOT)); // every bit must be set
    /// assert!(Flags(0x80).contains(Flags::NONE));
    /// ```
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

/// The Control structure's flags byte (bit 0: Boot Failover / Single Login). Unknown bits are
/// kept.
///
/// ```
/// use ibft::ControlFlags;
/// assert!(!ControlFlags::default().single_login());
/// assert!(ControlFlags::SINGLE_LOGIN.single_login());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ControlFlags(pub u8);

impl ControlFlags {
    /// Bit 0: log in only to the boot-selected target (iPXE: "Single Login Only"; EDK2 calls it
    /// Boot Failover and leaves it clear, because installers then miss the disk).
    ///
    /// ```
    /// use ibft::{Control, ControlFlags, Ibft, TABLE_HEADER_LEN};
    /// let ibft = Ibft { control: Control { flags: ControlFlags::SINGLE_LOGIN }, ..Ibft::default() };
    /// let bytes = ibft.to_bytes()?;
    /// assert_eq!(bytes[TABLE_HEADER_LEN + 5], 0x01); // the Control structure's flags byte
    /// assert_eq!(Ibft::parse(&bytes)?.control.flags, ControlFlags::SINGLE_LOGIN);
    /// # Ok::<(), ibft::Error>(())
    /// ```
    pub const SINGLE_LOGIN: ControlFlags = ControlFlags(0x01);

    /// Whether bit 0 is set.
    ///
    /// ```
    /// use ibft::ControlFlags;
    /// assert!(ControlFlags(0x81).single_login());
    /// assert!(!ControlFlags(0x80).single_login()); // unknown bits do not count
    /// ```
    pub fn single_login(self) -> bool {
        self.0 & 1 != 0
    }
}

macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this crate does not name; kept as read.
            Unknown(u8),
        }

        impl From<u8> for $name {
            fn from(value: u8) -> Self {
                match value {
                    $( $value => $name::$variant, )*
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for u8 {
            fn from(value: $name) -> u8 {
                match value {
                    $( $name::$variant => $value, )*
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}

open_enum! {
    /// Where a NIC's address came from (iBFT NIC structure, "Origin"). The spec defers to
    /// Windows' `NL_PREFIX_ORIGIN`; dracut and open-iscsi treat [`Origin::Dhcp`] as "configure
    /// this interface by DHCP".
    ///
    /// "Unchanged" is 0x0f in iPXE and u-root but 0x10 in EDK2 and Windows, so both read as
    /// [`Origin::Unknown`].
    ///
    /// ```
    /// use ibft::Origin;
    /// assert_eq!(Origin::from(3), Origin::Dhcp);
    /// assert_eq!(u8::from(Origin::Unknown(0x0f)), 0x0f);
    /// ```
    pub enum Origin {
        /// 0: other (the default).
        #[default]
        Other = 0,
        /// 1: configured by hand (iPXE: `set net0/ip`).
        Manual = 1,
        /// 2: a well-known address (IPv6 link-local, loopback).
        WellKnown = 2,
        /// 3: DHCP.
        Dhcp = 3,
        /// 4: an IPv6 router advertisement.
        RouterAdvertisement = 4,
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Other => f.write_str("other"),
            Origin::Manual => f.write_str("manual"),
            Origin::WellKnown => f.write_str("well-known"),
            Origin::Dhcp => f.write_str("DHCP"),
            Origin::RouterAdvertisement => f.write_str("router advertisement"),
            Origin::Unknown(v) => write!(f, "unknown ({v})"),
        }
    }
}

open_enum! {
    /// The target's authentication (iBFT Target structure, "CHAP Type").
    ///
    /// ```
    /// use ibft::ChapType;
    /// assert_eq!(ChapType::from(2), ChapType::Mutual);
    /// assert_eq!(u8::from(ChapType::OneWay), 1);
    /// ```
    pub enum ChapType {
        /// 0: no CHAP (the default).
        #[default]
        None = 0,
        /// 1: the target authenticates the initiator (CHAP name and secret).
        OneWay = 1,
        /// 2: both authenticate each other (plus reverse CHAP name and secret).
        Mutual = 2,
    }
}

impl fmt::Display for ChapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChapType::None => f.write_str("none"),
            ChapType::OneWay => f.write_str("one-way CHAP"),
            ChapType::Mutual => f.write_str("mutual CHAP"),
            ChapType::Unknown(v) => write!(f, "unknown ({v})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn lun_numbers_round_trip() {
        for n in [0u16, 1, 2, 255, 256, 1000, Lun::MAX_NUMBER] {
            assert_eq!(Lun::from_number(n).unwrap().number(), Some(n));
        }
        assert!(Lun::from_number(Lun::MAX_NUMBER + 1).is_err());
    }

    #[test]
    fn multi_level_lun_has_no_number_and_prints_levels() {
        let lun = Lun([0, 1, 0, 2, 0, 0, 0, 0]);
        assert_eq!(lun.number(), None);
        assert_eq!(lun.to_string(), "0001-0002-0000-0000");
        // Peripheral addressing with a bus number is not a plain number either.
        assert_eq!(Lun([0x01, 0x02, 0, 0, 0, 0, 0, 0]).number(), None);
    }

    #[test]
    fn pci_rejects_out_of_range_device_and_function() {
        assert!(PciAddress::new(0, 32, 0).is_err());
        assert!(PciAddress::new(0, 0, 8).is_err());
        let pci = PciAddress::new(0x12, 0x1f, 7).unwrap();
        assert_eq!(pci.0, 0x12ff);
        assert_eq!(pci.to_string(), "12:1f.7");
    }

    #[test]
    fn open_enums_keep_unknown_values() {
        for v in 0..=255u8 {
            assert_eq!(u8::from(Origin::from(v)), v);
            assert_eq!(u8::from(ChapType::from(v)), v);
        }
        assert_eq!(Origin::from(9), Origin::Unknown(9));
    }
}
