//! The table header ("Layout: Table Header" of the iBFT spec): the 36-byte ACPI System
//! Description Table header followed by 12 reserved bytes. The Control structure follows at
//! byte 48.

use core::fmt;

use crate::structure::StructureView;
use crate::{Error, Location};

/// Length of the table header; the Control structure starts here.
///
/// ```
/// use ibft::{CONTROL_LEN, Ibft, TABLE_HEADER_LEN};
/// let bytes = Ibft::default().to_bytes()?;
/// assert_eq!(bytes.len(), TABLE_HEADER_LEN + CONTROL_LEN);
/// assert_eq!(bytes[TABLE_HEADER_LEN], 1); // the Control structure's ID
/// # Ok::<(), ibft::Error>(())
/// ```
pub const TABLE_HEADER_LEN: usize = 48;

/// Byte offsets of the table header.
pub(crate) mod field {
    /// Signature, 4 ASCII bytes.
    pub(crate) const SIGNATURE: usize = 0;
    /// Length of the whole table (u32).
    pub(crate) const LENGTH: usize = 4;
    /// Revision: 1.
    pub(crate) const REVISION: usize = 8;
    /// OEM ID, 6 bytes.
    pub(crate) const OEM_ID: usize = 10;
    /// OEM Table ID, 8 bytes.
    pub(crate) const OEM_TABLE_ID: usize = 16;
    /// OEM Revision (u32).
    pub(crate) const OEM_REVISION: usize = 24;
    /// Creator ID, 4 bytes.
    pub(crate) const CREATOR_ID: usize = 28;
    /// Creator Revision (u32).
    pub(crate) const CREATOR_REVISION: usize = 32;
    /// 12 reserved bytes.
    pub(crate) const RESERVED: usize = 36;
}

/// The one table revision the spec defines; Linux refuses any other.
pub(crate) const REVISION: u8 = 1;

/// The table's signature, which depends on where firmware puts it.
///
/// The spec names the table `"iBFT"` when firmware leaves it in low memory and ACPI names it
/// `"IBFT"`; Linux looks for `"IBFT"`, `"iBFT"` and Broadcom's `"BIFT"` among the ACPI tables
/// and for `"iBFT"` and `"BIFT"` in memory. iPXE and EDK2 write `"iBFT"` in both places.
///
/// ```
/// use ibft::Signature;
/// assert_eq!(Signature::Bios.bytes(), *b"iBFT");
/// assert_eq!(Signature::from_bytes(*b"IBFT"), Some(Signature::Acpi));
/// assert_eq!(Signature::from_bytes(*b"FACP"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Signature {
    /// `"iBFT"`: a table in BIOS memory (and what most firmware installs in ACPI too).
    #[default]
    Bios,
    /// `"IBFT"`: the ACPI table signature.
    Acpi,
    /// `"BIFT"`: Broadcom offload firmware.
    Broadcom,
}

impl Signature {
    /// The four signature bytes.
    ///
    /// ```
    /// use ibft::{Ibft, Placement, Signature};
    /// let table = Ibft { header: Placement::BiosMemory.header(), ..Ibft::default() }.to_bytes()?;
    /// assert_eq!(table[..4], Signature::Bios.bytes());
    /// assert_eq!(Signature::Acpi.bytes(), *b"IBFT");
    /// # Ok::<(), ibft::Error>(())
    /// ```
    pub fn bytes(self) -> [u8; 4] {
        match self {
            Signature::Bios => *b"iBFT",
            Signature::Acpi => *b"IBFT",
            Signature::Broadcom => *b"BIFT",
        }
    }

    /// The signature these bytes spell, if any.
    ///
    /// ```
    /// use ibft::Signature;
    /// assert_eq!(Signature::from_bytes(*b"BIFT"), Some(Signature::Broadcom));
    /// assert_eq!(Signature::from_bytes(*b"ibft"), None); // case matters
    /// ```
    pub fn from_bytes(bytes: [u8; 4]) -> Option<Self> {
        match &bytes {
            b"iBFT" => Some(Signature::Bios),
            b"IBFT" => Some(Signature::Acpi),
            b"BIFT" => Some(Signature::Broadcom),
            _ => None,
        }
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.bytes();
        // The signatures are ASCII.
        for c in b {
            fmt::Write::write_char(f, char::from(c))?;
        }
        Ok(())
    }
}

/// The OEM ID this crate writes when the caller gives none.
///
/// ```
/// use ibft::{DEFAULT_OEM_ID, Ibft, Placement};
/// let table = Ibft { header: Placement::BiosMemory.header(), ..Ibft::default() }.to_bytes()?;
/// assert_eq!(table[10..16], DEFAULT_OEM_ID); // the header's OEM ID field
/// # Ok::<(), ibft::Error>(())
/// ```
pub const DEFAULT_OEM_ID: [u8; 6] = *b"DLSCSI";
/// The OEM Table ID this crate writes when the caller gives none.
///
/// ```
/// use ibft::{DEFAULT_OEM_TABLE_ID, Ibft, Placement};
/// let table = Ibft { header: Placement::BiosMemory.header(), ..Ibft::default() }.to_bytes()?;
/// assert_eq!(table[16..24], DEFAULT_OEM_TABLE_ID); // the header's OEM Table ID field
/// # Ok::<(), ibft::Error>(())
/// ```
pub const DEFAULT_OEM_TABLE_ID: [u8; 8] = *b"DLSCIBFT";

