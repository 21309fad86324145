//! Problems a human can act on: [`Ibft::lint`] reads a table's bytes and lists everything wrong
//! with it (layout, what Linux would refuse or ignore, and contents that do not add up);
//! [`Ibft::check`] lists the content problems of a table value, which the builder refuses.

use alloc::vec::Vec;
use core::fmt;
use core::net::IpAddr;

use crate::acpi::{TABLE_HEADER_LEN, TableHeader};
use crate::checksum;
use crate::control::CONTROL_LEN;
use crate::structure::{Structure, StructureView};
use crate::table::{ALIGN, MAX_TABLE_LEN, MIN_TABLE_LEN};
use crate::{ChapType, Control, Error, Flags, Ibft, Initiator, Location, Nic, Origin, Target};

/// How bad an [`Issue`] is.
///
/// ```
/// use ibft::{Ibft, Severity};
/// assert!(Severity::Warning < Severity::Error);
/// // An empty table has no initiator, NIC or target: errors.
/// let worst = Ibft::default().check().iter().map(|i| i.severity).max();
/// assert_eq!(worst, Some(Severity::Error));
/// assert_eq!(Severity::Error.to_string(), "error");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// The table works, but a reader may misbehave or the values look like a mistake.
    Warning,
    /// A reader will refuse or ignore part of the table, or the boot cannot work.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One thing wrong with a table, found by [`Ibft::lint`].
///
/// ```
/// use ibft::{Ibft, Problem, Severity};
/// let problems = Ibft::lint(b"not a table");
/// assert_eq!(problems.len(), 1);
/// assert_eq!(problems[0].severity(), Severity::Error);
/// assert_eq!(problems[0].to_string(), "error: table header needs 48 bytes, only 11 are there");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// A structure, or the whole table, cannot be read; [`Ibft::parse`] fails with this error.
    Unreadable(Error),
    /// Something readable but wrong.
    Issue(Issue),
}

impl Problem {
    /// How bad the problem is; unreadable parts are errors.
    ///
    /// ```
    /// use ibft::{Ibft, Problem, Severity};
    /// let problems = Ibft::lint(b"iBFT");
    /// assert_eq!(problems.first().map(Problem::severity), Some(Severity::Error));
    /// ```
    pub fn severity(&self) -> Severity {
        match self {
            Problem::Unreadable(_) => Severity::Error,
            Problem::Issue(issue) => issue.severity,
        }
    }

    /// The structure the problem concerns.
    ///
    /// ```
    /// use ibft::{Ibft, Location, Target};
    /// let bytes = Ibft { targets: [Some(Target::default()), None], ..Ibft::default() }.to_bytes()?;
    /// let problems = Ibft::lint(&bytes);
    /// let nameless = problems.iter().find(|p| p.to_string() == "error: target 0 has no target name");
    /// assert_eq!(nameless.map(|p| p.location()), Some(Location::Target(0)));
    /// # Ok::<(), ibft::Error>(())
    /// ```
    pub fn location(&self) -> Location {
        match self {
            Problem::Unreadable(e) => e.location(),
            Problem::Issue(issue) => issue.location,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Unreadable(e) => write!(f, "error: {e}"),
            Problem::Issue(issue) => write!(f, "{}: {issue}", issue.severity),
        }
    }
}

/// A readable but wrong part of a table: where, how bad, and what.
///
/// Its `Display` is a sentence that names the structure:
///
/// ```
/// use ibft::{ChapType, Issue, IssueKind, Location, Severity};
/// let issue = Issue {
///     severity: Severity::Error,
///     location: Location::Target(0),
///     kind: IssueKind::ChapFieldMissing { chap_type: ChapType::OneWay, field: "CHAP name" },
/// };
/// assert_eq!(issue.to_string(), "target 0 has CHAP type 1 (one-way CHAP) but no CHAP name");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Issue {
    /// How bad it is.
    pub severity: Severity,
    /// Which structure.
    pub location: Location,
    /// What is wrong.
    pub kind: IssueKind,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.location, self.kind)
    }
}

