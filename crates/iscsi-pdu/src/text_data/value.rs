//! Typed values of text keys (RFC 7143 §6.1 "Text Format", §6.2 "Text Mode Negotiation").
//!
//! Every parser takes the key name as a `&'static str` supplied by the caller, who knows which
//! key it is interpreting; a wrong value becomes [`Error::InvalidValue`] naming that key and the
//! value type that was expected.
//!
//! Reading is a little wider than writing where the RFC allows choices: numbers are accepted as
//! decimal, `0x` hexadecimal or `0b` base64, and base64 with or without its `=` padding;
//! formatting always produces the canonical form (decimal numbers, `0x` lower-case hex).

use std::fmt;

use crate::Error;

/// `expected` text for [`parse_bool`].
const EXPECT_BOOL: &str = "boolean (Yes or No)";
/// `expected` text for [`parse_number`].
const EXPECT_NUMBER: &str = "numerical value";
/// `expected` text for [`Range::parse`].
const EXPECT_RANGE: &str = "numeric range";
/// `expected` text for [`parse_list`].
const EXPECT_LIST: &str = "list of text values";
/// `expected` text for [`parse_text_value`].
const EXPECT_TEXT: &str = "text value";
/// `expected` text for [`parse_standard_label`].
const EXPECT_LABEL: &str = "standard label";
/// `expected` text for [`parse_binary`].
const EXPECT_BINARY: &str = "binary value";

fn invalid(key: &'static str, expected: &'static str) -> Error {
    Error::InvalidValue { key, expected }
}

/// Parses a boolean-value: exactly `Yes` or `No` (values are case sensitive, RFC 7143 §6.1).
///
/// # Errors
///
/// [`Error::InvalidValue`] for anything else, including `yes` or `true`.
///
/// ```
/// use iscsi_pdu::text_data::parse_bool;
/// assert_eq!(parse_bool("InitialR2T", "Yes"), Ok(true));
/// assert_eq!(parse_bool("ImmediateData", "No"), Ok(false));
/// assert!(parse_bool("ImmediateData", "yes").is_err());
/// ```
pub fn parse_bool(key: &'static str, value: &str) -> Result<bool, Error> {
    match value {
        "Yes" => Ok(true),
        "No" => Ok(false),
        _ => Err(invalid(key, EXPECT_BOOL)),
    }
}

/// Formats a boolean-value: `Yes` or `No`.
///
/// ```
/// use iscsi_pdu::text_data::format_bool;
/// assert_eq!(format_bool(true), "Yes");
/// assert_eq!(format_bool(false), "No");
/// ```
pub fn format_bool(value: bool) -> &'static str {
    if value { "Yes" } else { "No" }
}

/// Parses a numerical-value into a `u64`.
///
/// RFC 7143 §6.1 encodes numerical values as a decimal-constant ("an unsigned decimal number with
/// the digit 1-9 followed by zero or more digits 0-9 or a single 0", so no leading zeros) or a
/// hex-constant (`0x`/`0X` and one or more hex digits, either case). A large-numerical-value may
/// also be a base64-constant (`0b`/`0B`), read here as the RFC defines it: a positional base-64
/// number, most significant digit first, trailing `=` pad digits "not considered as part of the
/// number". Any encoding is accepted as long as the number fits in 64 bits.
///
/// # Errors
///
/// [`Error::InvalidValue`] if the value is empty, malformed, or at least 2**64.
///
/// ```
/// use iscsi_pdu::text_data::parse_number;
/// assert_eq!(parse_number("MaxRecvDataSegmentLength", "8192"), Ok(8192));
/// assert_eq!(parse_number("MaxRecvDataSegmentLength", "0x2000"), Ok(8192));
/// assert_eq!(parse_number("MaxRecvDataSegmentLength", "0bCAA"), Ok(8192));
/// assert!(parse_number("MaxBurstLength", "018").is_err());
/// assert!(parse_number("MaxBurstLength", "18446744073709551616").is_err());
/// ```
pub fn parse_number(key: &'static str, value: &str) -> Result<u64, Error> {
    let err = || invalid(key, EXPECT_NUMBER);
    if let Some(hex) = strip_prefix_either(value, "0x", "0X") {
        return parse_hex_number(hex).ok_or_else(err);
    }
    if let Some(b64) = strip_prefix_either(value, "0b", "0B") {
        return parse_base64_number(b64).ok_or_else(err);
    }
    parse_decimal(value).ok_or_else(err)
}

