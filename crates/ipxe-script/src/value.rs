//! Words of a script line: literal text and `${…}` setting expansions as typed parts.
//!
//! iPXE reads a command line in three steps (`src/core/exec.c`): it splits the line at
//! whitespace into tokens, ends the command at a token that *starts* with `#` or *is* `&&`,
//! `||` or `;`, and only then expands `${…}` in each token (`expand_settings`, which keeps
//! rescanning the result until no `${…}` is left). There is no quoting and no escape. So a
//! [`Word`] is accepted only if it survives those steps as exactly one argument with exactly
//! the expansions it was built with:
//!
//! - literal text is printable ASCII without whitespace (space, `\t`, `\n`, `\v`, `\f`, `\r`) and
//!   without `${`;
//! - a word does not start with `#`, is not `&&`, `||` or `;`, and does not end with `\` (a
//!   continuation when it ends a line);
//! - a literal does not end with `$` right before an expansion, nor start with `{` right after
//!   one, since iPXE rescans the expanded text.
//!
//! Values that break these rules are rejected here; [`crate::Command::set_text`] encodes them
//! instead (`set name:hex …`). What a setting holds at run time is iPXE's: the guarantee
//! assumes expanded values contain no `${`, which holds for every formatted type but `string`
//! and `uristring` of settings filled from outside (a DHCP host name, say).

use core::fmt;

use crate::error::{Error, Result};

/// Longest word this crate renders. iPXE has no limit, but nothing sensible comes close.
///
/// ```
/// use ipxe_script::{Error, MAX_WORD_LEN, Word};
/// assert!(Word::literal(&"a".repeat(MAX_WORD_LEN)).is_ok());
/// let too_long = Word::literal(&"a".repeat(MAX_WORD_LEN + 1));
/// assert!(matches!(too_long, Err(Error::TooLong { max: MAX_WORD_LEN, .. })));
/// ```
pub const MAX_WORD_LEN: usize = 4096;

/// Longest setting or settings-block name.
///
/// ```
/// use ipxe_script::{Error, MAX_NAME_LEN, SettingName};
/// assert!(SettingName::new(&"a".repeat(MAX_NAME_LEN)).is_ok());
/// let too_long = SettingName::new(&"a".repeat(MAX_NAME_LEN + 1));
/// assert!(matches!(too_long, Err(Error::TooLong { max: MAX_NAME_LEN, .. })));
/// ```
pub const MAX_NAME_LEN: usize = 64;

/// The type of a setting, written after `:` in `${name:type}` or `set name:type …`
/// (the `SETTING_TYPES` table of `src/core/settings.c`).
///
/// ```
/// use ipxe_script::SettingType;
/// assert_eq!(SettingType::Hexhyp.name(), "hexhyp");
/// assert_eq!(SettingType::from_name("uristring"), Some(SettingType::Uristring));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SettingType {
    /// Raw text.
    String,
    /// URI-encoded text (`%20` for a space): use inside URLs.
    Uristring,
    /// Dotted IPv4 address.
    Ipv4,
    /// IPv6 address.
    Ipv6,
    /// Signed 8-bit integer.
    Int8,
    /// Signed 16-bit integer.
    Int16,
    /// Signed 32-bit integer.
    Int32,
    /// Unsigned 8-bit integer.
    Uint8,
    /// Unsigned 16-bit integer.
    Uint16,
    /// Unsigned 32-bit integer.
    Uint32,
    /// Colon-separated hex bytes (`52:54:00:12:34:56`): the default for `mac`.
    Hex,
    /// Hyphen-separated hex bytes (`52-54-00-12-34-56`).
    Hexhyp,
    /// Hex bytes without separator (`525400123456`).
    Hexraw,
    /// Base64.
    Base64,
    /// UUID text.
    Uuid,
    /// GUID text (UUID with the first three fields little-endian).
    Guid,
    /// PCI bus:device.function.
    Busdevfn,
}

