//! DHCP server snippets (dnsmasq and ISC dhcpd) that hand iPXE its boot instructions without
//! the chain-load loop.
//!
//! A PXE ROM asks DHCP for a boot file and gets iPXE (`undionly.kpxe` for BIOS, `ipxe.efi` for
//! UEFI); iPXE then asks DHCP again, and must now get the script (or the root path), or it would
//! load itself forever. iPXE is told apart by its user class, the four bytes `iPXE` (option 77),
//! and by the option 175 block it sends in every request (ipxe.org `/howto/dhcpd`,
//! `/cfg/user-class`; dnsmasq `dhcp-userclass`, `dhcp-match=…,175`).
//!
//! Two flows, as the project's seed describes them:
//!
//! - [`BootFlow::Chainload`]: DHCP and TFTP. PXE clients get the iPXE binary for their
//!   architecture (option 93); iPXE clients get the script URL as their file name, or, for a
//!   host with [`SanOptions`], no file name and the root path (option 17) with the initiator
//!   IQN (option 203), so that iPXE's autoboot SAN-boots directly. A host never gets a file
//!   name *and* a root path: iPXE would hook the disk and then run the file.
//! - [`BootFlow::Embedded`]: iPXE starts from a CD or USB stick with an embedded script, so
//!   there is no PXE stage and no TFTP. DHCP gives addresses, and to iPXE clients of a host
//!   with [`SanOptions`] options 17 and 203, which the embedded script uses as
//!   `${root-path}` and `initiator-iqn` (see [`crate::Dispatcher`]).
//!
//! Every value written into a configuration is a validated type whose text is printable ASCII
//! without whitespace; the snippet writers also refuse `"` and `\` in it, so a value always
//! stays inside its double quotes and cannot add a directive.

use core::fmt::{self, Write as _};
use std::net::Ipv4Addr;

use crate::error::{Error, Result};
use crate::name::IscsiName;
use crate::uri::{HostName, IscsiRootPath};
use crate::value::Word;

/// The user class iPXE sends (option 77, four raw bytes, not RFC 3004 length-prefixed).
///
/// ```
/// use ipxe_script::{BootFlow, DhcpConfig, IPXE_USER_CLASS};
/// let config = DhcpConfig { flow: BootFlow::Embedded, hosts: vec![] };
/// assert!(config.dnsmasq()?.contains(&format!("dhcp-userclass=set:ipxe,{IPXE_USER_CLASS}\n")));
/// # Ok::<(), ipxe_script::Error>(())
/// ```
pub const IPXE_USER_CLASS: &str = "iPXE";

/// The iPXE DHCP option that carries iPXE's own options (and that iPXE always sends).
const IPXE_ENCAP_OPTION: u8 = 175;

/// An Ethernet MAC address.
///
/// `Display` writes it as iPXE's `hex` type does, and as both DHCP servers read it
/// (`52:54:00:12:34:56`); [`MacAddr::hexhyp`] as `${netN/mac:hexhyp}` expands
/// (`52-54-00-12-34-56`), for per-MAC script names.
///
/// ```
/// use ipxe_script::MacAddr;
/// let mac = MacAddr::parse("52:54:00:12:34:5A")?;
/// assert_eq!(mac.to_string(), "52:54:00:12:34:5a");
/// assert_eq!(mac.hexhyp(), "52-54-00-12-34-5a");
/// assert_eq!(MacAddr::parse("52-54-00-12-34-5a")?, mac);
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// Parses six two-digit hex bytes separated by `:` or `-` (one separator throughout).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidByte`] naming the first byte that does not fit.
    ///
    /// ```
    /// assert!(ipxe_script::MacAddr::parse("52:54:00:12:34").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        const WHAT: &str = "MAC address";
        let bytes = text.as_bytes();
        let bad = |offset: usize| Error::InvalidByte {
            what: WHAT,
            byte: bytes.get(offset).copied().unwrap_or(0),
            offset,
        };
        if bytes.len() != 17 {
            return Err(bad(bytes.len().min(17)));
        }
        let sep = bytes[2];
        if sep != b':' && sep != b'-' {
            return Err(bad(2));
        }
        let mut out = [0u8; 6];
        for (i, byte) in out.iter_mut().enumerate() {
            let at = 3 * i;
            let digit = |o: usize| {
                (bytes[o] as char)
                    .to_digit(16)
                    .map(|d| d as u8)
                    .ok_or(bad(o))
            };
            *byte = digit(at)? << 4 | digit(at + 1)?;
            if i < 5 && bytes[at + 2] != sep {
                return Err(bad(at + 2));
            }
        }
        Ok(MacAddr(out))
    }

    /// The address as `${netN/mac:hexhyp}` expands: lower-case hex bytes joined by `-`.
    ///
    /// ```
    /// assert_eq!(ipxe_script::MacAddr([0xaa; 6]).hexhyp(), "aa-aa-aa-aa-aa-aa");
    /// ```
    pub fn hexhyp(&self) -> String {
        self.joined('-')
    }

    fn joined(&self, sep: char) -> String {
        let mut out = String::with_capacity(17);
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(sep);
            }
            let _ = write!(out, "{b:02x}");
        }
        out
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.joined(':'))
    }
}

