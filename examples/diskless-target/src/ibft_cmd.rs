//! `diskless-target ibft …`: build an iSCSI Boot Firmware Table from parameters, and explain and
//! lint an existing one (a fixture, or a copy of `/sys/firmware/acpi/tables/iBFT`).
//!
//! ```text
//! diskless-target ibft build --initiator iqn.2010-04.org.ipxe:c1 --target iqn.2025-01.example:c1 \
//!     --target-ip 10.0.2.2 --mac 52:54:00:12:34:56 --ip 10.0.2.15/24 --gateway 10.0.2.2 -o c1.ibft
//! diskless-target ibft build --json c1.json -o c1.ibft
//! diskless-target ibft dump [--json] c1.ibft      # exit 2 if the lint finds errors
//! ```

use std::fmt::Write as _;
use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use ibft::{
    ChapType, DEFAULT_OEM_ID, DEFAULT_OEM_TABLE_ID, Flags, Ibft, IbftBuilder, Initiator, Lun,
    MacAddr, Nic, Origin, PciAddress, Placement, Problem, Severity, Signature, Target,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::atomic_file::AtomicFile;

/// The `ibft` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum IbftCommand {
    /// Build a table (one initiator, one NIC, one target) from flags or a JSON file.
    Build {
        /// The parameters, as flags (which override the JSON file's values).
        #[command(flatten)]
        params: Box<Params>,
        /// Read the parameters from this JSON file (the flags' long names, with `_` for `-`).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// The new table file (written whole or not at all; it must not exist).
        #[arg(long, short)]
        output: PathBuf,
    },
    /// Explain a table field by field and lint it; exit 2 if the lint finds errors.
    Dump {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The table (e.g. a copy of /sys/firmware/acpi/tables/iBFT).
        file: PathBuf,
    },
}

/// The parameters of `ibft build`, as flags and as JSON.
#[derive(Debug, Default, Clone, PartialEq, Args, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Params {
    /// The initiator's iSCSI name (IQN).
    #[arg(long, value_name = "IQN")]
    pub(crate) initiator: Option<String>,
    /// The target's iSCSI name (IQN).
    #[arg(long, value_name = "IQN")]
    pub(crate) target: Option<String>,
    /// The target's IP address.
    #[arg(long, value_name = "ADDR")]
    pub(crate) target_ip: Option<IpAddr>,
    /// The target's TCP port [default: 3260].
    #[arg(long)]
    pub(crate) port: Option<u16>,
    /// The LUN (0 to 16383) [default: 0].
    #[arg(long)]
    pub(crate) lun: Option<u16>,
    /// The NIC's MAC address (aa:bb:cc:dd:ee:ff or aa-bb-…).
    #[arg(long)]
    pub(crate) mac: Option<String>,
    /// The NIC's address and prefix length, e.g. 10.0.2.15/24.
    #[arg(long, value_name = "ADDR/PREFIX")]
    pub(crate) ip: Option<String>,
    /// How the NIC got its address: dhcp, manual, well-known, ra, other [default: dhcp if
    /// --dhcp-server is given or --ip is not, else manual].
    #[arg(long)]
    pub(crate) origin: Option<String>,
    /// The default gateway.
    #[arg(long, value_name = "ADDR")]
    pub(crate) gateway: Option<IpAddr>,
    /// DNS servers (at most two; repeat the flag).
    #[arg(long, value_name = "ADDR")]
    pub(crate) dns: Vec<IpAddr>,
    /// The DHCP server that configured the NIC.
    #[arg(long, value_name = "ADDR")]
    pub(crate) dhcp_server: Option<IpAddr>,
    /// The VLAN ID (0 for none).
    #[arg(long)]
    pub(crate) vlan: Option<u16>,
    /// The NIC's PCI address, bus:device.function in hex, e.g. 00:03.0.
    #[arg(long, value_name = "BB:DD.F")]
    pub(crate) pci: Option<String>,
    /// The host name.
    #[arg(long)]
    pub(crate) hostname: Option<String>,
    /// One-way CHAP: the initiator's credentials.
    #[arg(long, value_name = "USER:SECRET")]
    pub(crate) chap: Option<String>,
    /// Mutual CHAP: the target's credentials (needs --chap too).
    #[arg(long, value_name = "USER:SECRET")]
    pub(crate) mutual_chap: Option<String>,
    /// Write the ACPI table (signature "IBFT") instead of the BIOS-memory one ("iBFT").
    #[arg(long)]
    pub(crate) acpi: bool,
}

