//! Whole SAN boot scripts from a few typed choices: interface, initiator IQN, CHAP and
//! mutual CHAP, root path, keep-san, drive and a retry loop.

use std::net::Ipv4Addr;

use crate::command::{Command, Ifconf, Label, NetDev, Sanboot};
use crate::error::{Error, Result};
use crate::name::IscsiName;
use crate::script::{Line, Pipeline, Script};
use crate::uri::{IscsiRootPath, SanUri};
use crate::value::{SettingRef, SettingType, Word};

/// Longest CHAP user name or secret accepted (iPXE has no limit; targets cap secrets far
/// lower, RFC 7143 §12.1.3 recommends at most 16 bytes of secret).
///
/// ```
/// use ipxe_script::{Chap, Error, MAX_CHAP_LEN};
/// assert!(Chap::one_way("user", &"s".repeat(MAX_CHAP_LEN)).is_ok());
/// let too_long = Chap::one_way("user", &"s".repeat(MAX_CHAP_LEN + 1));
/// assert!(matches!(too_long, Err(Error::TooLong { max: MAX_CHAP_LEN, .. })));
/// ```
pub const MAX_CHAP_LEN: usize = 255;

/// CHAP credentials, one-way or mutual, as iPXE's `username`, `password`,
/// `reverse-username` and `reverse-password` settings.
///
/// iPXE refuses a user name without a secret and reverse credentials without forward ones
/// (`iscsi_check_auth`); the constructors make those states impossible. Values may hold any
/// bytes: [`Command::set_text`] hex-encodes what cannot be written literally.
///
/// ```
/// use ipxe_script::Chap;
/// let chap = Chap::mutual("initiator-user", "initiator-secret", "target-user", "target secret!")?;
/// let lines: Vec<String> = chap.commands()?.iter().map(|c| c.to_string()).collect();
/// assert_eq!(lines[0], "set username initiator-user");
/// assert_eq!(lines[3], "set reverse-password target secret!");
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Chap {
    username: String,
    password: String,
    reverse: Option<(String, String)>,
}

fn check_credential(what: &'static str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::InvalidChap {
            problem: "a CHAP user name or secret is empty",
        });
    }
    if let Some(offset) = value.bytes().position(|b| b == 0) {
        // iPXE reads settings as C strings: the secret would end there.
        return Err(Error::InvalidByte {
            what,
            byte: 0,
            offset,
        });
    }
    if value.len() > MAX_CHAP_LEN {
        return Err(Error::TooLong {
            what,
            len: value.len(),
            max: MAX_CHAP_LEN,
        });
    }
    Ok(())
}

impl Chap {
    /// One-way CHAP: the target authenticates the initiator.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidChap`] for an empty value, [`Error::InvalidByte`] for a NUL (iPXE would
    /// end the value there), [`Error::TooLong`] past [`MAX_CHAP_LEN`].
    ///
    /// ```
    /// assert!(ipxe_script::Chap::one_way("user", "").is_err());
    /// ```
    pub fn one_way(username: &str, password: &str) -> Result<Self> {
        check_credential("CHAP user name", username)?;
        check_credential("CHAP secret", password)?;
        Ok(Chap {
            username: username.to_owned(),
            password: password.to_owned(),
            reverse: None,
        })
    }

    /// Mutual CHAP: the initiator also authenticates the target, with the reverse
    /// credentials.
    ///
    /// # Errors
    ///
    /// As [`Chap::one_way`].
    ///
    /// ```
    /// assert!(ipxe_script::Chap::mutual("u", "p", "ru", "rp")?.is_mutual());
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn mutual(
        username: &str,
        password: &str,
        reverse_username: &str,
        reverse_password: &str,
    ) -> Result<Self> {
        let mut chap = Self::one_way(username, password)?;
        check_credential("reverse CHAP user name", reverse_username)?;
        check_credential("reverse CHAP secret", reverse_password)?;
        chap.reverse = Some((reverse_username.to_owned(), reverse_password.to_owned()));
        Ok(chap)
    }

