//! `key=value\0` pairs: the data of Login and Text PDUs (RFC 7143 §6.1 "Text Format").

use std::collections::BTreeSet;

use nom::bytes::complete::{tag, take_till};
use nom::sequence::terminated;
use nom::{IResult, Parser};

use super::value::key_name_error;
use crate::{Error, TextProblem};

/// Longest key name in bytes: "A standard-label MUST begin with a capital letter and must not
/// exceed 63 characters" (RFC 7143 §6.1; key names are ASCII, so characters are bytes).
///
/// ```
/// assert_eq!(iscsi_pdu::text_data::MAX_KEY_LEN, 63);
/// ```
pub const MAX_KEY_LEN: usize = 63;

/// Default longest value: "If not otherwise specified, the maximum length of a simple-value (not
/// its encoded representation) is 255 bytes, not including the delimiter (comma or zero byte)"
/// (RFC 7143 §6.1).
///
/// ```
/// use iscsi_pdu::text_data::{max_value_len, MAX_SIMPLE_VALUE_LEN};
/// assert_eq!(max_value_len("TargetAlias"), MAX_SIMPLE_VALUE_LEN);
/// ```
pub const MAX_SIMPLE_VALUE_LEN: usize = 255;

/// Longest encoded `CHAP_C` or `CHAP_R` value: their "binary length (not the length of the
/// character string that represents them in encoded form) MUST NOT exceed 1024 bytes" (RFC 7143
/// §12.1.3, CHAP), and the longest encoding of 1024 bytes is `0x` and 2048 hex digits.
///
/// ```
/// use iscsi_pdu::text_data::{format_hex, max_value_len, MAX_CHAP_VALUE_LEN};
/// assert_eq!(MAX_CHAP_VALUE_LEN, format_hex(&[0xff; 1024]).len());
/// assert_eq!(max_value_len("CHAP_R"), MAX_CHAP_VALUE_LEN);
/// ```
pub const MAX_CHAP_VALUE_LEN: usize = 2 + 2 * 1024;

/// Longest value of the Kerberos and SRP keys, whose large-binary-values have no limit of their
/// own: "When proposing or accepting authentication methods that explicitly require support for
/// very long authentication items, the initiator and target MUST support receiving at least 64
/// kilobytes of key=value data" (RFC 7143 §6.1). The whole text is bounded the same way by
/// [`TextAssembler`](super::TextAssembler).
///
/// ```
/// use iscsi_pdu::text_data::{max_value_len, MAX_LARGE_VALUE_LEN};
/// assert_eq!(max_value_len("KRB_AP_REQ"), MAX_LARGE_VALUE_LEN);
/// ```
pub const MAX_LARGE_VALUE_LEN: usize = 64 * 1024;

/// Most pairs accepted in one text. RFC 7143 sets no number; a login sends about 20 keys and a
/// SendTargets answer two or three per target, so 512 leaves room while bounding what a peer
/// can make us store.
///
/// ```
/// use iscsi_pdu::text_data::{TextPairs, MAX_PAIRS};
/// let mut pairs = TextPairs::new();
/// for i in 0..MAX_PAIRS {
///     pairs.push(format!("X-k{i}"), "1")?;
/// }
/// assert!(pairs.push("X-more", "1").is_err());
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
pub const MAX_PAIRS: usize = 512;