/// Formats a numerical-value as a decimal-constant, the form RFC 7143 uses for every numerical
/// key it defines.
///
/// ```
/// use iscsi_pdu::text_data::{format_number, parse_number};
/// assert_eq!(format_number(262_144), "262144");
/// assert_eq!(parse_number("MaxBurstLength", &format_number(u64::MAX)), Ok(u64::MAX));
/// ```
pub fn format_number(value: u64) -> String {
    value.to_string()
}

fn strip_prefix_either<'a>(value: &'a str, lower: &str, upper: &str) -> Option<&'a str> {
    value
        .strip_prefix(lower)
        .or_else(|| value.strip_prefix(upper))
}

fn parse_decimal(digits: &str) -> Option<u64> {
    let bytes = digits.as_bytes();
    match bytes {
        [] => return None,
        [b'0'] => return Some(0),
        [b'0', ..] => return None, // "the digit 1-9 followed by zero or more digits 0-9"
        _ => {}
    }
    bytes.iter().try_fold(0u64, |acc, &b| {
        let digit = char::from(b).to_digit(10)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

fn parse_hex_number(digits: &str) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.bytes().try_fold(0u64, |acc, b| {
        let digit = char::from(b).to_digit(16)?;
        if acc > u64::MAX >> 4 {
            return None;
        }
        Some(acc << 4 | u64::from(digit))
    })
}

fn parse_base64_number(text: &str) -> Option<u64> {
    let digits = text.trim_end_matches('=');
    let pads = text.len() - digits.len();
    if digits.is_empty() || pads > 2 {
        return None;
    }
    digits.bytes().try_fold(0u64, |acc, b| {
        let digit = base64_digit(b)?;
        if acc > u64::MAX >> 6 {
            return None;
        }
        Some(acc << 6 | u64::from(digit))
    })
}

/// A numeric-range: "two numerical-values separated by a tilde, where the value to the right of
/// the tilde must not be lower than the value to the left" (RFC 7143 §6.1).
///
/// ```
/// use iscsi_pdu::text_data::Range;
/// let r = Range::parse("X-com.example.Window", "512~8192")?;
/// assert_eq!(r, Range { lo: 512, hi: 8192 });
/// assert_eq!(r.to_string(), "512~8192");
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Range {
    /// The value left of the tilde.
    pub lo: u64,
    /// The value right of the tilde; never lower than `lo` in a valid range.
    pub hi: u64,
}

impl Range {
    /// Parses `lo~hi`, each side a numerical-value as [`parse_number`] reads it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidValue`] if there is not exactly one tilde, a side is not a number, or
    /// `hi < lo`.
    ///
    /// ```
    /// use iscsi_pdu::text_data::Range;
    /// assert_eq!(Range::parse("K", "0x10~32"), Ok(Range { lo: 16, hi: 32 }));
    /// assert!(Range::parse("K", "32~16").is_err());
    /// assert!(Range::parse("K", "1~2~3").is_err());
    /// ```
    pub fn parse(key: &'static str, value: &str) -> Result<Self, Error> {
        let err = || invalid(key, EXPECT_RANGE);
        let (lo, hi) = value.split_once('~').ok_or_else(err)?;
        let lo = parse_number(key, lo).map_err(|_| err())?;
        let hi = parse_number(key, hi).map_err(|_| err())?;
        if hi < lo {
            return Err(err());
        }
        Ok(Range { lo, hi })
    }

    /// Whether `value` lies within the range, bounds included.
    ///
    /// ```
    /// use iscsi_pdu::text_data::Range;
    /// let r = Range { lo: 1, hi: 3 };
    /// assert!(r.contains(1) && r.contains(3) && !r.contains(4));
    /// ```
    pub fn contains(&self, value: u64) -> bool {
        self.lo <= value && value <= self.hi
    }
}

/// Formats the range as `lo~hi` in decimal.
impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}~{}", self.lo, self.hi)
    }
}

