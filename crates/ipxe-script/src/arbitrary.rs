//! proptest strategies for the script types (feature `arbitrary`), for the property tests here
//! and in dependent crates.
//!
//! [`hostile_text`] makes the strings an attacker would try (whitespace, `#`, `${`, `}`, `\`,
//! operators, newlines, NUL, non-ASCII); the value strategies build from such text wherever the
//! constructors accept it, so a property over [`script`] covers every corner the validation
//! lets through.
//!
//! ```
//! use ipxe_script::Script;
//! use proptest::strategy::{Strategy, ValueTree};
//! use proptest::test_runner::TestRunner;
//!
//! let mut runner = TestRunner::deterministic();
//! let tree = ipxe_script::arbitrary::script()
//!     .new_tree(&mut runner)
//!     .map_err(|reason| reason.to_string())?;
//! let script = tree.current();
//! assert_eq!(Script::parse(&script.to_string())?, script);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use crate::{
    Chain, Chap, Command, Comment, Configurator, Ifconf, IscsiName, IscsiRootPath, Label, Line,
    Lun, NetDev, Part, Pipeline, Retry, SanBootScript, SanUri, Sanboot, Sanhook, Scope, Script,
    Server, SettingName, SettingRef, SettingType, StaticIpv4, Uuid, Word,
};

/// Characters an attacker would put in a value.
const HOSTILE: &[char] = &[
    'a', 'b', 'Z', '0', '9', '.', '-', ':', '/', '_', ' ', ' ', '\t', '\n', '\r', '\0', '#', '$',
    '{', '}', '\\', '&', '|', ';', '%', '"', '\'', '=', 'é', '\u{b}', '\u{c}',
];

/// Characters of literal text that iPXE passes through but that are special somewhere.
const LITERAL: &[char] = &[
    'a', 'k', 'Z', '0', '7', '.', '-', ':', '/', '_', '#', '$', '{', '}', '\\', '&', '|', ';', '%',
    '"', '=', '?', '@', '[', ']',
];

/// Strings of up to 24 hostile characters.
pub fn hostile_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(HOSTILE), 0..24)
        .prop_map(|cs| cs.into_iter().collect())
}

fn literal_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(LITERAL), 1..12)
        .prop_map(|cs| cs.into_iter().collect())
}

/// A setting reference: optional scope, a well-known or numeric name, optional type.
pub fn setting_ref() -> impl Strategy<Value = SettingRef> {
    let scope = proptest::option::of(proptest::sample::select(
        &["net0", "net1", "net0.dhcp", "smbios"][..],
    ));
    let name = proptest::sample::select(
        &[
            "mac",
            "ip",
            "hostname",
            "uuid",
            "root-path",
            "175.190",
            "errno",
            "x",
            "idx",
        ][..],
    );
    let ty = proptest::option::of(proptest::sample::select(&SettingType::ALL[..]));
    (scope, name, ty).prop_filter_map("valid reference", |(scope, name, ty)| {
        Some(SettingRef {
            scope: match scope {
                Some(s) => Some(Scope::new(s).ok()?),
                None => None,
            },
            name: SettingName::new(name).ok()?,
            ty,
        })
    })
}

/// A word of literal text and expansions, as [`Word::from_parts`] accepts them.
pub fn word() -> impl Strategy<Value = Word> {
    let part = prop_oneof![
        3 => literal_text().prop_map(Part::Literal),
        1 => setting_ref().prop_map(Part::Expand),
    ];
    proptest::collection::vec(part, 1..4)
        .prop_filter_map("valid word", |parts| Word::from_parts(parts).ok())
}

/// A label.
pub fn label() -> impl Strategy<Value = Label> {
    proptest::sample::select(&["a", "fail", "retry-1", "x.y_z"][..])
        .prop_filter_map("valid label", |l| Label::new(l).ok())
}

/// An iSCSI name, possibly with name-safe per-client expansions.
pub fn iscsi_name() -> impl Strategy<Value = IscsiName> {
    let unique = proptest::collection::vec(
        prop_oneof![
            3 => "[a-z0-9.:-]{1,8}".prop_map(Part::Literal),
            1 => setting_ref().prop_map(Part::Expand),
        ],
        0..4,
    );
    (
        prop_oneof![
            Just("iqn.2010-04.org.ipxe:"),
            Just("iqn.1986-03.com.sun:02:")
        ],
        unique,
    )
        .prop_filter_map("valid name", |(prefix, unique)| {
            let parts = core::iter::once(Part::Literal(prefix.into())).chain(unique);
            IscsiName::from_word(Word::from_parts(parts).ok()?).ok()
        })
}