impl Params {
    /// `self` (the flags) over `base` (the JSON file).
    fn over(self, base: Params) -> Params {
        Params {
            initiator: self.initiator.or(base.initiator),
            target: self.target.or(base.target),
            target_ip: self.target_ip.or(base.target_ip),
            port: self.port.or(base.port),
            lun: self.lun.or(base.lun),
            mac: self.mac.or(base.mac),
            ip: self.ip.or(base.ip),
            origin: self.origin.or(base.origin),
            gateway: self.gateway.or(base.gateway),
            dns: if self.dns.is_empty() {
                base.dns
            } else {
                self.dns
            },
            dhcp_server: self.dhcp_server.or(base.dhcp_server),
            vlan: self.vlan.or(base.vlan),
            pci: self.pci.or(base.pci),
            hostname: self.hostname.or(base.hostname),
            chap: self.chap.or(base.chap),
            mutual_chap: self.mutual_chap.or(base.mutual_chap),
            acpi: self.acpi || base.acpi,
        }
    }
}

/// Runs an `ibft` subcommand.
pub(crate) fn run(cmd: IbftCommand) -> Result<ExitCode> {
    match cmd {
        IbftCommand::Build {
            params,
            json,
            output,
        } => {
            let params = match json {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    let base: Params = serde_json::from_str(&text)
                        .with_context(|| format!("{}: not a parameter document", path.display()))?;
                    (*params).over(base)
                }
                None => *params,
            };
            let bytes = build(&params)?;
            // The builder refuses errors; warnings (a short CHAP secret, ...) are worth a word.
            for problem in Ibft::lint(&bytes) {
                eprintln!("{problem}");
            }
            write_new(&output, &bytes)?;
            eprintln!("wrote {} ({} bytes)", output.display(), bytes.len());
            Ok(ExitCode::SUCCESS)
        }
        IbftCommand::Dump { json, file } => dump(&file, json),
    }
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let file = AtomicFile::new(path)?;
    std::fs::write(file.path(), bytes)
        .with_context(|| format!("writing {}", file.path().display()))?;
    // Make the data durable before the rename makes it visible.
    std::fs::File::open(file.path())
        .and_then(|f| f.sync_all())
        .with_context(|| format!("syncing {}", file.path().display()))?;
    file.commit()
}

fn parse_mac(s: &str) -> Result<MacAddr> {
    crate::state::parse_mac(s).map(|mac| MacAddr(mac.0))
}

fn parse_cidr(s: &str) -> Result<(IpAddr, u8)> {
    let (addr, prefix) = s
        .split_once('/')
        .with_context(|| format!("--ip {s:?}: expected ADDR/PREFIX, e.g. 10.0.2.15/24"))?;
    let addr: IpAddr = addr
        .parse()
        .with_context(|| format!("--ip {s:?}: {addr:?} is not an IP address"))?;
    let prefix: u8 = prefix
        .parse()
        .with_context(|| format!("--ip {s:?}: {prefix:?} is not a prefix length"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if prefix > max {
        bail!("--ip {s:?}: prefix length {prefix} is longer than {max} bits");
    }
    Ok((addr, prefix))
}

fn parse_pci(s: &str) -> Result<PciAddress> {
    let bad = || format!("PCI address {s:?}: expected bus:device.function in hex, e.g. 00:03.0");
    let (bus, rest) = s.split_once(':').with_context(bad)?;
    let (device, function) = rest.split_once('.').with_context(bad)?;
    let hex = |v: &str| u8::from_str_radix(v, 16).with_context(bad);
    PciAddress::new(hex(bus)?, hex(device)?, hex(function)?).map_err(|e| anyhow::anyhow!("{e}"))
}

fn parse_origin(s: &str) -> Result<Origin> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "other" => Origin::Other,
        "manual" | "static" => Origin::Manual,
        "well-known" | "wellknown" => Origin::WellKnown,
        "dhcp" => Origin::Dhcp,
        "ra" | "router-advertisement" => Origin::RouterAdvertisement,
        _ => bail!("origin {s:?}: expected dhcp, manual, well-known, ra or other"),
    })
}