/// Whether `value` is a text-value: "a string of zero or more characters that consists of
/// letters, digits, dot, minus, plus, commercial at, underscore, slash, left bracket, right
/// bracket, or colon" (RFC 7143 §6.1).
///
/// ```
/// use iscsi_pdu::text_data::is_text_value;
/// assert!(is_text_value("CRC32C"));
/// assert!(is_text_value("[fe80::1]"));
/// assert!(is_text_value(""));
/// assert!(!is_text_value("a,b"));
/// assert!(!is_text_value("a b"));
/// ```
pub fn is_text_value(value: &str) -> bool {
    value.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'.' | b'-' | b'+' | b'@' | b'_' | b'/' | b'[' | b']' | b':'
            )
    })
}

/// Checks that `value` is a text-value (see [`is_text_value`]) and returns it.
///
/// # Errors
///
/// [`Error::InvalidValue`] if a character is outside the text-value set.
///
/// ```
/// use iscsi_pdu::text_data::parse_text_value;
/// assert_eq!(parse_text_value("SessionType", "Normal"), Ok("Normal"));
/// assert!(parse_text_value("SessionType", "Nor mal").is_err());
/// ```
pub fn parse_text_value<'a>(key: &'static str, value: &'a str) -> Result<&'a str, Error> {
    if is_text_value(value) {
        Ok(value)
    } else {
        Err(invalid(key, EXPECT_TEXT))
    }
}

fn is_label_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+' | b'@' | b'_')
}

/// Whether `label` is a standard-label: "a string of one or more characters that consists of
/// letters, digits, dot, minus, plus, commercial at, or underscore. A standard-label MUST begin
/// with a capital letter and must not exceed 63 characters" (RFC 7143 §6.1).
///
/// ```
/// use iscsi_pdu::text_data::is_standard_label;
/// assert!(is_standard_label("MaxRecvDataSegmentLength"));
/// assert!(is_standard_label("X-com.example.Key"));
/// assert!(!is_standard_label("maxRecv"));
/// assert!(!is_standard_label(""));
/// assert!(!is_standard_label(&"A".repeat(64)));
/// ```
pub fn is_standard_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    match bytes {
        [first, rest @ ..] => {
            bytes.len() <= crate::text_data::MAX_KEY_LEN
                && first.is_ascii_uppercase()
                && rest.iter().all(|&b| is_label_byte(b))
        }
        [] => false,
    }
}

/// Checks that `value` is a standard-label (see [`is_standard_label`]) and returns it.
///
/// # Errors
///
/// [`Error::InvalidValue`] otherwise.
///
/// ```
/// use iscsi_pdu::text_data::parse_standard_label;
/// assert_eq!(parse_standard_label("SendTargets", "All"), Ok("All"));
/// assert!(parse_standard_label("SendTargets", "all").is_err());
/// ```
pub fn parse_standard_label<'a>(key: &'static str, value: &'a str) -> Result<&'a str, Error> {
    if is_standard_label(value) {
        Ok(value)
    } else {
        Err(invalid(key, EXPECT_LABEL))
    }
}

