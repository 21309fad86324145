//! A consuming builder that validates a table before laying it out.

use alloc::vec::Vec;

use crate::lint::Severity;
use crate::{Control, ControlFlags, Error, Ibft, Initiator, Nic, Placement, TableHeader, Target};

/// Builds a table that readers accept: one initiator, one or two NICs, one or two targets.
///
/// NICs and targets take slots 0 and 1 in the order they are added, and their `index` is set
/// to the slot. [`IbftBuilder::build`] refuses a table with any [`Severity::Error`] issue of
/// [`Ibft::check`] (a missing name, CHAP credentials that do not match the CHAP type, a target
/// whose `nic_association` names no NIC, an address that would not read back as given).
///
/// ```
/// use ibft::{ChapType, Ibft, IbftBuilder, Initiator, Lun, MacAddr, Nic, Origin, Placement, Target};
/// use std::net::Ipv4Addr;
///
/// let bytes = IbftBuilder::new()
///     .placement(Placement::Acpi { oem_id: *b"OEMID ", oem_table_id: *b"OEMTABLE" })
///     .initiator(Initiator { name: "iqn.2010-04.org.ipxe:client1".into(), ..Initiator::default() })
///     .nic(Nic {
///         ip: Some(Ipv4Addr::new(192, 168, 0, 10).into()),
///         prefix_len: 24,
///         origin: Origin::Dhcp,
///         gateway: Some(Ipv4Addr::new(192, 168, 0, 1).into()),
///         mac: MacAddr([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]),
///         ..Nic::default()
///     })
///     .target(Target {
///         ip: Some(Ipv4Addr::new(192, 168, 0, 2).into()),
///         lun: Lun::from_number(1)?,
///         name: "iqn.2010-04.org.example:disk1".into(),
///         chap_type: ChapType::OneWay,
///         chap_name: "chapuser".into(),
///         chap_secret: "chapsecret12".into(),
///         ..Target::default()
///     })
///     .build()?;
/// assert_eq!(&bytes[..4], b"IBFT");
/// let ibft = Ibft::parse(&bytes)?;
/// assert_eq!(ibft.targets[0].as_ref().ok_or("no target 0")?.chap_name, "chapuser");
///
/// // A target with CHAP type 1 and no secret is refused, with a sentence saying so.
/// let err = IbftBuilder::new()
///     .initiator(Initiator { name: "iqn.2010-04.org.ipxe:client1".into(), ..Initiator::default() })
///     .nic(Nic { ip: Some(Ipv4Addr::new(10, 0, 0, 2).into()), prefix_len: 8, mac: MacAddr([2, 0, 0, 0, 0, 1]), ..Nic::default() })
///     .target(Target {
///         ip: Some(Ipv4Addr::new(10, 0, 0, 1).into()),
///         name: "iqn.2010-04.org.example:disk1".into(),
///         chap_type: ChapType::OneWay,
///         chap_name: "chapuser".into(),
///         ..Target::default()
///     })
///     .build()
///     .unwrap_err();
/// assert_eq!(err.to_string(), "target 0 has CHAP type 1 (one-way CHAP) but no CHAP secret");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct IbftBuilder {
    header: TableHeader,
    control: Control,
    initiator: Option<Initiator>,
    nics: Vec<Nic>,
    targets: Vec<Target>,
}

impl IbftBuilder {
    /// An empty table for BIOS memory ([`Placement::BiosMemory`]).
    ///
    /// ```
    /// use ibft::{DEFAULT_OEM_ID, IbftBuilder, Initiator, MacAddr, Nic, Signature, Target};
    /// let ibft = IbftBuilder::new()
    ///     .initiator(Initiator { name: "iqn.2010-04.org.ipxe:client".into(), ..Initiator::default() })
    ///     .nic(Nic { ip: Some([10, 0, 2, 15].into()), prefix_len: 24, mac: MacAddr([2, 0, 0, 0, 0, 1]), ..Nic::default() })
    ///     .target(Target { ip: Some([10, 0, 2, 2].into()), name: "iqn.2010-04.org.example:disk".into(), ..Target::default() })
    ///     .build_ibft()?;
    /// assert_eq!(ibft.header.signature, Signature::Bios);
    /// assert_eq!(ibft.header.oem_id, DEFAULT_OEM_ID);
    /// # Ok::<(), ibft::Error>(())
    /// ```
    pub fn new() -> Self {
        IbftBuilder {
            header: Placement::BiosMemory.header(),
            ..IbftBuilder::default()
        }
    }

