//! iSCSI names (RFC 7143 §4.2.7 "iSCSI Names").
//!
//! §4.2.7.2 "iSCSI Name Encoding": "The UTF-8 encoding of the name is not larger than 223 bytes"
//! and the name "only contains characters allowed by the output of the iSCSI stringprep
//! template", which "converts strings into equivalent strings of lower-case characters"; dash,
//! dot and colon are the formatting characters. This crate does not implement stringprep, so it
//! accepts the ASCII part of that output only: lower-case letters, digits, `-`, `.` and `:`.
//! Names that need stringprep (non-ASCII) are refused rather than compared unreliably.
//!
//! The `eui.` and `naa.` formats carry hexadecimal digits, and the RFC's own examples write them
//! in upper case (`eui.02004567A425678D`, `naa.52004567BA64678D`), so both cases are accepted
//! there, and names compare equal regardless of ASCII case (what stringprep's lower-casing makes
//! of them).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::{Error, NameProblem};

/// Longest iSCSI name in bytes (RFC 7143 §4.2.7.2).
///
/// ```
/// assert_eq!(iscsi_pdu::text_data::MAX_NAME_LEN, 223);
/// ```
pub const MAX_NAME_LEN: usize = 223;

/// The three name formats of RFC 7143 §4.2.7.3 "iSCSI Name Structure".
///
/// ```
/// use iscsi_pdu::text_data::{IscsiName, IscsiNameKind};
/// let name = IscsiName::parse("naa.52004567BA64678D")?;
/// assert_eq!(name.kind(), IscsiNameKind::Naa);
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IscsiNameKind {
    /// `iqn.yyyy-mm.reversed.domain[:unique]`: iSCSI Qualified Name (§4.2.7.4).
    Iqn,
    /// `eui.` and 16 hex digits: an IEEE EUI-64 identifier (§4.2.7.5).
    Eui,
    /// `naa.` and 16 or 32 hex digits: a T11 Network Address Authority identifier (§4.2.7.6).
    Naa,
}

/// A validated iSCSI name, for `InitiatorName` and `TargetName`.
///
/// The text is kept exactly as given, so it is echoed back unchanged; equality and hashing
/// ignore ASCII case, which only matters for the hex digits of `eui.` and `naa.` names.
///
/// ```
/// use iscsi_pdu::text_data::{IscsiName, IscsiNameKind};
/// let name = IscsiName::parse("iqn.2010-04.org.ipxe:52540012345")?;
/// assert_eq!(name.kind(), IscsiNameKind::Iqn);
/// assert_eq!(name.to_string(), "iqn.2010-04.org.ipxe:52540012345");
/// assert_eq!(
///     IscsiName::parse("eui.02004567A425678D")?,
///     IscsiName::parse("eui.02004567a425678d")?,
/// );
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct IscsiName {
    name: String,
    kind: IscsiNameKind,
}

impl IscsiName {
    /// Validates an iSCSI name.
    ///
    /// Checks, in order: length 1 to 223 bytes; the `iqn.`, `eui.` or `naa.` prefix (lower
    /// case); then for `iqn.` the date code ("All four digits in the year must be present. Both
    /// digits of the month must be present, with January == "01" and December == "12". The dash
    /// must be included.", §4.2.7.4), a dot, a non-empty naming authority starting with a letter
    /// or digit, and only lower-case letters, digits, `-`, `.`, `:` throughout; for `eui.` exactly
    /// 16 hex digits, for `naa.` 16 or 32.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] with the first [`NameProblem`] found.
    ///
    /// ```
    /// use iscsi_pdu::{Error, NameProblem, text_data::IscsiName};
    /// assert!(IscsiName::parse("iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test").is_ok());
    /// assert!(IscsiName::parse("naa.62004567BA64678D0123456789ABCDEF").is_ok());
    /// assert_eq!(IscsiName::parse("iqn.2001-13.com.example"),
    ///            Err(Error::InvalidName(NameProblem::IqnDate)));
    /// assert_eq!(IscsiName::parse("iqn.2001-04.com.Example"),
    ///            Err(Error::InvalidName(NameProblem::Character)));
    /// assert_eq!(IscsiName::parse("eui.0200"), Err(Error::InvalidName(NameProblem::HexDigits)));
    /// ```
    pub fn parse(name: &str) -> Result<Self, Error> {
        let kind = validate(name).map_err(Error::InvalidName)?;
        Ok(IscsiName {
            name: name.to_owned(),
            kind,
        })
    }

    /// Lower-cases ASCII letters (the part of stringprep that applies to ASCII names) and then
    /// validates as [`IscsiName::parse`] does. For names typed by people, such as configuration.
    ///
    /// # Errors
    ///
    /// As [`IscsiName::parse`].
    ///
    /// ```
    /// use iscsi_pdu::text_data::IscsiName;
    /// let name = IscsiName::prepare("iqn.2001-04.com.Example:Disk1")?;
    /// assert_eq!(name.as_str(), "iqn.2001-04.com.example:disk1");
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn prepare(name: &str) -> Result<Self, Error> {
        Self::parse(&name.to_ascii_lowercase())
    }