/// Where the table is meant to go, which picks its signature and OEM identifiers.
///
/// ```
/// use ibft::{Placement, Signature};
/// let acpi = Placement::Acpi { oem_id: *b"FENSYS", oem_table_id: *b"iPXE\0\0\0\0" };
/// assert_eq!(acpi.header().signature, Signature::Acpi);
/// assert_eq!(Placement::BiosMemory.header().signature, Signature::Bios);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Placement {
    /// In base memory between 512 KiB and 1 MiB, where Linux scans for it on BIOS machines:
    /// signature `"iBFT"`, OEM IDs [`DEFAULT_OEM_ID`] and [`DEFAULT_OEM_TABLE_ID`].
    #[default]
    BiosMemory,
    /// Installed as an ACPI table (required on UEFI machines, iBFT 1.03 §1.4.3.1): signature
    /// `"IBFT"`. ACPI tables usually carry the OEM IDs of the platform's other tables (EDK2
    /// copies those of the RSDT).
    Acpi {
        /// OEM ID (6 bytes, space or NUL padded).
        oem_id: [u8; 6],
        /// OEM Table ID (8 bytes, space or NUL padded).
        oem_table_id: [u8; 8],
    },
}

impl Placement {
    /// The table header this placement produces (revisions and creator fields zero, as iPXE
    /// writes them).
    ///
    /// ```
    /// use ibft::{Placement, Signature};
    /// let header = Placement::Acpi { oem_id: *b"FENSYS", oem_table_id: *b"iPXE\0\0\0\0" }.header();
    /// assert_eq!(header.signature, Signature::Acpi);
    /// assert_eq!(header.oem_id, *b"FENSYS");
    /// assert_eq!(header.creator_revision, 0);
    /// ```
    pub fn header(self) -> TableHeader {
        let (signature, oem_id, oem_table_id) = match self {
            Placement::BiosMemory => (Signature::Bios, DEFAULT_OEM_ID, DEFAULT_OEM_TABLE_ID),
            Placement::Acpi {
                oem_id,
                oem_table_id,
            } => (Signature::Acpi, oem_id, oem_table_id),
        };
        TableHeader {
            signature,
            oem_id,
            oem_table_id,
            oem_revision: 0,
            creator_id: [0; 4],
            creator_revision: 0,
        }
    }
}

/// The meaning of the table header. Length, revision and checksum are not kept: emitting
/// computes them.
///
/// ```
/// use ibft::{Ibft, Placement, TableHeader};
/// let header = TableHeader { oem_revision: 7, creator_id: *b"DLSC", ..Placement::BiosMemory.header() };
/// let bytes = Ibft { header, ..Ibft::default() }.to_bytes()?;
/// assert_eq!(Ibft::parse(&bytes)?.header, header);
/// # Ok::<(), ibft::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TableHeader {
    /// The signature.
    pub signature: Signature,
    /// OEM ID (iPXE: `"FENSYS"`).
    pub oem_id: [u8; 6],
    /// OEM Table ID (iPXE: `"iPXE"` and four NULs).
    pub oem_table_id: [u8; 8],
    /// OEM Revision.
    pub oem_revision: u32,
    /// Creator ID.
    pub creator_id: [u8; 4],
    /// Creator Revision.
    pub creator_revision: u32,
}

/// What the table header says about the table, before the structures are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeaderFacts {
    pub(crate) header: TableHeader,
    /// The Length field.
    pub(crate) length: u32,
    pub(crate) revision: u8,
    /// Whether the reserved bytes 36..48 are all zero.
    pub(crate) reserved_zero: bool,
}

impl TableHeader {
    /// Reads the header fields of `bytes` (at least [`TABLE_HEADER_LEN`] long). The signature
    /// must be one of the three known ones; length, revision and checksum are left to the
    /// caller.
    pub(crate) fn read(bytes: &[u8]) -> Result<HeaderFacts, Error> {
        let view =
            StructureView::new_checked(bytes, TABLE_HEADER_LEN, Location::Table).map_err(|_| {
                Error::Truncated {
                    what: "table header",
                    needed: TABLE_HEADER_LEN,
                    have: bytes.len(),
                }
            })?;
        let found = view.bytes::<4>(field::SIGNATURE);
        let signature = Signature::from_bytes(found).ok_or(Error::Signature { found })?;
        let u32_at = |offset| u32::from_le_bytes(view.bytes::<4>(offset));
        Ok(HeaderFacts {
            header: TableHeader {
                signature,
                oem_id: view.bytes::<6>(field::OEM_ID),
                oem_table_id: view.bytes::<8>(field::OEM_TABLE_ID),
                oem_revision: u32_at(field::OEM_REVISION),
                creator_id: view.bytes::<4>(field::CREATOR_ID),
                creator_revision: u32_at(field::CREATOR_REVISION),
            },
            length: u32_at(field::LENGTH),
            revision: view.u8_at(field::REVISION),
            reserved_zero: view.bytes::<12>(field::RESERVED) == [0; 12],
        })
    }

    /// Writes the header into the first [`TABLE_HEADER_LEN`] bytes of `table`, with `length`
    /// and revision 1; the checksum byte is left zero for the caller to fix last.
    pub(crate) fn write(&self, table: &mut [u8], length: u32) {
        let mut view = StructureView::new_unchecked(table);
        view.set_bytes(field::SIGNATURE, &self.signature.bytes());
        view.set_bytes(field::LENGTH, &length.to_le_bytes());
        view.set_u8(field::REVISION, REVISION);
        view.set_bytes(field::OEM_ID, &self.oem_id);
        view.set_bytes(field::OEM_TABLE_ID, &self.oem_table_id);
        view.set_bytes(field::OEM_REVISION, &self.oem_revision.to_le_bytes());
        view.set_bytes(field::CREATOR_ID, &self.creator_id);
        view.set_bytes(
            field::CREATOR_REVISION,
            &self.creator_revision.to_le_bytes(),
        );
    }
}