impl SettingType {
    /// Every type, in the order of this enum.
    ///
    /// ```
    /// use ipxe_script::SettingType;
    /// // Every type reads back from its name.
    /// assert!(SettingType::ALL.iter().all(|&ty| SettingType::from_name(ty.name()) == Some(ty)));
    /// ```
    pub const ALL: [SettingType; 17] = [
        SettingType::String,
        SettingType::Uristring,
        SettingType::Ipv4,
        SettingType::Ipv6,
        SettingType::Int8,
        SettingType::Int16,
        SettingType::Int32,
        SettingType::Uint8,
        SettingType::Uint16,
        SettingType::Uint32,
        SettingType::Hex,
        SettingType::Hexhyp,
        SettingType::Hexraw,
        SettingType::Base64,
        SettingType::Uuid,
        SettingType::Guid,
        SettingType::Busdevfn,
    ];

    /// The name iPXE knows the type by.
    ///
    /// ```
    /// assert_eq!(ipxe_script::SettingType::Int32.name(), "int32");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            SettingType::String => "string",
            SettingType::Uristring => "uristring",
            SettingType::Ipv4 => "ipv4",
            SettingType::Ipv6 => "ipv6",
            SettingType::Int8 => "int8",
            SettingType::Int16 => "int16",
            SettingType::Int32 => "int32",
            SettingType::Uint8 => "uint8",
            SettingType::Uint16 => "uint16",
            SettingType::Uint32 => "uint32",
            SettingType::Hex => "hex",
            SettingType::Hexhyp => "hexhyp",
            SettingType::Hexraw => "hexraw",
            SettingType::Base64 => "base64",
            SettingType::Uuid => "uuid",
            SettingType::Guid => "guid",
            SettingType::Busdevfn => "busdevfn",
        }
    }

    /// The type called `name`, if iPXE has one.
    ///
    /// ```
    /// use ipxe_script::SettingType;
    /// assert_eq!(SettingType::from_name("hexraw"), Some(SettingType::Hexraw));
    /// assert_eq!(SettingType::from_name("HEX"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Whether every value of this type formats to lower-case letters, digits, `-`, `.` and
    /// `:` only: the characters an IQN may hold.
    ///
    /// ```
    /// use ipxe_script::SettingType;
    /// assert!(SettingType::Hexhyp.is_name_safe());
    /// assert!(!SettingType::String.is_name_safe());
    /// ```
    pub fn is_name_safe(self) -> bool {
        !matches!(
            self,
            SettingType::String | SettingType::Uristring | SettingType::Base64
        )
    }
}

impl fmt::Display for SettingType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Checks a name made of ASCII letters, digits, `.`, `_` and `-`, not starting with `-`.
fn check_name(what: &'static str, s: &str) -> Result<()> {
    if s.is_empty() {
        return Err(Error::Empty { what });
    }
    if s.len() > MAX_NAME_LEN {
        return Err(Error::TooLong {
            what,
            len: s.len(),
            max: MAX_NAME_LEN,
        });
    }
    for (offset, byte) in s.bytes().enumerate() {
        let ok = byte.is_ascii_alphanumeric()
            || matches!(byte, b'.' | b'_')
            || (byte == b'-' && offset > 0);
        if !ok {
            return Err(Error::InvalidByte { what, byte, offset });
        }
    }
    Ok(())
}

/// A setting's name: `mac`, `root-path`, `initiator-iqn`, or a DHCP option number such as
/// `175.190`. ASCII letters, digits, `.`, `_` and `-`, not starting with `-`.
///
/// ```
/// use ipxe_script::SettingName;
/// assert_eq!(SettingName::new("root-path")?.as_str(), "root-path");
/// assert!(SettingName::new("net0/mac").is_err());
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SettingName(String);