    /// Whether reverse credentials are set.
    ///
    /// ```
    /// assert!(!ipxe_script::Chap::one_way("u", "p")?.is_mutual());
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn is_mutual(&self) -> bool {
        self.reverse.is_some()
    }

    /// The forward user name.
    ///
    /// ```
    /// assert_eq!(ipxe_script::Chap::one_way("u", "p")?.username(), "u");
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The forward secret.
    ///
    /// ```
    /// assert_eq!(ipxe_script::Chap::one_way("u", "p")?.password(), "p");
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The reverse user name and secret, if mutual.
    ///
    /// ```
    /// let chap = ipxe_script::Chap::mutual("u", "p", "ru", "rp")?;
    /// assert_eq!(chap.reverse(), Some(("ru", "rp")));
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn reverse(&self) -> Option<(&str, &str)> {
        self.reverse.as_ref().map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// The `set` commands, forward then reverse.
    ///
    /// # Errors
    ///
    /// None in practice (the values are checked when built); the errors of
    /// [`Command::set_text`].
    ///
    /// ```
    /// let chap = ipxe_script::Chap::one_way("u", "p")?;
    /// assert_eq!(chap.commands()?.len(), 2);
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn commands(&self) -> Result<Vec<Command>> {
        let mut pairs = vec![("username", &self.username), ("password", &self.password)];
        if let Some((u, p)) = &self.reverse {
            pairs.push(("reverse-username", u));
            pairs.push(("reverse-password", p));
        }
        pairs
            .into_iter()
            .map(|(name, value)| Command::set_text(SettingRef::named(name)?, value))
            .collect()
    }
}

/// Retry a failing `sanboot`: `attempts` tries in all, `delay_secs` apart, then print the
/// error and `exit 1`.
///
/// ```
/// use ipxe_script::{Error, IscsiRootPath, Retry, SanBootScript};
/// let mut plan = SanBootScript::new(IscsiRootPath::parse("iscsi:san::::iqn.2010-04.org.example:d")?);
/// plan.retry = Some(Retry { attempts: 3, delay_secs: 5 });
/// let text = plan.script()?.to_string();
/// assert!(text.contains("iseq ${san-attempt} 3 && goto san-failed || sleep 5 ; goto san-retry\n"));
/// plan.retry = Some(Retry { attempts: 0, delay_secs: 5 });
/// assert_eq!(plan.script(), Err(Error::OutOfRange { what: "retry attempts" }));
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Retry {
    /// Attempts in all (at least 1).
    pub attempts: u32,
    /// Seconds between attempts.
    pub delay_secs: u32,
}

/// A static IPv4 configuration, for a script that runs where no DHCP server answers (iPXE
/// with an embedded script on a CD or USB stick): `set netN/ip …`, `set netN/netmask …`,
/// `set netN/gateway …`, `set dns …`, then `ifopen netN` instead of `dhcp`.
///
/// ```
/// use ipxe_script::{IscsiRootPath, SanBootScript, StaticIpv4};
/// let rp = IscsiRootPath::parse("iscsi:10.0.2.2::::iqn.2010-04.org.example:d")?;
/// let mut plan = SanBootScript::new(rp);
/// plan.static_ipv4 = Some(StaticIpv4 {
///     address: [10, 0, 2, 15].into(),
///     netmask: [255, 255, 255, 0].into(),
///     gateway: Some([10, 0, 2, 2].into()),
///     dns: None,
/// });
/// let text = plan.script()?.to_string();
/// assert!(text.starts_with(
///     "#!ipxe\nset net0/ip 10.0.2.15\nset net0/netmask 255.255.255.0\nset net0/gateway 10.0.2.2\nifopen net0\n"
/// ));
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StaticIpv4 {
    /// The interface's address.
    pub address: Ipv4Addr,
    /// Its netmask.
    pub netmask: Ipv4Addr,
    /// The default gateway, if any.
    pub gateway: Option<Ipv4Addr>,
    /// The DNS server, if any (needed only for a target given by name).
    pub dns: Option<Ipv4Addr>,
}

impl StaticIpv4 {
    /// The `set` and `ifopen` commands for `netdev`.
    ///
    /// # Errors
    ///
    /// None in practice (the setting names are constants).
    ///
    /// ```
    /// use ipxe_script::{NetDev, StaticIpv4};
    /// let s = StaticIpv4 { address: [10, 0, 0, 2].into(), netmask: [255, 0, 0, 0].into(), gateway: None, dns: None };
    /// assert_eq!(s.commands(NetDev(1))?.len(), 3);
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn commands(&self, netdev: NetDev) -> Result<Vec<Command>> {
        let scope = crate::value::Scope::netdev(netdev.0);
        let mut out = Vec::new();
        let mut set = |name: &str, scoped: bool, ip: Ipv4Addr| -> Result<()> {
            let mut setting = SettingRef::named(name)?;
            if scoped {
                setting = setting.scoped(scope.clone());
            }
            out.push(Command::set_word(setting, Word::literal(&ip.to_string())?));
            Ok(())
        };
        set("ip", true, self.address)?;
        set("netmask", true, self.netmask)?;
        if let Some(gateway) = self.gateway {
            set("gateway", true, gateway)?;
        }
        if let Some(dns) = self.dns {
            set("dns", false, dns)?;
        }
        out.push(Command::Ifopen(vec![netdev]));
        Ok(out)
    }
}

/// A complete SAN boot script, the seed script's shape:
///
/// ```text
/// dhcp net0
/// set initiator-iqn iqn.1991-05.com.microsoft:iscsiboot-${net0/mac}
/// [set username … / password … / reverse-username … / reverse-password …]
/// set root-path iscsi:10.121.28.150::::iqn.1991-05.com.microsoft:testsvr-iscsiboot-${net0/mac}-target
/// set keep-san 1
/// sanboot ${root-path}
/// ```
///
/// With [`Retry`], the `sanboot` line becomes a loop counted in the `san-attempt` setting
/// (the pattern Tinkerbell's scripts use):
///
/// ```text
/// set san-attempt:int32 0
/// :san-retry
/// inc san-attempt
/// sanboot ${root-path} && exit 0 || iseq ${san-attempt} 3 && goto san-failed || sleep 5 ; goto san-retry
/// :san-failed
/// echo SAN boot failed: ${errno}
/// exit 1
/// ```
///
/// ```
/// use ipxe_script::{IscsiName, IscsiRootPath, Lun, SanBootScript, Server};
/// let root_path = IscsiRootPath::new(
///     Server::Ipv4([10, 0, 0, 1].into()), 3260, Lun::ZERO,
///     IscsiName::new("iqn.2010-04.org.example:disk1")?,
/// )?;
/// let script = SanBootScript::new(root_path).script()?;
/// assert!(script.to_string().ends_with("set keep-san 1\nsanboot ${root-path}\n"));
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SanBootScript {
    /// The interface `dhcp` configures; `None` writes a bare `dhcp` (all interfaces).
    pub interface: Option<NetDev>,
    /// A static address instead of `dhcp` (on `interface`, `net0` when `None`).
    pub static_ipv4: Option<StaticIpv4>,
    /// `initiator-iqn`; without it iPXE uses `iqn.2010-04.org.ipxe:<hostname or UUID>`.
    pub initiator: Option<IscsiName>,
    /// CHAP credentials.
    pub chap: Option<Chap>,
    /// The disk.
    pub root_path: IscsiRootPath,
    /// `set root-path …` then `sanboot ${root-path}` (true), or the URI on the `sanboot`
    /// line itself (false).
    pub via_root_path_setting: bool,
    /// `set keep-san 1`: leave the drive attached if the boot returns (and so the iBFT, for
    /// installers).
    pub keep_san: bool,
    /// `sanboot --drive`.
    pub drive: Option<u32>,
    /// A retry loop around `sanboot`.
    pub retry: Option<Retry>,
}

impl SanBootScript {
    /// The seed script's choices for `root_path`: `dhcp net0`, root path through the
    /// `root-path` setting, `keep-san 1`, no initiator, CHAP, drive or retry.
    ///
    /// ```
    /// use ipxe_script::{IscsiRootPath, SanBootScript};
    /// let rp = IscsiRootPath::parse("iscsi:san::::iqn.2010-04.org.example:d")?;
    /// assert!(SanBootScript::new(rp).keep_san);
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn new(root_path: IscsiRootPath) -> Self {
        SanBootScript {
            interface: Some(NetDev(0)),
            static_ipv4: None,
            initiator: None,
            chap: None,
            root_path,
            via_root_path_setting: true,
            keep_san: true,
            drive: None,
            retry: None,
        }
    }

