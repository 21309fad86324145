//! SAN URIs: iSCSI root paths (RFC 4173, as iPXE's `iscsi_parse_root_path` reads them) built
//! from typed parts.
//!
//! `iscsi:<server>:<protocol>:<port>:<LUN>:<targetname>`. iPXE splits at the first four
//! colons, except inside `[…]` (so an IPv6 server goes in brackets); the protocol is ignored;
//! the port is decimal, empty or 0 meaning 3260; the LUN is **hexadecimal**, up to four
//! `-`-separated 16-bit levels stored big-endian into the 8-byte SCSI LUN, empty meaning 0
//! (`scsi_parse_lun`); the target name is everything after the fourth colon. The whole URI
//! is first read by `parse_uri`, which cuts it at `#` and URI-decodes `%xx`, so no part may
//! hold `#` or `%` (none of the typed parts can).

use core::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{Error, Result};
use crate::name::IscsiName;
use crate::value::{Part, SettingRef, Word};

/// The iSCSI port iPXE uses when the root path leaves it empty (or 0).
///
/// ```
/// use ipxe_script::{DEFAULT_ISCSI_PORT, IscsiName, IscsiRootPath, Lun, Server};
/// let rp = IscsiRootPath::parse("iscsi:10.0.0.1::::iqn.2010-04.org.example:d")?;
/// assert_eq!(rp.port(), DEFAULT_ISCSI_PORT); // an empty port field
/// let target = IscsiName::new("iqn.2010-04.org.example:d")?;
/// let rp = IscsiRootPath::new(Server::Ipv4([10, 0, 0, 1].into()), DEFAULT_ISCSI_PORT, Lun::ZERO, target)?;
/// assert_eq!(rp.to_string(), "iscsi:10.0.0.1::::iqn.2010-04.org.example:d"); // and written empty
/// # Ok::<(), ipxe_script::Error>(())
/// ```
pub const DEFAULT_ISCSI_PORT: u16 = 3260;

/// Longest DNS name (RFC 1035 §2.3.4, without the trailing dot).
///
/// ```
/// use ipxe_script::{Error, HostName, MAX_HOST_NAME_LEN};
/// let name = ["a".repeat(63).as_str(); 4].join("."); // 255 bytes
/// assert!(HostName::new(&name[..MAX_HOST_NAME_LEN]).is_ok());
/// assert!(matches!(HostName::new(&name), Err(Error::TooLong { max: MAX_HOST_NAME_LEN, .. })));
/// ```
pub const MAX_HOST_NAME_LEN: usize = 253;

/// A DNS host name: dot-separated labels of 1 to 63 ASCII letters, digits and inner `-`, at
/// most 253 bytes, whose last label is not all digits (so it cannot be read as an IPv4
/// address).
///
/// ```
/// use ipxe_script::HostName;
/// assert!(HostName::new("storage.example.org").is_ok());
/// assert!(HostName::new("10.0.0.1").is_err());
/// assert!(HostName::new("bad_name").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostName(String);

impl HostName {
    /// Validates a host name.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`], [`Error::TooLong`] or [`Error::InvalidByte`].
    ///
    /// ```
    /// assert!(ipxe_script::HostName::new("-x.example").is_err());
    /// ```
    pub fn new(name: &str) -> Result<Self> {
        const WHAT: &str = "host name";
        if name.is_empty() {
            return Err(Error::Empty { what: WHAT });
        }
        if name.len() > MAX_HOST_NAME_LEN {
            return Err(Error::TooLong {
                what: WHAT,
                len: name.len(),
                max: MAX_HOST_NAME_LEN,
            });
        }
        let mut offset = 0;
        let mut last_numeric = false;
        for label in name.split('.') {
            let bad = |i: usize| Error::InvalidByte {
                what: WHAT,
                byte: name.as_bytes().get(offset + i).copied().unwrap_or(b'.'),
                offset: offset + i,
            };
            if label.is_empty() || label.len() > 63 {
                return Err(bad(0));
            }
            for (i, b) in label.bytes().enumerate() {
                let inner = i > 0 && i + 1 < label.len();
                if !(b.is_ascii_alphanumeric() || (b == b'-' && inner)) {
                    return Err(bad(i));
                }
            }
            last_numeric = label.bytes().all(|b| b.is_ascii_digit());
            offset += label.len() + 1;
        }
        if last_numeric {
            return Err(Error::InvalidByte {
                what: WHAT,
                byte: name.as_bytes()[name.len() - 1],
                offset: name.len() - 1,
            });
        }
        Ok(HostName(name.to_owned()))
    }