impl SettingName {
    /// Validates a setting name.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`], [`Error::TooLong`] or [`Error::InvalidByte`].
    ///
    /// ```
    /// assert!(ipxe_script::SettingName::new("-x").is_err());
    /// ```
    pub fn new(name: &str) -> Result<Self> {
        check_name("setting name", name)?;
        Ok(SettingName(name.to_owned()))
    }

    /// The name as text.
    ///
    /// ```
    /// assert_eq!(ipxe_script::SettingName::new("keep-san")?.as_str(), "keep-san");
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A settings block, the part before `/` in `${net0/mac}`: dot-separated names such as `net0`,
/// `net0.dhcp` or `smbios`.
///
/// ```
/// use ipxe_script::Scope;
/// assert_eq!(Scope::netdev(0).as_str(), "net0");
/// assert_eq!(Scope::new("net0.dhcp")?.as_str(), "net0.dhcp");
/// assert!(Scope::new("net0..dhcp").is_err());
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope(String);

impl Scope {
    /// Validates a settings block name: non-empty components of ASCII letters, digits, `_` and
    /// `-` (not leading), separated by single dots.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`], [`Error::TooLong`] or [`Error::InvalidByte`].
    ///
    /// ```
    /// assert!(ipxe_script::Scope::new("smbios").is_ok());
    /// ```
    pub fn new(scope: &str) -> Result<Self> {
        check_name("settings block", scope)?;
        let mut offset = 0;
        for component in scope.split('.') {
            if component.is_empty() || component.starts_with('-') {
                return Err(Error::InvalidByte {
                    what: "settings block",
                    byte: scope.as_bytes().get(offset).copied().unwrap_or(b'.'),
                    offset,
                });
            }
            offset += component.len() + 1;
        }
        Ok(Scope(scope.to_owned()))
    }

    /// The settings block of network device `netN`.
    ///
    /// ```
    /// assert_eq!(ipxe_script::Scope::netdev(1).as_str(), "net1");
    /// ```
    pub fn netdev(index: u8) -> Self {
        Scope(format!("net{index}"))
    }

    /// The block name as text.
    ///
    /// ```
    /// assert_eq!(ipxe_script::Scope::new("smbios")?.as_str(), "smbios");
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A reference to a setting: `[scope/]name[:type]`, as written after `set` or inside `${…}`.
///
/// ```
/// use ipxe_script::{Scope, SettingRef, SettingType};
/// let mac = SettingRef::mac(0, Some(SettingType::Hexhyp));
/// assert_eq!(mac.to_string(), "net0/mac:hexhyp");
/// assert_eq!(SettingRef::parse("net0/mac:hexhyp")?, mac);
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SettingRef {
    /// The settings block, if not the global one.
    pub scope: Option<Scope>,
    /// The setting.
    pub name: SettingName,
    /// The type to parse or format the value with, if not the setting's own.
    pub ty: Option<SettingType>,
}

impl SettingRef {
    /// A global setting without an explicit type.
    ///
    /// # Errors
    ///
    /// As [`SettingName::new`].
    ///
    /// ```
    /// let r = ipxe_script::SettingRef::named("initiator-iqn")?;
    /// assert_eq!(r.to_string(), "initiator-iqn");
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn named(name: &str) -> Result<Self> {
        Ok(SettingRef {
            scope: None,
            name: SettingName::new(name)?,
            ty: None,
        })
    }

    /// The same reference with an explicit type.
    ///
    /// ```
    /// use ipxe_script::{SettingRef, SettingType};
    /// let r = SettingRef::named("idx")?.typed(SettingType::Int32);
    /// assert_eq!(r.to_string(), "idx:int32");
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn typed(mut self, ty: SettingType) -> Self {
        self.ty = Some(ty);
        self
    }