/// A server: IPv4, IPv6 or a host name.
pub fn server() -> impl Strategy<Value = Server> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|b| Server::Ipv4(Ipv4Addr::from(b))),
        any::<[u16; 8]>().prop_map(|s| Server::Ipv6(Ipv6Addr::from(s))),
        "[a-z][a-z0-9-]{0,6}[a-z0-9](\\.[a-z]{1,5}){0,2}".prop_filter_map("host name", |n| {
            crate::HostName::new(&n).ok().map(Server::Name)
        }),
    ]
}

/// A LUN, often single-level.
pub fn lun() -> impl Strategy<Value = Lun> {
    prop_oneof![
        any::<u16>().prop_map(Lun::new),
        any::<[u16; 4]>().prop_map(Lun::from_levels),
    ]
}

/// An iSCSI root path.
pub fn root_path() -> impl Strategy<Value = IscsiRootPath> {
    (server(), 1..=u16::MAX, lun(), iscsi_name()).prop_filter_map("root path", |(s, p, l, n)| {
        IscsiRootPath::new(s, p, l, n).ok()
    })
}

/// CHAP credentials from hostile text.
pub fn chap() -> impl Strategy<Value = Chap> {
    (
        hostile_text(),
        hostile_text(),
        proptest::option::of((hostile_text(), hostile_text())),
    )
        .prop_filter_map("valid CHAP", |(u, p, rev)| match rev {
            None => Chap::one_way(&u, &p).ok(),
            Some((ru, rp)) => Chap::mutual(&u, &p, &ru, &rp).ok(),
        })
}

fn drive() -> impl Strategy<Value = Option<u32>> {
    proptest::option::of(prop_oneof![0x80..0x90u32, any::<u32>()])
}

/// Any single command, with hostile values wherever the command takes text.
pub fn command() -> impl Strategy<Value = Command> {
    let words = || proptest::collection::vec(word(), 0..3);
    let ifconf = (
        proptest::option::of(prop_oneof![
            Just(Configurator::Dhcp),
            Just(Configurator::Ipv6)
        ]),
        proptest::option::of(any::<u32>()),
        proptest::collection::vec(any::<u8>().prop_map(NetDev), 0..3),
    )
        .prop_map(|(configurator, timeout_ms, interfaces)| Ifconf {
            configurator,
            timeout_ms,
            interfaces,
        });
    let san_uri = prop_oneof![
        root_path().prop_map(SanUri::from),
        word().prop_map(SanUri::from_word),
    ];
    let sanboot = (
        drive(),
        any::<(bool, bool)>(),
        proptest::option::of(word()),
        proptest::option::of(word()),
        proptest::option::of(word()),
        proptest::option::of(any::<[u8; 16]>().prop_map(Uuid)),
        proptest::collection::vec(san_uri.clone(), 0..3),
    )
        .prop_map(
            |(drive, (no_describe, keep), filename, extra, label, uuid, uris)| {
                Command::Sanboot(Sanboot {
                    drive,
                    no_describe,
                    keep,
                    filename,
                    extra,
                    label,
                    uuid,
                    uris,
                })
            },
        );
    let sanhook = (
        drive(),
        any::<bool>(),
        proptest::collection::vec(san_uri, 1..3),
    )
        .prop_map(|(drive, no_describe, uris)| {
            Command::Sanhook(Sanhook {
                drive,
                no_describe,
                uris,
            })
        });
    let chain = (
        word(),
        proptest::option::of(word()),
        proptest::option::of(any::<u32>()),
        any::<(bool, bool, bool)>(),
        words(),
    )
        .prop_map(
            |(uri, name, timeout_ms, (quiet, autofree, replace), args)| {
                Command::Chain(Chain {
                    name,
                    timeout_ms,
                    quiet,
                    autofree,
                    replace,
                    uri,
                    args,
                })
            },
        );
    prop_oneof![
        ifconf.clone().prop_map(Command::Dhcp),
        ifconf.prop_map(Command::Ifconf),
        proptest::collection::vec(any::<u8>().prop_map(NetDev), 0..3).prop_map(Command::Ifopen),
        (setting_ref(), words()).prop_map(|(setting, value)| Command::Set { setting, value }),
        (setting_ref(), hostile_text()).prop_filter_map("untyped setting", |(s, t)| {
            Command::set_text(SettingRef { ty: None, ..s }, &t).ok()
        }),
        setting_ref().prop_map(Command::Clear),
        (setting_ref(), proptest::option::of(any::<u32>()))
            .prop_map(|(setting, by)| Command::Inc { setting, by }),
        sanhook,
        sanboot,
        drive().prop_map(|drive| Command::Sanunhook { drive }),
        chain,
        label().prop_map(Command::Goto),
        word().prop_map(Command::Isset),
        (word(), word()).prop_map(|(a, b)| Command::Iseq(a, b)),
        (any::<bool>(), words()).prop_map(|(no_newline, text)| Command::Echo { no_newline, text }),
        proptest::option::of(any::<u32>()).prop_map(Command::Exit),
        any::<u32>().prop_map(Command::Sleep),
    ]
}