fn parse_credentials(flag: &str, s: &str) -> Result<(String, String)> {
    let (user, secret) = s
        .split_once(':')
        .with_context(|| format!("{flag}: expected USER:SECRET"))?;
    if user.is_empty() || secret.is_empty() {
        bail!("{flag}: expected USER:SECRET with neither empty");
    }
    Ok((user.to_owned(), secret.to_owned()))
}

/// The table for `params`, validated by the builder.
pub(crate) fn build(params: &Params) -> Result<Vec<u8>> {
    let initiator = params
        .initiator
        .clone()
        .context("--initiator IQN is required")?;
    let target_name = params.target.clone().context("--target IQN is required")?;
    let target_ip = params.target_ip.context("--target-ip ADDR is required")?;
    let mac = parse_mac(params.mac.as_deref().context("--mac MAC is required")?)?;
    let (ip, prefix_len) = match params.ip.as_deref() {
        Some(s) => {
            let (a, p) = parse_cidr(s)?;
            (Some(a), p)
        }
        None => (None, 0),
    };
    let origin = match params.origin.as_deref() {
        Some(s) => parse_origin(s)?,
        None if params.dhcp_server.is_some() || ip.is_none() => Origin::Dhcp,
        None => Origin::Manual,
    };
    if params.dns.len() > 2 {
        bail!("at most two DNS servers fit in the table");
    }
    let pci = match params.pci.as_deref() {
        Some(s) => parse_pci(s)?,
        None => PciAddress::default(),
    };
    let lun = Lun::from_number(params.lun.unwrap_or(0)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut target = Target {
        ip: Some(target_ip),
        port: params.port.unwrap_or(ibft::ISCSI_PORT),
        lun,
        name: target_name,
        ..Target::default()
    };
    match (params.chap.as_deref(), params.mutual_chap.as_deref()) {
        (None, None) => {}
        (Some(chap), mutual) => {
            let (name, secret) = parse_credentials("--chap", chap)?;
            target.chap_type = ChapType::OneWay;
            target.chap_name = name;
            target.chap_secret = secret;
            if let Some(mutual) = mutual {
                let (name, secret) = parse_credentials("--mutual-chap", mutual)?;
                target.chap_type = ChapType::Mutual;
                target.reverse_chap_name = name;
                target.reverse_chap_secret = secret;
            }
        }
        (None, Some(_)) => bail!("--mutual-chap needs --chap (the initiator's credentials) too"),
    }
    let placement = if params.acpi {
        Placement::Acpi {
            oem_id: DEFAULT_OEM_ID,
            oem_table_id: DEFAULT_OEM_TABLE_ID,
        }
    } else {
        Placement::BiosMemory
    };
    IbftBuilder::new()
        .placement(placement)
        .initiator(Initiator {
            name: initiator,
            ..Initiator::default()
        })
        .nic(Nic {
            ip,
            prefix_len,
            origin,
            gateway: params.gateway,
            primary_dns: params.dns.first().copied(),
            secondary_dns: params.dns.get(1).copied(),
            dhcp_server: params.dhcp_server,
            vlan: params.vlan.unwrap_or(0),
            mac,
            pci,
            hostname: params.hostname.clone().unwrap_or_default(),
            ..Nic::default()
        })
        .target(target)
        .build()
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Reads a table file: at most 1 MiB (a table is at most 64 KiB; firmware dumps may carry more).
fn read_table(path: &Path) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(1 << 20)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(bytes)
}

fn dump(path: &Path, json: bool) -> Result<ExitCode> {
    let bytes = read_table(path)?;
    let parsed = Ibft::parse(&bytes);
    let problems = Ibft::lint(&bytes);
    let errors = problems
        .iter()
        .filter(|p| p.severity() == Severity::Error)
        .count();
    if json {
        let doc = json!({
            "file": path.display().to_string(),
            "file_len": bytes.len(),
            "raw": raw_json(&bytes),
            "table": parsed.as_ref().ok().map(table_json),
            "parse_error": parsed.as_ref().err().map(ToString::to_string),
            "problems": problems.iter().map(problem_json).collect::<Vec<_>>(),
            "errors": errors,
            "warnings": problems.len() - errors,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        let mut out = String::new();
        explain(&mut out, path, &bytes, parsed.as_ref().ok(), &problems)?;
        if let Err(e) = &parsed {
            writeln!(out, "\nThe table cannot be parsed: {e}")?;
        }
        print!("{out}");
    }
    Ok(if errors > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// The header and Control fields the parsed value does not carry (length, revision, checksum,
/// structure offsets), read straight from the bytes at the offsets the spec fixes.
#[derive(Debug, Default)]
struct Raw {
    length: Option<u32>,
    revision: Option<u8>,
    checksum: Option<u8>,
    /// (extensions, initiator, nic0, target0, nic1, target1)
    offsets: Option<[u16; 6]>,
}

fn raw(bytes: &[u8]) -> Raw {
    let u16_at = |at: usize| {
        bytes
            .get(at..at + 2)
            .and_then(|b| b.try_into().ok())
            .map(u16::from_le_bytes)
    };
    let control = 48;
    let offsets = (|| {
        Some([
            u16_at(control + 6)?,
            u16_at(control + 8)?,
            u16_at(control + 10)?,
            u16_at(control + 12)?,
            u16_at(control + 14)?,
            u16_at(control + 16)?,
        ])
    })();
    Raw {
        length: bytes
            .get(4..8)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes),
        revision: bytes.get(8).copied(),
        checksum: bytes.get(9).copied(),
        offsets,
    }
}

fn raw_json(bytes: &[u8]) -> Value {
    let r = raw(bytes);
    let sum = r.length.and_then(|len| {
        let len = usize::try_from(len).ok()?;
        Some(ibft::checksum::sum(bytes.get(..len)?))
    });
    json!({
        "length": r.length,
        "revision": r.revision,
        "checksum": r.checksum,
        "checksum_ok": sum.map(|s| s == 0),
        "offsets": r.offsets.map(|o| json!({
            "extensions": o[0], "initiator": o[1], "nic0": o[2],
            "target0": o[3], "nic1": o[4], "target1": o[5],
        })),
    })
}

fn ip_str(ip: Option<IpAddr>) -> Value {
    ip.map_or(Value::Null, |ip| Value::String(ip.to_string()))
}

fn ascii(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '.'
            }
        })
        .collect()
}

/// An OEM or creator ID: its printable form and, if that hides bytes, the bytes in hex.
fn id_text(bytes: &[u8]) -> String {
    let text = ascii(bytes);
    if bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("{text:?}")
    } else {
        let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!("{text:?} (bytes {})", hex.join(" "))
    }
}