    /// The same reference in a settings block.
    ///
    /// ```
    /// use ipxe_script::{Scope, SettingRef};
    /// let r = SettingRef::named("ip")?.scoped(Scope::netdev(0));
    /// assert_eq!(r.to_string(), "net0/ip");
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn scoped(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// `netN/mac`, optionally typed (`:hexhyp` gives `52-54-00-12-34-56`).
    ///
    /// ```
    /// assert_eq!(ipxe_script::SettingRef::mac(0, None).to_string(), "net0/mac");
    /// ```
    pub fn mac(netdev: u8, ty: Option<SettingType>) -> Self {
        SettingRef {
            scope: Some(Scope::netdev(netdev)),
            name: SettingName(String::from("mac")),
            ty,
        }
    }

    /// Parses `[scope/]name[:type]`.
    ///
    /// # Errors
    ///
    /// As [`Scope::new`] and [`SettingName::new`]; an unknown type is
    /// [`Error::InvalidByte`] at the `:`.
    ///
    /// ```
    /// let r = ipxe_script::SettingRef::parse("175.190")?;
    /// assert_eq!(r.name.as_str(), "175.190");
    /// assert!(ipxe_script::SettingRef::parse("mac:nosuchtype").is_err());
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        let (scope, rest) = match text.split_once('/') {
            Some((scope, rest)) => (Some(Scope::new(scope)?), rest),
            None => (None, text),
        };
        let (name, ty) = match rest.split_once(':') {
            Some((name, ty)) => {
                let ty = SettingType::from_name(ty).ok_or(Error::InvalidByte {
                    what: "setting type",
                    byte: b':',
                    offset: text.len() - ty.len() - 1,
                })?;
                (name, Some(ty))
            }
            None => (rest, None),
        };
        Ok(SettingRef {
            scope,
            name: SettingName::new(name)?,
            ty,
        })
    }

    /// The type values of this setting are formatted with: the explicit one, else the type
    /// iPXE predefines for well-known settings (`mac` is `hex`, `ip` is `ipv4`, …), else
    /// `string`.
    ///
    /// ```
    /// use ipxe_script::{SettingRef, SettingType};
    /// assert_eq!(SettingRef::mac(0, None).effective_type(), SettingType::Hex);
    /// assert_eq!(SettingRef::named("hostname")?.effective_type(), SettingType::String);
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn effective_type(&self) -> SettingType {
        if let Some(ty) = self.ty {
            return ty;
        }
        match self.name.as_str() {
            "mac" | "busid" => SettingType::Hex,
            "ip" | "netmask" | "gateway" | "dns" | "next-server" | "dhcp-server" => {
                SettingType::Ipv4
            }
            "uuid" => SettingType::Uuid,
            "busloc" => SettingType::Uint32,
            "keep-san" | "skip-san-boot" | "san-drive" | "priority" => SettingType::Uint8,
            "unixtime" => SettingType::Uint32,
            _ => SettingType::String,
        }
    }
}

impl fmt::Display for SettingRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(scope) = &self.scope {
            write!(f, "{}/", scope.as_str())?;
        }
        f.write_str(self.name.as_str())?;
        if let Some(ty) = self.ty {
            write!(f, ":{ty}")?;
        }
        Ok(())
    }
}

/// One piece of a [`Word`].
///
/// ```
/// use ipxe_script::{Part, SettingRef, SettingType, Word};
/// let word = Word::parse("disk-${net0/mac:hexhyp}")?;
/// let mac = SettingRef::mac(0, Some(SettingType::Hexhyp));
/// assert_eq!(word.parts(), [Part::Literal("disk-".into()), Part::Expand(mac)]);
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Part {
    /// Text that iPXE passes on as it is.
    Literal(String),
    /// `${setting}`, replaced by the setting's formatted value when the line runs.
    Expand(SettingRef),
}

