//! DHCP snippets: what they refuse, and that iPXE is never handed iPXE again.

#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

use ipxe_script::{
    BootFlow, Chainload, DhcpConfig, DhcpHost, Error, HostName, IscsiRootPath, MacAddr, SanOptions,
    Word,
};

fn host(name: &str, mac: &str) -> DhcpHost {
    DhcpHost {
        name: HostName::new(name).unwrap(),
        mac: MacAddr::parse(mac).unwrap(),
        address: None,
        san: None,
    }
}

fn chainload(script: &str) -> BootFlow {
    BootFlow::Chainload(Chainload::new(None, Word::literal(script).unwrap()).unwrap())
}

#[test]
fn refuses_values_that_would_leave_their_quotes() {
    for script in ["boot\".ipxe", "C:\\boot.ipxe"] {
        let config = DhcpConfig {
            flow: chainload(script),
            hosts: vec![],
        };
        assert!(
            matches!(config.dnsmasq(), Err(Error::InvalidByte { .. })),
            "{script}"
        );
        assert!(
            matches!(config.isc_dhcpd(), Err(Error::InvalidByte { .. })),
            "{script}"
        );
    }
}

#[test]
fn refuses_hostile_host_names_before_they_reach_a_snippet() {
    for name in ["a b", "x\"}", "x;", "client\n", "#c", ""] {
        assert!(HostName::new(name).is_err(), "{name:?}");
    }
}

#[test]
fn refuses_duplicate_hosts() {
    for second in [
        host("client1", "52:54:00:00:00:02"),
        host("CLIENT1", "52:54:00:00:00:02"),
        host("other", "52:54:00:00:00:01"),
    ] {
        let config = DhcpConfig {
            flow: BootFlow::Embedded,
            hosts: vec![host("client1", "52:54:00:00:00:01"), second],
        };
        assert_eq!(config.dnsmasq(), Err(Error::DuplicateHost { index: 1 }));
        assert_eq!(config.isc_dhcpd(), Err(Error::DuplicateHost { index: 1 }));
    }
}

#[test]
fn ipxe_clients_get_the_script_and_pxe_clients_get_ipxe() {
    let config = DhcpConfig {
        flow: chainload("boot.ipxe"),
        hosts: vec![host("a", "52:54:00:00:00:01")],
    };
    let text = config.dnsmasq().unwrap();
    let boots: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("dhcp-boot="))
        .collect();
    // The iPXE image only ever goes to clients without the ipxe tag.
    for line in &boots {
        if line.contains("kpxe") || line.contains("ipxe.efi") {
            assert!(line.starts_with("dhcp-boot=tag:!ipxe,"), "{line}");
        } else {
            assert!(line.starts_with("dhcp-boot=tag:ipxe,"), "{line}");
        }
    }
    assert_eq!(boots.len(), 3);
    assert!(
        !text.contains(",,"),
        "no TFTP server address when dnsmasq serves TFTP itself"
    );
    let dhcpd = config.isc_dhcpd().unwrap();
    let ipxe_branch = dhcpd.find("option user-class = \"iPXE\"").unwrap();
    let kpxe = dhcpd.find("undionly.kpxe").unwrap();
    assert!(ipxe_branch < kpxe, "the iPXE test must come first");
    assert!(!dhcpd.contains("next-server"));
}

#[test]
fn san_hosts_never_get_a_file_name_with_their_root_path() {
    let mut h = host("san1", "52:54:00:00:00:09");
    h.san = Some(SanOptions {
        root_path: IscsiRootPath::parse("iscsi:10.0.2.2:::1:iqn.2024-01.org.example:san1").unwrap(),
        initiator: None,
        keep_san: false,
    });
    let config = DhcpConfig {
        flow: chainload("boot.ipxe"),
        hosts: vec![h],
    };
    let text = config.dnsmasq().unwrap();
    assert!(text.contains("dhcp-host=52:54:00:00:00:09,set:san,set:host-san1,san1\n"));
    assert!(text.contains("dhcp-boot=tag:ipxe,tag:!san,"));
    assert!(text.contains("17,\"iscsi:10.0.2.2:::1:iqn.2024-01.org.example:san1\"\n"));
    assert!(!text.contains(",203,") && !text.contains("encap:175"));
    let dhcpd = config.isc_dhcpd().unwrap();
    assert!(dhcpd.contains("    filename \"\";\n    option root-path \"iscsi:10.0.2.2:::1:iqn.2024-01.org.example:san1\";\n"));
}
