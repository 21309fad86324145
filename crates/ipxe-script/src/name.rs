//! iSCSI names (RFC 7143 §4.2.7 "iSCSI Names") that may hold per-client expansions such as
//! `${net0/mac:hexhyp}`.

use core::fmt;

use crate::error::{Error, Result};
use crate::value::{Part, Word};

/// Longest iSCSI name: "iSCSI names are ... no more than 223 bytes" (RFC 7143 §4.2.7.1).
///
/// ```
/// use ipxe_script::{Error, IscsiName, MAX_ISCSI_NAME_LEN};
/// let prefix = "iqn.2010-04.org.example:";
/// let longest = format!("{prefix}{}", "a".repeat(MAX_ISCSI_NAME_LEN - prefix.len()));
/// assert!(IscsiName::new(&longest).is_ok());
/// let too_long = IscsiName::new(&format!("{longest}a"));
/// assert!(matches!(too_long, Err(Error::TooLong { max: MAX_ISCSI_NAME_LEN, .. })));
/// ```
pub const MAX_ISCSI_NAME_LEN: usize = 223;

/// An iSCSI name (`iqn.`, `eui.` or `naa.`), possibly with setting expansions in the unique
/// part of an `iqn.` name, for per-client names built by iPXE at boot time.
///
/// Validation follows RFC 7143 §4.2.7 with each expansion replaced by `0`: an `iqn.` name has
/// the date code `yyyy-mm.`, a naming authority that starts with a letter or digit, and only
/// lower-case letters, digits, `-`, `.` and `:`; `eui.` has 16 hex digits, `naa.` 16 or 32.
/// Expansions are allowed only after the first `:` of an `iqn.` name, and only of types that
/// format to those characters ([`crate::SettingType::is_name_safe`]), so the name iPXE builds
/// is valid for every value.
///
/// ```
/// use ipxe_script::IscsiName;
/// let target = IscsiName::new(
///     "iqn.1991-05.com.microsoft:testsvr-iscsiboot-${net0/mac}-target",
/// )?;
/// assert_eq!(target.to_string(), "iqn.1991-05.com.microsoft:testsvr-iscsiboot-${net0/mac}-target");
/// assert!(IscsiName::new("iqn.2010-04.org.ipxe:${hostname}").is_err()); // any string
/// assert!(IscsiName::new("iqn.2010-13.org.ipxe:x").is_err()); // month 13
/// assert!(IscsiName::new("iqn.2010-04.org.ipxe:Disk").is_err()); // upper case
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IscsiName(Word);

impl IscsiName {
    /// Parses and validates a name written as template text.
    ///
    /// # Errors
    ///
    /// The errors of [`Word::parse`], [`Error::ExpansionNotAllowed`], and
    /// [`Error::InvalidIscsiName`] naming the rule.
    ///
    /// ```
    /// assert!(ipxe_script::IscsiName::new("eui.02004567A425678D").is_ok());
    /// ```
    pub fn new(text: &str) -> Result<Self> {
        Self::from_word(Word::parse(text)?)
    }

    /// Validates a word as an iSCSI name.
    ///
    /// # Errors
    ///
    /// As [`IscsiName::new`].
    ///
    /// ```
    /// use ipxe_script::{IscsiName, Word};
    /// let name = IscsiName::from_word(Word::literal("iqn.2010-04.org.ipxe:client1")?);
    /// assert!(name.is_ok());
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn from_word(word: Word) -> Result<Self> {
        const WHAT: &str = "iSCSI name";
        let mut sample = String::new();
        for part in word.parts() {
            match part {
                Part::Literal(s) => sample.push_str(s),
                Part::Expand(r) => {
                    let after_colon = sample.starts_with("iqn.") && sample.contains(':');
                    if !after_colon || !r.effective_type().is_name_safe() {
                        return Err(Error::ExpansionNotAllowed { what: WHAT });
                    }
                    sample.push('0');
                }
            }
        }
        validate(&sample).map_err(|problem| Error::InvalidIscsiName {
            what: WHAT,
            problem,
        })?;
        if sample.len() > MAX_ISCSI_NAME_LEN {
            return Err(Error::TooLong {
                what: WHAT,
                len: sample.len(),
                max: MAX_ISCSI_NAME_LEN,
            });
        }
        Ok(IscsiName(word))
    }