/// Position of the first byte that makes `key` an invalid key-name, ignoring its length (which
/// the caller checks first, to report `KeyTooLong`). `None` means the key is valid.
///
/// A key-name is a standard-label, or a public extension key `X#` followed by an IANA-registered
/// string (RFC 7143 §13.26 defines `X#NodeArchitecture`).
pub(crate) fn key_name_error(key: &[u8]) -> Option<usize> {
    match key {
        [] => Some(0),
        [first, ..] if !first.is_ascii_uppercase() => Some(0),
        [b'X', b'#'] => Some(2),
        [b'X', b'#', rest @ ..] => rest.iter().position(|&b| !is_label_byte(b)).map(|i| i + 2),
        [_, rest @ ..] => rest.iter().position(|&b| !is_label_byte(b)).map(|i| i + 1),
    }
}

/// Whether `key` is a valid key-name: a standard-label (see [`is_standard_label`]), or a public
/// extension key `X#` followed by label characters, such as `X#NodeArchitecture`; at most 63
/// bytes either way.
///
/// ```
/// use iscsi_pdu::text_data::is_key_name;
/// assert!(is_key_name("HeaderDigest"));
/// assert!(is_key_name("X#NodeArchitecture"));
/// assert!(!is_key_name("X#"));
/// assert!(!is_key_name("Header Digest"));
/// ```
pub fn is_key_name(key: &str) -> bool {
    key.len() <= crate::text_data::MAX_KEY_LEN && key_name_error(key.as_bytes()).is_none()
}

/// Parses a list-of-values: "a sequence of text-values separated by a comma" (RFC 7143 §6.1),
/// in the proposer's order of preference.
///
/// # Errors
///
/// [`Error::InvalidValue`] if an element is empty or not a text-value.
///
/// ```
/// use iscsi_pdu::text_data::parse_list;
/// assert_eq!(parse_list("HeaderDigest", "CRC32C,None"), Ok(vec!["CRC32C", "None"]));
/// assert_eq!(parse_list("AuthMethod", "None"), Ok(vec!["None"]));
/// assert!(parse_list("HeaderDigest", "CRC32C,").is_err());
/// ```
pub fn parse_list<'a>(key: &'static str, value: &'a str) -> Result<Vec<&'a str>, Error> {
    value
        .split(',')
        .map(|item| {
            if !item.is_empty() && is_text_value(item) {
                Ok(item)
            } else {
                Err(invalid(key, EXPECT_LIST))
            }
        })
        .collect()
}

/// Formats a list-of-values: the items joined by commas.
///
/// ```
/// use iscsi_pdu::text_data::format_list;
/// assert_eq!(format_list(["CHAP", "None"]), "CHAP,None");
/// ```
pub fn format_list<I>(items: I) -> String
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let mut out = String::new();
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item.as_ref());
    }
    out
}

/// The reserved answers of RFC 7143 §6.2 "Text Mode Negotiation", which a responder sends in
/// place of a value. (`None` is reserved too, but it is an ordinary value choice in lists.)
///
/// ```
/// use iscsi_pdu::text_data::SpecialValue;
/// assert_eq!(SpecialValue::parse("NotUnderstood"), Some(SpecialValue::NotUnderstood));
/// assert_eq!(SpecialValue::parse("None"), None);
/// assert_eq!(SpecialValue::Reject.to_string(), "Reject");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpecialValue {
    /// The proposal is not admissible (a list with no acceptable value, or a value out of
    /// bounds).
    Reject,
    /// The key does not apply in this context (e.g. a key answered in a Discovery session).
    Irrelevant,
    /// The key is not known to the responder. Keys defined by RFC 7143, used as specified,
    /// must not be answered this way.
    NotUnderstood,
}