/// One argument of a command: literal text and setting expansions, which iPXE reads back as
/// exactly one argument.
///
/// iPXE splits a line at whitespace, ends the command at a token that starts with `#` or is
/// `&&`, `||` or `;`, and only then expands `${…}` in each token, rescanning the result; there
/// is no quoting and no escape. So:
///
/// - literal text is printable ASCII without whitespace and without `${`;
/// - a word does not start with `#`, is not `&&`, `||` or `;`, and does not end with `\` (a
///   continuation when it ends a line);
/// - a literal does not end with `$` right before an expansion, nor start with `{` right after
///   one, since iPXE rescans the expanded text.
///
/// Words are canonical: adjacent literals are merged and empty literals dropped, so two words
/// that render the same are equal.
///
/// ```
/// use ipxe_script::{Part, SettingRef, SettingType, Word};
/// let word = Word::from_parts([
///     Part::Literal("iqn.2010-04.org.ipxe:".into()),
///     Part::Expand(SettingRef::mac(0, Some(SettingType::Hexhyp))),
/// ])?;
/// assert_eq!(word.to_string(), "iqn.2010-04.org.ipxe:${net0/mac:hexhyp}");
/// assert_eq!(Word::parse(&word.to_string())?, word);
/// assert!(Word::literal("a b").is_err());
/// assert!(Word::literal("#x").is_err());
/// assert!(Word::literal("${x}").is_err());
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Word {
    parts: Vec<Part>,
}

impl Word {
    /// A word of literal text only.
    ///
    /// # Errors
    ///
    /// See [`Word::from_parts`].
    ///
    /// ```
    /// assert_eq!(ipxe_script::Word::literal("0x80")?.to_string(), "0x80");
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn literal(text: &str) -> Result<Self> {
        Self::from_parts([Part::Literal(text.to_owned())])
    }

    /// A word that is one setting expansion, `${setting}`.
    ///
    /// ```
    /// use ipxe_script::{SettingRef, Word};
    /// let w = Word::expansion(SettingRef::named("root-path")?);
    /// assert_eq!(w.to_string(), "${root-path}");
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn expansion(setting: SettingRef) -> Self {
        Word {
            parts: vec![Part::Expand(setting)],
        }
    }

    /// Builds a word from parts, merging adjacent literals and dropping empty ones.
    ///
    /// # Errors
    ///
    /// - [`Error::Empty`] if nothing is left;
    /// - [`Error::InvalidByte`] for a literal byte outside printable ASCII (`0x21..=0x7e`);
    /// - [`Error::ExpansionInLiteral`] for `${` in a literal;
    /// - [`Error::CommentStart`], [`Error::Operator`], [`Error::TrailingBackslash`],
    ///   [`Error::ExpansionBoundary`] as described on [`Word`];
    /// - [`Error::TooLong`] past [`MAX_WORD_LEN`].
    ///
    /// ```
    /// use ipxe_script::{Error, Part, SettingRef, Word};
    /// let dollar = Word::from_parts([
    ///     Part::Literal("$".into()),
    ///     Part::Expand(SettingRef::named("x")?),
    /// ]);
    /// assert_eq!(dollar, Err(Error::ExpansionBoundary { what: "word" }));
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn from_parts(parts: impl IntoIterator<Item = Part>) -> Result<Self> {
        let word = Word::from_validated_parts_unchecked(parts);
        word.check()?;
        Ok(word)
    }

    /// Merges parts that are known to form a valid word (a validated prefix ending in `:`
    /// before a validated word starting with a literal), without checking again.
    pub(crate) fn from_validated_parts(parts: impl IntoIterator<Item = Part>) -> Self {
        let word = Word::from_validated_parts_unchecked(parts);
        debug_assert!(word.check().is_ok(), "{word}");
        word
    }

    fn from_validated_parts_unchecked(parts: impl IntoIterator<Item = Part>) -> Self {
        let mut merged: Vec<Part> = Vec::new();
        for part in parts {
            match (merged.last_mut(), part) {
                (_, Part::Literal(s)) if s.is_empty() => {}
                (Some(Part::Literal(prev)), Part::Literal(s)) => prev.push_str(&s),
                (_, part) => merged.push(part),
            }
        }
        Word { parts: merged }
    }

