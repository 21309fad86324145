//! The whole table: header, Control, Initiator, up to two NICs and two Targets, and the heap of
//! strings. [`Ibft`] is its meaning; `parse` reads it and `emit` lays it out.

use alloc::vec::Vec;

use crate::acpi::{REVISION, TABLE_HEADER_LEN, TableHeader};
use crate::checksum;
use crate::control::{CONTROL_LEN, Slots};
use crate::strings::HeapWriter;
use crate::structure::Structure;
use crate::{Control, Error, Initiator, Location, Nic, Target};

/// The largest table: offsets are 16-bit.
///
/// ```
/// use ibft::{Error, Ibft, Initiator, MAX_TABLE_LEN};
/// let name = "x".repeat(MAX_TABLE_LEN);
/// let ibft = Ibft { initiator: Some(Initiator { name, ..Initiator::default() }), ..Ibft::default() };
/// assert!(matches!(ibft.to_bytes(), Err(Error::TooLarge { len }) if len > MAX_TABLE_LEN));
/// ```
pub const MAX_TABLE_LEN: usize = u16::MAX as usize;

/// Structures are 8-byte aligned ("Each structure must be aligned on an 8 byte boundary",
/// iBFT spec "Structure Alignment in Memory").
pub(crate) const ALIGN: usize = 8;

/// The smallest table: the header and the Control structure.
pub(crate) const MIN_TABLE_LEN: usize = TABLE_HEADER_LEN + CONTROL_LEN;

pub(crate) fn align(offset: usize) -> usize {
    offset.div_ceil(ALIGN) * ALIGN
}

/// An iSCSI Boot Firmware Table: what the firmware tells the OS about the iSCSI disk it booted
/// from.
///
/// NIC `i` and target `i` are the structures the Control structure's slots `i` point to. Use
/// [`IbftBuilder`](crate::IbftBuilder) to make one that is also consistent (CHAP credentials
/// that match the CHAP type, targets that point to NICs that exist).
///
/// ```
/// use ibft::{Ibft, Initiator, Target};
/// let ibft = Ibft {
///     initiator: Some(Initiator { name: "iqn.2010-04.org.ipxe:client".into(), ..Initiator::default() }),
///     targets: [Some(Target { name: "iqn.2010-04.org.example:disk".into(), ..Target::default() }), None],
///     ..Ibft::default()
/// };
/// let bytes = ibft.to_bytes()?;
/// assert_eq!(&bytes[..4], b"iBFT");
/// assert_eq!(Ibft::parse(&bytes)?, ibft);
/// # Ok::<(), ibft::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Ibft {
    /// The table header's signature and OEM fields.
    pub header: TableHeader,
    /// The Control structure's flags.
    pub control: Control,
    /// The Initiator structure.
    pub initiator: Option<Initiator>,
    /// NIC structures 0 and 1.
    pub nics: [Option<Nic>; 2],
    /// Target structures 0 and 1.
    pub targets: [Option<Target>; 2],
}

/// Where each structure goes, and the table's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) slots: Slots,
    pub(crate) heap_start: usize,
    pub(crate) len: usize,
}

