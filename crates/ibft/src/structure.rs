//! The 6-byte header every iBFT structure starts with ("Standard Structure Header" of the iBFT
//! spec), and a view over one structure's bytes with the little-endian field accessors the
//! Control, Initiator, NIC and Target views share.

use core::fmt;

use crate::address::{self, IP_LEN};
use crate::{Error, Flags};

/// Byte offsets of the standard structure header.
pub(crate) mod field {
    /// Structure ID: 1 Control, 2 Initiator, 3 NIC, 4 Target.
    pub(crate) const ID: usize = 0;
    /// Version: always 1.
    pub(crate) const VERSION: usize = 1;
    /// Length of the whole structure, header included (u16).
    pub(crate) const LENGTH: usize = 2;
    /// Index: NIC or target number, 0 for Control and Initiator.
    pub(crate) const INDEX: usize = 4;
    /// Flags.
    pub(crate) const FLAGS: usize = 5;
}

/// The one structure version the spec defines.
pub(crate) const VERSION: u8 = 1;

/// Which structure of a table something concerns: used by [`Error`] and
/// [`Problem`](crate::Problem) to name the place to fix. NIC and target numbers are the slot
/// numbers in the Control structure (0 or 1).
///
/// ```
/// use ibft::Location;
/// assert_eq!(Location::Target(1).to_string(), "target 1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Location {
    /// The table as a whole (its ACPI header, checksum, length).
    Table,
    /// The Control structure at byte 48.
    Control,
    /// The Initiator structure.
    Initiator,
    /// NIC structure 0 or 1.
    Nic(u8),
    /// Target structure 0 or 1.
    Target(u8),
}

impl Location {
    /// The structure ID this location's structure must carry (none for the table).
    pub(crate) fn structure_id(self) -> u8 {
        match self {
            Location::Table => 0,
            Location::Control => 1,
            Location::Initiator => 2,
            Location::Nic(_) => 3,
            Location::Target(_) => 4,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Table => f.write_str("the table"),
            Location::Control => f.write_str("the control structure"),
            Location::Initiator => f.write_str("the initiator"),
            Location::Nic(i) => write!(f, "NIC {i}"),
            Location::Target(i) => write!(f, "target {i}"),
        }
    }
}

/// A (length, offset) pair pointing into the table's heap, as stored in a structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct StringRef {
    /// Length without the NUL terminator.
    pub(crate) len: u16,
    /// Offset from the start of the table.
    pub(crate) offset: u16,
}

/// A view over one structure's bytes: the standard header plus typed little-endian accessors
/// for the fixed fields, smoltcp style. Offsets are those of the structure's `field` module.
#[derive(Debug, Clone)]
pub(crate) struct StructureView<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> StructureView<T> {
    /// Wraps a buffer known to be the structure's length.
    pub(crate) fn new_unchecked(buffer: T) -> Self {
        StructureView { buffer }
    }