/// The longest value a key may carry, in bytes of its encoded text. Values that are lists (or
/// carry commas, like `TargetAddress=host:port,tag`) are held to this per comma-separated
/// element, as the RFC's limit excludes "the delimiter (comma or zero byte)".
///
/// | key | limit | from |
/// |---|---|---|
/// | `CHAP_C`, `CHAP_R` | [`MAX_CHAP_VALUE_LEN`] (2050) | §12.1.3: 1024 bytes, hex-encoded |
/// | `KRB_AP_REQ`, `KRB_AP_REP`, `SRP_s`, `SRP_A`, `SRP_B`, `SRP_M`, `SRP_HM` | [`MAX_LARGE_VALUE_LEN`] (65536) | §6.1: 64 KiB for long authentication items |
/// | any other key | [`MAX_SIMPLE_VALUE_LEN`] (255) | §6.1: simple-value |
///
/// ```
/// use iscsi_pdu::text_data::max_value_len;
/// assert_eq!(max_value_len("InitiatorName"), 255);
/// assert_eq!(max_value_len("CHAP_C"), 2050);
/// assert_eq!(max_value_len("SRP_A"), 65536);
/// ```
pub fn max_value_len(key: &str) -> usize {
    match key {
        "CHAP_C" | "CHAP_R" => MAX_CHAP_VALUE_LEN,
        "KRB_AP_REQ" | "KRB_AP_REP" | "SRP_s" | "SRP_A" | "SRP_B" | "SRP_M" | "SRP_HM" => {
            MAX_LARGE_VALUE_LEN
        }
        _ => MAX_SIMPLE_VALUE_LEN,
    }
}

fn text_error(problem: TextProblem, offset: usize) -> Error {
    Error::Text { problem, offset }
}

/// An ordered list of `key=value` pairs, as carried by Login and Text PDUs.
///
/// Order is kept (answers follow the order of offers) and a key may appear more than once
/// (a SendTargets answer repeats `TargetName` and `TargetAddress`); [`TextPairs::check_unique`]
/// refuses repeats where the negotiation does. Every pair held is valid: a key-name of at most
/// 63 bytes and a UTF-8 value within [`max_value_len`], so [`TextPairs::emit`] always produces
/// text that [`TextPairs::parse`] reads back equal.
///
/// ```
/// use iscsi_pdu::text_data::TextPairs;
/// let mut offer = TextPairs::new();
/// offer.push("HeaderDigest", "None")?;
/// offer.push("MaxRecvDataSegmentLength", "8192")?;
/// let wire = offer.to_bytes();
/// assert_eq!(wire, b"HeaderDigest=None\0MaxRecvDataSegmentLength=8192\0");
/// assert_eq!(TextPairs::parse(&wire)?, offer);
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TextPairs {
    pairs: Vec<(String, String)>,
}

/// One `key=value\0` item: the bytes before the NUL. nom's `complete` parsers fail when there
/// is no NUL, which the caller reports as `Unterminated`.
fn raw_pair(input: &[u8]) -> IResult<&[u8], &[u8]> {
    terminated(take_till(|b| b == 0), tag(&b"\0"[..])).parse(input)
}

/// Splits a pair at its first `=`: "A key-name is whatever precedes the first "=" in the
/// key=value pair" and "A value is whatever follows the first "="" (RFC 7143 §6.1).
fn split_at_equals(pair: &[u8]) -> IResult<&[u8], &[u8]> {
    terminated(take_till(|b| b == b'='), tag(&b"="[..])).parse(pair)
}

/// Checks a key-name, `offset` being where it starts in the encoded text.
fn validate_key(key: &[u8], offset: usize) -> Result<&str, Error> {
    if key.is_empty() {
        return Err(text_error(TextProblem::InvalidKey, offset));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(text_error(TextProblem::KeyTooLong, offset));
    }
    if let Some(at) = key_name_error(key) {
        return Err(text_error(TextProblem::InvalidKey, offset + at));
    }
    // Valid key-names are ASCII, so this cannot fail; it only proves it to the compiler.
    std::str::from_utf8(key)
        .map_err(|e| text_error(TextProblem::InvalidKey, offset + e.valid_up_to()))
}

/// Checks the value of `key`, `offset` being where the value starts in the encoded text.
fn validate_value(key: &str, value: &str, offset: usize) -> Result<(), Error> {
    if let Some(at) = value.bytes().position(|b| b == 0) {
        return Err(text_error(TextProblem::NulInValue, offset + at));
    }
    let max = max_value_len(key);
    let mut element_offset = offset;
    for element in value.split(',') {
        if element.len() > max {
            return Err(text_error(
                TextProblem::ValueTooLong { max },
                element_offset,
            ));
        }
        element_offset += element.len() + 1;
    }
    Ok(())
}