    /// Where the table goes: sets the signature and OEM identifiers.
    ///
    /// ```
    /// use ibft::{IbftBuilder, Placement};
    /// # use ibft::{Initiator, MacAddr, Nic, Target};
    /// # let initiator = Initiator { name: "iqn.2010-04.org.ipxe:client".into(), ..Initiator::default() };
    /// # let nic = Nic { ip: Some([10, 0, 2, 15].into()), prefix_len: 24, mac: MacAddr([2, 0, 0, 0, 0, 1]), ..Nic::default() };
    /// # let target = Target { ip: Some([10, 0, 2, 2].into()), name: "iqn.2010-04.org.example:disk".into(), ..Target::default() };
    /// let bytes = IbftBuilder::new()
    ///     .placement(Placement::Acpi { oem_id: *b"OEMID ", oem_table_id: *b"OEMTABLE" })
    ///     .initiator(initiator).nic(nic).target(target)
    ///     .build()?;
    /// assert_eq!(&bytes[..4], b"IBFT");
    /// assert_eq!(&bytes[10..16], b"OEMID ");
    /// # Ok::<(), ibft::Error>(())
    /// ```
    pub fn placement(mut self, placement: Placement) -> Self {
        self.header = placement.header();
        self
    }

    /// Sets every header field at once (signature, OEM ID, OEM table ID, revisions, creator).
    ///
    /// ```
    /// use ibft::{Ibft, IbftBuilder, Placement, TableHeader};
    /// # use ibft::{Initiator, MacAddr, Nic, Target};
    /// # let initiator = Initiator { name: "iqn.2010-04.org.ipxe:client".into(), ..Initiator::default() };
    /// # let nic = Nic { ip: Some([10, 0, 2, 15].into()), prefix_len: 24, mac: MacAddr([2, 0, 0, 0, 0, 1]), ..Nic::default() };
    /// # let target = Target { ip: Some([10, 0, 2, 2].into()), name: "iqn.2010-04.org.example:disk".into(), ..Target::default() };
    /// let header = TableHeader { creator_id: *b"DLSC", creator_revision: 2, ..Placement::BiosMemory.header() };
    /// let bytes = IbftBuilder::new().header(header).initiator(initiator).nic(nic).target(target).build()?;
    /// assert_eq!(Ibft::parse(&bytes)?.header, header);
    /// # Ok::<(), ibft::Error>(())
    /// ```
    pub fn header(mut self, header: TableHeader) -> Self {
        self.header = header;
        self
    }

    /// Sets the Control structure's Single Login / Boot Failover flag (clear by default, as
    /// iPXE and EDK2 leave it).
    ///
    /// ```
    /// use ibft::IbftBuilder;
    /// # use ibft::{Initiator, MacAddr, Nic, Target};
    /// # let initiator = Initiator { name: "iqn.2010-04.org.ipxe:client".into(), ..Initiator::default() };
    /// # let nic = Nic { ip: Some([10, 0, 2, 15].into()), prefix_len: 24, mac: MacAddr([2, 0, 0, 0, 0, 1]), ..Nic::default() };
    /// # let target = Target { ip: Some([10, 0, 2, 2].into()), name: "iqn.2010-04.org.example:disk".into(), ..Target::default() };
    /// let ibft = IbftBuilder::new()
    ///     .single_login(true)
    ///     .initiator(initiator).nic(nic).target(target)
    ///     .build_ibft()?;
    /// assert!(ibft.control.flags.single_login());
    /// # Ok::<(), ibft::Error>(())
    /// ```
    pub fn single_login(mut self, on: bool) -> Self {
        self.control.flags = if on {
            ControlFlags(self.control.flags.0 | ControlFlags::SINGLE_LOGIN.0)
        } else {
            ControlFlags(self.control.flags.0 & !ControlFlags::SINGLE_LOGIN.0)
        };
        self
    }

    /// Sets the initiator.
    ///
    /// ```
    /// use ibft::{IbftBuilder, Initiator};
    /// # use ibft::{MacAddr, Nic, Target};
    /// # let nic = Nic { ip: Some([10, 0, 2, 15].into()), prefix_len: 24, mac: MacAddr([2, 0, 0, 0, 0, 1]), ..Nic::default() };
    /// # let target = Target { ip: Some([10, 0, 2, 2].into()), name: "iqn.2010-04.org.example:disk".into(), ..Target::default() };
    /// let ibft = IbftBuilder::new()
    ///     .initiator(Initiator { name: "iqn.2010-04.org.ipxe:client".into(), ..Initiator::default() })
    ///     .nic(nic).target(target)
    ///     .build_ibft()?;
    /// assert_eq!(ibft.initiator.map(|i| i.name).as_deref(), Some("iqn.2010-04.org.ipxe:client"));
    /// # Ok::<(), ibft::Error>(())
    /// ```
    pub fn initiator(mut self, initiator: Initiator) -> Self {
        self.initiator = Some(initiator);
        self
    }