    fn check(&self) -> Result<()> {
        const WHAT: &str = "word";
        let Some(first) = self.parts.first() else {
            return Err(Error::Empty { what: WHAT });
        };
        let mut offset = 0;
        for (i, part) in self.parts.iter().enumerate() {
            match part {
                Part::Literal(s) => {
                    check_literal_bytes("literal", s, offset)?;
                    let after_expand = i > 0;
                    let before_expand = i + 1 < self.parts.len();
                    if (before_expand && s.ends_with('$')) || (after_expand && s.starts_with('{')) {
                        return Err(Error::ExpansionBoundary { what: WHAT });
                    }
                    offset += s.len();
                }
                Part::Expand(r) => offset += r.to_string().len() + 3,
            }
        }
        if offset > MAX_WORD_LEN {
            return Err(Error::TooLong {
                what: WHAT,
                len: offset,
                max: MAX_WORD_LEN,
            });
        }
        if let Part::Literal(s) = first {
            if s.starts_with('#') {
                return Err(Error::CommentStart { what: WHAT });
            }
            if self.parts.len() == 1 && matches!(s.as_str(), "&&" | "||" | ";") {
                return Err(Error::Operator { what: WHAT });
            }
        }
        if matches!(self.parts.last(), Some(Part::Literal(s)) if s.ends_with('\\')) {
            return Err(Error::TrailingBackslash { what: WHAT });
        }
        Ok(())
    }

    /// Parses template text: `${[scope/]name[:type]}` becomes an expansion, everything else
    /// literal text.
    ///
    /// # Errors
    ///
    /// [`Error::BadExpansion`] for a `${` without a well-formed reference and `}`, and the
    /// errors of [`Word::from_parts`].
    ///
    /// ```
    /// use ipxe_script::Word;
    /// let w = Word::parse("http://${next-server}/boot.ipxe?mac=${net0/mac:hexhyp}")?;
    /// assert_eq!(w.parts().len(), 4);
    /// assert!(Word::parse("${net0/mac").is_err());
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        let mut parts = Vec::new();
        let mut literal_start = 0;
        let mut i = 0;
        let bytes = text.as_bytes();
        while i < bytes.len() {
            if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'{') {
                let bad = Error::BadExpansion {
                    what: "word",
                    offset: i,
                };
                let close = text[i + 2..].find('}').ok_or(bad)?;
                let inner = &text[i + 2..i + 2 + close];
                let setting = SettingRef::parse(inner).map_err(|_| bad)?;
                parts.push(Part::Literal(text[literal_start..i].to_owned()));
                parts.push(Part::Expand(setting));
                i += close + 3;
                literal_start = i;
            } else {
                i += 1;
            }
        }
        parts.push(Part::Literal(text[literal_start..].to_owned()));
        Self::from_parts(parts)
    }

    /// The parts, canonical (no two literals in a row, none empty).
    ///
    /// ```
    /// assert_eq!(ipxe_script::Word::literal("x")?.parts().len(), 1);
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The text if the word holds no expansion.
    ///
    /// ```
    /// use ipxe_script::Word;
    /// assert_eq!(Word::literal("net0")?.as_literal(), Some("net0"));
    /// assert_eq!(Word::parse("${ip}")?.as_literal(), None);
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn as_literal(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Part::Literal(s)] => Some(s),
            _ => None,
        }
    }

    /// Whether the word starts with `-` when its leading expansions are empty (unset), which
    /// iPXE's `getopt` would take for an option if it were the first positional argument.
    ///
    /// ```
    /// use ipxe_script::Word;
    /// assert!(Word::literal("-n")?.starts_with_dash());
    /// assert!(Word::parse("${x}-n")?.starts_with_dash());
    /// assert!(!Word::parse("${x}n-")?.starts_with_dash());
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn starts_with_dash(&self) -> bool {
        self.parts.iter().find_map(|p| match p {
            Part::Literal(s) => Some(s.starts_with('-')),
            Part::Expand(_) => None,
        }) == Some(true)
    }

    /// The argument iPXE passes to the command once `lookup` gives each expansion's value
    /// (an unset setting expands to nothing).
    ///
    /// ```
    /// use ipxe_script::Word;
    /// let w = Word::parse("mac-${net0/mac:hexhyp}")?;
    /// assert_eq!(w.expand_with(&mut |_| "52-54-00-12-34-56".into()), "mac-52-54-00-12-34-56");
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn expand_with(&self, lookup: &mut dyn FnMut(&SettingRef) -> String) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Expand(r) => out.push_str(&lookup(r)),
            }
        }
        out
    }
}