    /// The name as text.
    ///
    /// ```
    /// assert_eq!(ipxe_script::HostName::new("san")?.as_str(), "san");
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where the iSCSI target listens: an IPv4 address, an IPv6 address (written in brackets) or
/// a DNS name.
///
/// ```
/// use ipxe_script::Server;
/// use std::net::Ipv6Addr;
/// assert_eq!(Server::Ipv6(Ipv6Addr::LOCALHOST).to_string(), "[::1]");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Server {
    /// Dotted quad.
    Ipv4(Ipv4Addr),
    /// In brackets, without a zone (`%net0` would be URI-decoded by iPXE).
    Ipv6(Ipv6Addr),
    /// Resolved by iPXE's DNS client.
    Name(HostName),
}

impl Server {
    /// Parses the server field as this crate writes it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRootPath`] for bad brackets or an IPv6 address that does not parse, and
    /// the errors of [`HostName::new`].
    ///
    /// ```
    /// use ipxe_script::Server;
    /// assert_eq!(Server::parse("10.0.0.1")?.to_string(), "10.0.0.1");
    /// assert!(matches!(Server::parse("[fe80::1]")?, Server::Ipv6(_)));
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        if let Some(inner) = text.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or(Error::InvalidRootPath {
                problem: "unclosed '[' in the server",
            })?;
            let addr: Ipv6Addr = inner.parse().map_err(|_| Error::InvalidRootPath {
                problem: "the server is not an IPv6 address",
            })?;
            return Ok(Server::Ipv6(addr));
        }
        if let Ok(addr) = text.parse::<Ipv4Addr>() {
            return Ok(Server::Ipv4(addr));
        }
        Ok(Server::Name(HostName::new(text)?))
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Server::Ipv4(a) => write!(f, "{a}"),
            Server::Ipv6(a) => {
                // iPXE's inet6_aton reads hex groups and one "::", not an embedded dotted
                // quad, which Rust writes for IPv4-mapped addresses: spell those out.
                let short = a.to_string();
                if short.contains('.') {
                    let s = a.segments();
                    write!(
                        f,
                        "[{:x}:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}]",
                        s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]
                    )
                } else {
                    write!(f, "[{short}]")
                }
            }
            Server::Name(n) => f.write_str(n.as_str()),
        }
    }
}

/// A SCSI logical unit number as iPXE reads it from a root path: up to four 16-bit levels,
/// each stored big-endian into the 8-byte LUN (SAM-2 §4.9). `Lun::new(1)` is the usual LUN 1
/// (`00 01 00 00 00 00 00 00`).
///
/// It is written in **hexadecimal** (`scsi_parse_lun` calls `strtoul(…, 16)`): LUN 10 is `a`,
/// and a decimal "10" would reach the target as LUN 16.
///
/// ```
/// use ipxe_script::Lun;
/// assert_eq!(Lun::new(10).to_string(), "a");
/// assert_eq!(Lun::new(0).to_string(), "");
/// assert_eq!(Lun::from_levels([1, 7, 0, 0]).to_string(), "1-7");
/// assert_eq!(Lun::parse("1-7")?, Lun::from_levels([1, 7, 0, 0]));
/// assert_eq!(Lun::new(1).to_bytes(), [0, 1, 0, 0, 0, 0, 0, 0]);
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Lun([u16; 4]);