    /// Adds a NIC in the next slot (at most two).
    ///
    /// ```
    /// use ibft::{IbftBuilder, MacAddr, Nic};
    /// # use ibft::{Initiator, Target};
    /// # let initiator = Initiator { name: "iqn.2010-04.org.ipxe:client".into(), ..Initiator::default() };
    /// # let target = Target { ip: Some([10, 0, 2, 2].into()), name: "iqn.2010-04.org.example:disk".into(), ..Target::default() };
    /// let nic = Nic { ip: Some([10, 0, 2, 15].into()), prefix_len: 24, mac: MacAddr([2, 0, 0, 0, 0, 1]), ..Nic::default() };
    /// let ibft = IbftBuilder::new()
    ///     .initiator(initiator).target(target)
    ///     .nic(nic.clone())
    ///     .nic(Nic { index: 7, mac: MacAddr([2, 0, 0, 0, 0, 2]), ..nic })
    ///     .build_ibft()?;
    /// assert_eq!(ibft.nics[1].as_ref().map(|n| n.index), Some(1)); // the index is the slot
    /// # Ok::<(), ibft::Error>(())
    /// ```
    pub fn nic(mut self, nic: Nic) -> Self {
        self.nics.push(nic);
        self
    }

    /// Adds a target in the next slot (at most two).
    ///
    /// ```
    /// use ibft::{ISCSI_PORT, IbftBuilder, Target};
    /// # use ibft::{Initiator, MacAddr, Nic};
    /// # let initiator = Initiator { name: "iqn.2010-04.org.ipxe:client".into(), ..Initiator::default() };
    /// # let nic = Nic { ip: Some([10, 0, 2, 15].into()), prefix_len: 24, mac: MacAddr([2, 0, 0, 0, 0, 1]), ..Nic::default() };
    /// let ibft = IbftBuilder::new()
    ///     .initiator(initiator).nic(nic)
    ///     .target(Target { ip: Some([10, 0, 2, 2].into()), name: "iqn.2010-04.org.example:disk".into(), ..Target::default() })
    ///     .build_ibft()?;
    /// assert_eq!(ibft.targets[0].as_ref().map(|t| t.port), Some(ISCSI_PORT));
    /// assert!(ibft.targets[1].is_none());
    /// # Ok::<(), ibft::Error>(())
    /// ```
    pub fn target(mut self, target: Target) -> Self {
        self.targets.push(target);
        self
    }

    /// The validated table value, before layout.
    ///
    /// ```
    /// use ibft::{Error, IbftBuilder};
    /// # use ibft::{Initiator, MacAddr, Nic, Target};
    /// # let initiator = Initiator { name: "iqn.2010-04.org.ipxe:client".into(), ..Initiator::default() };
    /// # let nic = Nic { ip: Some([10, 0, 2, 15].into()), prefix_len: 24, mac: MacAddr([2, 0, 0, 0, 0, 1]), ..Nic::default() };
    /// # let target = Target { ip: Some([10, 0, 2, 2].into()), name: "iqn.2010-04.org.example:disk".into(), ..Target::default() };
    /// let builder = IbftBuilder::new().initiator(initiator).nic(nic).target(target.clone());
    /// let ibft = builder.clone().build_ibft()?;
    /// assert_eq!(ibft.targets[0].as_ref().map(|t| t.name.as_str()), Some("iqn.2010-04.org.example:disk"));
    /// let three = builder.target(target.clone()).target(target).build_ibft();
    /// assert!(matches!(three, Err(Error::InvalidInput { what: "targets", .. })));
    /// # Ok::<(), ibft::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for more than two NICs or targets (Linux refuses tables with
    /// more), [`Error::Rejected`] with the first [`Severity::Error`] issue of [`Ibft::check`].
    pub fn build_ibft(self) -> Result<Ibft, Error> {
        if self.nics.len() > 2 {
            return Err(Error::InvalidInput {
                what: "NICs",
                reason: "Linux accepts at most two NIC structures",
            });
        }
        if self.targets.len() > 2 {
            return Err(Error::InvalidInput {
                what: "targets",
                reason: "Linux accepts at most two target structures",
            });
        }
        let mut ibft = Ibft {
            header: self.header,
            control: self.control,
            initiator: self.initiator,
            ..Ibft::default()
        };
        for (slot, mut nic) in self.nics.into_iter().enumerate() {
            nic.index = slot as u8;
            ibft.nics[slot] = Some(nic);
        }
        for (slot, mut target) in self.targets.into_iter().enumerate() {
            target.index = slot as u8;
            ibft.targets[slot] = Some(target);
        }
        if let Some(issue) = ibft
            .check()
            .into_iter()
            .find(|i| i.severity == Severity::Error)
        {
            return Err(Error::Rejected(issue));
        }
        Ok(ibft)
    }