/// What an iPXE client of a host gets for SAN boot through DHCP: option 17 (root path),
/// option 203 (initiator IQN) and option 175.8 (keep-san).
///
/// Credentials are not offered here: DHCP is readable by anyone on the segment, so CHAP
/// secrets belong in the per-client script fetched over a channel the server controls.
///
/// ```
/// use ipxe_script::{BootFlow, DhcpConfig, DhcpHost, HostName, IscsiRootPath, MacAddr, SanOptions};
/// let san = SanOptions {
///     root_path: IscsiRootPath::parse("iscsi:10.0.2.2::::iqn.2010-04.org.example:d")?,
///     initiator: None,
///     keep_san: true,
/// };
/// let host = DhcpHost { name: HostName::new("pc1")?, mac: MacAddr::parse("52:54:00:12:34:56")?, address: None, san: Some(san) };
/// let text = DhcpConfig { flow: BootFlow::Embedded, hosts: vec![host] }.dnsmasq()?;
/// assert!(text.contains("dhcp-option=tag:ipxe,tag:host-pc1,17,\"iscsi:10.0.2.2::::iqn.2010-04.org.example:d\"\n"));
/// assert!(text.contains("dhcp-option=tag:ipxe,tag:host-pc1,encap:175,8,1b\n")); // keep-san
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SanOptions {
    /// Option 17, `root-path`.
    pub root_path: IscsiRootPath,
    /// Option 203, `initiator-iqn`.
    pub initiator: Option<IscsiName>,
    /// Option 175.8, `keep-san 1`.
    pub keep_san: bool,
}

/// One client the DHCP server knows by MAC address.
///
/// ```
/// use ipxe_script::{BootFlow, DhcpConfig, DhcpHost, Error, HostName, MacAddr};
/// let host = DhcpHost {
///     name: HostName::new("pc1")?,
///     mac: MacAddr::parse("52:54:00:12:34:56")?,
///     address: Some([10, 0, 2, 15].into()),
///     san: None,
/// };
/// let mut config = DhcpConfig { flow: BootFlow::Embedded, hosts: vec![host.clone()] };
/// let text = config.isc_dhcpd()?;
/// assert!(text.contains("host pc1 {\n  hardware ethernet 52:54:00:12:34:56;\n  fixed-address 10.0.2.15;\n"));
/// config.hosts.push(DhcpHost { name: HostName::new("pc2")?, ..host }); // same MAC
/// assert_eq!(config.isc_dhcpd(), Err(Error::DuplicateHost { index: 1 }));
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DhcpHost {
    /// The host's name (ISC `host` declaration, dnsmasq tag `host-<name>` and host name).
    pub name: HostName,
    /// Its MAC address.
    pub mac: MacAddr,
    /// A fixed IPv4 address, if any.
    pub address: Option<Ipv4Addr>,
    /// SAN boot options for its iPXE stage, if it boots from DHCP's root path rather than a
    /// script.
    pub san: Option<SanOptions>,
}