/// What is wrong, phrased (by `Display`) as the rest of a sentence whose subject is the
/// [`Location`].
///
/// ```
/// use ibft::{Ibft, IssueKind, Nic};
/// let ibft = Ibft { nics: [Some(Nic { vlan: 5000, ..Nic::default() }), None], ..Ibft::default() };
/// assert!(ibft.check().iter().any(|i| i.kind == IssueKind::VlanTooLarge { vlan: 5000 }));
/// assert_eq!(IssueKind::VlanTooLarge { vlan: 5000 }.to_string(), "has VLAN 5000; VLAN IDs go up to 4095");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IssueKind {
    /// The reserved bytes 36..48 of the header are not zero.
    ReservedNotZero,
    /// The Control structure points to an Extensions structure, which readers ignore.
    ExtensionsIgnored {
        /// Its offset.
        offset: u16,
    },
    /// A structure starts at or after `Length - 48`, where Linux stops looking.
    BeyondLinuxBound {
        /// The structure's offset.
        offset: usize,
        /// `Length - 48`.
        limit: usize,
    },
    /// A structure is not 8-byte aligned.
    Misaligned {
        /// The structure's offset.
        offset: usize,
    },
    /// A structure overlaps another one (or the table header).
    Overlaps {
        /// The other structure ([`Location::Table`] for the header, [`Location::Control`]).
        other: Location,
    },
    /// A string is not followed by a NUL byte.
    StringUnterminated {
        /// The field.
        field: &'static str,
    },
    /// A string lies inside a structure or the header.
    StringOverlapsStructure {
        /// The field.
        field: &'static str,
        /// The structure it overlaps.
        other: Location,
    },
    /// A string contains a NUL byte, where C readers stop.
    StringContainsNul {
        /// The field.
        field: &'static str,
    },
    /// The Initiator's index is not 0.
    IndexNotZero {
        /// The index found.
        found: u8,
    },
    /// A NIC or Target's index is not its slot number; Linux names it by index in sysfs and
    /// targets refer to NICs by index.
    IndexMismatch {
        /// The index found.
        index: u8,
    },
    /// There is no Initiator structure.
    MissingInitiator,
    /// There is no NIC structure.
    MissingNic,
    /// There is no Target structure.
    MissingTarget,
    /// No Target has the Firmware Boot Selected flag.
    NoBootTarget,
    /// A name that must be there is empty.
    NameMissing {
        /// The field.
        field: &'static str,
    },
    /// The structure lacks the Block Valid flag.
    NotBlockValid,
    /// An address field is 0.0.0.0 or `::`, which reads back as absent.
    UnspecifiedAddress {
        /// The field.
        field: &'static str,
    },
    /// An address field is an IPv4-mapped IPv6 address, which reads back as IPv4.
    MappedAddress {
        /// The field.
        field: &'static str,
    },
    /// The NIC has no address and is not configured by DHCP.
    NicAddressMissing,
    /// The prefix length is longer than the address.
    PrefixTooLong {
        /// The prefix length.
        prefix_len: u8,
        /// 32 or 128.
        max: u8,
    },
    /// The NIC has an address but prefix length 0.
    PrefixMissing,
    /// The VLAN ID does not fit 12 bits.
    VlanTooLarge {
        /// The VLAN field.
        vlan: u16,
    },
    /// The origin is not one this crate knows.
    UnknownOrigin {
        /// The value.
        value: u8,
    },
    /// The MAC address is all zeros.
    MacMissing,
    /// The gateway is of another address family than the NIC's address.
    GatewayFamily,
    /// The target has no address.
    TargetAddressMissing,
    /// The target's port is 0.
    PortZero,
    /// The target refers to a NIC index no NIC structure has.
    NicAssociationMissing {
        /// The NIC index.
        nic: u8,
    },
    /// The CHAP type is not 0, 1 or 2.
    UnknownChapType {
        /// The value.
        value: u8,
    },
    /// The CHAP type needs a credential that is empty.
    ChapFieldMissing {
        /// The CHAP type.
        chap_type: ChapType,
        /// The empty field.
        field: &'static str,
    },
    /// A credential is there but the CHAP type does not use it.
    ChapFieldUnused {
        /// The CHAP type.
        chap_type: ChapType,
        /// The unused field.
        field: &'static str,
    },
    /// A CHAP secret is shorter than 12 bytes.
    ShortSecret {
        /// The field.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
    },
}