    /// The name as a script word.
    ///
    /// ```
    /// let name = ipxe_script::IscsiName::new("iqn.2010-04.org.ipxe:${uuid}")?;
    /// assert_eq!(name.as_word().parts().len(), 2);
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn as_word(&self) -> &Word {
        &self.0
    }

    /// Gives back the word.
    ///
    /// ```
    /// let name = ipxe_script::IscsiName::new("iqn.2010-04.org.ipxe:a")?;
    /// assert_eq!(name.into_word().as_literal(), Some("iqn.2010-04.org.ipxe:a"));
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn into_word(self) -> Word {
        self.0
    }
}

impl fmt::Display for IscsiName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// RFC 7143 §4.2.7 checks, giving the broken rule.
fn validate(name: &str) -> core::result::Result<(), &'static str> {
    if let Some(rest) = name.strip_prefix("iqn.") {
        // "yyyy-mm." then the reversed domain name of the naming authority (§4.2.7.4).
        let date = rest.as_bytes().get(..8).ok_or("no date code")?;
        let date_ok = match date {
            [y0, y1, y2, y3, b'-', m0, m1, b'.'] => {
                [y0, y1, y2, y3, m0, m1].iter().all(|d| d.is_ascii_digit())
                    && matches!((m0, m1), (b'0', b'1'..=b'9') | (b'1', b'0'..=b'2'))
            }
            _ => false,
        };
        if !date_ok {
            return Err("the date code is not yyyy-mm");
        }
        if !rest
            .as_bytes()
            .get(8)
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err("no naming authority");
        }
        let ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.:".contains(&b);
        if !rest.bytes().all(ok) {
            return Err("only a-z, 0-9, '-', '.' and ':' are allowed");
        }
        Ok(())
    } else if let Some(hex) = name.strip_prefix("eui.") {
        check_hex(hex, &[16])
    } else if let Some(hex) = name.strip_prefix("naa.") {
        check_hex(hex, &[16, 32])
    } else {
        Err("the name does not start with iqn., eui. or naa.")
    }
}

fn check_hex(hex: &str, lens: &[usize]) -> core::result::Result<(), &'static str> {
    if lens.contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err("wrong number of hex digits")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_rfc_examples() {
        for name in [
            "iqn.2001-04.com.example:storage:diskarrays-sn-a8675309",
            "iqn.2001-04.com.example",
            "iqn.1986-03.com.sun:02:e9ab",
            "eui.02004567A425678D",
            "naa.52004567BA64678D",
            "naa.62004567BA64678D0123456789ABCDEF",
            "iqn.2010-04.org.ipxe:${net0/mac:hexhyp}",
            "iqn.2010-04.org.ipxe:${uuid}-${net1/ip}",
        ] {
            assert!(IscsiName::new(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn rejects_broken_names() {
        for name in [
            "",
            "iqn.",
            "iqn.2001-4.com.example",
            "iqn.2001-00.com.example",
            "iqn.2001-04.",
            "iqn.2001-04.-x",
            "iqn.2001-04.com.example:a b",
            "iqn.2001-04.com.example:a_b",
            "eui.0200",
            "naa.XYZ4567BA64678D",
            "foo.2001-04.com.example",
            "iqn.2001-04.com.${net0/mac}",
            "iqn.2001-04.com.example:${net0/mac:base64}",
            "eui.${net0/mac:hexraw}",
        ] {
            assert!(IscsiName::new(name).is_err(), "{name}");
        }
        let long = format!("iqn.2001-04.com.example:{}", "a".repeat(200));
        assert!(matches!(
            IscsiName::new(&long),
            Err(Error::TooLong { max: 223, .. })
        ));
    }
}