/// The DHCP-and-TFTP flow: PXE loads iPXE over TFTP, iPXE loads the script.
///
/// ```
/// use ipxe_script::{BootFlow, Chainload, DhcpConfig, Word};
/// let chainload = Chainload::new(None, Word::literal("boot.ipxe")?)?;
/// let text = DhcpConfig { flow: BootFlow::Chainload(chainload), hosts: vec![] }.isc_dhcpd()?;
/// assert!(text.contains("  filename \"boot.ipxe\";\n} elsif option client-architecture = 00:00 {\n  filename \"undionly.kpxe\";\n"));
/// assert!(!text.contains("next-server")); // no TFTP server given
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Chainload {
    /// The TFTP server (`next-server`); `None` leaves it to the DHCP server's own TFTP.
    pub tftp_server: Option<Ipv4Addr>,
    /// iPXE for BIOS PXE ROMs (client architecture 0).
    pub bios_image: Word,
    /// iPXE for UEFI PXE ROMs (every other architecture).
    pub efi_image: Word,
    /// What iPXE loads next: the script's URL or TFTP file name (iPXE expands `${…}` in it),
    /// usually a [`crate::Dispatcher`] script.
    pub script: Word,
}

impl Chainload {
    /// `undionly.kpxe` and `ipxe.efi` from `tftp_server`, then `script`.
    ///
    /// # Errors
    ///
    /// None in practice (the file names are constants).
    ///
    /// ```
    /// use ipxe_script::{Chainload, Word};
    /// let c = Chainload::new(Some([10, 0, 2, 2].into()), Word::literal("tftp://10.0.2.2/boot.ipxe")?)?;
    /// assert_eq!(c.bios_image.to_string(), "undionly.kpxe");
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn new(tftp_server: Option<Ipv4Addr>, script: Word) -> Result<Self> {
        Ok(Chainload {
            tftp_server,
            bios_image: Word::literal("undionly.kpxe")?,
            efi_image: Word::literal("ipxe.efi")?,
            script,
        })
    }
}

/// How clients get to their script or disk.
///
/// ```
/// use ipxe_script::{BootFlow, Chainload, DhcpConfig, Word};
/// let embedded = DhcpConfig { flow: BootFlow::Embedded, hosts: vec![] }.dnsmasq()?;
/// assert!(!embedded.contains("dhcp-boot"));
/// let chainload = BootFlow::Chainload(Chainload::new(None, Word::literal("boot.ipxe")?)?);
/// let text = DhcpConfig { flow: chainload, hosts: vec![] }.dnsmasq()?;
/// assert!(text.contains("dhcp-boot=tag:ipxe,tag:!san,\"boot.ipxe\"\n"));
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BootFlow {
    /// PXE → TFTP → iPXE → script (or root path).
    Chainload(Chainload),
    /// iPXE with an embedded script (CD/USB): DHCP hands out addresses and SAN options only.
    Embedded,
}

/// A DHCP server configuration fragment for a set of hosts, written for dnsmasq or ISC dhcpd.
///
/// ```
/// use ipxe_script::{BootFlow, Chainload, DhcpConfig, DhcpHost, HostName, MacAddr, Word};
/// let config = DhcpConfig {
///     flow: BootFlow::Chainload(
///         Chainload::new(
///             Some([10, 0, 2, 2].into()),
///             Word::literal("tftp://10.0.2.2/boot.ipxe")?,
///         )?,
///     ),
///     hosts: vec![DhcpHost {
///         name: HostName::new("client1")?,
///         mac: MacAddr::parse("52:54:00:12:34:56")?,
///         address: Some([10, 0, 2, 15].into()),
///         san: None,
///     }],
/// };
/// let dnsmasq = config.dnsmasq()?;
/// assert!(dnsmasq.contains("dhcp-userclass=set:ipxe,iPXE\n"));
/// assert!(dnsmasq.contains("dhcp-boot=tag:ipxe,tag:!san,\"tftp://10.0.2.2/boot.ipxe\",,10.0.2.2\n"));
/// let dhcpd = config.isc_dhcpd()?;
/// assert!(dhcpd.contains("if exists user-class and option user-class = \"iPXE\" {\n"));
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DhcpConfig {
    /// The boot flow.
    pub flow: BootFlow,
    /// The known hosts.
    pub hosts: Vec<DhcpHost>,
}

/// Checks a value that goes between double quotes in a configuration file and quotes it.
fn quoted(what: &'static str, text: &str) -> Result<String> {
    for (offset, byte) in text.bytes().enumerate() {
        if !(0x21..=0x7e).contains(&byte) || byte == b'"' || byte == b'\\' {
            return Err(Error::InvalidByte { what, byte, offset });
        }
    }
    if text.is_empty() {
        return Err(Error::Empty { what });
    }
    Ok(format!("\"{text}\""))
}

