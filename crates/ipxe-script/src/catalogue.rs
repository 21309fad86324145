//! Every kind of script the crate generates, for tests that run them in real iPXE.

use crate::boot::{Chap, Retry, SanBootScript};
use crate::command::{Command, Label, NetDev, Sanboot, Sanhook};
use crate::error::Result;
use crate::name::IscsiName;
use crate::script::{Line, Pipeline, Script};
use crate::uri::{IscsiRootPath, Lun, SanUri, Server};
use crate::value::{Part, SettingRef, SettingType, Word};

/// The seed script of the project, byte for byte (without the `#!ipxe` header).
///
/// ```
/// use ipxe_script::{HEADER, SEED_BODY, Script, seed_script};
/// let seed = Script::parse(&format!("{HEADER}\n{SEED_BODY}"))?;
/// assert_eq!(seed, seed_script()?);
/// # Ok::<(), ipxe_script::Error>(())
/// ```
pub const SEED_BODY: &str = "dhcp net0
set initiator-iqn iqn.1991-05.com.microsoft:iscsiboot-${net0/mac}
set root-path iscsi:10.121.28.150::::iqn.1991-05.com.microsoft:testsvr-iscsiboot-${net0/mac}-target
set keep-san 1
sanboot ${root-path}
";

/// The seed script built from typed values: IQNs with the `${net0/mac}` template, the root
/// path from an IPv4 server, the default port and LUN 0.
///
/// # Errors
///
/// None in practice (the values are constants).
///
/// ```
/// let seed = ipxe_script::seed_script()?;
/// assert_eq!(seed.body().to_string(), ipxe_script::SEED_BODY);
/// # Ok::<(), ipxe_script::Error>(())
/// ```
pub fn seed_script() -> Result<Script> {
    let mac = || Part::Expand(SettingRef::mac(0, None));
    let initiator = IscsiName::from_word(Word::from_parts([
        Part::Literal("iqn.1991-05.com.microsoft:iscsiboot-".into()),
        mac(),
    ])?)?;
    let target = IscsiName::from_word(Word::from_parts([
        Part::Literal("iqn.1991-05.com.microsoft:testsvr-iscsiboot-".into()),
        mac(),
        Part::Literal("-target".into()),
    ])?)?;
    let root_path = IscsiRootPath::new(
        Server::Ipv4([10, 121, 28, 150].into()),
        3260,
        Lun::ZERO,
        target,
    )?;
    let mut plan = SanBootScript::new(root_path);
    plan.initiator = Some(initiator);
    plan.script()
}

/// Where the scripts of [`catalogue`] boot from: a test target's address and names.
///
/// ```
/// use ipxe_script::{Chap, IscsiName, Lun, Server, TestTarget, catalogue};
/// let t = TestTarget {
///     server: Server::Ipv4([10, 0, 2, 2].into()),
///     port: 3260,
///     lun: Lun::ZERO,
///     target: IscsiName::new("iqn.2024-01.org.example:disk")?,
///     initiator: IscsiName::new("iqn.2024-01.org.example:client")?,
///     chap: Chap::one_way("user", "secret-12345")?,
///     mutual_chap: Chap::mutual("user", "secret-12345", "target", "tsecret-12345")?,
/// };
/// assert!(catalogue(&t)?.iter().all(|s| s.script.to_string().contains("iqn.2024-01.org.example:disk")));
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestTarget {
    /// The target's address.
    pub server: Server,
    /// Its port.
    pub port: u16,
    /// The boot LUN.
    pub lun: Lun,
    /// The target name (may hold `${net0/mac…}` templates).
    pub target: IscsiName,
    /// The initiator name the target admits (may hold templates).
    pub initiator: IscsiName,
    /// One-way CHAP credentials the target accepts.
    pub chap: Chap,
    /// Mutual CHAP credentials (must include the same forward credentials as `chap`).
    pub mutual_chap: Chap,
}

/// One script of the [`catalogue`], with a name for test reports.
///
/// ```
/// # use ipxe_script::{Chap, IscsiName, Lun, Server, TestTarget};
/// # let t = TestTarget {
/// #     server: Server::Ipv4([10, 0, 2, 2].into()),
/// #     port: 3260,
/// #     lun: Lun::ZERO,
/// #     target: IscsiName::new("iqn.2024-01.org.example:disk")?,
/// #     initiator: IscsiName::new("iqn.2024-01.org.example:client")?,
/// #     chap: Chap::one_way("user", "secret-12345")?,
/// #     mutual_chap: Chap::mutual("user", "secret-12345", "target", "tsecret-12345")?,
/// # };
/// let all = ipxe_script::catalogue(&t)?;
/// let retry = all.iter().find(|s| s.name == "retry-loop");
/// assert!(retry.is_some_and(|s| s.script.to_string().contains(":san-retry\n")));
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedScript {
    /// A short identifier, e.g. `"mutual-chap"`.
    pub name: &'static str,
    /// What the script exercises.
    pub description: &'static str,
    /// The script.
    pub script: Script,
}

