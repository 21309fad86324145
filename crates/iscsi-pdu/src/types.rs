//! Newtypes for the identifiers and counters that are easy to mix up: serial numbers, task tags,
//! LUNs, ISID, TSIH and CID.

use core::cmp::Ordering;
use core::fmt;

/// A 32-bit sequence number compared with serial number arithmetic (RFC 1982, as RFC 7143
/// §4.2.2.1 requires for CmdSN, StatSN, DataSN and R2TSN): `a < b` when `b` is ahead of `a` by
/// less than 2³¹, across wrap-around.
///
/// It implements `PartialOrd` but not `Ord`: two numbers exactly 2³¹ apart are not comparable.
///
/// ```
/// use iscsi_pdu::SerialNumber;
/// let near_wrap = SerialNumber(0xffff_fff0);
/// let wrapped = near_wrap + 0x20;
/// assert_eq!(wrapped, SerialNumber(0x10));
/// assert!(near_wrap < wrapped);
/// assert_eq!(SerialNumber(0).partial_cmp(&SerialNumber(0x8000_0000)), None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SerialNumber(pub u32);

impl SerialNumber {
    /// The number that follows this one.
    ///
    /// ```
    /// use iscsi_pdu::SerialNumber;
    /// assert_eq!(SerialNumber(41).next(), SerialNumber(42));
    /// assert_eq!(SerialNumber(u32::MAX).next(), SerialNumber(0));
    /// ```
    pub fn next(self) -> Self {
        SerialNumber(self.0.wrapping_add(1))
    }

    /// How far `self` is ahead of `earlier`, if it is ahead (or equal) by less than 2³¹.
    ///
    /// ```
    /// use iscsi_pdu::SerialNumber;
    /// let exp_cmd_sn = SerialNumber(0xffff_fffe);
    /// assert_eq!(SerialNumber(3).distance_from(exp_cmd_sn), Some(5)); // across the wrap
    /// assert_eq!(exp_cmd_sn.distance_from(SerialNumber(3)), None); // behind, not ahead
    /// ```
    pub fn distance_from(self, earlier: SerialNumber) -> Option<u32> {
        let d = self.0.wrapping_sub(earlier.0);
        (d < 0x8000_0000).then_some(d)
    }
}

impl PartialOrd for SerialNumber {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        match other.0.wrapping_sub(self.0) {
            0 => Some(Ordering::Equal),
            d if d < 0x8000_0000 => Some(Ordering::Less),
            0x8000_0000 => None,
            _ => Some(Ordering::Greater),
        }
    }
}

impl core::ops::Add<u32> for SerialNumber {
    type Output = SerialNumber;
    fn add(self, rhs: u32) -> SerialNumber {
        SerialNumber(self.0.wrapping_add(rhs))
    }
}

impl fmt::Debug for SerialNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SN({})", self.0)
    }
}

macro_rules! tag {
    ($(#[$attr:meta])* $name:ident($ty:ty), $short:literal) => {
        $(#[$attr])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(pub $ty);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($short, "({:#x})"), self.0)
            }
        }
    };
}

tag!(
    /// Initiator Task Tag (RFC 7143 §11.1.3 and the per-PDU sections): names a task within a
    /// session. `0xffffffff` is reserved (used by NOP-Out pings that expect no answer).
    ///
    /// ```
    /// use iscsi_pdu::Itt;
    /// assert!(Itt(0xffff_ffff).is_reserved());
    /// ```
    Itt(u32),
    "ITT"
);
tag!(
    /// Target Transfer Tag: the target's own tag for an R2T, a NOP-In ping or a text exchange.
    /// `0xffffffff` is reserved.
    ///
    /// ```
    /// assert_eq!(iscsi_pdu::Ttt::RESERVED.0, 0xffff_ffff);
    /// ```
    Ttt(u32),
    "TTT"
);
tag!(
    /// Target Session Identifying Handle (RFC 7143 §11.12.6): 0 in the first login of a session.
    ///
    /// ```
    /// assert!(iscsi_pdu::Tsih(0).is_new_session());
    /// ```
    Tsih(u16),
    "TSIH"
);
tag!(
    /// Connection ID (RFC 7143 §11.12.7), chosen by the initiator.
    ///
    /// ```
    /// let cid = iscsi_pdu::Cid(1);
    /// assert_eq!(cid.0, 1);
    /// ```
    Cid(u16),
    "CID"
);