    /// The table's bytes, laid out with 8-byte aligned structures and the checksum set.
    ///
    /// ```
    /// use ibft::{Ibft, IbftBuilder};
    /// # use ibft::{Initiator, MacAddr, Nic, Target};
    /// # let initiator = Initiator { name: "iqn.2010-04.org.ipxe:client".into(), ..Initiator::default() };
    /// # let nic = Nic { ip: Some([10, 0, 2, 15].into()), prefix_len: 24, mac: MacAddr([2, 0, 0, 0, 0, 1]), ..Nic::default() };
    /// # let target = Target { ip: Some([10, 0, 2, 2].into()), name: "iqn.2010-04.org.example:disk".into(), ..Target::default() };
    /// let bytes = IbftBuilder::new().initiator(initiator).nic(nic).target(target).build()?;
    /// assert_eq!(ibft::checksum::sum(&bytes), 0);
    /// assert_eq!(Ibft::parse(&bytes)?.to_bytes()?, bytes);
    /// # Ok::<(), ibft::Error>(())
    /// ```
    ///
    /// # Errors
    /// Those of [`IbftBuilder::build_ibft`], and [`Error::TooLarge`] if the strings make the
    /// table 64 KiB or more.
    pub fn build(self) -> Result<Vec<u8>, Error> {
        self.build_ibft()?.to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChapType, IssueKind, Location, MacAddr};
    use core::net::Ipv4Addr;

    fn minimal() -> IbftBuilder {
        IbftBuilder::new()
            .initiator(Initiator {
                name: "iqn.2010-04.org.ipxe:c".into(),
                ..Initiator::default()
            })
            .nic(Nic {
                ip: Some(Ipv4Addr::new(10, 0, 0, 2).into()),
                prefix_len: 8,
                mac: MacAddr([2, 0, 0, 0, 0, 1]),
                ..Nic::default()
            })
    }

    fn target() -> Target {
        Target {
            ip: Some(Ipv4Addr::new(10, 0, 0, 1).into()),
            name: "iqn.2010-04.org.example:d".into(),
            ..Target::default()
        }
    }

    #[test]
    fn sets_indices_to_slots() {
        let ibft = minimal()
            .nic(Nic {
                index: 7,
                ip: Some(Ipv4Addr::new(10, 1, 0, 2).into()),
                prefix_len: 16,
                mac: MacAddr([2, 0, 0, 0, 0, 2]),
                ..Nic::default()
            })
            .target(target())
            .target(Target {
                index: 9,
                nic_association: 1,
                ..target()
            })
            .build_ibft()
            .unwrap();
        assert_eq!(ibft.nics[1].as_ref().unwrap().index, 1);
        assert_eq!(ibft.targets[1].as_ref().unwrap().index, 1);
    }

    #[test]
    fn refuses_third_target_and_dangling_nic_association() {
        let three = minimal().target(target()).target(target()).target(target());
        assert!(matches!(
            three.build(),
            Err(Error::InvalidInput {
                what: "targets",
                ..
            })
        ));
        let dangling = minimal().target(Target {
            nic_association: 1,
            ..target()
        });
        let Err(Error::Rejected(issue)) = dangling.build() else {
            panic!("expected a rejection");
        };
        assert_eq!(issue.location, Location::Target(0));
        assert_eq!(issue.kind, IssueKind::NicAssociationMissing { nic: 1 });
    }

    #[test]
    fn refuses_mutual_chap_without_reverse_secret() {
        let err = minimal()
            .target(Target {
                chap_type: ChapType::Mutual,
                chap_name: "u".into(),
                chap_secret: "secretsecret".into(),
                reverse_chap_name: "t".into(),
                ..target()
            })
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "target 0 has CHAP type 2 (mutual CHAP) but no reverse CHAP secret"
        );
    }

    #[test]
    fn refuses_unspecified_address() {
        let err = minimal()
            .target(Target {
                ip: Some(Ipv4Addr::UNSPECIFIED.into()),
                ..target()
            })
            .build()
            .unwrap_err();
        assert!(matches!(
            err,
            Error::Rejected(crate::Issue {
                kind: IssueKind::UnspecifiedAddress {
                    field: "IP address"
                },
                ..
            })
        ));
    }

    #[test]
    fn single_login_sets_and_clears_bit_zero() {
        let b = minimal().target(target()).single_login(true);
        assert!(b.clone().build_ibft().unwrap().control.flags.single_login());
        assert!(
            !b.single_login(false)
                .build_ibft()
                .unwrap()
                .control
                .flags
                .single_login()
        );
    }
}