/// Every kind of script this crate generates, pointed at `t`: the seed shape, one-way and
/// mutual CHAP, the URI on the `sanboot` line with `--drive`, the retry loop, `sanhook` then
/// `sanboot` of the hooked drive, and a per-MAC `:hexhyp` initiator. Each one ends in a
/// `sanboot` of `t`, so a QEMU test can run them all against one target and check that the
/// guest booted (and, for CHAP, that the target saw the expected login).
///
/// # Errors
///
/// None in practice.
///
/// ```
/// use ipxe_script::{Chap, IscsiName, Lun, Server, TestTarget, catalogue};
/// let t = TestTarget {
///     server: Server::Ipv4([10, 0, 2, 2].into()),
///     port: 3260,
///     lun: Lun::ZERO,
///     target: IscsiName::new("iqn.2024-01.org.example:disk")?,
///     initiator: IscsiName::new("iqn.2024-01.org.example:client-${net0/mac:hexhyp}")?,
///     chap: Chap::one_way("user", "secret-12345")?,
///     mutual_chap: Chap::mutual("user", "secret-12345", "target", "tsecret-12345")?,
/// };
/// let all = catalogue(&t)?;
/// assert!(all.iter().any(|s| s.name == "mutual-chap"));
/// assert!(all.iter().all(|s| s.script.to_string().contains("sanboot")));
/// # Ok::<(), ipxe_script::Error>(())
/// ```
pub fn catalogue(t: &TestTarget) -> Result<Vec<NamedScript>> {
    let root_path = IscsiRootPath::new(t.server.clone(), t.port, t.lun, t.target.clone())?;
    let base = || {
        let mut plan = SanBootScript::new(root_path.clone());
        plan.initiator = Some(t.initiator.clone());
        plan
    };
    let mut out = Vec::new();
    let mut add = |name, description, script| {
        out.push(NamedScript {
            name,
            description,
            script,
        })
    };

    add(
        "seed-shape",
        "dhcp net0, initiator-iqn, root-path setting, keep-san 1, sanboot ${root-path}",
        base().script()?,
    );

    let mut chap = base();
    chap.chap = Some(t.chap.clone());
    add(
        "one-way-chap",
        "username/password set before sanboot",
        chap.script()?,
    );

    let mut mutual = base();
    mutual.chap = Some(t.mutual_chap.clone());
    add(
        "mutual-chap",
        "username/password and reverse-username/reverse-password",
        mutual.script()?,
    );

    let mut direct = base();
    direct.via_root_path_setting = false;
    direct.keep_san = false;
    direct.drive = Some(0x80);
    direct.interface = None;
    add(
        "direct-uri",
        "bare dhcp, sanboot --drive 0x80 with the iSCSI URI on the line, no keep-san",
        direct.script()?,
    );

    let mut retry = base();
    retry.retry = Some(Retry {
        attempts: 3,
        delay_secs: 1,
    });
    add(
        "retry-loop",
        "sanboot inside a counted retry loop (set :int32, inc, iseq, goto, sleep)",
        retry.script()?,
    );

    let uri = SanUri::from(root_path.clone());
    let fail = Label::new("fail")?;
    let hook = Script::new(vec![
        Line::Comment(crate::script::Comment::new(
            "attach with sanhook, then boot the hooked drive",
        )?),
        Pipeline::new(Command::Dhcp(crate::command::Ifconf {
            interfaces: vec![NetDev(0)],
            ..Default::default()
        }))
        .or(Command::Goto(fail.clone()))
        .into(),
        Command::set_word(
            SettingRef::named("initiator-iqn")?,
            t.initiator.as_word().clone(),
        )
        .into(),
        Pipeline::new(Command::Sanhook(Sanhook {
            drive: Some(0x80),
            no_describe: false,
            uris: vec![uri],
        }))
        .or(Command::Goto(fail.clone()))
        .into(),
        Pipeline::new(Command::Sanboot(Sanboot {
            drive: Some(0x80),
            ..Sanboot::default()
        }))
        .or(Command::Goto(fail.clone()))
        .into(),
        Line::Label(fail),
        Command::Echo {
            no_newline: false,
            text: vec![
                Word::literal("boot")?,
                Word::literal("failed:")?,
                Word::expansion(SettingRef::named("errno")?),
            ],
        }
        .into(),
        Command::Exit(Some(1)).into(),
    ])?;
    add(
        "sanhook-then-sanboot",
        "sanhook --drive 0x80 <uri>, then sanboot --drive 0x80 without URI, || goto fail",
        hook,
    );

    let mut per_mac = base();
    per_mac.initiator = Some(IscsiName::from_word(Word::from_parts([
        Part::Literal("iqn.2010-04.org.ipxe:".into()),
        Part::Expand(SettingRef::mac(0, Some(SettingType::Hexhyp))),
    ])?)?);
    add(
        "per-mac-initiator",
        "initiator-iqn iqn.2010-04.org.ipxe:${net0/mac:hexhyp} (the target must admit it)",
        per_mac.script()?,
    );
    Ok(out)
}