impl Itt {
    /// The reserved value `0xffffffff`.
    ///
    /// ```
    /// use iscsi_pdu::{Digests, Itt, Lun, NopOut, Pdu, SerialNumber, Ttt};
    /// // A NOP-Out that wants no answer (RFC 7143 §11.18.1).
    /// let ping = Pdu::NopOut(NopOut { immediate: true, lun: Lun::ZERO, itt: Itt::RESERVED,
    ///     ttt: Ttt::RESERVED, cmd_sn: SerialNumber(1), exp_stat_sn: SerialNumber(1),
    ///     data: bytes::Bytes::new() });
    /// assert_eq!(&ping.to_bytes(Digests::NONE)?[16..20], &[0xff; 4]);
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub const RESERVED: Itt = Itt(0xffff_ffff);
    /// Whether this is the reserved value.
    ///
    /// ```
    /// use iscsi_pdu::Itt;
    /// assert!(Itt::RESERVED.is_reserved());
    /// assert!(!Itt(0).is_reserved());
    /// ```
    pub fn is_reserved(self) -> bool {
        self == Self::RESERVED
    }
}

impl Ttt {
    /// The reserved value `0xffffffff`.
    ///
    /// ```
    /// use iscsi_pdu::{Digests, Itt, Lun, NopOut, Pdu, SerialNumber, Ttt};
    /// // An initiator's own ping, not an answer to a target's: its TTT is reserved.
    /// let ping = Pdu::NopOut(NopOut { immediate: true, lun: Lun::ZERO, itt: Itt(1),
    ///     ttt: Ttt::RESERVED, cmd_sn: SerialNumber(1), exp_stat_sn: SerialNumber(1),
    ///     data: bytes::Bytes::new() });
    /// assert_eq!(&ping.to_bytes(Digests::NONE)?[20..24], &[0xff; 4]);
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub const RESERVED: Ttt = Ttt(0xffff_ffff);
    /// Whether this is the reserved value.
    ///
    /// ```
    /// use iscsi_pdu::Ttt;
    /// assert!(Ttt::RESERVED.is_reserved());
    /// assert!(!Ttt(7).is_reserved()); // a target's tag, to be echoed
    /// ```
    pub fn is_reserved(self) -> bool {
        self == Self::RESERVED
    }
}

impl Tsih {
    /// Whether this TSIH asks for a new session (it is zero).
    ///
    /// ```
    /// use iscsi_pdu::Tsih;
    /// assert!(Tsih(0).is_new_session());
    /// assert!(!Tsih(0x0101).is_new_session()); // a connection joining an existing session
    /// ```
    pub fn is_new_session(self) -> bool {
        self.0 == 0
    }
}

/// An 8-byte logical unit number in SAM encoding (SAM-5 §4.6), as carried in the BHS.
///
/// The single-level forms that iSCSI initiators use are peripheral device addressing (LUNs
/// 0–255, method `00b`) and flat space addressing (LUNs 0–16383, method `01b`);
/// [`Lun::from_index`] picks between them as Linux and libiscsi do.
///
/// ```
/// use iscsi_pdu::{Lun, LunAddress};
/// assert_eq!(Lun::from_index(3).ok_or("index out of range")?.0, [0, 3, 0, 0, 0, 0, 0, 0]);
/// assert_eq!(Lun::from_index(300).ok_or("index out of range")?.0, [0x41, 0x2c, 0, 0, 0, 0, 0, 0]);
/// assert_eq!(Lun::from_index(300).ok_or("index out of range")?.address(), LunAddress::Flat(300));
/// assert_eq!(Lun::from_index(300).ok_or("index out of range")?.index(), Some(300));
/// assert!(Lun::from_index(16384).is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Lun(pub [u8; 8]);