/// A structure's common header (ID, version, length) at `offset`, as stored.
fn structure_header(bytes: &[u8], offset: u16) -> Option<String> {
    let at = usize::from(offset);
    let h = bytes.get(at..at + 4)?;
    Some(format!(
        "ID {}, version {}, length {}, at byte {offset}",
        h[0],
        h[1],
        u16::from_le_bytes([h[2], h[3]])
    ))
}

fn flags_text(flags: Flags, third_bit: &str, fourth_bit: &str) -> String {
    let mut names = Vec::new();
    if flags.contains(Flags::BLOCK_VALID) {
        names.push("block valid");
    }
    if flags.contains(Flags::FIRMWARE_BOOT_SELECTED) {
        names.push("firmware boot selected");
    }
    if flags.0 & 0x04 != 0 && !third_bit.is_empty() {
        names.push(third_bit);
    }
    if flags.0 & 0x08 != 0 && !fourth_bit.is_empty() {
        names.push(fourth_bit);
    }
    format!("0x{:02x} ({})", flags.0, names.join(", "))
}

fn signature_text(s: Signature) -> String {
    let what = match s {
        Signature::Bios => "BIOS memory",
        Signature::Acpi => "ACPI table",
        Signature::Broadcom => "Broadcom",
    };
    format!("{s} ({what})")
}