impl fmt::Display for IssueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use IssueKind as K;
        match *self {
            K::ReservedNotZero => f.write_str("has non-zero bytes in its reserved header bytes 36 to 47"),
            K::ExtensionsIgnored { offset } => write!(
                f,
                "points to an Extensions structure at byte {offset}, which Linux and this crate ignore"
            ),
            K::BeyondLinuxBound { offset, limit } => write!(
                f,
                "starts at byte {offset}, not before the table length minus 48 ({limit}): Linux ignores it; put the strings after the structures"
            ),
            K::Misaligned { offset } => write!(
                f,
                "starts at byte {offset}, which is not a multiple of {ALIGN} as the spec requires"
            ),
            K::Overlaps { other: crate::Location::Table } => f.write_str("overlaps the table header"),
            K::Overlaps { other } => write!(f, "overlaps {other}"),
            K::StringUnterminated { field } => write!(
                f,
                "has no NUL byte after its {field}, which the spec requires and C readers rely on"
            ),
            K::StringOverlapsStructure { field, other: crate::Location::Table } => {
                write!(f, "has its {field} inside the table header")
            }
            K::StringOverlapsStructure { field, other } => {
                write!(f, "has its {field} overlapping {other}")
            }
            K::StringContainsNul { field } => write!(
                f,
                "has a NUL byte inside its {field}: C readers cut it short there"
            ),
            K::IndexNotZero { found } => write!(f, "has index {found}; it should be 0"),
            K::IndexMismatch { index } => write!(
                f,
                "has index {index} in its header, which is not its slot number: Linux names it by the index, and targets refer to NICs by index"
            ),
            K::MissingInitiator => f.write_str(
                "has no initiator structure: the OS cannot learn its initiator name",
            ),
            K::MissingNic => f.write_str(
                "has no NIC structure: the OS cannot bring up the network to reach the target",
            ),
            K::MissingTarget => f.write_str("has no target structure: there is nothing to boot from"),
            K::NoBootTarget => f.write_str(
                "has no target with the Firmware Boot Selected flag: open-iscsi finds no boot target",
            ),
            K::NameMissing { field } => write!(f, "has no {field}"),
            K::NotBlockValid => f.write_str(
                "lacks the Block Valid flag (bit 0): dracut and other readers skip it",
            ),
            K::UnspecifiedAddress { field } => write!(
                f,
                "has an unspecified {field} (0.0.0.0 or ::): leave it out instead, the table cannot tell it from an absent one"
            ),
            K::MappedAddress { field } => write!(
                f,
                "has an IPv4-mapped IPv6 {field}: give it as IPv4, the table stores both alike"
            ),
            K::NicAddressMissing => f.write_str(
                "has no IP address and its origin is not DHCP: the OS cannot configure the interface",
            ),
            K::PrefixTooLong { prefix_len, max } => write!(
                f,
                "has prefix length {prefix_len}, longer than the address's {max} bits"
            ),
            K::PrefixMissing => f.write_str(
                "has an IP address but prefix length 0: the OS will not know the subnet",
            ),
            K::VlanTooLarge { vlan } => {
                write!(f, "has VLAN {vlan}; VLAN IDs go up to 4095")
            }
            K::UnknownOrigin { value } => write!(
                f,
                "has origin {value}, which is not one of 0 to 4 (other, manual, well-known, DHCP, router advertisement)"
            ),
            K::MacMissing => f.write_str(
                "has MAC address 00:00:00:00:00:00: the OS matches the interface by MAC",
            ),
            K::GatewayFamily => f.write_str("has a gateway of another address family than its IP address"),
            K::TargetAddressMissing => f.write_str("has no IP address"),
            K::PortZero => f.write_str("has TCP port 0 (iSCSI's is 3260)"),
            K::NicAssociationMissing { nic } => write!(
                f,
                "is reached through NIC {nic}, but no NIC structure has index {nic}"
            ),
            K::UnknownChapType { value } => write!(
                f,
                "has CHAP type {value}; only 0 (none), 1 (one-way) and 2 (mutual) exist"
            ),
            K::ChapFieldMissing { chap_type, field } => write!(
                f,
                "has CHAP type {} ({chap_type}) but no {field}",
                u8::from(chap_type)
            ),
            K::ChapFieldUnused { chap_type, field } => write!(
                f,
                "has a {field} but CHAP type {} ({chap_type}), so it is not used",
                u8::from(chap_type)
            ),
            K::ShortSecret { field, len } => write!(
                f,
                "has a {len}-byte {field}; targets such as Windows' require 12 to 16 bytes, and RFC 7143 asks for at least 96 bits"
            ),
        }
    }
}

