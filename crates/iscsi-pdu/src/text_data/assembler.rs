//! Text split over several PDUs with the C (Continue) bit (RFC 7143 §6.1 "Text Format").
//!
//! "Key=value pairs may span PDU boundaries. An initiator or target that sends partial
//! key=value text within a PDU indicates that more text follows by setting the C bit in the Text
//! or Login Request or the Text or Login Response to 1. Data segments in a series of PDUs that
//! have the C bit set to 1 and end with a PDU that has the C bit set to 0, or that include a
//! single PDU that has the C bit set to 0, have to be considered as forming a single
//! logical-text-data-segment (LTDS)."

use std::iter::FusedIterator;

use super::TextPairs;
use crate::{Error, TextProblem};

/// Default bound on one reassembled text, in bytes: 64 KiB. "Any iSCSI target or initiator MUST
/// support receiving at least 8192 bytes of key=value data in a negotiation sequence. When
/// proposing or accepting authentication methods that explicitly require support for very long
/// authentication items, the initiator and target MUST support receiving at least 64 kilobytes
/// of key=value data" (RFC 7143 §6.1).
///
/// ```
/// use iscsi_pdu::text_data::{TextAssembler, DEFAULT_MAX_TEXT_LEN};
/// assert_eq!(TextAssembler::new().max_len(), DEFAULT_MAX_TEXT_LEN);
/// assert_eq!(DEFAULT_MAX_TEXT_LEN, 65536);
/// ```
pub const DEFAULT_MAX_TEXT_LEN: usize = 64 * 1024;

/// Reassembles the data segments of a series of Login or Text PDUs into one text and parses it.
///
/// Feed each PDU's data segment with its C bit to [`TextAssembler::push`]; a pair may be split
/// at any byte. The total is bounded ([`DEFAULT_MAX_TEXT_LEN`] unless set otherwise), and the
/// bound is checked before anything past it is stored. After a complete text or an error the
/// assembler is empty and ready for the next series.
///
/// ```
/// use iscsi_pdu::text_data::TextAssembler;
/// let mut asm = TextAssembler::new();
/// assert_eq!(asm.push(b"InitiatorName=iqn.2010-04.org.ipxe:52540012345\0Sess", true)?, None);
/// let pairs = asm.push(b"ionType=Normal\0", false)?.ok_or("the text is incomplete")?;
/// assert_eq!(pairs.get("SessionType"), Some("Normal"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct TextAssembler {
    buf: Vec<u8>,
    max: usize,
}

impl Default for TextAssembler {
    /// Same as [`TextAssembler::new`].
    fn default() -> Self {
        Self::new()
    }
}

impl TextAssembler {
    /// An empty assembler bounded at [`DEFAULT_MAX_TEXT_LEN`].
    ///
    /// ```
    /// use iscsi_pdu::text_data::TextAssembler;
    /// assert_eq!(TextAssembler::new().buffered(), 0);
    /// ```
    pub fn new() -> Self {
        Self::with_max_len(DEFAULT_MAX_TEXT_LEN)
    }

    /// An empty assembler bounded at `max` bytes. RFC 7143 requires accepting at least 8192
    /// bytes, so smaller bounds are for tests.
    ///
    /// ```
    /// use iscsi_pdu::text_data::TextAssembler;
    /// assert_eq!(TextAssembler::with_max_len(8192).max_len(), 8192);
    /// ```
    pub fn with_max_len(max: usize) -> Self {
        TextAssembler {
            buf: Vec::new(),
            max,
        }
    }

    /// The bound on one reassembled text, in bytes.
    ///
    /// ```
    /// use iscsi_pdu::text_data::TextAssembler;
    /// assert_eq!(TextAssembler::with_max_len(100).max_len(), 100);
    /// ```
    pub fn max_len(&self) -> usize {
        self.max
    }