fn table_json(t: &Ibft) -> Value {
    let h = &t.header;
    json!({
        "header": {
            "signature": h.signature.to_string(),
            "oem_id": ascii(&h.oem_id),
            "oem_table_id": ascii(&h.oem_table_id),
            "oem_revision": h.oem_revision,
            "creator_id": ascii(&h.creator_id),
            "creator_revision": h.creator_revision,
        },
        "control": { "flags": t.control.flags.0, "single_login": t.control.flags.single_login() },
        "initiator": t.initiator.as_ref().map(|i| json!({
            "flags": i.flags.0,
            "isns_server": ip_str(i.isns_server),
            "slp_server": ip_str(i.slp_server),
            "primary_radius_server": ip_str(i.primary_radius_server),
            "secondary_radius_server": ip_str(i.secondary_radius_server),
            "name": i.name,
        })),
        "nics": t.nics.iter().map(|n| n.as_ref().map(|n| json!({
            "index": n.index,
            "flags": n.flags.0,
            "ip": ip_str(n.ip),
            "prefix_len": n.prefix_len,
            "origin": n.origin.to_string(),
            "origin_value": u8::from(n.origin),
            "gateway": ip_str(n.gateway),
            "primary_dns": ip_str(n.primary_dns),
            "secondary_dns": ip_str(n.secondary_dns),
            "dhcp_server": ip_str(n.dhcp_server),
            "vlan": n.vlan,
            "mac": n.mac.to_string(),
            "pci": n.pci.to_string(),
            "hostname": n.hostname,
        }))).collect::<Vec<_>>(),
        "targets": t.targets.iter().map(|x| x.as_ref().map(|x| json!({
            "index": x.index,
            "flags": x.flags.0,
            "ip": ip_str(x.ip),
            "port": x.port,
            "lun": x.lun.to_string(),
            "lun_number": x.lun.number(),
            "lun_bytes": x.lun.0.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "chap_type": u8::from(x.chap_type),
            "chap_type_name": x.chap_type.to_string(),
            "nic_association": x.nic_association,
            "name": x.name,
            "chap_name": x.chap_name,
            "chap_secret": x.chap_secret,
            "reverse_chap_name": x.reverse_chap_name,
            "reverse_chap_secret": x.reverse_chap_secret,
        }))).collect::<Vec<_>>(),
    })
}

fn problem_json(p: &Problem) -> Value {
    json!({
        "severity": p.severity().to_string(),
        "location": p.location().to_string(),
        "message": p.to_string(),
    })
}

fn opt_ip(ip: Option<IpAddr>) -> String {
    ip.map_or_else(|| "-".to_owned(), |ip| ip.to_string())
}

fn quoted(s: &str) -> String {
    if s.is_empty() {
        "-".to_owned()
    } else {
        format!("{s:?}")
    }
}