    /// The name as text, exactly as it was given.
    ///
    /// ```
    /// use iscsi_pdu::text_data::IscsiName;
    /// let name = IscsiName::parse("eui.02004567A425678D")?;
    /// assert_eq!(name.as_str(), "eui.02004567A425678D");
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The name format.
    ///
    /// ```
    /// use iscsi_pdu::text_data::{IscsiName, IscsiNameKind};
    /// let name = IscsiName::parse("iqn.1991-05.com.microsoft:iscsiboot-52-54-00-12-34-56")?;
    /// assert_eq!(name.kind(), IscsiNameKind::Iqn);
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn kind(&self) -> IscsiNameKind {
        self.kind
    }

    /// Gives back the text.
    ///
    /// ```
    /// use iscsi_pdu::text_data::IscsiName;
    /// let name = IscsiName::parse("iqn.2001-04.com.example")?;
    /// assert_eq!(name.into_string(), "iqn.2001-04.com.example");
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn into_string(self) -> String {
        self.name
    }
}

fn validate(name: &str) -> Result<IscsiNameKind, NameProblem> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(NameProblem::Length);
    }
    if let Some(rest) = name.strip_prefix("iqn.") {
        validate_iqn(rest)?;
        Ok(IscsiNameKind::Iqn)
    } else if let Some(hex) = name.strip_prefix("eui.") {
        // §4.2.7.5: "eui." followed by an EUI-64 identifier (16 ASCII-encoded hexadecimal digits).
        validate_hex(hex, &[16])?;
        Ok(IscsiNameKind::Eui)
    } else if let Some(hex) = name.strip_prefix("naa.") {
        // §4.2.7.6: a 64-bit or 128-bit NAA identifier, 16 or 32 hexadecimal digits.
        validate_hex(hex, &[16, 32])?;
        Ok(IscsiNameKind::Naa)
    } else {
        Err(NameProblem::Prefix)
    }
}

fn validate_iqn(rest: &str) -> Result<(), NameProblem> {
    // "yyyy-mm." then the reversed domain name of the naming authority.
    let (date, authority_and_unique) = rest.split_at_checked(8).ok_or(NameProblem::IqnDate)?;
    let date_ok = match date.as_bytes() {
        [y0, y1, y2, y3, b'-', m0, m1, b'.'] => {
            [y0, y1, y2, y3, m0, m1].iter().all(|d| d.is_ascii_digit())
                && matches!((m0, m1), (b'0', b'1'..=b'9') | (b'1', b'0'..=b'2'))
        }
        _ => false,
    };
    if !date_ok {
        return Err(NameProblem::IqnDate);
    }
    let authority = authority_and_unique.split(':').next().unwrap_or_default();
    if !authority
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
    {
        // An upper-case first letter is a character problem, not a missing authority.
        return Err(
            if authority
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_uppercase())
            {
                NameProblem::Character
            } else {
                NameProblem::IqnDate
            },
        );
    }
    if authority_and_unique
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.' | b':'))
    {
        Ok(())
    } else {
        Err(NameProblem::Character)
    }
}

fn validate_hex(hex: &str, lengths: &[usize]) -> Result<(), NameProblem> {
    if lengths.contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(NameProblem::HexDigits)
    }
}

/// Equal when the texts are equal ignoring ASCII case.
impl PartialEq for IscsiName {
    fn eq(&self, other: &Self) -> bool {
        self.name.eq_ignore_ascii_case(&other.name)
    }
}

impl Eq for IscsiName {}

/// Hashes the ASCII-lower-cased text, consistent with `PartialEq`.
impl Hash for IscsiName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for b in self.name.bytes() {
            state.write_u8(b.to_ascii_lowercase());
        }
        state.write_u8(0xff);
    }
}

/// Writes the name as given.
impl fmt::Display for IscsiName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// The name as text.
impl AsRef<str> for IscsiName {
    fn as_ref(&self) -> &str {
        &self.name
    }
}

/// Same as [`IscsiName::parse`].
///
/// ```
/// let name: iscsi_pdu::text_data::IscsiName = "iqn.2001-04.com.example".parse()?;
/// assert_eq!(name.as_str(), "iqn.2001-04.com.example");
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
impl FromStr for IscsiName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(any(test, feature = "arbitrary"))]
mod arbitrary {
    use proptest::prelude::*;

    use super::IscsiName;

    /// Valid names of all three kinds, with `iqn.` names of any length up to the limit.
    impl Arbitrary for IscsiName {
        type Parameters = ();
        type Strategy = BoxedStrategy<Self>;