    /// Bytes held from PDUs that had the C bit set.
    ///
    /// ```
    /// use iscsi_pdu::text_data::TextAssembler;
    /// let mut asm = TextAssembler::new();
    /// asm.push(b"Key", true)?;
    /// assert_eq!(asm.buffered(), 3);
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Whether a text is partly received (an earlier PDU had the C bit set).
    ///
    /// ```
    /// use iscsi_pdu::text_data::TextAssembler;
    /// let mut asm = TextAssembler::new();
    /// assert!(!asm.is_partial());
    /// asm.push(b"A=", true)?;
    /// assert!(asm.is_partial());
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn is_partial(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Drops any partly received text.
    ///
    /// ```
    /// use iscsi_pdu::text_data::TextAssembler;
    /// let mut asm = TextAssembler::new();
    /// asm.push(b"A=", true)?;
    /// asm.reset();
    /// assert_eq!(asm.buffered(), 0);
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn reset(&mut self) {
        self.buf.clear();
    }

    /// Adds one PDU's data segment. With `continue_bit` set more text follows and the result is
    /// `Ok(None)`; otherwise the whole text is parsed with [`TextPairs::parse`] and returned.
    ///
    /// # Errors
    ///
    /// [`Error::Text`] with [`TextProblem::TooLarge`] if the text would exceed the bound (at the
    /// offset of the first byte past it), or any error of [`TextPairs::parse`] for the complete
    /// text. Either way the assembler is emptied.
    ///
    /// ```
    /// use iscsi_pdu::{Error, TextProblem, text_data::TextAssembler};
    /// let mut asm = TextAssembler::with_max_len(8);
    /// asm.push(b"A=12", true)?;
    /// assert_eq!(
    ///     asm.push(b"34567\0", false),
    ///     Err(Error::Text { problem: TextProblem::TooLarge { max: 8 }, offset: 8 }),
    /// );
    /// assert_eq!(asm.buffered(), 0);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn push(&mut self, data: &[u8], continue_bit: bool) -> Result<Option<TextPairs>, Error> {
        if data.len() > self.max.saturating_sub(self.buf.len()) {
            self.reset();
            return Err(Error::Text {
                problem: TextProblem::TooLarge { max: self.max },
                offset: self.max,
            });
        }
        if continue_bit {
            self.buf.extend_from_slice(data);
            return Ok(None);
        }
        if self.buf.is_empty() {
            // The usual case, one PDU: parse in place.
            return TextPairs::parse(data).map(Some);
        }
        self.buf.extend_from_slice(data);
        let result = TextPairs::parse(&self.buf);
        self.reset();
        result.map(Some)
    }
}

/// Splits encoded text into data segments of at most `max_segment` bytes, each with the C bit to
/// send it with: set on all but the last. The split may fall anywhere, even inside a key, as
/// RFC 7143 §6.1 allows. Empty text gives one empty segment with the C bit clear. A
/// `max_segment` of 0 is treated as 1, so that the split always progresses.
///
/// ```
/// use iscsi_pdu::text_data::split_for_pdus;
/// let chunks: Vec<_> = split_for_pdus(b"A=1\0B=2\0", 3).collect();
/// assert_eq!(chunks, [(&b"A=1"[..], true), (&b"\0B="[..], true), (&b"2\0"[..], false)]);
/// assert_eq!(split_for_pdus(b"", 512).collect::<Vec<_>>(), [(&b""[..], false)]);
/// ```
pub fn split_for_pdus(data: &[u8], max_segment: usize) -> TextChunks<'_> {
    TextChunks {
        rest: data,
        max: max_segment.max(1),
        done: false,
    }
}

/// Iterator of `(segment, continue_bit)` from [`split_for_pdus`].
///
/// ```
/// use iscsi_pdu::text_data::split_for_pdus;
/// let chunks = split_for_pdus(&[b'a'; 10], 4);
/// assert_eq!(chunks.len(), 3);
/// ```
#[derive(Debug, Clone)]
pub struct TextChunks<'a> {
    rest: &'a [u8],
    max: usize,
    done: bool,
}