/// Checks that no two hosts share a name or a MAC address.
fn check_hosts(hosts: &[DhcpHost]) -> Result<()> {
    for (i, a) in hosts.iter().enumerate() {
        if hosts[..i]
            .iter()
            .any(|b| b.name.as_str().eq_ignore_ascii_case(a.name.as_str()) || b.mac == a.mac)
        {
            return Err(Error::DuplicateHost { index: i });
        }
    }
    Ok(())
}

impl DhcpConfig {
    /// The dnsmasq configuration lines (for a `conf-file` or `/etc/dnsmasq.d/`).
    ///
    /// Tags: `ipxe` (user class `iPXE` or option 175 present), `bios` (client architecture 0),
    /// `san` (hosts with [`SanOptions`]) and `host-<name>` per host.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidByte`] for a value holding `"` or `\`; [`Error::DuplicateHost`] when two hosts
    /// share a name or MAC address.
    ///
    /// ```
    /// use ipxe_script::{BootFlow, DhcpConfig};
    /// let text = DhcpConfig { flow: BootFlow::Embedded, hosts: vec![] }.dnsmasq()?;
    /// assert!(!text.contains("dhcp-boot"));
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn dnsmasq(&self) -> Result<String> {
        check_hosts(&self.hosts)?;
        let mut out = String::new();
        let w = &mut out;
        w.push_str("# Generated by ipxe-script.\n");
        w.push_str("# iPXE identifies itself by user class \"iPXE\" and by sending option 175.\n");
        let _ = writeln!(w, "dhcp-userclass=set:ipxe,{IPXE_USER_CLASS}");
        let _ = writeln!(w, "dhcp-match=set:ipxe,{IPXE_ENCAP_OPTION}");
        match &self.flow {
            BootFlow::Chainload(c) => {
                w.push_str(
                    "# Flow: PXE loads iPXE over TFTP, iPXE loads the script; never iPXE again.\n",
                );
                w.push_str("dhcp-match=set:bios,option:client-arch,0\n");
                let server = match c.tftp_server {
                    Some(ip) => format!(",,{ip}"),
                    None => {
                        w.push_str("# TFTP: this dnsmasq's own (enable-tftp, tftp-root).\n");
                        String::new()
                    }
                };
                let bios = quoted("BIOS iPXE image", &c.bios_image.to_string())?;
                let efi = quoted("UEFI iPXE image", &c.efi_image.to_string())?;
                let script = quoted("script file name", &c.script.to_string())?;
                let _ = writeln!(w, "dhcp-boot=tag:!ipxe,tag:bios,{bios}{server}");
                let _ = writeln!(w, "dhcp-boot=tag:!ipxe,tag:!bios,{efi}{server}");
                let _ = writeln!(w, "dhcp-boot=tag:ipxe,tag:!san,{script}{server}");
            }
            BootFlow::Embedded => {
                w.push_str(
                    "# Flow: iPXE with an embedded script (CD/USB): no boot file, no TFTP.\n",
                );
            }
        }
        for host in &self.hosts {
            let tag = format!("host-{}", host.name.as_str());
            let mut line = format!("dhcp-host={}", host.mac);
            if host.san.is_some() {
                line.push_str(",set:san");
            }
            let _ = write!(line, ",set:{tag}");
            if let Some(ip) = host.address {
                let _ = write!(line, ",{ip}");
            }
            let _ = writeln!(w, "{line},{}", host.name.as_str());
            if let Some(san) = &host.san {
                let for_ipxe = format!("dhcp-option=tag:ipxe,tag:{tag}");
                let rp = quoted("root path", &san.root_path.to_string())?;
                let _ = writeln!(w, "{for_ipxe},17,{rp}");
                if let Some(iqn) = &san.initiator {
                    let iqn = quoted("initiator IQN", &iqn.to_string())?;
                    let _ = writeln!(w, "{for_ipxe},203,{iqn}");
                }
                if san.keep_san {
                    let _ = writeln!(w, "{for_ipxe},encap:{IPXE_ENCAP_OPTION},8,1b");
                }
            }
        }
        Ok(out)
    }