impl SpecialValue {
    /// Recognises one of the reserved constants; `None` for any other value.
    ///
    /// ```
    /// use iscsi_pdu::text_data::SpecialValue;
    /// assert_eq!(SpecialValue::parse("Irrelevant"), Some(SpecialValue::Irrelevant));
    /// assert_eq!(SpecialValue::parse("reject"), None);
    /// ```
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "Reject" => Some(SpecialValue::Reject),
            "Irrelevant" => Some(SpecialValue::Irrelevant),
            "NotUnderstood" => Some(SpecialValue::NotUnderstood),
            _ => None,
        }
    }

    /// The constant as it appears on the wire.
    ///
    /// ```
    /// use iscsi_pdu::text_data::SpecialValue;
    /// assert_eq!(SpecialValue::NotUnderstood.as_str(), "NotUnderstood");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            SpecialValue::Reject => "Reject",
            SpecialValue::Irrelevant => "Irrelevant",
            SpecialValue::NotUnderstood => "NotUnderstood",
        }
    }
}

/// Writes [`SpecialValue::as_str`].
impl fmt::Display for SpecialValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses a binary-value (such as `CHAP_C` or `CHAP_R`) into its bytes.
///
/// RFC 7143 §6.1: a hex-constant (`0x`/`0X`) has "an implicit byte-length that includes four bits
/// for every hexadecimal digit of the constant, including leading zeroes", so `n` digits give
/// `(n+1)/2` bytes and an odd digit count has an implied leading zero nibble. A base64-constant
/// (`0b`/`0B`) is RFC 4648 base64; its `=` padding is optional, and lengths the RFC calls
/// impossible ("cannot have n values of 1, 5 ... k*4+1") or non-zero unused bits are rejected.
/// Decimal constants are refused: "Decimal constants can only be used to encode binary strings
/// if the string length is explicitly specified", which no key this crate reads does.
///
/// # Errors
///
/// [`Error::InvalidValue`] for a missing prefix, no digits, or a malformed digit string.
///
/// ```
/// use iscsi_pdu::text_data::parse_binary;
/// assert_eq!(parse_binary("CHAP_C", "0x0aFF"), Ok(vec![0x0a, 0xff]));
/// assert_eq!(parse_binary("CHAP_C", "0xabc"), Ok(vec![0x0a, 0xbc]));
/// assert_eq!(parse_binary("CHAP_R", "0bAQID"), Ok(vec![1, 2, 3]));
/// assert_eq!(parse_binary("CHAP_R", "0bAQ=="), Ok(vec![1]));
/// assert!(parse_binary("CHAP_R", "1234").is_err());
/// ```
pub fn parse_binary(key: &'static str, value: &str) -> Result<Vec<u8>, Error> {
    let decoded = if let Some(hex) = strip_prefix_either(value, "0x", "0X") {
        decode_hex(hex)
    } else if let Some(b64) = strip_prefix_either(value, "0b", "0B") {
        decode_base64(b64)
    } else {
        None
    };
    decoded.ok_or_else(|| invalid(key, EXPECT_BINARY))
}

/// Formats bytes as a hex-constant: `0x` and two lower-case digits per byte. An empty slice
/// gives `"0x"`, which is not a valid constant (the RFC requires at least one digit).
///
/// ```
/// use iscsi_pdu::text_data::{format_hex, parse_binary};
/// assert_eq!(format_hex(&[0x0a, 0xff]), "0x0aff");
/// assert_eq!(parse_binary("CHAP_C", &format_hex(&[1, 2])), Ok(vec![1, 2]));
/// ```
pub fn format_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 + 2 * bytes.len());
    out.push_str("0x");
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Formats bytes as a base64-constant: `0b` and RFC 4648 base64 with `=` padding. An empty slice
/// gives `"0b"`, which is not a valid constant.
///
/// ```
/// use iscsi_pdu::text_data::{format_base64, parse_binary};
/// assert_eq!(format_base64(&[1, 2, 3]), "0bAQID");
/// assert_eq!(format_base64(&[1]), "0bAQ==");
/// assert_eq!(parse_binary("CHAP_R", &format_base64(&[9; 7])), Ok(vec![9; 7]));
/// ```
pub fn format_base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sextet = |v: u32| char::from(ALPHABET[(v & 0x3f) as usize]);
    let mut out = String::with_capacity(2 + bytes.len().div_ceil(3) * 4);
    out.push_str("0b");
    for chunk in bytes.chunks(3) {
        let mut group = [0u8; 3];
        group[..chunk.len()].copy_from_slice(chunk);
        let v = u32::from(group[0]) << 16 | u32::from(group[1]) << 8 | u32::from(group[2]);
        out.push(sextet(v >> 18));
        out.push(sextet(v >> 12));
        out.push(if chunk.len() > 1 { sextet(v >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(v) } else { '=' });
    }
    out
}