fn explain(
    out: &mut String,
    path: &Path,
    bytes: &[u8],
    table: Option<&Ibft>,
    problems: &[Problem],
) -> std::fmt::Result {
    let r = raw(bytes);
    writeln!(out, "{}: {} bytes", path.display(), bytes.len())?;
    let line = |out: &mut String, name: &str, value: String| writeln!(out, "  {name:<25}{value}");
    writeln!(out, "Table header")?;
    if let Some(t) = table {
        line(out, "signature", signature_text(t.header.signature))?;
    } else if let Some(sig) = bytes.get(..4) {
        line(out, "signature", format!("{:?}", ascii(sig)))?;
    }
    if let Some(len) = r.length {
        line(out, "length", format!("{len}"))?;
    }
    if let Some(rev) = r.revision {
        line(out, "revision", format!("{rev}"))?;
    }
    if let (Some(c), Some(len)) = (r.checksum, r.length) {
        let ok = usize::try_from(len)
            .ok()
            .and_then(|l| bytes.get(..l))
            .map(|t| ibft::checksum::sum(t) == 0);
        let verdict = match ok {
            Some(true) => "table sums to 0: ok",
            Some(false) => "table does NOT sum to 0",
            None => "table shorter than its length",
        };
        line(out, "checksum", format!("0x{c:02x} ({verdict})"))?;
    }
    if let Some(t) = table {
        let h = &t.header;
        line(out, "OEM ID", id_text(&h.oem_id))?;
        line(out, "OEM table ID", id_text(&h.oem_table_id))?;
        line(out, "OEM revision", format!("{}", h.oem_revision))?;
        line(out, "creator ID", id_text(&h.creator_id))?;
        line(out, "creator revision", format!("{}", h.creator_revision))?;
        writeln!(out, "Control (byte 48)")?;
        line(
            out,
            "flags",
            format!(
                "0x{:02x} (single login: {})",
                t.control.flags.0,
                if t.control.flags.single_login() {
                    "yes"
                } else {
                    "no"
                }
            ),
        )?;
    }
    if let Some(o) = r.offsets {
        let names = [
            "extensions",
            "initiator",
            "NIC 0",
            "target 0",
            "NIC 1",
            "target 1",
        ];
        for (name, offset) in names.iter().zip(o) {
            let value = if offset == 0 {
                "absent".to_owned()
            } else {
                format!("byte {offset}")
            };
            line(out, &format!("{name} offset"), value)?;
        }
    }
    let Some(t) = table else {
        return write_problems(out, problems);
    };
    match &t.initiator {
        None => writeln!(out, "Initiator: absent")?,
        Some(i) => {
            writeln!(out, "Initiator")?;
            if let Some(h) = r.offsets.and_then(|o| structure_header(bytes, o[1])) {
                line(out, "structure", h)?;
            }
            line(out, "flags", flags_text(i.flags, "", ""))?;
            line(out, "iSNS server", opt_ip(i.isns_server))?;
            line(out, "SLP server", opt_ip(i.slp_server))?;
            line(
                out,
                "primary RADIUS server",
                opt_ip(i.primary_radius_server),
            )?;
            line(
                out,
                "secondary RADIUS server",
                opt_ip(i.secondary_radius_server),
            )?;
            line(out, "name", quoted(&i.name))?;
        }
    }
    for (slot, nic) in t.nics.iter().enumerate() {
        let Some(n) = nic else { continue };
        writeln!(out, "NIC {slot}")?;
        let offset = r.offsets.map(|o| if slot == 0 { o[2] } else { o[4] });
        if let Some(h) = offset.and_then(|o| structure_header(bytes, o)) {
            line(out, "structure", h)?;
        }
        line(out, "index", format!("{}", n.index))?;
        line(out, "flags", flags_text(n.flags, "global address", ""))?;
        line(out, "IP address", opt_ip(n.ip))?;
        line(out, "prefix length", format!("{}", n.prefix_len))?;
        line(
            out,
            "origin",
            format!("{} ({})", u8::from(n.origin), n.origin),
        )?;
        line(out, "gateway", opt_ip(n.gateway))?;
        line(out, "primary DNS", opt_ip(n.primary_dns))?;
        line(out, "secondary DNS", opt_ip(n.secondary_dns))?;
        line(out, "DHCP server", opt_ip(n.dhcp_server))?;
        line(out, "VLAN", format!("{}", n.vlan))?;
        line(out, "MAC address", n.mac.to_string())?;
        line(out, "PCI address", n.pci.to_string())?;
        line(out, "hostname", quoted(&n.hostname))?;
    }
    for (slot, target) in t.targets.iter().enumerate() {
        let Some(x) = target else { continue };
        writeln!(out, "Target {slot}")?;
        let offset = r.offsets.map(|o| if slot == 0 { o[3] } else { o[5] });
        if let Some(h) = offset.and_then(|o| structure_header(bytes, o)) {
            line(out, "structure", h)?;
        }
        line(out, "index", format!("{}", x.index))?;
        line(
            out,
            "flags",
            flags_text(x.flags, "RADIUS CHAP", "RADIUS reverse CHAP"),
        )?;
        line(out, "IP address", opt_ip(x.ip))?;
        line(out, "port", format!("{}", x.port))?;
        let lun_bytes: String = x.lun.0.iter().map(|b| format!("{b:02x}")).collect();
        line(out, "LUN", format!("{} (bytes {lun_bytes})", x.lun))?;
        line(
            out,
            "CHAP type",
            format!("{} ({})", u8::from(x.chap_type), x.chap_type),
        )?;
        line(out, "NIC association", format!("{}", x.nic_association))?;
        line(out, "name", quoted(&x.name))?;
        line(out, "CHAP name", quoted(&x.chap_name))?;
        line(out, "CHAP secret", quoted(&x.chap_secret))?;
        line(out, "reverse CHAP name", quoted(&x.reverse_chap_name))?;
        line(out, "reverse CHAP secret", quoted(&x.reverse_chap_secret))?;
    }
    write_problems(out, problems)
}