impl TextPairs {
    /// An empty list.
    ///
    /// ```
    /// use iscsi_pdu::text_data::TextPairs;
    /// let pairs = TextPairs::new();
    /// assert!(pairs.is_empty());
    /// assert_eq!(pairs.to_bytes(), b"");
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses complete text data (one logical text data segment, already reassembled; see
    /// [`TextAssembler`](super::TextAssembler)).
    ///
    /// "Every key=value pair, including the last or only pair in a LTDS, MUST be followed by one
    /// null (0x00) delimiter" (RFC 7143 §6.1). Extra NUL bytes after the last pair are accepted
    /// as padding; an empty item between pairs is not. Keys must be key-names (see
    /// [`is_key_name`](super::is_key_name)); values may be any UTF-8 text within
    /// [`max_value_len`], since their type depends on the key.
    ///
    /// # Errors
    ///
    /// [`Error::Text`] with the first problem, and the byte offset from the start of `data`:
    ///
    /// | problem | offset of |
    /// |---|---|
    /// | [`Unterminated`](TextProblem::Unterminated) | the first byte of the unterminated pair |
    /// | [`MissingEquals`](TextProblem::MissingEquals) | the first byte of the pair |
    /// | [`InvalidKey`](TextProblem::InvalidKey) | the first bad byte of the key (its start if empty) |
    /// | [`KeyTooLong`](TextProblem::KeyTooLong) | the first byte of the key |
    /// | [`NotUtf8`](TextProblem::NotUtf8) | the first byte that is not UTF-8 |
    /// | [`ValueTooLong`](TextProblem::ValueTooLong) | the first byte of the too-long value (or list element) |
    /// | [`TooManyKeys`](TextProblem::TooManyKeys) | the first byte of pair number [`MAX_PAIRS`] + 1 |
    ///
    /// ```
    /// use iscsi_pdu::{Error, TextProblem, text_data::TextPairs};
    /// let pairs = TextPairs::parse(b"SessionType=Discovery\0AuthMethod=None\0\0\0")?;
    /// assert_eq!(pairs.get("AuthMethod"), Some("None"));
    /// assert_eq!(
    ///     TextPairs::parse(b"AuthMethod=None\0Garbage\0"),
    ///     Err(Error::Text { problem: TextProblem::MissingEquals, offset: 16 }),
    /// );
    /// # Ok::<(), Error>(())
    /// ```
    pub fn parse(data: &[u8]) -> Result<Self, Error> {
        let mut pairs = Vec::new();
        let mut rest = data;
        loop {
            let offset = data.len() - rest.len();
            // Nothing left, or only padding after the last pair.
            if rest.iter().all(|&b| b == 0) {
                break;
            }
            if pairs.len() == MAX_PAIRS {
                return Err(text_error(
                    TextProblem::TooManyKeys { max: MAX_PAIRS },
                    offset,
                ));
            }
            let (after, pair) =
                raw_pair(rest).map_err(|_| text_error(TextProblem::Unterminated, offset))?;
            let (value, key) = split_at_equals(pair)
                .map_err(|_| text_error(TextProblem::MissingEquals, offset))?;
            let key = validate_key(key, offset)?;
            let value_offset = offset + key.len() + 1;
            let value = std::str::from_utf8(value)
                .map_err(|e| text_error(TextProblem::NotUtf8, value_offset + e.valid_up_to()))?;
            validate_value(key, value, value_offset)?;
            pairs.push((key.to_owned(), value.to_owned()));
            rest = after;
        }
        Ok(TextPairs { pairs })
    }

    /// Appends a pair, checked as [`TextPairs::parse`] checks received ones.
    ///
    /// # Errors
    ///
    /// [`Error::Text`] as for [`TextPairs::parse`], with offsets into the text
    /// [`TextPairs::emit`] would produce, plus [`TextProblem::NulInValue`] for a value holding a
    /// NUL byte. The list is unchanged on error.
    ///
    /// ```
    /// use iscsi_pdu::{Error, TextProblem, text_data::TextPairs};
    /// let mut pairs = TextPairs::new();
    /// pairs.push("TargetName", "iqn.2001-04.com.example:disk")?;
    /// assert_eq!(
    ///     pairs.push("bad key", "1"),
    ///     Err(Error::Text { problem: TextProblem::InvalidKey, offset: 40 }),
    /// );
    /// assert_eq!(pairs.len(), 1);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<String>) -> Result<(), Error> {
        let (key, value) = (key.into(), value.into());
        let offset = self.encoded_len();
        if self.pairs.len() >= MAX_PAIRS {
            return Err(text_error(
                TextProblem::TooManyKeys { max: MAX_PAIRS },
                offset,
            ));
        }
        validate_key(key.as_bytes(), offset)?;
        validate_value(&key, &value, offset + key.len() + 1)?;
        self.pairs.push((key, value));
        Ok(())
    }