/// A line of one to three commands joined by operators.
pub fn pipeline() -> impl Strategy<Value = Pipeline> {
    let op = prop_oneof![
        Just(crate::Op::And),
        Just(crate::Op::Or),
        Just(crate::Op::Then)
    ];
    (command(), proptest::collection::vec((op, command()), 0..3))
        .prop_map(|(first, rest)| Pipeline { first, rest })
}

/// Any line: commands, labels, comments from hostile text.
pub fn line() -> impl Strategy<Value = Line> {
    prop_oneof![
        6 => pipeline().prop_map(Line::Commands),
        1 => label().prop_map(Line::Label),
        1 => hostile_text().prop_filter_map("comment", |t| Comment::new(&t).ok().map(Line::Comment)),
    ]
}

/// A valid script: random lines, then every label that a `goto` names (and none twice).
pub fn script() -> impl Strategy<Value = Script> {
    proptest::collection::vec(line(), 0..8).prop_filter_map("valid script", |lines| {
        let mut lines: Vec<Line> = {
            let mut seen = Vec::new();
            lines
                .into_iter()
                .filter(|l| match l {
                    Line::Label(label) if seen.contains(label) => false,
                    Line::Label(label) => {
                        seen.push(label.clone());
                        true
                    }
                    _ => true,
                })
                .collect()
        };
        let mut wanted = Vec::new();
        for l in &lines {
            if let Line::Commands(p) = l {
                for c in p.commands() {
                    if let Command::Goto(t) = c {
                        wanted.push(t.clone());
                    }
                }
            }
        }
        for t in wanted {
            if !lines.contains(&Line::Label(t.clone())) {
                lines.push(Line::Label(t));
            }
        }
        Script::new(lines).ok()
    })
}

/// A static IPv4 configuration.
pub fn static_ipv4() -> impl Strategy<Value = StaticIpv4> {
    (
        any::<[u8; 4]>(),
        any::<[u8; 4]>(),
        proptest::option::of(any::<[u8; 4]>()),
        proptest::option::of(any::<[u8; 4]>()),
    )
        .prop_map(|(address, netmask, gateway, dns)| StaticIpv4 {
            address: address.into(),
            netmask: netmask.into(),
            gateway: gateway.map(Into::into),
            dns: dns.map(Into::into),
        })
}

/// A per-client SAN boot plan with any choices.
pub fn san_boot_script() -> impl Strategy<Value = SanBootScript> {
    (
        root_path(),
        proptest::option::of(iscsi_name()),
        proptest::option::of(chap()),
        proptest::option::of(any::<u8>().prop_map(NetDev)),
        any::<(bool, bool)>(),
        drive(),
        proptest::option::of((1..10u32, 0..30u32)),
        proptest::option::of(static_ipv4()),
    )
        .prop_map(
            |(
                root_path,
                initiator,
                chap,
                interface,
                (via, keep_san),
                drive,
                retry,
                static_ipv4,
            )| {
                SanBootScript {
                    interface,
                    static_ipv4,
                    initiator,
                    chap,
                    root_path,
                    via_root_path_setting: via,
                    keep_san,
                    drive,
                    retry: retry.map(|(attempts, delay_secs)| Retry {
                        attempts,
                        delay_secs,
                    }),
                }
            },
        )
}