impl Lun {
    /// LUN 0, written as the empty field.
    ///
    /// ```
    /// use ipxe_script::Lun;
    /// assert_eq!(Lun::ZERO, Lun::new(0));
    /// assert_eq!(Lun::ZERO.to_string(), "");
    /// assert_eq!(Lun::ZERO.to_bytes(), [0; 8]);
    /// ```
    pub const ZERO: Lun = Lun([0; 4]);

    /// A single-level LUN: the first level is `n`.
    ///
    /// ```
    /// assert_eq!(ipxe_script::Lun::new(0x12).to_string(), "12");
    /// ```
    pub fn new(n: u16) -> Self {
        Lun([n, 0, 0, 0])
    }

    /// A LUN from its four levels.
    ///
    /// ```
    /// assert_eq!(ipxe_script::Lun::from_levels([0, 0, 0, 1]).to_string(), "0-0-0-1");
    /// ```
    pub fn from_levels(levels: [u16; 4]) -> Self {
        Lun(levels)
    }

    /// The four levels.
    ///
    /// ```
    /// assert_eq!(ipxe_script::Lun::new(3).levels(), [3, 0, 0, 0]);
    /// ```
    pub fn levels(self) -> [u16; 4] {
        self.0
    }

    /// The 8-byte SCSI LUN iPXE sends (and puts in the iBFT).
    ///
    /// ```
    /// assert_eq!(ipxe_script::Lun::new(0x4001).to_bytes(), [0x40, 1, 0, 0, 0, 0, 0, 0]);
    /// ```
    pub fn to_bytes(self) -> [u8; 8] {
        let mut out = [0; 8];
        for (chunk, level) in out.chunks_exact_mut(2).zip(self.0) {
            chunk.copy_from_slice(&level.to_be_bytes());
        }
        out
    }

    /// Parses the LUN field: empty, or one to four `-`-separated groups of one to four hex
    /// digits. (iPXE also accepts longer groups and truncates them; this crate does not.)
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRootPath`].
    ///
    /// ```
    /// use ipxe_script::Lun;
    /// assert_eq!(Lun::parse("")?, Lun::ZERO);
    /// assert_eq!(Lun::parse("A")?, Lun::new(10));
    /// assert!(Lun::parse("1-2-3-4-5").is_err());
    /// assert!(Lun::parse("12345").is_err());
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        let bad = Error::InvalidRootPath {
            problem: "the LUN is not up to four '-'-separated groups of hex digits",
        };
        let mut levels = [0u16; 4];
        if text.is_empty() {
            return Ok(Lun(levels));
        }
        let mut groups = text.split('-');
        for (level, group) in levels.iter_mut().zip(groups.by_ref()) {
            if group.is_empty() || group.len() > 4 || !group.bytes().all(|b| b.is_ascii_hexdigit())
            {
                return Err(bad);
            }
            *level = u16::from_str_radix(group, 16).map_err(|_| bad)?;
        }
        if groups.next().is_some() {
            return Err(bad);
        }
        Ok(Lun(levels))
    }
}

impl fmt::Display for Lun {
    /// The shortest form iPXE reads back as the same LUN: nothing for LUN 0, else the levels
    /// up to the last non-zero one, in lower-case hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let used = self.0.iter().rposition(|&l| l != 0).map_or(0, |i| i + 1);
        for (i, level) in self.0[..used].iter().enumerate() {
            if i > 0 {
                f.write_str("-")?;
            }
            write!(f, "{level:x}")?;
        }
        Ok(())
    }
}

