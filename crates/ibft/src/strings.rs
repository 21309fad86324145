//! The heap of strings after the structures ("Conventions: Heap Array Format"): each string is
//! a (length, offset) pair in its structure, the bytes in the heap, then a NUL that the length
//! does not count. An absent string is (0, 0).

use alloc::string::String;

use crate::structure::StringRef;
use crate::{Error, Location};

/// Reads the string `r` of the table `table`, checking that it lies inside the table.
///
/// An empty string (length 0) reads as `""` whatever its offset. The bytes are copied only after
/// the bounds check, so the allocation is bounded by the table's length.
pub(crate) fn read(
    table: &[u8],
    r: StringRef,
    structure: Location,
    field: &'static str,
) -> Result<String, Error> {
    let (len, offset) = (usize::from(r.len), usize::from(r.offset));
    if len == 0 {
        return Ok(String::new());
    }
    if offset == 0 {
        return Err(Error::StringAtZero {
            structure,
            field,
            len,
        });
    }
    let bytes = table.get(offset..offset + len).ok_or(Error::OutOfBounds {
        structure,
        field,
        offset,
        len,
        table_len: table.len(),
    })?;
    let text = core::str::from_utf8(bytes).map_err(|_| Error::NotUtf8 {
        structure,
        field,
        offset,
    })?;
    Ok(String::from(text))
}

/// Appends strings to the heap of a table being emitted.
#[derive(Debug)]
pub(crate) struct HeapWriter {
    /// Offset of the next free heap byte.
    next: usize,
}

impl HeapWriter {
    /// A heap that starts at byte `start` of the table.
    pub(crate) fn new(start: usize) -> Self {
        HeapWriter { next: start }
    }

    /// Bytes a string takes in the heap: nothing when empty, else its bytes and a NUL.
    pub(crate) fn space(s: &str) -> usize {
        if s.is_empty() { 0 } else { s.len() + 1 }
    }

    /// Writes `s` and its NUL into `table` and returns its (length, offset); `(0, 0)` for an
    /// empty string. The caller sized `table` with [`HeapWriter::space`] and checked that every
    /// offset fits 16 bits, so the conversions and the slice cannot fail; should they, the
    /// string is left out rather than panicking.
    pub(crate) fn put(&mut self, table: &mut [u8], s: &str) -> StringRef {
        let (Ok(len), Ok(offset)) = (u16::try_from(s.len()), u16::try_from(self.next)) else {
            return StringRef::default();
        };
        if len == 0 {
            return StringRef::default();
        }
        let Some(dest) = table.get_mut(self.next..self.next + s.len() + 1) else {
            return StringRef::default();
        };
        let (text, nul) = dest.split_at_mut(s.len());
        text.copy_from_slice(s.as_bytes());
        nul[0] = 0;
        self.next += s.len() + 1;
        StringRef { len, offset }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_string_inside_table_and_rejects_outside() {
        let table = b"0123456789abc\0";
        let r = StringRef { len: 3, offset: 10 };
        assert_eq!(read(table, r, Location::Initiator, "name").unwrap(), "abc");
        let r = StringRef { len: 5, offset: 10 };
        assert_eq!(
            read(table, r, Location::Initiator, "name"),
            Err(Error::OutOfBounds {
                structure: Location::Initiator,
                field: "name",
                offset: 10,
                len: 5,
                table_len: 14
            })
        );
    }

    #[test]
    fn empty_string_is_absent_and_offset_zero_is_rejected() {
        let table = [0u8; 8];
        let r = StringRef { len: 0, offset: 5 };
        assert_eq!(read(&table, r, Location::Nic(0), "hostname").unwrap(), "");
        let r = StringRef { len: 2, offset: 0 };
        assert!(matches!(
            read(&table, r, Location::Nic(0), "hostname"),
            Err(Error::StringAtZero { len: 2, .. })
        ));
    }

    #[test]
    fn rejects_non_utf8() {
        let table = [0u8, 0xff, 0xfe, 0];
        let r = StringRef { len: 2, offset: 1 };
        assert!(matches!(
            read(&table, r, Location::Target(1), "CHAP secret"),
            Err(Error::NotUtf8 { offset: 1, .. })
        ));
    }

    #[test]
    fn writer_terminates_each_string() {
        let mut table = [0xaau8; 10];
        let mut heap = HeapWriter::new(2);
        assert_eq!(heap.put(&mut table, ""), StringRef::default());
        assert_eq!(heap.put(&mut table, "ab"), StringRef { len: 2, offset: 2 });
        assert_eq!(heap.put(&mut table, "cde"), StringRef { len: 3, offset: 5 });
        assert_eq!(&table[2..9], b"ab\0cde\0");
        assert_eq!(HeapWriter::space("cde"), 4);
    }
}