/// Collects issues for one structure.
struct Sink<'a> {
    out: &'a mut Vec<Problem>,
    location: Location,
}

impl Sink<'_> {
    fn push(&mut self, severity: Severity, kind: IssueKind) {
        self.out.push(Problem::Issue(Issue {
            severity,
            location: self.location,
            kind,
        }));
    }
    fn error(&mut self, kind: IssueKind) {
        self.push(Severity::Error, kind);
    }
    fn warning(&mut self, kind: IssueKind) {
        self.push(Severity::Warning, kind);
    }
}

impl Ibft {
    /// Every problem of the table in `bytes`, in table order: what stops [`Ibft::parse`], what
    /// Linux would refuse or silently ignore, layout faults (alignment, overlaps, strings
    /// without their NUL), and contents that do not add up ([`Ibft::check`]). An empty list
    /// means a clean table.
    ///
    /// Unlike `parse`, it goes on after a bad checksum or revision, and after a structure it
    /// cannot read.
    ///
    /// ```
    /// use ibft::{Ibft, IbftBuilder, Initiator, Nic, Target};
    /// let mut bytes = IbftBuilder::new()
    ///     .initiator(Initiator { name: "iqn.2010-04.org.ipxe:client".into(), ..Initiator::default() })
    ///     .nic(Nic { ip: Some([10, 0, 2, 15].into()), prefix_len: 24, mac: ibft::MacAddr([2, 0, 0, 0, 0, 1]), ..Nic::default() })
    ///     .target(Target { ip: Some([10, 0, 2, 2].into()), name: "iqn.2010-04.org.example:disk".into(), ..Target::default() })
    ///     .build()?;
    /// assert!(Ibft::lint(&bytes).is_empty());
    /// bytes[9] ^= 1; // break the checksum
    /// let problems = Ibft::lint(&bytes);
    /// assert_eq!(problems.len(), 1);
    /// assert!(problems[0].to_string().starts_with("error: checksum is wrong"));
    /// # Ok::<(), ibft::Error>(())
    /// ```
    pub fn lint(bytes: &[u8]) -> Vec<Problem> {
        let mut out = Vec::new();
        lint_into(bytes, &mut out);
        out
    }

    /// The content problems of this table value: missing structures and names, CHAP
    /// credentials that do not match the CHAP type, targets that point to no NIC, prefix
    /// lengths and VLANs out of range, addresses that would not read back as given. The
    /// [`IbftBuilder`](crate::IbftBuilder) refuses a table with any [`Severity::Error`].
    ///
    /// ```
    /// use ibft::{ChapType, Ibft, Severity, Target};
    /// let ibft = Ibft {
    ///     targets: [Some(Target { chap_type: ChapType::OneWay, ..Target::default() }), None],
    ///     ..Ibft::default()
    /// };
    /// let errors: Vec<String> = ibft
    ///     .check()
    ///     .iter()
    ///     .filter(|i| i.severity == Severity::Error)
    ///     .map(ToString::to_string)
    ///     .collect();
    /// assert!(errors.contains(&"target 0 has CHAP type 1 (one-way CHAP) but no CHAP name".to_string()));
    /// ```
    pub fn check(&self) -> Vec<Issue> {
        let mut problems = Vec::new();
        check_into(self, &mut problems);
        problems
            .into_iter()
            .filter_map(|p| match p {
                Problem::Issue(issue) => Some(issue),
                Problem::Unreadable(_) => None,
            })
            .collect()
    }
}