    /// Appends the encoding to `out`: each pair as `key=value` and one NUL.
    ///
    /// ```
    /// use iscsi_pdu::text_data::TextPairs;
    /// let mut pairs = TextPairs::new();
    /// pairs.push("DataDigest", "None")?;
    /// let mut out = b"HeaderDigest=None\0".to_vec();
    /// pairs.emit(&mut out);
    /// assert_eq!(out, b"HeaderDigest=None\0DataDigest=None\0");
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        for (key, value) in &self.pairs {
            out.extend_from_slice(key.as_bytes());
            out.push(b'=');
            out.extend_from_slice(value.as_bytes());
            out.push(0);
        }
    }

    /// The encoding as a new vector.
    ///
    /// ```
    /// use iscsi_pdu::text_data::TextPairs;
    /// let mut pairs = TextPairs::new();
    /// pairs.push("SendTargets", "All")?;
    /// assert_eq!(pairs.to_bytes(), b"SendTargets=All\0");
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.emit(&mut out);
        out
    }

    /// Length in bytes of the encoding.
    ///
    /// ```
    /// use iscsi_pdu::text_data::TextPairs;
    /// let mut pairs = TextPairs::new();
    /// pairs.push("MaxConnections", "1")?;
    /// assert_eq!(pairs.encoded_len(), "MaxConnections=1\0".len());
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn encoded_len(&self) -> usize {
        self.pairs.iter().map(|(k, v)| k.len() + v.len() + 2).sum()
    }

    /// The value of the first pair with this key.
    ///
    /// ```
    /// use iscsi_pdu::text_data::TextPairs;
    /// let pairs = TextPairs::parse(b"SessionType=Normal\0")?;
    /// assert_eq!(pairs.get("SessionType"), Some("Normal"));
    /// assert_eq!(pairs.get("TargetName"), None);
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The values of every pair with this key, in order.
    ///
    /// ```
    /// use iscsi_pdu::text_data::TextPairs;
    /// let pairs = TextPairs::parse(
    ///     b"TargetName=iqn.2001-04.com.example:a\0TargetAddress=10.0.0.1:3260,1\0\
    ///       TargetAddress=[fe80::1]:3260,1\0",
    /// )?;
    /// let addresses: Vec<_> = pairs.get_all("TargetAddress").collect();
    /// assert_eq!(addresses, ["10.0.0.1:3260,1", "[fe80::1]:3260,1"]);
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether some pair has this key.
    ///
    /// ```
    /// use iscsi_pdu::text_data::TextPairs;
    /// let pairs = TextPairs::parse(b"AuthMethod=CHAP,None\0")?;
    /// assert!(pairs.contains_key("AuthMethod"));
    /// assert!(!pairs.contains_key("CHAP_A"));
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Number of pairs.
    ///
    /// ```
    /// use iscsi_pdu::text_data::TextPairs;
    /// assert_eq!(TextPairs::parse(b"A=1\0B=2\0")?.len(), 2);
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether there are no pairs.
    ///
    /// ```
    /// use iscsi_pdu::text_data::TextPairs;
    /// assert!(TextPairs::parse(b"")?.is_empty());
    /// assert!(TextPairs::parse(b"\0\0\0\0")?.is_empty());
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The pairs in order, as `(key, value)`.
    ///
    /// ```
    /// use iscsi_pdu::text_data::TextPairs;
    /// let pairs = TextPairs::parse(b"HeaderDigest=None\0DataDigest=None\0")?;
    /// let keys: Vec<&str> = pairs.iter().map(|(k, _)| k).collect();
    /// assert_eq!(keys, ["HeaderDigest", "DataDigest"]);
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn iter(&self) -> PairsIter<'_> {
        PairsIter {
            inner: self.pairs.iter(),
        }
    }

    /// Refuses a key that appears more than once.
    ///
    /// Keys are declared or negotiated once: "Neither the initiator nor the target should
    /// attempt to declare or negotiate a parameter more than once during login, except for
    /// responses to specific keys that explicitly allow repeated key declarations (e.g.,
    /// TargetAddress)", and "An attempt to renegotiate/redeclare parameters not specifically
    /// allowed MUST be detected by the initiator and target" (RFC 7143 §6.2). This checks one
    /// text; repeats across the PDUs of a login are the negotiation's to track.
    ///
    /// # Errors
    ///
    /// [`Error::Text`] with [`TextProblem::DuplicateKey`] at the encoded offset of the second
    /// occurrence.
    ///
    /// ```
    /// use iscsi_pdu::{Error, TextProblem, text_data::TextPairs};
    /// assert!(TextPairs::parse(b"A=1\0B=2\0")?.check_unique().is_ok());
    /// assert_eq!(
    ///     TextPairs::parse(b"A=1\0B=2\0A=3\0")?.check_unique(),
    ///     Err(Error::Text { problem: TextProblem::DuplicateKey, offset: 8 }),
    /// );
    /// # Ok::<(), Error>(())
    /// ```
    pub fn check_unique(&self) -> Result<(), Error> {
        let mut seen = BTreeSet::new();
        let mut offset = 0;
        for (key, value) in &self.pairs {
            if !seen.insert(key.as_str()) {
                return Err(text_error(TextProblem::DuplicateKey, offset));
            }
            offset += key.len() + value.len() + 2;
        }
        Ok(())
    }
}