    /// The ISC dhcpd configuration: option definitions, the class logic (in the scope the
    /// snippet is included in, e.g. a `subnet`) and one `host` declaration per host.
    ///
    /// # Errors
    ///
    /// As [`DhcpConfig::dnsmasq`].
    ///
    /// ```
    /// use ipxe_script::{BootFlow, DhcpConfig};
    /// let text = DhcpConfig { flow: BootFlow::Embedded, hosts: vec![] }.isc_dhcpd()?;
    /// assert!(text.contains("option iscsi-initiator-iqn code 203 = string;\n"));
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn isc_dhcpd(&self) -> Result<String> {
        check_hosts(&self.hosts)?;
        let mut out = String::new();
        let w = &mut out;
        w.push_str("# Generated by ipxe-script.\n");
        w.push_str("option client-architecture code 93 = unsigned integer 16;\n");
        w.push_str("option iscsi-initiator-iqn code 203 = string;\n");
        w.push_str("option space ipxe;\n");
        let _ = writeln!(
            w,
            "option ipxe-encap-opts code {IPXE_ENCAP_OPTION} = encapsulate ipxe;"
        );
        w.push_str("option ipxe.keep-san code 8 = unsigned integer 8;\n");
        let is_ipxe =
            format!("if exists user-class and option user-class = \"{IPXE_USER_CLASS}\" {{");
        match &self.flow {
            BootFlow::Chainload(c) => {
                w.push_str(
                    "# Flow: PXE loads iPXE over TFTP, iPXE loads the script; never iPXE again.\n",
                );
                if let Some(ip) = c.tftp_server {
                    let _ = writeln!(w, "next-server {ip};");
                }
                let _ = writeln!(w, "{is_ipxe}");
                let _ = writeln!(
                    w,
                    "  filename {};",
                    quoted("script file name", &c.script.to_string())?
                );
                w.push_str("} elsif option client-architecture = 00:00 {\n");
                let _ = writeln!(
                    w,
                    "  filename {};",
                    quoted("BIOS iPXE image", &c.bios_image.to_string())?
                );
                w.push_str("} else {\n");
                let _ = writeln!(
                    w,
                    "  filename {};",
                    quoted("UEFI iPXE image", &c.efi_image.to_string())?
                );
                w.push_str("}\n");
            }
            BootFlow::Embedded => {
                w.push_str(
                    "# Flow: iPXE with an embedded script (CD/USB): no boot file, no TFTP.\n",
                );
            }
        }
        for host in &self.hosts {
            // dhcpd reads a host declaration's name as a bare (dotted) name, not a string:
            // `host "pc1"` is "expecting a name for host declaration". A `HostName` is letters,
            // digits, `-` and `.` only, so it needs no quoting.
            let _ = writeln!(w, "host {} {{", host.name.as_str());
            let _ = writeln!(w, "  hardware ethernet {};", host.mac);
            if let Some(ip) = host.address {
                let _ = writeln!(w, "  fixed-address {ip};");
            }
            if let Some(san) = &host.san {
                let _ = writeln!(w, "  {is_ipxe}");
                if matches!(self.flow, BootFlow::Chainload(_)) {
                    w.push_str("    filename \"\";\n");
                }
                let _ = writeln!(
                    w,
                    "    option root-path {};",
                    quoted("root path", &san.root_path.to_string())?
                );
                if let Some(iqn) = &san.initiator {
                    let _ = writeln!(
                        w,
                        "    option iscsi-initiator-iqn {};",
                        quoted("initiator IQN", &iqn.to_string())?
                    );
                }
                if san.keep_san {
                    w.push_str("    option ipxe.keep-san 1;\n");
                }
                w.push_str("  }\n");
            }
            w.push_str("}\n");
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_mac_addresses() {
        let mac = MacAddr::parse("00:1A:2b:3c:4d:5e").unwrap();
        assert_eq!(mac.0, [0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e]);
        assert_eq!(mac.to_string(), "00:1a:2b:3c:4d:5e");
        for bad in [
            "",
            "00:1a:2b:3c:4d",
            "00:1a:2b:3c:4d:5e:",
            "00-1a:2b:3c:4d:5e",
            "00:1a:2b:3c:4d:5g",
            "001a2b3c4d5e12345",
            "é0:1a:2b:3c:4d:5",
        ] {
            assert!(MacAddr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_quotes_and_backslashes_in_values() {
        assert!(quoted("x", "a\"b").is_err());
        assert!(quoted("x", "a\\b").is_err());
        assert!(quoted("x", "a b").is_err());
        assert_eq!(quoted("x", "a").unwrap(), "\"a\"");
    }
}