impl From<SettingRef> for Word {
    fn from(setting: SettingRef) -> Self {
        Word::expansion(setting)
    }
}

impl fmt::Display for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Literal(s) => f.write_str(s)?,
                Part::Expand(r) => write!(f, "${{{r}}}")?,
            }
        }
        Ok(())
    }
}

/// Checks that `s` is printable ASCII without `${`; offsets are reported from `base`.
pub(crate) fn check_literal_bytes(what: &'static str, s: &str, base: usize) -> Result<()> {
    for (i, byte) in s.bytes().enumerate() {
        if !(0x21..=0x7e).contains(&byte) {
            return Err(Error::InvalidByte {
                what,
                byte,
                offset: base + i,
            });
        }
    }
    if let Some(i) = s.find("${") {
        return Err(Error::ExpansionInLiteral {
            what,
            offset: base + i,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_ipxe_would_split_or_expand() {
        for bad in [
            "a b", "a\tb", "a\nb", "a\rb", "a\x0bb", "a\x0cb", "a\0b", "é", "${x}", "#x", "&&",
            "||", ";", "x\\", "",
        ] {
            assert!(Word::literal(bad).is_err(), "{bad:?} was accepted");
        }
        for good in [
            "a#b", "&&x", "x;", "a\\b", "$", "{", "}", "$x{y}", "-n", "a||b",
        ] {
            assert_eq!(Word::literal(good).unwrap().to_string(), good);
        }
    }

    #[test]
    fn merges_literals_and_drops_empty_ones() {
        let w = Word::from_parts([
            Part::Literal("a".into()),
            Part::Literal(String::new()),
            Part::Literal("b".into()),
        ])
        .unwrap();
        assert_eq!(w.parts(), &[Part::Literal("ab".into())]);
    }

    #[test]
    fn rejects_dollar_and_brace_next_to_an_expansion() {
        let x = || Part::Expand(SettingRef::named("x").unwrap());
        let lit = |s: &str| Part::Literal(s.into());
        assert!(Word::from_parts([lit("a$"), x()]).is_err());
        assert!(Word::from_parts([x(), lit("{a")]).is_err());
        assert!(Word::from_parts([lit("a$b"), x(), lit("}")]).is_ok());
    }

    #[test]
    fn parses_templates() {
        let w = Word::parse("a${net0.dhcp/175.190:string}b").unwrap();
        assert_eq!(w.parts().len(), 3);
        assert_eq!(w.to_string(), "a${net0.dhcp/175.190:string}b");
        assert!(Word::parse("${a${b}}").is_err());
        assert!(Word::parse("${}").is_err());
        assert!(Word::parse("${a:nope}").is_err());
    }

    #[test]
    fn setting_refs_round_trip() {
        for text in [
            "mac",
            "net0/mac:hexhyp",
            "smbios/uuid",
            "175.190",
            "idx:int32",
        ] {
            assert_eq!(SettingRef::parse(text).unwrap().to_string(), text);
        }
        for bad in ["", "/mac", "net0/", "a b", "-x", "net0/-x", "a:"] {
            assert!(SettingRef::parse(bad).is_err(), "{bad:?}");
        }
    }
}