fn lint_into(bytes: &[u8], out: &mut Vec<Problem>) {
    let facts = match TableHeader::read(bytes) {
        Ok(facts) => facts,
        Err(e) => return out.push(Problem::Unreadable(e)),
    };
    // Length problems leave nothing to read.
    let len = usize::try_from(facts.length).unwrap_or(usize::MAX);
    if !(MIN_TABLE_LEN..=MAX_TABLE_LEN).contains(&len) || len > bytes.len() {
        if let Err(e) = crate::table::table_bytes(bytes) {
            out.push(Problem::Unreadable(e));
        }
        return;
    }
    let table = &bytes[..len];
    if facts.revision != crate::acpi::REVISION {
        out.push(Problem::Unreadable(Error::Revision {
            found: facts.revision,
        }));
    }
    let sum = checksum::sum(table);
    if sum != 0 {
        out.push(Problem::Unreadable(Error::Checksum {
            sum,
            stored: table[checksum::CHECKSUM_OFFSET],
            expected: checksum::expected(table),
        }));
    }
    let mut table_sink = Sink {
        out,
        location: Location::Table,
    };
    if !facts.reserved_zero {
        table_sink.warning(IssueKind::ReservedNotZero);
    }
    let (control, slots) = match Control::parse(table) {
        Ok(parsed) => parsed,
        Err(e) => return out.push(Problem::Unreadable(e)),
    };
    if slots.extensions != 0 {
        Sink {
            out,
            location: Location::Control,
        }
        .warning(IssueKind::ExtensionsIgnored {
            offset: slots.extensions,
        });
    }

    // Every region that holds a structure, to find overlaps.
    let mut regions: Vec<(Location, usize, usize)> = alloc::vec![
        (Location::Table, 0, TABLE_HEADER_LEN),
        (
            Location::Control,
            TABLE_HEADER_LEN,
            TABLE_HEADER_LEN + CONTROL_LEN
        ),
    ];
    let placed = [
        (Location::Initiator, slots.initiator, Initiator::LEN),
        (Location::Nic(0), slots.nics[0], Nic::LEN),
        (Location::Target(0), slots.targets[0], Target::LEN),
        (Location::Nic(1), slots.nics[1], Nic::LEN),
        (Location::Target(1), slots.targets[1], Target::LEN),
    ];
    for (location, offset, len) in placed {
        if offset != 0 {
            let start = usize::from(offset);
            regions.push((location, start, start + len));
        }
    }

    let mut ibft = Ibft {
        header: facts.header,
        control,
        ..Ibft::default()
    };
    let mut readable = true;
    for (location, offset, _) in placed {
        if offset == 0 {
            continue;
        }
        let offset = usize::from(offset);
        let parsed = match location {
            Location::Initiator => Initiator::parse(table, offset, location).map(|s| {
                ibft.initiator = Some(s);
            }),
            Location::Nic(i) => Nic::parse(table, offset, location).map(|s| {
                ibft.nics[usize::from(i)] = Some(s);
            }),
            Location::Target(i) => Target::parse(table, offset, location).map(|s| {
                ibft.targets[usize::from(i)] = Some(s);
            }),
            Location::Table | Location::Control => Ok(()),
        };
        match parsed {
            Ok(()) => {
                let strings: &[(&str, usize)] = match location {
                    Location::Initiator => Initiator::STRINGS,
                    Location::Nic(_) => Nic::STRINGS,
                    _ => Target::STRINGS,
                };
                lint_layout(table, location, offset, strings, &regions, out);
            }
            Err(e) => {
                readable = false;
                out.push(Problem::Unreadable(e));
            }
        }
    }
    // Content checks need every structure: with one unreadable, a target's NIC may be
    // missing only because it could not be read.
    if readable {
        check_into(&ibft, out);
    }
}