        fn arbitrary_with((): ()) -> Self::Strategy {
            prop_oneof![
                "iqn\\.[0-9]{4}-(0[1-9]|1[0-2])\\.[a-z0-9][a-z0-9.-]{0,60}(:[a-z0-9.:-]{0,140})?",
                "eui\\.[0-9A-Fa-f]{16}",
                "naa\\.([0-9A-Fa-f]{16}|[0-9A-Fa-f]{32})",
            ]
            .prop_filter_map("valid iSCSI name", |s| IscsiName::parse(&s).ok())
            .boxed()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;

    fn problem(name: &str) -> Option<NameProblem> {
        match IscsiName::parse(name) {
            Ok(_) => None,
            Err(Error::InvalidName(p)) => Some(p),
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }

    #[test]
    fn accepts_names_sent_by_ipxe_windows_and_libiscsi() {
        for name in [
            "iqn.1991-05.com.microsoft:iscsiboot-52-54-00-12-34-56",
            "iqn.2010-04.org.ipxe:52540012345",
            "iqn.2010-04.org.ipxe:12345678-1234-1234-1234-123456789abc",
            "iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test",
            "iqn.2001-04.com.example:storage:diskarrays-sn-a8675309",
            "iqn.2001-04.com.example",
            "iqn.2001-04.com.example:storage.tape1.sys1.xyz",
        ] {
            assert_eq!(problem(name), None, "{name}");
        }
    }

    #[test]
    fn accepts_rfc_eui_and_naa_examples_in_either_case() {
        for name in [
            "eui.02004567A425678D",
            "eui.02004567a425678d",
            "naa.52004567BA64678D",
            "naa.62004567BA64678D0123456789ABCDEF",
        ] {
            assert_eq!(problem(name), None, "{name}");
        }
    }

    #[test]
    fn rejects_names_by_length() {
        assert_eq!(problem(""), Some(NameProblem::Length));
        let longest = format!("iqn.2001-04.com.example:{}", "a".repeat(MAX_NAME_LEN - 24));
        assert_eq!(longest.len(), MAX_NAME_LEN);
        assert_eq!(problem(&longest), None);
        assert_eq!(problem(&format!("{longest}a")), Some(NameProblem::Length));
    }

    #[test]
    fn rejects_unknown_or_upper_case_prefix() {
        assert_eq!(problem("iqn"), Some(NameProblem::Prefix));
        assert_eq!(
            problem("IQN.2001-04.com.example"),
            Some(NameProblem::Prefix)
        );
        assert_eq!(
            problem("abc.2001-04.com.example"),
            Some(NameProblem::Prefix)
        );
    }

    #[test]
    fn rejects_bad_iqn_dates_and_missing_authority() {
        for name in [
            "iqn.",
            "iqn.2001-04",
            "iqn.2001-04.",
            "iqn.2001-04.:x",
            "iqn.2001-4.com.example",
            "iqn.01-04.com.example",
            "iqn.2001-00.com.example",
            "iqn.2001-13.com.example",
            "iqn.2001/04.com.example",
            "iqn.2001-04:com.example",
            "iqn.2001-04..com",
            "iqn.20a1-04.com.example",
        ] {
            assert_eq!(problem(name), Some(NameProblem::IqnDate), "{name}");
        }
    }

    #[test]
    fn rejects_characters_outside_the_stringprep_ascii_set() {
        for name in [
            "iqn.2001-04.com.Example",
            "iqn.2001-04.Com.example",
            "iqn.2001-04.com.example:Disk",
            "iqn.2001-04.com.example:disk 1",
            "iqn.2001-04.com.example:disk_1",
            "iqn.2001-04.com.example:disk/1",
            "iqn.2001-04.com.example:dïsk",
        ] {
            assert_eq!(problem(name), Some(NameProblem::Character), "{name}");
        }
    }

    #[test]
    fn rejects_wrong_hex_digit_counts() {
        for name in [
            "eui.",
            "eui.02004567A425678",
            "eui.02004567A425678D0",
            "eui.02004567A425678G",
            "naa.52004567BA64678D01",
            "naa.62004567BA64678D0123456789ABCDE",
            "naa.62004567BA64678D0123456789ABCDEF0",
        ] {
            assert_eq!(problem(name), Some(NameProblem::HexDigits), "{name}");
        }
    }

    #[test]
    fn equality_and_hash_ignore_hex_case() {
        let upper = IscsiName::parse("naa.52004567BA64678D").unwrap();
        let lower = IscsiName::parse("naa.52004567ba64678d").unwrap();
        assert_eq!(upper, lower);
        let set: HashSet<_> = [upper, lower].into_iter().collect();
        assert_eq!(set.len(), 1);
        assert_ne!(
            IscsiName::parse("iqn.2001-04.com.example:a").unwrap(),
            IscsiName::parse("iqn.2001-04.com.example:b").unwrap()
        );
    }

    proptest! {
        #[test]
        fn valid_names_round_trip_through_display(name: IscsiName) {
            let text = name.to_string();
            prop_assert!(text.len() <= MAX_NAME_LEN);
            let again = IscsiName::parse(&text).unwrap();
            prop_assert_eq!(again.as_str(), name.as_str());
            prop_assert_eq!(again.kind(), name.kind());
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,80}") {
            let _ = IscsiName::parse(&s);
            let _ = IscsiName::prepare(&s);
        }
    }
}