/// An iSCSI root path, `iscsi:<server>::<port>:<LUN>:<target>`, built from validated parts.
///
/// The port is left empty when it is 3260 and the LUN when it is 0, as in the usual
/// `iscsi:10.0.0.1::::iqn…` form.
///
/// ```
/// use ipxe_script::{IscsiName, IscsiRootPath, Lun, Server};
/// let rp = IscsiRootPath::new(
///     Server::Ipv4([10, 121, 28, 150].into()),
///     3260,
///     Lun::ZERO,
///     IscsiName::new("iqn.1991-05.com.microsoft:testsvr-iscsiboot-${net0/mac}-target")?,
/// )?;
/// assert_eq!(
///     rp.to_string(),
///     "iscsi:10.121.28.150::::iqn.1991-05.com.microsoft:testsvr-iscsiboot-${net0/mac}-target"
/// );
/// assert_eq!(IscsiRootPath::parse(&rp.to_string())?, rp);
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IscsiRootPath {
    server: Server,
    port: u16,
    lun: Lun,
    target: IscsiName,
}

impl IscsiRootPath {
    /// Builds a root path.
    ///
    /// # Errors
    ///
    /// [`Error::OutOfRange`] for port 0 (iPXE would use 3260 instead).
    ///
    /// ```
    /// use ipxe_script::{IscsiName, IscsiRootPath, Lun, Server};
    /// let t = IscsiName::new("iqn.2010-04.org.example:disk1")?;
    /// assert!(IscsiRootPath::new(Server::Ipv4([10, 0, 0, 1].into()), 0, Lun::ZERO, t).is_err());
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn new(server: Server, port: u16, lun: Lun, target: IscsiName) -> Result<Self> {
        if port == 0 {
            return Err(Error::OutOfRange { what: "iSCSI port" });
        }
        Ok(IscsiRootPath {
            server,
            port,
            lun,
            target,
        })
    }

    /// Parses a root path in the form this crate writes (protocol empty or `6`, port decimal,
    /// LUN as [`Lun::parse`]).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRootPath`] naming the problem, and the errors of the parts.
    ///
    /// ```
    /// use ipxe_script::IscsiRootPath;
    /// let rp = IscsiRootPath::parse("iscsi:[fe80::1]:6:3261:1-7:iqn.2010-04.org.example:d")?;
    /// assert_eq!(rp.port(), 3261);
    /// assert_eq!(rp.to_string(), "iscsi:[fe80::1]::3261:1-7:iqn.2010-04.org.example:d");
    /// assert!(IscsiRootPath::parse("iscsi:10.0.0.1:::iqn.2010-04.org.example:d").is_err());
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        let rest = text.strip_prefix("iscsi:").ok_or(Error::InvalidRootPath {
            problem: "it does not start with \"iscsi:\"",
        })?;
        let [server, protocol, port, lun, target] = split_root_path(rest)?;
        if server.is_empty() {
            return Err(Error::InvalidRootPath {
                problem: "the server is empty (iPXE does not do discovery)",
            });
        }
        if !(protocol.is_empty() || protocol == "6") {
            return Err(Error::InvalidRootPath {
                problem: "the protocol is neither empty nor 6",
            });
        }
        let port = if port.is_empty() {
            DEFAULT_ISCSI_PORT
        } else if port.bytes().all(|b| b.is_ascii_digit()) {
            port.parse::<u16>()
                .map_err(|_| Error::OutOfRange { what: "iSCSI port" })?
        } else {
            return Err(Error::InvalidRootPath {
                problem: "the port is not decimal",
            });
        };
        Self::new(
            Server::parse(server)?,
            port,
            Lun::parse(lun)?,
            IscsiName::new(target)?,
        )
    }

    /// The target's address.
    ///
    /// ```
    /// let rp = ipxe_script::IscsiRootPath::parse("iscsi:san::::iqn.2010-04.org.example:d")?;
    /// assert_eq!(rp.server().to_string(), "san");
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// The TCP port.
    ///
    /// ```
    /// let rp = ipxe_script::IscsiRootPath::parse("iscsi:san::::iqn.2010-04.org.example:d")?;
    /// assert_eq!(rp.port(), 3260);
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The LUN.
    ///
    /// ```
    /// let rp = ipxe_script::IscsiRootPath::parse("iscsi:san:::a:iqn.2010-04.org.example:d")?;
    /// assert_eq!(rp.lun(), ipxe_script::Lun::new(10));
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn lun(&self) -> Lun {
        self.lun
    }

    /// The target name.
    ///
    /// ```
    /// let rp = ipxe_script::IscsiRootPath::parse("iscsi:san::::iqn.2010-04.org.example:d")?;
    /// assert_eq!(rp.target().to_string(), "iqn.2010-04.org.example:d");
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn target(&self) -> &IscsiName {
        &self.target
    }

    /// The root path as one script word (the target name's expansions stay expansions).
    ///
    /// ```
    /// let rp = ipxe_script::IscsiRootPath::parse("iscsi:san::::iqn.2010-04.org.x:${uuid}")?;
    /// assert_eq!(rp.to_word().parts().len(), 2);
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn to_word(&self) -> Word {
        let prefix = format!("iscsi:{}::{}:{}:", self.server, self.port_field(), self.lun);
        let parts = core::iter::once(Part::Literal(prefix))
            .chain(self.target.as_word().parts().iter().cloned());
        Word::from_validated_parts(parts)
    }

    fn port_field(&self) -> String {
        if self.port == DEFAULT_ISCSI_PORT {
            String::new()
        } else {
            self.port.to_string()
        }
    }
}