fn decode_hex(digits: &str) -> Option<Vec<u8>> {
    if digits.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(digits.len().div_ceil(2));
    let mut bytes = digits.bytes();
    // An odd digit count has an implied leading zero nibble.
    if digits.len() % 2 == 1 {
        out.push(hex_digit(bytes.next()?)?);
    }
    while let Some(hi) = bytes.next() {
        let lo = bytes.next()?;
        out.push(hex_digit(hi)? << 4 | hex_digit(lo)?);
    }
    Some(out)
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn base64_digit(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let digits = text.trim_end_matches('=');
    let pads = text.len() - digits.len();
    if digits.is_empty() || digits.len() % 4 == 1 || pads > 2 {
        return None;
    }
    if pads > 0 && !text.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for b in digits.bytes() {
        acc = acc << 6 | u32::from(base64_digit(b)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // The bits left over after the last whole byte must be zero (RFC 4648 §3.5, canonical form).
    if acc != 0 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(key: &'static str, expected: &'static str) -> Result<u64, Error> {
        Err(Error::InvalidValue { key, expected })
    }

    #[test]
    fn parses_decimal_hex_and_base64_numbers() {
        assert_eq!(parse_number("K", "0"), Ok(0));
        assert_eq!(parse_number("K", "65536"), Ok(65536));
        assert_eq!(parse_number("K", "0XfF"), Ok(255));
        assert_eq!(parse_number("K", "0x0000000000000000001"), Ok(1));
        assert_eq!(parse_number("K", "0bQ"), Ok(16));
        assert_eq!(parse_number("K", "0bAQ=="), Ok(16));
        assert_eq!(parse_number("K", "18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_number("K", "0xffffffffffffffff"), Ok(u64::MAX));
    }

    #[test]
    fn rejects_malformed_numbers() {
        for v in [
            "", "00", "01", "-1", "+1", "1 ", "0x", "0xg", "0b", "0b=", "0bA===", "1e3",
        ] {
            assert_eq!(parse_number("K", v), bad("K", "numerical value"), "{v:?}");
        }
    }

    #[test]
    fn rejects_numbers_of_2_pow_64_and_more() {
        assert!(parse_number("K", "18446744073709551616").is_err());
        assert!(parse_number("K", "0x10000000000000000").is_err());
        // 11 base64 digits hold 66 bits: "P" (15) and ten "/" (63) is exactly 2**64 - 1, while
        // "Q" (16) and ten "A" (0) is 2**64.
        assert_eq!(parse_number("K", "0bP//////////"), Ok(u64::MAX));
        assert!(parse_number("K", "0bQAAAAAAAAAA").is_err());
    }

    #[test]
    fn rejects_inverted_range() {
        assert_eq!(
            Range::parse("K", "5~4"),
            Err(Error::InvalidValue {
                key: "K",
                expected: "numeric range"
            })
        );
        assert_eq!(Range::parse("K", "4~4"), Ok(Range { lo: 4, hi: 4 }));
        assert!(Range::parse("K", "~4").is_err());
        assert!(Range::parse("K", "4").is_err());
    }

    #[test]
    fn rejects_lowercase_booleans() {
        assert!(parse_bool("K", "YES").is_err());
        assert!(parse_bool("K", "").is_err());
    }

    #[test]
    fn key_names_allow_public_extension_prefix_only_after_x() {
        assert_eq!(key_name_error(b"X#NodeArchitecture"), None);
        assert_eq!(key_name_error(b"Y#Node"), Some(1));
        assert_eq!(key_name_error(b"X-com.example"), None);
        assert_eq!(key_name_error(b"lower"), Some(0));
        assert_eq!(key_name_error(b"Key=1"), Some(3));
        assert_eq!(key_name_error(b"X##"), Some(2));
    }

    #[test]
    fn decodes_odd_length_hex_with_leading_zero_nibble() {
        assert_eq!(parse_binary("K", "0x1"), Ok(vec![1]));
        assert_eq!(parse_binary("K", "0x123"), Ok(vec![0x01, 0x23]));
        assert!(parse_binary("K", "0x").is_err());
        assert!(parse_binary("K", "0x12g4").is_err());
    }

    #[test]
    fn rejects_impossible_base64_lengths_and_stray_bits() {
        assert!(parse_binary("K", "0bA").is_err()); // n = 4k+1
        assert!(parse_binary("K", "0bAQIDB").is_err());
        assert!(parse_binary("K", "0bAR==").is_err()); // low bits of R not zero
        assert!(parse_binary("K", "0bAQ=").is_err()); // padded but not a multiple of 4
        assert!(parse_binary("K", "0bA=Q=").is_err());
        assert_eq!(parse_binary("K", "0bAQ"), Ok(vec![1])); // padding is optional
        assert_eq!(parse_binary("K", "0BAQI="), Ok(vec![1, 2]));
    }

    #[test]
    fn base64_matches_rfc4648_test_vectors() {
        // RFC 4648 §10.
        let vectors: [(&[u8], &str); 6] = [
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"fooba", "Zm9vYmE="),
            (b"foobar", "Zm9vYmFy"),
        ];
        for (bytes, text) in vectors {
            assert_eq!(format_base64(bytes), format!("0b{text}"));
            assert_eq!(
                parse_binary("K", &format!("0b{text}")).as_deref(),
                Ok(bytes)
            );
        }
    }

    #[test]
    fn lists_reject_non_text_elements() {
        assert!(parse_list("K", "").is_err());
        assert!(parse_list("K", "A,,B").is_err());
        assert!(parse_list("K", "A,B C").is_err());
        assert_eq!(
            parse_list("K", "KRB5,SRP,CHAP,None"),
            Ok(vec!["KRB5", "SRP", "CHAP", "None"])
        );
        assert_eq!(format_list(Vec::<String>::new()), "");
    }

    proptest::proptest! {
        #[test]
        fn number_round_trips_through_every_encoding(n: u64) {
            proptest::prop_assert_eq!(parse_number("K", &format_number(n)), Ok(n));
            proptest::prop_assert_eq!(parse_number("K", &format!("{n:#x}")), Ok(n));
            proptest::prop_assert_eq!(parse_number("K", &format!("0X{n:X}")), Ok(n));
        }

        #[test]
        fn binary_round_trips_through_hex_and_base64(bytes in proptest::collection::vec(proptest::num::u8::ANY, 1..300)) {
            proptest::prop_assert_eq!(parse_binary("K", &format_hex(&bytes)), Ok(bytes.clone()));
            proptest::prop_assert_eq!(parse_binary("K", &format_base64(&bytes)), Ok(bytes.clone()));
            let unpadded = format_base64(&bytes).trim_end_matches('=').to_owned();
            proptest::prop_assert_eq!(parse_binary("K", &unpadded), Ok(bytes));
        }

        #[test]
        fn range_round_trips(a: u64, b: u64) {
            let r = Range { lo: a.min(b), hi: a.max(b) };
            proptest::prop_assert_eq!(Range::parse("K", &r.to_string()), Ok(r));
        }

        #[test]
        fn value_parsers_never_panic(s in "\\PC{0,40}") {
            let _ = parse_number("K", &s);
            let _ = parse_binary("K", &s);
            let _ = Range::parse("K", &s);
            let _ = parse_list("K", &s);
        }
    }
}