/// Iterator over the pairs of a [`TextPairs`], from [`TextPairs::iter`].
///
/// ```
/// use iscsi_pdu::text_data::TextPairs;
/// let pairs = TextPairs::parse(b"A=1\0")?;
/// let mut it = pairs.iter();
/// assert_eq!(it.next(), Some(("A", "1")));
/// assert_eq!(it.next(), None);
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct PairsIter<'a> {
    inner: std::slice::Iter<'a, (String, String)>,
}

impl<'a> Iterator for PairsIter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for PairsIter<'_> {}

impl DoubleEndedIterator for PairsIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner
            .next_back()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl std::iter::FusedIterator for PairsIter<'_> {}

/// Same as [`TextPairs::iter`].
impl<'a> IntoIterator for &'a TextPairs {
    type Item = (&'a str, &'a str);
    type IntoIter = PairsIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The owned pairs, in order.
///
/// ```
/// use iscsi_pdu::text_data::TextPairs;
/// let pairs = TextPairs::parse(b"A=1\0")?;
/// let owned: Vec<(String, String)> = pairs.into_iter().collect();
/// assert_eq!(owned, [("A".to_owned(), "1".to_owned())]);
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
impl IntoIterator for TextPairs {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.pairs.into_iter()
    }
}

#[cfg(any(test, feature = "arbitrary"))]
mod arbitrary {
    use proptest::prelude::*;

    use super::TextPairs;

    /// Valid pair lists: up to 24 pairs of standard-label or `X#` keys and values of any
    /// characters but NUL (each comma-separated element within 255 bytes), repeats allowed.
    impl Arbitrary for TextPairs {
        type Parameters = ();
        type Strategy = BoxedStrategy<Self>;