impl Ibft {
    /// Reads a table from `bytes`, which start with the table header and may run past the
    /// table's end (a scan of BIOS memory hands over more than the table).
    ///
    /// It checks what Linux checks (signature, revision 1, checksum, Control ID, length 18 and
    /// index 0, each structure's ID and exact length) and more: structure versions, and that
    /// every structure and string lies inside the table. It does not check that the contents
    /// make sense: [`Ibft::lint`] does.
    ///
    /// ```
    /// use ibft::{Error, Ibft, Initiator};
    /// let ibft = Ibft { initiator: Some(Initiator { name: "iqn.2010-04.org.ipxe:client".into(), ..Initiator::default() }), ..Ibft::default() };
    /// let mut bytes = ibft.to_bytes()?;
    /// bytes.extend_from_slice(&[0xff; 32]); // whatever follows the table in memory
    /// assert_eq!(Ibft::parse(&bytes)?, ibft);
    /// bytes[9] ^= 1; // the checksum byte
    /// assert!(matches!(Ibft::parse(&bytes), Err(Error::Checksum { .. })));
    /// # Ok::<(), ibft::Error>(())
    /// ```
    ///
    /// # Errors
    /// The first problem found, as an [`Error`] naming the structure and byte offset.
    ///
    /// # Fuzzing
    /// Under `cfg(fuzzing)` the checksum is not verified, so that fuzzers get past it.
    pub fn parse(bytes: &[u8]) -> Result<Ibft, Error> {
        let table = table_bytes(bytes)?;
        let (control, slots) = Control::parse(table)?;
        Ok(Ibft {
            header: TableHeader::read(table)?.header,
            control,
            initiator: read_slot(table, slots.initiator, Location::Initiator)?,
            nics: [
                read_slot(table, slots.nics[0], Location::Nic(0))?,
                read_slot(table, slots.nics[1], Location::Nic(1))?,
            ],
            targets: [
                read_slot(table, slots.targets[0], Location::Target(0))?,
                read_slot(table, slots.targets[1], Location::Target(1))?,
            ],
        })
    }

    /// Where [`Ibft::emit`] puts each structure: Control at 48, then the Initiator, NIC 0,
    /// Target 0, NIC 1 and Target 1 that are present, each 8-byte aligned, then the strings.
    pub(crate) fn layout(&self) -> Result<Layout, Error> {
        let mut slots = Slots::default();
        let mut next = TABLE_HEADER_LEN + CONTROL_LEN;
        let mut heap = 0usize;
        let mut place = |present: bool, len: usize, strings: Vec<&str>| -> u16 {
            if !present {
                return 0;
            }
            let offset = align(next);
            next = offset + len;
            heap += strings.into_iter().map(HeapWriter::space).sum::<usize>();
            // Checked against MAX_TABLE_LEN below, before any offset is used.
            offset as u16
        };
        slots.initiator = place(
            self.initiator.is_some(),
            Initiator::LEN,
            self.initiator
                .as_ref()
                .map(Structure::strings)
                .unwrap_or_default(),
        );
        for i in 0..2 {
            slots.nics[i] = place(
                self.nics[i].is_some(),
                Nic::LEN,
                self.nics[i]
                    .as_ref()
                    .map(Structure::strings)
                    .unwrap_or_default(),
            );
            slots.targets[i] = place(
                self.targets[i].is_some(),
                Target::LEN,
                self.targets[i]
                    .as_ref()
                    .map(Structure::strings)
                    .unwrap_or_default(),
            );
        }
        let len = next + heap;
        if len > MAX_TABLE_LEN {
            return Err(Error::TooLarge { len });
        }
        Ok(Layout {
            slots,
            heap_start: next,
            len,
        })
    }

    /// The length of the table [`Ibft::emit`] writes.
    ///
    /// ```
    /// use ibft::{CONTROL_LEN, Ibft, TABLE_HEADER_LEN};
    /// let ibft = Ibft::default();
    /// assert_eq!(ibft.buffer_len()?, TABLE_HEADER_LEN + CONTROL_LEN);
    /// assert_eq!(ibft.buffer_len()?, ibft.to_bytes()?.len());
    /// # Ok::<(), ibft::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::TooLarge`] if the strings make the table 64 KiB or more.
    pub fn buffer_len(&self) -> Result<usize, Error> {
        Ok(self.layout()?.len)
    }