/// The addressing method of a [`Lun`] (SAM-5 §4.6.6 to §4.6.9).
///
/// ```
/// use iscsi_pdu::{Lun, LunAddress};
/// assert_eq!(Lun([0, 7, 0, 0, 0, 0, 0, 0]).address(), LunAddress::Peripheral { bus: 0, lun: 7 });
/// assert_eq!(Lun([0x40, 7, 0, 0, 0, 0, 0, 0]).address(), LunAddress::Flat(7));
/// assert_eq!(Lun([0, 1, 0, 2, 0, 0, 0, 0]).address(), LunAddress::Other); // two levels
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LunAddress {
    /// Peripheral device addressing, single level: bus identifier and LUN.
    Peripheral {
        /// Bus identifier (6 bits); 0 for a logical unit of this target.
        bus: u8,
        /// The logical unit.
        lun: u8,
    },
    /// Flat space addressing, single level: a 14-bit LUN.
    Flat(u16),
    /// Any other method, or more than one level.
    Other,
}

impl Lun {
    /// LUN 0.
    ///
    /// ```
    /// use iscsi_pdu::{Lun, ScsiCommand};
    /// assert_eq!(Lun::ZERO.index(), Some(0));
    /// assert_eq!(ScsiCommand::default().lun, Lun::ZERO);
    /// ```
    pub const ZERO: Lun = Lun([0; 8]);

    /// The SAM encoding of LUN `index`: peripheral addressing below 256, flat addressing up to
    /// 16383, `None` above.
    ///
    /// ```
    /// use iscsi_pdu::Lun;
    /// assert_eq!(Lun::from_index(255), Some(Lun([0, 0xff, 0, 0, 0, 0, 0, 0]))); // peripheral
    /// assert_eq!(Lun::from_index(256), Some(Lun([0x41, 0x00, 0, 0, 0, 0, 0, 0]))); // flat
    /// assert_eq!(Lun::from_index(0x4000), None);
    /// ```
    pub fn from_index(index: u16) -> Option<Lun> {
        let mut b = [0u8; 8];
        if index < 256 {
            b[1] = index as u8;
        } else if index < 0x4000 {
            b[0] = 0x40 | (index >> 8) as u8;
            b[1] = index as u8;
        } else {
            return None;
        }
        Some(Lun(b))
    }

    /// The addressing method and value, for single-level LUNs.
    ///
    /// ```
    /// use iscsi_pdu::{Lun, LunAddress};
    /// assert_eq!(Lun([0x41, 0x2c, 0, 0, 0, 0, 0, 0]).address(), LunAddress::Flat(300));
    /// let bus_1 = Lun([0x01, 2, 0, 0, 0, 0, 0, 0]);
    /// assert_eq!(bus_1.address(), LunAddress::Peripheral { bus: 1, lun: 2 });
    /// ```
    pub fn address(&self) -> LunAddress {
        let b = &self.0;
        if b[2..].iter().any(|&x| x != 0) {
            return LunAddress::Other;
        }
        match b[0] >> 6 {
            0 => LunAddress::Peripheral {
                bus: b[0] & 0x3f,
                lun: b[1],
            },
            1 => LunAddress::Flat(u16::from(b[0] & 0x3f) << 8 | u16::from(b[1])),
            _ => LunAddress::Other,
        }
    }

    /// The LUN as a plain number, if it is single-level peripheral (bus 0) or flat.
    ///
    /// ```
    /// use iscsi_pdu::Lun;
    /// assert_eq!(Lun([0x41, 0x2c, 0, 0, 0, 0, 0, 0]).index(), Some(300));
    /// assert_eq!(Lun([0x01, 2, 0, 0, 0, 0, 0, 0]).index(), None); // bus 1
    /// ```
    pub fn index(&self) -> Option<u16> {
        match self.address() {
            LunAddress::Peripheral { bus: 0, lun } => Some(u16::from(lun)),
            LunAddress::Flat(n) => Some(n),
            _ => None,
        }
    }
}

impl fmt::Debug for Lun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index() {
            Some(n) => write!(f, "LUN({n})"),
            None => write!(f, "LUN({:02x?})", self.0),
        }
    }
}