        fn arbitrary_with((): ()) -> Self::Strategy {
            let key = prop_oneof![
                4 => "[A-Z][A-Za-z0-9.+@_-]{0,62}",
                1 => "X#[A-Za-z0-9.+@_-]{1,61}",
            ];
            let value = "[^\\x00]{0,60}";
            proptest::collection::vec((key, value), 0..24)
                // Every generated pair is valid, so the filter never rejects; it only keeps
                // the invariant checked rather than assumed.
                .prop_filter_map("valid pairs", |pairs| {
                    let mut out = TextPairs::new();
                    for (k, v) in pairs {
                        out.push(k, v).ok()?;
                    }
                    Some(out)
                })
                .boxed()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem_at(data: &[u8]) -> (TextProblem, usize) {
        match TextPairs::parse(data) {
            Err(Error::Text { problem, offset }) => (problem, offset),
            other => panic!("expected a text error, got {other:?}"),
        }
    }

    #[test]
    fn parses_pairs_in_order() {
        let pairs = TextPairs::parse(b"B=2\0A=1\0B=3\0").unwrap();
        let all: Vec<_> = pairs.iter().collect();
        assert_eq!(all, [("B", "2"), ("A", "1"), ("B", "3")]);
        assert_eq!(pairs.get("B"), Some("2"));
    }

    #[test]
    fn splits_at_the_first_equals_only() {
        let pairs = TextPairs::parse(b"CHAP_R=0bAQ==\0").unwrap();
        assert_eq!(pairs.get("CHAP_R"), Some("0bAQ=="));
    }

    #[test]
    fn accepts_empty_values() {
        let pairs = TextPairs::parse(b"TargetAlias=\0").unwrap();
        assert_eq!(pairs.get("TargetAlias"), Some(""));
        assert_eq!(pairs.to_bytes(), b"TargetAlias=\0");
    }

    #[test]
    fn tolerates_trailing_nul_padding() {
        let pairs = TextPairs::parse(b"A=1\0\0\0\0").unwrap();
        assert_eq!(pairs.len(), 1);
        assert!(TextPairs::parse(b"\0").unwrap().is_empty());
    }

    #[test]
    fn rejects_pair_without_equals() {
        assert_eq!(
            problem_at(b"A=1\0NoEquals\0"),
            (TextProblem::MissingEquals, 4)
        );
        assert_eq!(problem_at(b"NoEquals\0"), (TextProblem::MissingEquals, 0));
    }

    #[test]
    fn rejects_empty_item_between_pairs() {
        assert_eq!(problem_at(b"A=1\0\0B=2\0"), (TextProblem::MissingEquals, 4));
    }

    #[test]
    fn rejects_unterminated_last_pair() {
        assert_eq!(problem_at(b"A=1\0B=2"), (TextProblem::Unterminated, 4));
        assert_eq!(problem_at(b"A=1"), (TextProblem::Unterminated, 0));
        // Unterminated wins over a missing '=' because the pair may just be cut short.
        assert_eq!(problem_at(b"A=1\0Bcd"), (TextProblem::Unterminated, 4));
    }

    #[test]
    fn rejects_empty_key() {
        assert_eq!(problem_at(b"A=1\0=2\0"), (TextProblem::InvalidKey, 4));
    }

    #[test]
    fn rejects_key_with_bad_character_at_its_offset() {
        assert_eq!(problem_at(b"A=1\0lower=2\0"), (TextProblem::InvalidKey, 4));
        assert_eq!(
            problem_at(b"A=1\0Key Name=2\0"),
            (TextProblem::InvalidKey, 7)
        );
        assert_eq!(problem_at(b"A=1\0K\xffy=2\0"), (TextProblem::InvalidKey, 5));
    }

    #[test]
    fn rejects_key_longer_than_63_bytes() {
        let ok = format!("{}=1\0", "K".repeat(63));
        assert!(TextPairs::parse(ok.as_bytes()).is_ok());
        let long = format!("A=1\0{}=1\0", "K".repeat(64));
        assert_eq!(problem_at(long.as_bytes()), (TextProblem::KeyTooLong, 4));
    }

    #[test]
    fn rejects_value_that_is_not_utf8_at_the_bad_byte() {
        assert_eq!(
            problem_at(b"A=1\0TargetAlias=ab\xc3\0"),
            (TextProblem::NotUtf8, 18)
        );
        // Non-ASCII UTF-8 is fine (iSCSI-local-name-value).
        let alias = TextPairs::parse("TargetAlias=Диск\0".as_bytes()).unwrap();
        assert_eq!(alias.get("TargetAlias"), Some("Диск"));
    }

    #[test]
    fn rejects_value_longer_than_its_limit() {
        let ok = format!("TargetAlias={}\0", "a".repeat(255));
        assert!(TextPairs::parse(ok.as_bytes()).is_ok());
        let long = format!("A=1\0TargetAlias={}\0", "a".repeat(256));
        assert_eq!(
            problem_at(long.as_bytes()),
            (TextProblem::ValueTooLong { max: 255 }, 16)
        );
    }

    #[test]
    fn applies_the_simple_value_limit_per_list_element() {
        let (a, b) = ("a".repeat(255), "b".repeat(256));
        let ok = format!("X-list={a},{a}\0");
        assert!(TextPairs::parse(ok.as_bytes()).is_ok());
        let long = format!("X-list={a},{b}\0");
        assert_eq!(
            problem_at(long.as_bytes()),
            (TextProblem::ValueTooLong { max: 255 }, 7 + 256)
        );
    }

    #[test]
    fn allows_long_chap_and_kerberos_values() {
        let chap = format!("CHAP_C=0x{}\0", "ab".repeat(1024));
        assert!(TextPairs::parse(chap.as_bytes()).is_ok());
        let too_long = format!("CHAP_C=0x{}\0", "ab".repeat(1025));
        assert_eq!(
            problem_at(too_long.as_bytes()),
            (
                TextProblem::ValueTooLong {
                    max: MAX_CHAP_VALUE_LEN
                },
                7
            )
        );
        let krb = format!("KRB_AP_REQ=0x{}\0", "ab".repeat(10_000));
        assert!(TextPairs::parse(krb.as_bytes()).is_ok());
    }

    #[test]
    fn rejects_more_than_max_pairs() {
        let mut data = Vec::new();
        for _ in 0..MAX_PAIRS {
            data.extend_from_slice(b"A=1\0");
        }
        assert_eq!(TextPairs::parse(&data).unwrap().len(), MAX_PAIRS);
        let offset = data.len();
        data.extend_from_slice(b"A=1\0");
        assert_eq!(
            problem_at(&data),
            (TextProblem::TooManyKeys { max: MAX_PAIRS }, offset)
        );
        // Padding after the last allowed pair is still fine.
        data.truncate(offset);
        data.extend_from_slice(&[0; 4]);
        assert!(TextPairs::parse(&data).is_ok());
    }

    #[test]
    fn push_rejects_nul_in_value_at_its_offset() {
        let mut pairs = TextPairs::new();
        pairs.push("A", "1").unwrap();
        assert_eq!(
            pairs.push("B", "x\0y"),
            Err(Error::Text {
                problem: TextProblem::NulInValue,
                offset: 7
            })
        );
        assert_eq!(pairs.len(), 1);
    }

    #[test]
    fn push_rejects_what_parse_rejects() {
        let mut pairs = TextPairs::new();
        assert!(pairs.push("", "1").is_err());
        assert!(pairs.push("K".repeat(64), "1").is_err());
        assert!(pairs.push("Key=", "1").is_err());
        assert!(pairs.push("TargetAlias", "a".repeat(256)).is_err());
        assert!(pairs.is_empty());
    }

    #[test]
    fn detects_duplicate_keys() {
        let pairs = TextPairs::parse(b"HeaderDigest=None\0HeaderDigest=CRC32C\0").unwrap();
        assert_eq!(
            pairs.check_unique(),
            Err(Error::Text {
                problem: TextProblem::DuplicateKey,
                offset: 18
            })
        );
    }

    #[test]
    fn accepts_public_extension_keys() {
        let pairs =
            TextPairs::parse(b"X#NodeArchitecture=ExampleOS/v1234,Example.com/v5678\0").unwrap();
        assert_eq!(pairs.len(), 1);
        assert_eq!(problem_at(b"X#=1\0"), (TextProblem::InvalidKey, 2));
    }
}