impl fmt::Display for IscsiRootPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "iscsi:{}::{}:{}:{}",
            self.server,
            self.port_field(),
            self.lun,
            self.target
        )
    }
}

/// Splits after `iscsi:` at the first four colons outside `[…]`, as `iscsi_parse_root_path`.
fn split_root_path(rest: &str) -> Result<[&str; 5]> {
    let mut fields = [""; 5];
    let mut start = 0;
    let mut depth = false;
    let mut n = 0;
    for (i, b) in rest.bytes().enumerate() {
        match b {
            b'[' => depth = true,
            b']' => depth = false,
            b':' if !depth && n < 4 => {
                fields[n] = &rest[start..i];
                n += 1;
                start = i + 1;
            }
            _ => {}
        }
    }
    if n < 4 {
        return Err(Error::InvalidRootPath {
            problem: "fewer than five ':'-separated fields",
        });
    }
    fields[4] = &rest[start..];
    Ok(fields)
}

/// A SAN URI as given to `sanboot` and `sanhook`: an iSCSI root path built from typed parts,
/// or any other word (for example `${root-path}`, or an `http://` disk image).
///
/// ```
/// use ipxe_script::{IscsiName, Lun, SanUri, Server, SettingRef};
/// let uri = SanUri::iscsi(
///     Server::Ipv4([192, 168, 0, 2].into()),
///     3260,
///     Lun::new(1),
///     IscsiName::new("iqn.2010-04.org.example:disk1")?,
/// )?;
/// assert_eq!(uri.to_string(), "iscsi:192.168.0.2:::1:iqn.2010-04.org.example:disk1");
/// assert_eq!(SanUri::from(SettingRef::named("root-path")?).to_string(), "${root-path}");
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SanUri(Word);

impl SanUri {
    /// An iSCSI root path (see [`IscsiRootPath::new`]).
    ///
    /// # Errors
    ///
    /// As [`IscsiRootPath::new`].
    ///
    /// ```
    /// use ipxe_script::{IscsiName, Lun, SanUri, Server};
    /// let t = IscsiName::new("iqn.2010-04.org.example:d")?;
    /// assert!(SanUri::iscsi(Server::Ipv4([10, 0, 0, 1].into()), 3260, Lun::ZERO, t).is_ok());
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn iscsi(server: Server, port: u16, lun: Lun, target: IscsiName) -> Result<Self> {
        Ok(IscsiRootPath::new(server, port, lun, target)?.into())
    }