/// Initiator Session ID (RFC 7143 §11.12.5): 6 bytes, the first two bits of which say how the
/// rest is formatted.
///
/// ```
/// use iscsi_pdu::{Isid, IsidType};
/// let isid = Isid([0x80, 0x12, 0x34, 0x56, 0x00, 0x01]);
/// assert_eq!(isid.isid_type(), IsidType::Random);
/// assert_eq!(isid.qualifier(), 1);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Isid(pub [u8; 6]);

/// The format of an [`Isid`], from its T field.
///
/// ```
/// use iscsi_pdu::{Isid, IsidType};
/// assert_eq!(Isid([0x00, 0x02, 0x3d, 0, 0, 1]).isid_type(), IsidType::Oui); // open-iscsi's OUI
/// assert_eq!(Isid([0x40, 0, 0, 0x01, 0x37, 0]).isid_type(), IsidType::EnterpriseNumber);
/// assert_eq!(Isid([0xc0, 0, 0, 0, 0, 0]).isid_type(), IsidType::Reserved);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsidType {
    /// `00b`: IEEE OUI format.
    Oui,
    /// `01b`: IANA enterprise number format.
    EnterpriseNumber,
    /// `10b`: random.
    Random,
    /// `11b`: reserved.
    Reserved,
}

impl Isid {
    /// The T field.
    ///
    /// ```
    /// use iscsi_pdu::{Isid, IsidType};
    /// assert_eq!(Isid([0x80, 0x12, 0x34, 0x56, 0, 1]).isid_type(), IsidType::Random);
    /// ```
    pub fn isid_type(&self) -> IsidType {
        match self.0[0] >> 6 {
            0 => IsidType::Oui,
            1 => IsidType::EnterpriseNumber,
            2 => IsidType::Random,
            _ => IsidType::Reserved,
        }
    }

    /// The D field (qualifier), the last two bytes.
    ///
    /// ```
    /// use iscsi_pdu::Isid;
    /// assert_eq!(Isid([0x00, 0x02, 0x3d, 0x00, 0x01, 0x02]).qualifier(), 0x0102);
    /// ```
    pub fn qualifier(&self) -> u16 {
        u16::from_be_bytes([self.0[4], self.0[5]])
    }
}

impl fmt::Debug for Isid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ISID(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_numbers_compare_across_wrap() {
        assert!(SerialNumber(1) < SerialNumber(2));
        assert!(SerialNumber(0xffff_ffff) < SerialNumber(0));
        assert!(SerialNumber(0) > SerialNumber(0xffff_ffff));
        assert!(SerialNumber(5) <= SerialNumber(5));
        assert_eq!(
            SerialNumber(7).partial_cmp(&SerialNumber(0x8000_0007)),
            None
        );
        assert_eq!(
            SerialNumber(3).distance_from(SerialNumber(0xffff_fffe)),
            Some(5)
        );
        assert_eq!(
            SerialNumber(0xffff_fffe).distance_from(SerialNumber(3)),
            None
        );
    }

    #[test]
    fn lun_encodings_round_trip() {
        for n in [0u16, 1, 255, 256, 1000, 0x3fff] {
            let lun = Lun::from_index(n).expect("in range");
            assert_eq!(lun.index(), Some(n));
        }
        assert_eq!(
            Lun([0x01, 2, 0, 0, 0, 0, 0, 0]).address(),
            LunAddress::Peripheral { bus: 1, lun: 2 }
        );
        assert_eq!(Lun([0x01, 2, 0, 0, 0, 0, 0, 0]).index(), None);
        assert_eq!(Lun([0, 2, 0, 1, 0, 0, 0, 0]).address(), LunAddress::Other);
        assert_eq!(
            Lun([0xc0, 0, 0, 0, 0, 0, 0, 0]).address(),
            LunAddress::Other
        );
    }

    #[test]
    fn isid_types() {
        assert_eq!(Isid([0x00; 6]).isid_type(), IsidType::Oui);
        assert_eq!(
            Isid([0x40, 0, 0, 0, 0, 0]).isid_type(),
            IsidType::EnterpriseNumber
        );
        assert_eq!(Isid([0xc0, 0, 0, 0, 0, 0]).isid_type(), IsidType::Reserved);
    }
}