impl<'a> Iterator for TextChunks<'a> {
    type Item = (&'a [u8], bool);

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let (chunk, rest) = self.rest.split_at_checked(self.max.min(self.rest.len()))?;
        self.rest = rest;
        let more = !rest.is_empty();
        self.done = !more;
        Some((chunk, more))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = if self.done {
            0
        } else {
            self.rest.len().div_ceil(self.max).max(1)
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for TextChunks<'_> {}

impl FusedIterator for TextChunks<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reassembles_pair_split_inside_the_key() {
        let mut asm = TextAssembler::new();
        assert_eq!(asm.push(b"Header", true), Ok(None));
        assert_eq!(asm.push(b"Digest=No", true), Ok(None));
        let pairs = asm.push(b"ne\0", false).unwrap().unwrap();
        assert_eq!(pairs.get("HeaderDigest"), Some("None"));
        assert!(!asm.is_partial());
    }

    #[test]
    fn accepts_empty_continuation_segments() {
        let mut asm = TextAssembler::new();
        assert_eq!(asm.push(b"", true), Ok(None));
        assert_eq!(asm.push(b"A=1\0", true), Ok(None));
        assert_eq!(asm.push(b"", false).unwrap().unwrap().get("A"), Some("1"));
    }

    #[test]
    fn reports_parse_errors_at_offsets_in_the_whole_text() {
        let mut asm = TextAssembler::new();
        asm.push(b"A=1\0", true).unwrap();
        assert_eq!(
            asm.push(b"Oops\0", false),
            Err(Error::Text {
                problem: TextProblem::MissingEquals,
                offset: 4
            })
        );
        assert_eq!(asm.buffered(), 0);
    }

    #[test]
    fn rejects_text_past_the_bound_before_buffering_it() {
        let mut asm = TextAssembler::with_max_len(10);
        asm.push(b"A=12345", true).unwrap();
        let err = asm.push(b"6789", true).unwrap_err();
        assert_eq!(
            err,
            Error::Text {
                problem: TextProblem::TooLarge { max: 10 },
                offset: 10
            }
        );
        assert_eq!(asm.buffered(), 0);
        // Exactly at the bound is fine.
        asm.push(b"A=12345", true).unwrap();
        assert!(asm.push(b"67\0", false).unwrap().is_some());
    }

    #[test]
    fn applies_the_bound_to_a_single_pdu_too() {
        let mut asm = TextAssembler::with_max_len(4);
        assert!(asm.push(b"A=123\0", false).is_err());
        assert!(asm.push(b"A=1\0", false).is_ok());
    }

    #[test]
    fn is_ready_for_the_next_text_after_one_completes() {
        let mut asm = TextAssembler::new();
        asm.push(b"A=", true).unwrap();
        assert_eq!(
            asm.push(b"1\0", false).unwrap().unwrap().get("A"),
            Some("1")
        );
        assert_eq!(
            asm.push(b"B=2\0", false).unwrap().unwrap().get("B"),
            Some("2")
        );
    }

    #[test]
    fn splits_exact_multiples_without_an_empty_tail() {
        let chunks: Vec<_> = split_for_pdus(b"abcdef", 3).collect();
        assert_eq!(chunks, [(&b"abc"[..], true), (&b"def"[..], false)]);
        let chunks: Vec<_> = split_for_pdus(b"abc", 8).collect();
        assert_eq!(chunks, [(&b"abc"[..], false)]);
    }

    #[test]
    fn treats_zero_max_segment_as_one() {
        let chunks: Vec<_> = split_for_pdus(b"ab", 0).collect();
        assert_eq!(chunks, [(&b"a"[..], true), (&b"b"[..], false)]);
    }

    #[test]
    fn size_hint_is_exact() {
        for len in 0..20 {
            let data = vec![b'x'; len];
            for max in 1..7 {
                let mut it = split_for_pdus(&data, max);
                let mut expected = it.len();
                while it.next().is_some() {
                    expected -= 1;
                    assert_eq!(it.len(), expected);
                }
                assert_eq!(expected, 0);
            }
        }
    }
}