    /// Any word as a URI (checked only as a word).
    ///
    /// ```
    /// use ipxe_script::{SanUri, Word};
    /// let uri = SanUri::from_word(Word::literal("http://boot.example/disk.img")?);
    /// assert_eq!(uri.to_string(), "http://boot.example/disk.img");
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn from_word(word: Word) -> Self {
        SanUri(word)
    }

    /// The URI as a script word.
    ///
    /// ```
    /// use ipxe_script::{SanUri, Word};
    /// let uri = SanUri::from_word(Word::literal("x")?);
    /// assert_eq!(uri.as_word().as_literal(), Some("x"));
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn as_word(&self) -> &Word {
        &self.0
    }

    /// The iSCSI root path, if the URI is one written as this crate writes them.
    ///
    /// ```
    /// use ipxe_script::{SanUri, Word};
    /// let uri = SanUri::from_word(Word::literal("iscsi:san::::iqn.2010-04.org.x:d")?);
    /// assert_eq!(uri.iscsi_root_path().ok_or("not an iSCSI root path")?.port(), 3260);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn iscsi_root_path(&self) -> Option<IscsiRootPath> {
        IscsiRootPath::parse(&self.0.to_string()).ok()
    }
}

impl From<IscsiRootPath> for SanUri {
    fn from(rp: IscsiRootPath) -> Self {
        SanUri(rp.to_word())
    }
}

impl From<SettingRef> for SanUri {
    fn from(setting: SettingRef) -> Self {
        SanUri(Word::expansion(setting))
    }
}

impl fmt::Display for SanUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> IscsiName {
        IscsiName::new("iqn.2010-04.org.example:disk1").unwrap()
    }

    #[test]
    fn writes_luns_in_hex_as_ipxe_reads_them() {
        let rp = IscsiRootPath::new(
            Server::Ipv4([10, 0, 0, 5].into()),
            3260,
            Lun::new(16),
            target(),
        )
        .unwrap();
        assert_eq!(
            rp.to_string(),
            "iscsi:10.0.0.5:::10:iqn.2010-04.org.example:disk1"
        );
        assert_eq!(
            Lun::parse("10").unwrap().to_bytes(),
            [0, 0x10, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn brackets_ipv6_and_never_writes_dotted_quads_in_it() {
        let mapped: Ipv6Addr = "::ffff:10.0.0.1".parse().unwrap();
        let s = Server::Ipv6(mapped).to_string();
        assert_eq!(s, "[0:0:0:0:0:ffff:a00:1]");
        assert_eq!(Server::parse(&s).unwrap(), Server::Ipv6(mapped));
        let rp = IscsiRootPath::new(Server::Ipv6(mapped), 3261, Lun::ZERO, target()).unwrap();
        assert_eq!(IscsiRootPath::parse(&rp.to_string()).unwrap(), rp);
    }

    #[test]
    fn target_names_may_hold_colons() {
        let rp = IscsiRootPath::parse("iscsi:10.0.0.1::::iqn.1986-03.com.sun:02:e9ab").unwrap();
        assert_eq!(rp.target().to_string(), "iqn.1986-03.com.sun:02:e9ab");
    }

    #[test]
    fn rejects_what_ipxe_would_misread() {
        for bad in [
            "iscsi:",
            "iscsi:10.0.0.1::::",
            "iscsi:::::iqn.2010-04.org.example:d",
            "iscsi:10.0.0.1:x:::iqn.2010-04.org.example:d",
            "iscsi:10.0.0.1::0x10::iqn.2010-04.org.example:d",
            "iscsi:10.0.0.1::70000::iqn.2010-04.org.example:d",
            "iscsi:10.0.0.1:::g:iqn.2010-04.org.example:d",
            "iscsi:[fe80::1::::iqn.2010-04.org.example:d",
            "iscsi:host#1::::iqn.2010-04.org.example:d",
            "http:10.0.0.1::::iqn.2010-04.org.example:d",
        ] {
            assert!(IscsiRootPath::parse(bad).is_err(), "{bad}");
        }
    }
}
