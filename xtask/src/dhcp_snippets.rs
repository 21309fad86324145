//! `interop-dhcp`: the DHCP server snippets of the `ipxe-script` crate, checked by the servers they
//! are for: `dnsmasq --test` and ISC `dhcpd -t` parse each one, for both boot flows (DHCP + TFTP
//! chain-loading, and a script embedded on CD/USB), with hosts that have SAN options and hosts
//! that do not.
//!
//! Parsing is what can be checked on loopback: a DHCP exchange needs a broadcast domain, which the
//! QEMU boot steps get from QEMU's own DHCP server instead.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use ipxe_script::{
    BootFlow, Chainload, DhcpConfig, DhcpHost, HostName, IscsiName, IscsiRootPath, Lun, MacAddr,
    SanOptions, Server, Word,
};

use crate::Ctx;
use crate::report::{Outcome, output_within};
use crate::testcu::{report_path, write_report};

/// The hosts of every snippet: one booting by root path (options 17, 203, 175.8), one by script.
fn hosts() -> Result<Vec<DhcpHost>> {
    let e = |e: ipxe_script::Error| anyhow!("{e}");
    let root_path = IscsiRootPath::new(
        Server::Ipv4([192, 0, 2, 10].into()),
        3260,
        Lun::ZERO,
        IscsiName::new("iqn.2026-12.org.example:pc1-target").map_err(e)?,
    )
    .map_err(e)?;
    Ok(vec![
        DhcpHost {
            name: HostName::new("pc1").map_err(e)?,
            mac: MacAddr::parse("52:54:00:00:01:01").map_err(e)?,
            address: Some([192, 0, 2, 101].into()),
            san: Some(SanOptions {
                root_path,
                initiator: Some(IscsiName::new("iqn.1991-05.com.microsoft:pc1").map_err(e)?),
                keep_san: true,
            }),
        },
        DhcpHost {
            name: HostName::new("pc2").map_err(e)?,
            mac: MacAddr::parse("52:54:00:00:01:02").map_err(e)?,
            address: None,
            san: None,
        },
    ])
}

/// Every snippet: `(name, dnsmasq text, dhcpd text)`.
fn snippets() -> Result<Vec<(&'static str, String, String)>> {
    let e = |e: ipxe_script::Error| anyhow!("{e}");
    let flows = [
        (
            "chainload",
            BootFlow::Chainload(
                Chainload::new(
                    Some([192, 0, 2, 1].into()),
                    Word::literal("boot.ipxe").map_err(e)?,
                )
                .map_err(e)?,
            ),
        ),
        ("embedded", BootFlow::Embedded),
    ];
    let mut out = Vec::new();
    for (name, flow) in flows {
        let config = DhcpConfig {
            flow,
            hosts: hosts()?,
        };
        out.push((
            name,
            config.dnsmasq().map_err(e)?,
            config.isc_dhcpd().map_err(e)?,
        ));
    }
    Ok(out)
}

/// An ISC dhcpd.conf around `snippet`: the subnet its fixed addresses are in.
fn dhcpd_conf(snippet: &str) -> String {
    format!(
        "# test wrapper\nauthoritative;\nsubnet 192.0.2.0 netmask 255.255.255.0 {{\n  \
         range 192.0.2.200 192.0.2.250;\n}}\n{snippet}"
    )
}

/// Checks one file with a server's own parser.
fn check(program: &str, args: &[&str], file: &Path) -> Result<()> {
    let path = file.display().to_string();
    let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    // dnsmasq takes `--conf-file=FILE` as one argument; dhcpd takes `-cf FILE`.
    match all.last_mut() {
        Some(last) if last.ends_with('=') => last.push_str(&path),
        _ => all.push(path.clone()),
    }
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let (ok, text) = output_within(30, program, &all)?;
    if ok {
        Ok(())
    } else {
        let body = fs::read_to_string(file).unwrap_or_default();
        Err(anyhow!(
            "{program} {} refused it:\n{text}\n--- {path} ---\n{body}",
            args.join(" ")
        ))
    }
}

/// `interop-dhcp`.
pub(crate) fn step(ctx: &Ctx) -> Result<Outcome> {
    let work = ctx.sh.create_temp_dir()?;
    let work = work.path();
    let mut report = String::from("DHCP snippets parsed by dnsmasq --test and dhcpd -t\n");
    let mut problems = Vec::new();
    for (name, dnsmasq, dhcpd) in snippets()? {
        let dnsmasq_file = work.join(format!("{name}.dnsmasq.conf"));
        fs::write(&dnsmasq_file, &dnsmasq)
            .with_context(|| format!("writing {}", dnsmasq_file.display()))?;
        let dhcpd_file = work.join(format!("{name}.dhcpd.conf"));
        fs::write(&dhcpd_file, dhcpd_conf(&dhcpd))
            .with_context(|| format!("writing {}", dhcpd_file.display()))?;
        let leases = work.join("dhcpd.leases");
        fs::write(&leases, "")?;
        let results = [
            (
                "dnsmasq",
                check("dnsmasq", &["--test", "--conf-file="], &dnsmasq_file),
            ),
            (
                "dhcpd",
                check(
                    "dhcpd",
                    &["-t", "-lf", &leases.display().to_string(), "-cf"],
                    &dhcpd_file,
                ),
            ),
        ];
        for (server, result) in results {
            let verdict = match &result {
                Ok(()) => "ok".to_owned(),
                Err(err) => format!("REFUSED: {err:#}"),
            };
            let _ = writeln!(report, "{name} flow, {server}: {verdict}");
            if let Err(err) = result {
                problems.push(format!("{name} flow, {server}: {err:#}"));
            }
        }
    }
    eprint!("{report}");
    write_report(&report_path(ctx, "dhcp-latest.txt"), &report);
    Ok(if problems.is_empty() {
        Outcome::Pass
    } else {
        Outcome::Fail(problems.join("; "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_flows_render_for_both_servers() -> Result<()> {
        let all = snippets()?;
        assert_eq!(all.len(), 2);
        for (name, dnsmasq, dhcpd) in &all {
            assert!(dnsmasq.contains("52:54:00:00:01:01"), "{name}: {dnsmasq}");
            assert!(dhcpd.contains("52:54:00:00:01:01"), "{name}: {dhcpd}");
        }
        assert!(dhcpd_conf("host x {}").starts_with("# test wrapper\n"));
        Ok(())
    }
}