    /// Builds the script.
    ///
    /// # Errors
    ///
    /// [`Error::OutOfRange`] for a retry of 0 attempts; otherwise none in practice.
    ///
    /// ```
    /// use ipxe_script::{Chap, IscsiRootPath, Retry, SanBootScript};
    /// let rp = IscsiRootPath::parse("iscsi:san::::iqn.2010-04.org.example:d")?;
    /// let mut plan = SanBootScript::new(rp);
    /// plan.chap = Some(Chap::one_way("user", "secret")?);
    /// plan.retry = Some(Retry { attempts: 3, delay_secs: 5 });
    /// let text = plan.script()?.to_string();
    /// assert!(text.contains("set password secret\n"));
    /// assert!(text.contains(":san-retry\n"));
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn script(&self) -> Result<Script> {
        let mut lines: Vec<Line> = match &self.static_ipv4 {
            None => vec![
                Command::Dhcp(Ifconf {
                    interfaces: self.interface.into_iter().collect(),
                    ..Ifconf::default()
                })
                .into(),
            ],
            Some(config) => config
                .commands(self.interface.unwrap_or(NetDev(0)))?
                .into_iter()
                .map(Line::from)
                .collect(),
        };
        if let Some(iqn) = &self.initiator {
            lines.push(
                Command::set_word(SettingRef::named("initiator-iqn")?, iqn.as_word().clone())
                    .into(),
            );
        }
        if let Some(chap) = &self.chap {
            lines.extend(chap.commands()?.into_iter().map(Line::from));
        }
        let uri = if self.via_root_path_setting {
            let setting = SettingRef::named("root-path")?;
            lines.push(Command::set_word(setting.clone(), self.root_path.to_word()).into());
            SanUri::from(setting)
        } else {
            SanUri::from(self.root_path.clone())
        };
        if self.keep_san {
            lines.push(
                Command::set_word(SettingRef::named("keep-san")?, Word::literal("1")?).into(),
            );
        }
        let sanboot = Command::Sanboot(Sanboot {
            drive: self.drive,
            uris: vec![uri],
            ..Sanboot::default()
        });
        match self.retry {
            None => lines.push(sanboot.into()),
            Some(retry) => lines.extend(retry_lines(sanboot, retry)?),
        }
        Script::new(lines)
    }
}

/// The retry loop of [`SanBootScript`] around `command`.
fn retry_lines(command: Command, retry: Retry) -> Result<Vec<Line>> {
    if retry.attempts == 0 {
        return Err(Error::OutOfRange {
            what: "retry attempts",
        });
    }
    let counter = SettingRef::named("san-attempt")?;
    let again = Label::new("san-retry")?;
    let failed = Label::new("san-failed")?;
    Ok(vec![
        Command::set_word(
            counter.clone().typed(SettingType::Int32),
            Word::literal("0")?,
        )
        .into(),
        Line::Label(again.clone()),
        Command::Inc {
            setting: counter.clone(),
            by: None,
        }
        .into(),
        Pipeline::new(command)
            .and(Command::Exit(Some(0)))
            .or(Command::Iseq(
                Word::expansion(counter),
                Word::literal(&retry.attempts.to_string())?,
            ))
            .and(Command::Goto(failed.clone()))
            .or(Command::Sleep(retry.delay_secs))
            .then(Command::Goto(again))
            .into(),
        Line::Label(failed),
        Command::Echo {
            no_newline: false,
            text: vec![
                Word::literal("SAN")?,
                Word::literal("boot")?,
                Word::literal("failed:")?,
                Word::expansion(SettingRef::named("errno")?),
            ],
        }
        .into(),
        Command::Exit(Some(1)).into(),
    ])
}
