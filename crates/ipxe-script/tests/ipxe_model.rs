//! The model of iPXE's reader against the behaviours iPXE's sources and documentation state
//! (`script.c`, `exec.c`, `settings.c`, `getopt.c`, `iscsi.c`), so that the property tests
//! compare the renderer with something that reads like iPXE.

#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

use ipxe_script::fuzzing::ipxe::{self, Joiner};

fn tokens(line: &str) -> Vec<(Option<Joiner>, Vec<String>)> {
    ipxe::commands(line)
}

fn owned(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn needs_the_magic_and_one_whitespace_byte() {
    assert!(ipxe::script_lines("#!ipxe\n").is_some());
    assert!(ipxe::script_lines("#!ipxe echo x\n").is_some());
    assert!(ipxe::script_lines("#!gpxe\n").is_some());
    assert!(ipxe::script_lines("#!ipxeecho\n").is_none());
    assert!(ipxe::script_lines("echo\n").is_none());
}

#[test]
fn joins_continuations_without_a_space_and_strips_cr() {
    let lines = ipxe::script_lines("#!ipxe\r\necho a\\\nb\r\necho c\\\r\n d\n").unwrap();
    let commands: Vec<&str> = lines.iter().map(|l| l.command.as_str()).collect();
    assert_eq!(commands, ["#!ipxe", "echo ab", "echo c d"]);
}

#[test]
fn a_label_line_may_carry_a_command() {
    let lines = ipxe::script_lines("#!ipxe\n  :retry echo again\n:end\n").unwrap();
    assert_eq!(lines[1].label.as_deref(), Some("retry"));
    assert_eq!(lines[1].command, "echo again");
    assert_eq!(lines[2].label.as_deref(), Some("end"));
    assert_eq!(lines[2].command, "");
}

#[test]
fn splits_at_whitespace_and_stops_at_a_comment_token() {
    assert_eq!(
        tokens("echo a#b  #c d"),
        vec![(None, owned(&["echo", "a#b"]))]
    );
    assert_eq!(
        tokens("a && b||c || d ; e"),
        vec![
            (None, owned(&["a"])),
            (Some(Joiner::And), owned(&["b||c"])),
            (Some(Joiner::Or), owned(&["d"])),
            (Some(Joiner::Then), owned(&["e"])),
        ]
    );
    assert!(tokens("# only a comment").is_empty());
    assert!(tokens("\t \x0b").is_empty());
}

#[test]
fn expands_innermost_first_and_rescans() {
    let mut env = |name: &str| match name {
        "idx" => Some("0".to_owned()),
        "net0/ip" => Some("10.0.0.1".to_owned()),
        "loop" => Some("${loop}".to_owned()),
        "evil" => Some("${idx}".to_owned()),
        _ => None,
    };
    assert_eq!(
        ipxe::expand("ip=${net${idx}/ip}", &mut env).unwrap(),
        "ip=10.0.0.1"
    );
    assert_eq!(ipxe::expand("${unset}x", &mut env).unwrap(), "x");
    assert_eq!(ipxe::expand("}${idx}}", &mut env).unwrap(), "}0}");
    assert_eq!(ipxe::expand("$${idx}", &mut env).unwrap(), "$0");
    // A value holding "${" is expanded again: why the renderer assumes values never do.
    assert_eq!(ipxe::expand("${evil}", &mut env).unwrap(), "0");
    assert_eq!(ipxe::expand("${loop}", &mut env), None);
}

#[test]
fn getopt_reads_long_short_inline_and_dash_dash() {
    let table: &[ipxe::OptSpec] = &[("drive", b'd', true), ("keep", b'k', false)];
    let (opts, args) =
        ipxe::getopt(&owned(&["--drive", "-1", "--keep", "--", "-x", "y"]), table).unwrap();
    assert_eq!(opts, vec![("drive", Some("-1".into())), ("keep", None)]);
    assert_eq!(args, owned(&["-x", "y"]));
    let (opts, args) =
        ipxe::getopt(&owned(&["--drive=0x81", "-kd0x80", "u", "-k"]), table).unwrap();
    assert_eq!(
        opts,
        vec![
            ("drive", Some("0x81".into())),
            ("keep", None),
            ("drive", Some("0x80".into()))
        ]
    );
    assert_eq!(args, owned(&["u", "-k"]));
    assert!(ipxe::getopt(&owned(&["--keep=1"]), table).is_err());
    assert!(ipxe::getopt(&owned(&["--drivex"]), table).is_err());
    assert!(ipxe::getopt(&owned(&["--drive"]), table).is_err());
    assert!(ipxe::getopt(&owned(&["-x"]), table).is_err());
}

#[test]
fn reads_root_paths_like_iscsi_parse_root_path() {
    let rp =
        ipxe::parse_iscsi_uri("iscsi:[fe80::1]:6:3261:1-a:iqn.1986-03.com.sun:02:e9ab").unwrap();
    assert_eq!(rp.server, "[fe80::1]");
    assert_eq!(rp.port, 3261);
    assert_eq!(rp.lun, [0, 1, 0, 0x0a, 0, 0, 0, 0]);
    assert_eq!(rp.target, "iqn.1986-03.com.sun:02:e9ab");
    // Decimal "10" is LUN 16; empty port and LUN are 3260 and 0.
    let rp = ipxe::parse_iscsi_uri("iscsi:10.0.0.1:::10:iqn.x").unwrap();
    assert_eq!((rp.port, rp.lun[1]), (3260, 0x10));
    assert!(ipxe::parse_iscsi_uri("iscsi:10.0.0.1:::iqn.x").is_none());
    assert!(ipxe::parse_iscsi_uri("iscsi:10.0.0.1:::1-2-3-4-5:iqn.x").is_none());
    assert!(ipxe::parse_iscsi_uri("iscsi:10.0.0.1:::g:iqn.x").is_none());
}