    /// Wraps a buffer of at least `len` bytes, the fixed length of the structure at `location`.
    pub(crate) fn new_checked(buffer: T, len: usize, location: Location) -> Result<Self, Error> {
        let have = buffer.as_ref().len();
        if have < len {
            return Err(Error::Truncated {
                what: match location {
                    Location::Table => "table",
                    Location::Control => "control structure",
                    Location::Initiator => "initiator structure",
                    Location::Nic(_) => "NIC structure",
                    Location::Target(_) => "target structure",
                },
                needed: len,
                have,
            });
        }
        Ok(StructureView { buffer })
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    pub(crate) fn u8_at(&self, offset: usize) -> u8 {
        self.b()[offset]
    }

    pub(crate) fn u16_at(&self, offset: usize) -> u16 {
        u16::from_le_bytes(self.bytes::<2>(offset))
    }

    pub(crate) fn bytes<const N: usize>(&self, offset: usize) -> [u8; N] {
        let mut out = [0u8; N];
        out.copy_from_slice(&self.b()[offset..offset + N]);
        out
    }

    pub(crate) fn ip_raw_at(&self, offset: usize) -> [u8; IP_LEN] {
        self.bytes::<IP_LEN>(offset)
    }

    pub(crate) fn ip_at(&self, offset: usize) -> Option<core::net::IpAddr> {
        address::decode(self.ip_raw_at(offset))
    }

    pub(crate) fn string_at(&self, offset: usize) -> StringRef {
        StringRef {
            len: self.u16_at(offset),
            offset: self.u16_at(offset + 2),
        }
    }

    pub(crate) fn id(&self) -> u8 {
        self.u8_at(field::ID)
    }

    pub(crate) fn version(&self) -> u8 {
        self.u8_at(field::VERSION)
    }

    pub(crate) fn length(&self) -> u16 {
        self.u16_at(field::LENGTH)
    }

    pub(crate) fn index(&self) -> u8 {
        self.u8_at(field::INDEX)
    }

    pub(crate) fn flags(&self) -> Flags {
        Flags(self.u8_at(field::FLAGS))
    }

    /// Checks ID, version and length against the structure at `location` (`len` bytes long),
    /// as Linux's `ibft_verify_hdr` does for ID and length, plus the version.
    pub(crate) fn check_header(
        &self,
        location: Location,
        offset: usize,
        len: usize,
    ) -> Result<(), Error> {
        let bad = |field, found: u16, expected: u16| Error::StructureHeader {
            structure: location,
            offset,
            field,
            found,
            expected,
        };
        let id = location.structure_id();
        if self.id() != id {
            return Err(bad("structure ID", self.id().into(), id.into()));
        }
        if self.version() != VERSION {
            return Err(bad("version", self.version().into(), VERSION.into()));
        }
        if usize::from(self.length()) != len {
            return Err(bad("length", self.length(), len as u16));
        }
        Ok(())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> StructureView<T> {
    fn m(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    pub(crate) fn set_u8(&mut self, offset: usize, value: u8) {
        self.m()[offset] = value;
    }

    pub(crate) fn set_u16(&mut self, offset: usize, value: u16) {
        self.set_bytes(offset, &value.to_le_bytes());
    }

    pub(crate) fn set_bytes(&mut self, offset: usize, value: &[u8]) {
        self.m()[offset..offset + value.len()].copy_from_slice(value);
    }

    pub(crate) fn set_ip(&mut self, offset: usize, addr: Option<core::net::IpAddr>) {
        self.set_bytes(offset, &address::encode(addr));
    }

    pub(crate) fn set_string(&mut self, offset: usize, string: StringRef) {
        self.set_u16(offset, string.len);
        self.set_u16(offset + 2, string.offset);
    }

    /// Writes the standard header: ID, version 1, length, index and flags.
    pub(crate) fn set_header(&mut self, id: u8, len: usize, index: u8, flags: Flags) {
        self.set_u8(field::ID, id);
        self.set_u8(field::VERSION, VERSION);
        self.set_u16(field::LENGTH, len as u16);
        self.set_u8(field::INDEX, index);
        self.set_u8(field::FLAGS, flags.0);
    }
}

/// The view of the `len`-byte structure at `offset` of `table`, after checking that it lies in
/// the table and that its header has the ID, version and length of `location`'s structure.
pub(crate) fn checked_view(
    table: &[u8],
    offset: usize,
    len: usize,
    location: Location,
) -> Result<StructureView<&[u8]>, Error> {
    let bytes = table.get(offset..offset + len).ok_or(Error::OutOfBounds {
        structure: location,
        field: "structure",
        offset,
        len,
        table_len: table.len(),
    })?;
    let view = StructureView::new_unchecked(bytes);
    view.check_header(location, offset, len)?;
    Ok(view)
}

/// What the table-level code needs of each structure kind: its fixed length, where its strings
/// and addresses are, and its parse and emit.
pub(crate) trait Structure: Sized {
    /// The fixed length, header included.
    const LEN: usize;
    /// `(name, offset)` of each string field.
    const STRINGS: &'static [(&'static str, usize)];

    /// Reads the structure at `offset` of `table`.
    fn parse(table: &[u8], offset: usize, location: Location) -> Result<Self, Error>;

    /// The strings in field order (the order of [`Structure::STRINGS`]).
    fn strings(&self) -> alloc::vec::Vec<&str>;

    /// Writes the structure at `offset` of `table`, its strings through `heap`. `table` is long
    /// enough: the caller sized it from [`Structure::LEN`] and the strings.
    fn emit(
        &self,
        table: &mut [u8],
        offset: usize,
        location: Location,
        heap: &mut crate::strings::HeapWriter,
    );
}