fn write_problems(out: &mut String, problems: &[Problem]) -> std::fmt::Result {
    if problems.is_empty() {
        return writeln!(out, "Lint: no problems");
    }
    writeln!(out, "Lint: {} problem(s)", problems.len())?;
    for p in problems {
        writeln!(out, "  {p}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params {
            initiator: Some("iqn.2010-04.org.ipxe:c1".into()),
            target: Some("iqn.2025-01.org.example:c1".into()),
            target_ip: Some("10.0.2.2".parse().expect("ip")),
            mac: Some("52:54:00:12:34:56".into()),
            ip: Some("10.0.2.15/24".into()),
            gateway: Some("10.0.2.2".parse().expect("ip")),
            ..Params::default()
        }
    }

    #[test]
    fn builds_a_table_that_parses_to_the_parameters() {
        let bytes = build(&Params {
            lun: Some(300),
            chap: Some("user:secretsecret".into()),
            mutual_chap: Some("tgt:othersecret12".into()),
            dns: vec!["1.1.1.1".parse().expect("ip")],
            pci: Some("00:03.0".into()),
            acpi: true,
            ..params()
        })
        .expect("builds");
        assert_eq!(&bytes[..4], b"IBFT");
        let t = Ibft::parse(&bytes).expect("parses");
        let nic = t.nics[0].as_ref().expect("nic");
        assert_eq!(nic.origin, Origin::Manual);
        assert_eq!(nic.prefix_len, 24);
        assert_eq!(nic.mac.to_string(), "52:54:00:12:34:56");
        assert_eq!(nic.pci.to_string(), "00:03.0");
        let target = t.targets[0].as_ref().expect("target");
        assert_eq!(target.lun.number(), Some(300));
        assert_eq!(target.chap_type, ChapType::Mutual);
        assert_eq!(target.reverse_chap_secret, "othersecret12");
        assert!(Ibft::lint(&bytes).is_empty());
    }

    #[test]
    fn refuses_bad_parameters_with_a_message() {
        let err = |p: Params| build(&p).expect_err("refused").to_string();
        assert!(
            err(Params {
                initiator: None,
                ..params()
            })
            .contains("--initiator")
        );
        assert!(
            err(Params {
                mac: Some("52:54:00".into()),
                ..params()
            })
            .contains("MAC")
        );
        assert!(
            err(Params {
                ip: Some("10.0.2.15".into()),
                ..params()
            })
            .contains("ADDR/PREFIX")
        );
        assert!(
            err(Params {
                mutual_chap: Some("a:b".into()),
                ..params()
            })
            .contains("--chap")
        );
        assert!(
            err(Params {
                lun: Some(20000),
                ..params()
            })
            .contains("16383")
        );
    }

    #[test]
    fn flags_override_json() {
        let json: Params =
            serde_json::from_str(r#"{"initiator":"iqn.a:b","port":3261,"dns":["1.1.1.1"]}"#)
                .expect("json");
        let merged = Params {
            port: Some(3262),
            ..Params::default()
        }
        .over(json);
        assert_eq!(merged.initiator.as_deref(), Some("iqn.a:b"));
        assert_eq!(merged.port, Some(3262));
        assert_eq!(merged.dns.len(), 1);
        assert!(serde_json::from_str::<Params>(r#"{"initator":"x"}"#).is_err());
    }
}