    /// Writes the table into `buf`, which must be exactly [`Ibft::buffer_len`] bytes. Every
    /// derived field is computed here: offsets, lengths, string lengths and offsets, the table
    /// length, revision and checksum. Empty strings are written as absent (length and offset 0),
    /// absent addresses as sixteen zero bytes.
    ///
    /// ```
    /// use ibft::{Error, Ibft};
    /// let ibft = Ibft::default();
    /// let mut buf = vec![0u8; ibft.buffer_len()?];
    /// ibft.emit(&mut buf)?;
    /// assert_eq!(&buf[..4], b"iBFT");
    /// assert_eq!(ibft::checksum::sum(&buf), 0);
    /// assert!(matches!(ibft.emit(&mut [0u8; 10]), Err(Error::BufferSize { have: 10, .. })));
    /// # Ok::<(), ibft::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::TooLarge`], or [`Error::BufferSize`] if `buf` has the wrong length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), Error> {
        let layout = self.layout()?;
        if buf.len() != layout.len {
            return Err(Error::BufferSize {
                needed: layout.len,
                have: buf.len(),
            });
        }
        buf.fill(0);
        self.header.write(buf, layout.len as u32);
        self.control.emit(buf, &layout.slots);
        let mut heap = HeapWriter::new(layout.heap_start);
        let slots = layout.slots;
        if let Some(initiator) = &self.initiator {
            initiator.emit(
                buf,
                usize::from(slots.initiator),
                Location::Initiator,
                &mut heap,
            );
        }
        for i in 0..2 {
            if let Some(nic) = &self.nics[i] {
                nic.emit(
                    buf,
                    usize::from(slots.nics[i]),
                    Location::Nic(i as u8),
                    &mut heap,
                );
            }
            if let Some(target) = &self.targets[i] {
                let location = Location::Target(i as u8);
                target.emit(buf, usize::from(slots.targets[i]), location, &mut heap);
            }
        }
        checksum::fix(buf);
        Ok(())
    }

    /// The table as bytes: [`Ibft::emit`] into a new buffer.
    ///
    /// ```
    /// use ibft::{Ibft, Target};
    /// let ibft = Ibft { targets: [Some(Target { name: "iqn.2010-04.org.example:disk".into(), ..Target::default() }), None], ..Ibft::default() };
    /// let bytes = ibft.to_bytes()?;
    /// assert_eq!(bytes.len(), ibft.buffer_len()?);
    /// assert_eq!(Ibft::parse(&bytes)?, ibft);
    /// # Ok::<(), ibft::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::TooLarge`] if the strings make the table 64 KiB or more.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut buf = alloc::vec![0u8; self.buffer_len()?];
        self.emit(&mut buf)?;
        Ok(buf)
    }
}

/// The table's bytes (`Length` of them) after the header checks: known signature, a length
/// that covers header and Control and fits in `bytes` and in 16-bit offsets, revision 1, and a
/// zero checksum.
pub(crate) fn table_bytes(bytes: &[u8]) -> Result<&[u8], Error> {
    let facts = TableHeader::read(bytes)?;
    let length = facts.length;
    let len = usize::try_from(length).unwrap_or(usize::MAX);
    if len < MIN_TABLE_LEN {
        return Err(Error::TableLength {
            length,
            reason: "shorter than the header and the control structure (66 bytes)",
        });
    }
    if len > MAX_TABLE_LEN {
        return Err(Error::TableLength {
            length,
            reason: "offsets are 16-bit, so a table is at most 65535 bytes",
        });
    }
    let table = bytes.get(..len).ok_or(Error::Truncated {
        what: "table",
        needed: len,
        have: bytes.len(),
    })?;
    if facts.revision != REVISION {
        return Err(Error::Revision {
            found: facts.revision,
        });
    }
    let sum = checksum::sum(table);
    if sum != 0 && !cfg!(fuzzing) {
        return Err(Error::Checksum {
            sum,
            stored: table[checksum::CHECKSUM_OFFSET],
            expected: checksum::expected(table),
        });
    }
    Ok(table)
}

fn read_slot<S: Structure>(
    table: &[u8],
    offset: u16,
    location: Location,
) -> Result<Option<S>, Error> {
    if offset == 0 {
        return Ok(None);
    }
    S::parse(table, usize::from(offset), location).map(Some)
}