/// Layout checks of one readable structure: alignment, Linux's bound, overlaps, and where its
/// strings lie.
fn lint_layout(
    table: &[u8],
    location: Location,
    offset: usize,
    strings: &[(&'static str, usize)],
    regions: &[(Location, usize, usize)],
    out: &mut Vec<Problem>,
) {
    let mut sink = Sink { out, location };
    if !offset.is_multiple_of(ALIGN) {
        sink.warning(IssueKind::Misaligned { offset });
    }
    // Linux: a structure is used only if its offset < Length - 48 (`eot_offset`).
    let limit = table.len() - TABLE_HEADER_LEN;
    if offset >= limit {
        sink.error(IssueKind::BeyondLinuxBound { offset, limit });
    }
    let Some(&(_, start, end)) = regions.iter().find(|(l, ..)| *l == location) else {
        return;
    };
    // Report each overlapping pair once, from the later structure.
    for &(other, o_start, o_end) in regions {
        if other == location || o_start >= end || start >= o_end {
            continue;
        }
        let earlier = regions.iter().position(|(l, ..)| *l == other)
            < regions.iter().position(|(l, ..)| *l == location);
        if earlier {
            sink.error(IssueKind::Overlaps { other });
        }
    }
    let view = StructureView::new_unchecked(&table[start..end]);
    for &(field, at) in strings {
        let r = view.string_at(at);
        if r.len == 0 {
            continue;
        }
        let (s_start, s_end) = (
            usize::from(r.offset),
            usize::from(r.offset) + usize::from(r.len),
        );
        if table.get(s_end) != Some(&0) {
            sink.warning(IssueKind::StringUnterminated { field });
        }
        for &(other, o_start, o_end) in regions {
            if s_start < o_end && o_start < s_end {
                sink.error(IssueKind::StringOverlapsStructure { field, other });
            }
        }
    }
    if location == Location::Initiator && view.index() != 0 {
        sink.warning(IssueKind::IndexNotZero {
            found: view.index(),
        });
    }
}

fn check_address(sink: &mut Sink<'_>, field: &'static str, addr: Option<IpAddr>) {
    let Some(addr) = addr else {
        return;
    };
    if addr.is_unspecified() {
        sink.error(IssueKind::UnspecifiedAddress { field });
    } else if matches!(addr, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some()) {
        sink.error(IssueKind::MappedAddress { field });
    }
}

fn check_string(sink: &mut Sink<'_>, field: &'static str, s: &str) {
    if s.as_bytes().contains(&0) {
        sink.warning(IssueKind::StringContainsNul { field });
    }
}

fn check_flags(sink: &mut Sink<'_>, flags: Flags) {
    if !flags.contains(Flags::BLOCK_VALID) {
        sink.warning(IssueKind::NotBlockValid);
    }
}

fn check_into(ibft: &Ibft, out: &mut Vec<Problem>) {
    let mut table = Sink {
        out,
        location: Location::Table,
    };
    if ibft.initiator.is_none() {
        table.error(IssueKind::MissingInitiator);
    }
    if ibft.nics.iter().all(Option::is_none) {
        table.error(IssueKind::MissingNic);
    }
    if ibft.targets.iter().all(Option::is_none) {
        table.error(IssueKind::MissingTarget);
    } else if !ibft
        .targets
        .iter()
        .flatten()
        .any(|t| t.flags.contains(Flags::FIRMWARE_BOOT_SELECTED))
    {
        table.warning(IssueKind::NoBootTarget);
    }

    if let Some(initiator) = &ibft.initiator {
        let mut sink = Sink {
            out,
            location: Location::Initiator,
        };
        check_flags(&mut sink, initiator.flags);
        if initiator.name.is_empty() {
            sink.error(IssueKind::NameMissing {
                field: "initiator name",
            });
        }
        check_string(&mut sink, "initiator name", &initiator.name);
        check_address(&mut sink, "iSNS server", initiator.isns_server);
        check_address(&mut sink, "SLP server", initiator.slp_server);
        check_address(
            &mut sink,
            "primary RADIUS server",
            initiator.primary_radius_server,
        );
        check_address(
            &mut sink,
            "secondary RADIUS server",
            initiator.secondary_radius_server,
        );
    }

    for (slot, nic) in ibft.nics.iter().enumerate() {
        if let Some(nic) = nic {
            check_nic(
                &mut Sink {
                    out,
                    location: Location::Nic(slot as u8),
                },
                slot,
                nic,
            );
        }
    }
    for (slot, target) in ibft.targets.iter().enumerate() {
        if let Some(target) = target {
            let nic_exists = ibft
                .nics
                .iter()
                .flatten()
                .any(|n| n.index == target.nic_association);
            check_target(
                &mut Sink {
                    out,
                    location: Location::Target(slot as u8),
                },
                slot,
                target,
                nic_exists,
            );
        }
    }
}

fn check_nic(sink: &mut Sink<'_>, slot: usize, nic: &Nic) {
    if usize::from(nic.index) != slot {
        sink.warning(IssueKind::IndexMismatch { index: nic.index });
    }
    check_flags(sink, nic.flags);
    check_address(sink, "IP address", nic.ip);
    check_address(sink, "gateway", nic.gateway);
    check_address(sink, "primary DNS server", nic.primary_dns);
    check_address(sink, "secondary DNS server", nic.secondary_dns);
    check_address(sink, "DHCP server", nic.dhcp_server);
    check_string(sink, "hostname", &nic.hostname);
    match nic.ip {
        None if nic.origin != Origin::Dhcp => sink.warning(IssueKind::NicAddressMissing),
        None => {}
        Some(ip) => {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            if nic.prefix_len > max {
                sink.error(IssueKind::PrefixTooLong {
                    prefix_len: nic.prefix_len,
                    max,
                });
            } else if nic.prefix_len == 0 {
                sink.warning(IssueKind::PrefixMissing);
            }
            if nic.gateway.is_some_and(|gw| gw.is_ipv4() != ip.is_ipv4()) {
                sink.warning(IssueKind::GatewayFamily);
            }
        }
    }
    if nic.vlan > 4095 {
        sink.error(IssueKind::VlanTooLarge { vlan: nic.vlan });
    }
    if let Origin::Unknown(value) = nic.origin {
        sink.warning(IssueKind::UnknownOrigin { value });
    }
    if nic.mac.0 == [0; 6] {
        sink.warning(IssueKind::MacMissing);
    }
}

fn check_target(sink: &mut Sink<'_>, slot: usize, target: &Target, nic_exists: bool) {
    if usize::from(target.index) != slot {
        sink.warning(IssueKind::IndexMismatch {
            index: target.index,
        });
    }
    check_flags(sink, target.flags);
    if target.name.is_empty() {
        sink.error(IssueKind::NameMissing {
            field: "target name",
        });
    }
    match target.ip {
        None => sink.error(IssueKind::TargetAddressMissing),
        Some(_) => check_address(sink, "IP address", target.ip),
    }
    if target.port == 0 {
        sink.error(IssueKind::PortZero);
    }
    if !nic_exists {
        sink.error(IssueKind::NicAssociationMissing {
            nic: target.nic_association,
        });
    }
    let fields = [
        ("target name", &target.name),
        ("CHAP name", &target.chap_name),
        ("CHAP secret", &target.chap_secret),
        ("reverse CHAP name", &target.reverse_chap_name),
        ("reverse CHAP secret", &target.reverse_chap_secret),
    ];
    for (field, value) in fields {
        check_string(sink, field, value);
    }
    let chap_type = target.chap_type;
    let (forward, reverse) = match chap_type {
        ChapType::None => (false, false),
        ChapType::OneWay => (true, false),
        ChapType::Mutual => (true, true),
        ChapType::Unknown(value) => {
            sink.error(IssueKind::UnknownChapType { value });
            return;
        }
    };
    for (field, value, needed) in [
        ("CHAP name", &target.chap_name, forward),
        ("CHAP secret", &target.chap_secret, forward),
        ("reverse CHAP name", &target.reverse_chap_name, reverse),
        ("reverse CHAP secret", &target.reverse_chap_secret, reverse),
    ] {
        match (needed, value.is_empty()) {
            (true, true) => sink.error(IssueKind::ChapFieldMissing { chap_type, field }),
            (false, false) => sink.warning(IssueKind::ChapFieldUnused { chap_type, field }),
            _ => {}
        }
    }
    for (field, secret, used) in [
        ("CHAP secret", &target.chap_secret, forward),
        ("reverse CHAP secret", &target.reverse_chap_secret, reverse),
    ] {
        if used && !secret.is_empty() && secret.len() < 12 {
            sink.warning(IssueKind::ShortSecret {
                field,
                len: secret.len(),
            });
        }
    }
}
