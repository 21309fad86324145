//! The commands a script can hold, and how each becomes (and is read back from) tokens.
//!
//! Every command is described by an [`Invocation`]: its name, its options and its positional
//! words. Rendering writes the options the way iPXE's `getopt_long` (`src/core/getopt.c`)
//! reads them: flags as `--flag`, numbers as `--opt 123`, words as `--opt=word` (the inline
//! form takes the value even if it starts with `-`), and a `--` before the positional words
//! when the first one starts with a literal `-`. `getopt` stops at the first non-option, so
//! later words may start with `-`.

use core::fmt;

use crate::error::{Error, Result};
use crate::uri::SanUri;
use crate::value::{SettingRef, SettingType, Word};

/// A network device, `netN`.
///
/// ```
/// assert_eq!(ipxe_script::NetDev(0).to_string(), "net0");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NetDev(pub u8);

impl fmt::Display for NetDev {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "net{}", self.0)
    }
}

impl NetDev {
    fn parse(text: &str) -> Option<Self> {
        let digits = text.strip_prefix("net")?;
        if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
            return None;
        }
        digits.parse().ok().map(NetDev)
    }
}

/// A label for `goto`: ASCII letters, digits, `.`, `_` and `-`, not starting with `-`.
///
/// ```
/// use ipxe_script::Label;
/// assert_eq!(Label::new("retry-san")?.as_str(), "retry-san");
/// assert!(Label::new("a b").is_err());
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Label(String);

impl Label {
    /// Validates a label.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`], [`Error::TooLong`] or [`Error::InvalidByte`].
    ///
    /// ```
    /// assert!(ipxe_script::Label::new("-x").is_err());
    /// ```
    pub fn new(label: &str) -> Result<Self> {
        crate::value::SettingName::new(label).map_err(|e| match e {
            Error::Empty { .. } => Error::Empty { what: "label" },
            Error::TooLong { len, max, .. } => Error::TooLong {
                what: "label",
                len,
                max,
            },
            Error::InvalidByte { byte, offset, .. } => Error::InvalidByte {
                what: "label",
                byte,
                offset,
            },
            other => other,
        })?;
        Ok(Label(label.to_owned()))
    }

    /// The label as text (without the `:`).
    ///
    /// ```
    /// assert_eq!(ipxe_script::Label::new("fail")?.as_str(), "fail");
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How `ifconf` configures an interface (`--configurator`).
///
/// ```
/// use ipxe_script::{Command, Configurator, Ifconf, NetDev};
/// let ifconf = Command::Ifconf(Ifconf {
///     configurator: Some(Configurator::Ipv6),
///     interfaces: vec![NetDev(0)],
///     ..Ifconf::default()
/// });
/// assert_eq!(ifconf.to_string(), "ifconf --configurator ipv6 net0");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Configurator {
    /// DHCPv4.
    Dhcp,
    /// IPv6 router advertisements and DHCPv6.
    Ipv6,
}

impl Configurator {
    fn name(self) -> &'static str {
        match self {
            Configurator::Dhcp => "dhcp",
            Configurator::Ipv6 => "ipv6",
        }
    }
}

/// A partition UUID for `sanboot --uuid`, written as lower-case 8-4-4-4-12 hex.
///
/// ```
/// let u = ipxe_script::Uuid([0x12; 16]);
/// assert_eq!(u.to_string(), "12121212-1212-1212-1212-121212121212");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Uuid(pub [u8; 16]);

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl Uuid {
    fn parse(text: &str) -> Option<Self> {
        let hex: String = text.chars().filter(|&c| c != '-').collect();
        let dashes: Vec<usize> = text.match_indices('-').map(|(i, _)| i).collect();
        if dashes != [8, 13, 18, 23] || hex.len() != 32 {
            return None;
        }
        if !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return None;
        }
        let mut out = [0u8; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Uuid(out))
    }
}

/// `ifconf` (or its synonym `dhcp`): configure network interfaces.
///
/// ```
/// use ipxe_script::{Command, Ifconf, NetDev};
/// let dhcp = Command::Dhcp(Ifconf { interfaces: vec![NetDev(0)], ..Ifconf::default() });
/// assert_eq!(dhcp.to_string(), "dhcp net0");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Ifconf {
    /// `--configurator`.
    pub configurator: Option<Configurator>,
    /// `--timeout`, in milliseconds.
    pub timeout_ms: Option<u32>,
    /// The interfaces to try in turn (all when empty).
    pub interfaces: Vec<NetDev>,
}

/// `sanhook`: attach SAN drives without booting them.
///
/// ```
/// use ipxe_script::{Command, SanUri, Sanhook, SettingRef};
/// let hook = Command::Sanhook(Sanhook {
///     drive: Some(0x81),
///     no_describe: false,
///     uris: vec![SanUri::from(SettingRef::named("root-path")?)],
/// });
/// assert_eq!(hook.to_string(), "sanhook --drive 0x81 ${root-path}");
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Sanhook {
    /// `--drive` (BIOS drive number; iPXE defaults to `san-drive`, else 0x80).
    pub drive: Option<u32>,
    /// `--no-describe`: leave this drive out of the iBFT.
    pub no_describe: bool,
    /// The URIs: several are paths to one drive (multipath). At least one.
    pub uris: Vec<SanUri>,
}

/// `sanboot`: attach (when URIs are given), describe in the iBFT, and boot a SAN drive.
///
/// ```
/// use ipxe_script::{Command, SanUri, Sanboot, SettingRef};
/// let boot = Command::Sanboot(Sanboot {
///     uris: vec![SanUri::from(SettingRef::named("root-path")?)],
///     ..Sanboot::default()
/// });
/// assert_eq!(boot.to_string(), "sanboot ${root-path}");
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Sanboot {
    /// `--drive`.
    pub drive: Option<u32>,
    /// `--no-describe`.
    pub no_describe: bool,
    /// `--keep`: leave the drive attached if booting returns.
    pub keep: bool,
    /// `--filename`: the EFI loader to boot from the drive.
    pub filename: Option<Word>,
    /// `--extra`: a file that must exist on the boot partition.
    pub extra: Option<Word>,
    /// `--label`: the boot partition's volume label.
    pub label: Option<Word>,
    /// `--uuid`: the boot partition's UUID.
    pub uuid: Option<Uuid>,
    /// The URIs (none: boot a drive attached earlier).
    pub uris: Vec<SanUri>,
}

/// `chain`: fetch an image (a script, a kernel, an EFI binary) and run it.
///
/// ```
/// use ipxe_script::{Chain, Command, Word};
/// let chain = Command::Chain(Chain::new(
///     Word::parse("http://${next-server}/boot.ipxe?mac=${net0/mac:hexhyp}")?,
/// ));
/// assert_eq!(chain.to_string(), "chain http://${next-server}/boot.ipxe?mac=${net0/mac:hexhyp}");
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Chain {
    /// `--name`.
    pub name: Option<Word>,
    /// `--timeout`, in milliseconds.
    pub timeout_ms: Option<u32>,
    /// `--quiet`.
    pub quiet: bool,
    /// `--autofree`.
    pub autofree: bool,
    /// `--replace`.
    pub replace: bool,
    /// The image URI.
    pub uri: Word,
    /// The image's command line.
    pub args: Vec<Word>,
}

impl Chain {
    /// `chain <uri>` without options or arguments.
    ///
    /// ```
    /// use ipxe_script::{Chain, Word};
    /// let c = Chain::new(Word::literal("tftp://10.0.0.1/boot.ipxe")?);
    /// assert!(c.args.is_empty());
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn new(uri: Word) -> Self {
        Chain {
            name: None,
            timeout_ms: None,
            quiet: false,
            autofree: false,
            replace: false,
            uri,
            args: Vec::new(),
        }
    }
}

/// One iPXE command.
///
/// ```
/// use ipxe_script::{Command, SettingRef, Word};
/// let set = Command::Set {
///     setting: SettingRef::named("keep-san")?,
///     value: vec![Word::literal("1")?],
/// };
/// assert_eq!(set.to_string(), "set keep-san 1");
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Command {
    /// `dhcp [options] [netN…]`.
    Dhcp(Ifconf),
    /// `ifconf [options] [netN…]`.
    Ifconf(Ifconf),
    /// `ifopen [netN…]`: open interfaces without configuring them (all when empty), for
    /// addresses set by hand (`set net0/ip …`).
    Ifopen(Vec<NetDev>),
    /// `set <setting> <word>…`: iPXE joins the words with single spaces; no words stores an
    /// empty value (deleting the setting).
    Set {
        /// The setting, with the type its value is written in.
        setting: SettingRef,
        /// The value.
        value: Vec<Word>,
    },
    /// `clear <setting>`.
    Clear(SettingRef),
    /// `inc <setting> [<increment>]`: add to an integer setting (an unset one counts as 0).
    Inc {
        /// The setting.
        setting: SettingRef,
        /// The increment (1 when absent).
        by: Option<u32>,
    },
    /// `sanhook`.
    Sanhook(Sanhook),
    /// `sanboot`.
    Sanboot(Sanboot),
    /// `sanunhook [--drive N]`.
    Sanunhook {
        /// `--drive`.
        drive: Option<u32>,
    },
    /// `chain`.
    Chain(Chain),
    /// `goto <label>`.
    Goto(Label),
    /// `isset <word>`: succeeds iff the word expands to something non-empty.
    Isset(Word),
    /// `iseq <a> <b>`: succeeds iff the words expand to the same text.
    Iseq(Word, Word),
    /// `echo [-n] <word>…`.
    Echo {
        /// `-n`: no newline.
        no_newline: bool,
        /// The words, printed with single spaces between.
        text: Vec<Word>,
    },
    /// `exit [<status>]`: end the script.
    Exit(Option<u32>),
    /// `sleep <seconds>`.
    Sleep(u32),
}

/// An option value in an [`Invocation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OptValue {
    /// A flag, no value.
    Flag,
    /// A number or keyword, rendered `--opt value`: never starts with `-`.
    Plain(String),
    /// A word, rendered `--opt=word`.
    Word(Word),
}

/// A command as its name, options (long names) and positional words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invocation {
    pub(crate) name: &'static str,
    pub(crate) options: Vec<(&'static str, OptValue)>,
    pub(crate) args: Vec<Word>,
}

/// One entry of a command's option table: long name, short letter, takes an argument.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OptionSpec {
    pub(crate) long: &'static str,
    pub(crate) short: u8,
    pub(crate) has_arg: bool,
}

const fn opt(long: &'static str, short: u8, has_arg: bool) -> OptionSpec {
    OptionSpec {
        long,
        short,
        has_arg,
    }
}

const IFCONF_OPTS: &[OptionSpec] = &[opt("configurator", b'c', true), opt("timeout", b't', true)];
const SANBOOT_OPTS: &[OptionSpec] = &[
    opt("drive", b'd', true),
    opt("no-describe", b'n', false),
    opt("keep", b'k', false),
    opt("filename", b'f', true),
    opt("extra", b'e', true),
    opt("label", b'l', true),
    opt("uuid", b'u', true),
];
const CHAIN_OPTS: &[OptionSpec] = &[
    opt("name", b'n', true),
    opt("timeout", b't', true),
    opt("quiet", b'q', false),
    opt("autofree", b'a', false),
    opt("replace", b'r', false),
];
const ECHO_OPTS: &[OptionSpec] = &[opt("n", b'n', false)];

/// The option table iPXE uses for `command` (the `OPTION_DESC` lists of
/// `src/hci/commands/*.c` and `src/core/exec.c`), or `None` for commands this crate does not
/// emit.
pub(crate) fn option_table(command: &str) -> Option<&'static [OptionSpec]> {
    Some(match command {
        "dhcp" | "ifconf" => IFCONF_OPTS,
        "sanboot" => SANBOOT_OPTS,
        "sanhook" => &SANBOOT_OPTS[..2],
        "sanunhook" => &SANBOOT_OPTS[..1],
        "chain" => CHAIN_OPTS,
        "echo" => ECHO_OPTS,
        "ifopen" | "set" | "clear" | "inc" | "goto" | "isset" | "iseq" | "exit" | "sleep" => &[],
        _ => return None,
    })
}

fn setting_word(setting: &SettingRef) -> Word {
    Word::from_validated_parts([crate::value::Part::Literal(setting.to_string())])
}

fn plain_word(text: String) -> Word {
    Word::from_validated_parts([crate::value::Part::Literal(text)])
}

impl Command {
    /// `set <setting> <value>` for a value given as plain text, written so that iPXE stores
    /// exactly `text` whatever it holds: as literal words when `text` is single-space-separated
    /// words that are safe literally, else hex-encoded as `set <setting>:hex 41:42:…` (which
    /// stores the same bytes). A hostile value (spaces, `${`, `#`, newlines) cannot inject
    /// anything.
    ///
    /// # Errors
    ///
    /// [`Error::ExpansionNotAllowed`] if `setting` already has a type other than `string`
    /// (the value could not be hex-encoded into it); [`Error::InvalidByte`] for a NUL, where
    /// iPXE would end the value; [`Error::TooLong`] past 1024 bytes.
    ///
    /// ```
    /// use ipxe_script::{Command, SettingRef};
    /// let user = SettingRef::named("username")?;
    /// assert_eq!(Command::set_text(user.clone(), "chap user")?.to_string(), "set username chap user");
    /// assert_eq!(
    ///     Command::set_text(user, "a  ${b}")?.to_string(),
    ///     "set username:hex 61:20:20:24:7b:62:7d"
    /// );
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn set_text(setting: SettingRef, text: &str) -> Result<Command> {
        const MAX: usize = 1024;
        if text.len() > MAX {
            return Err(Error::TooLong {
                what: "setting value",
                len: text.len(),
                max: MAX,
            });
        }
        if let Some(offset) = text.bytes().position(|b| b == 0) {
            // iPXE fetches string settings as C strings: the value would end there.
            return Err(Error::InvalidByte {
                what: "setting value",
                byte: 0,
                offset,
            });
        }
        if !matches!(setting.ty, None | Some(SettingType::String)) {
            return Err(Error::ExpansionNotAllowed {
                what: "typed setting value",
            });
        }
        let words: Option<Vec<Word>> = if text.is_empty() {
            Some(Vec::new())
        } else {
            text.split(' ').map(|w| Word::literal(w).ok()).collect()
        };
        if let Some(value) = words {
            return Ok(Command::Set { setting, value });
        }
        let hex: Vec<String> = text.bytes().map(|b| format!("{b:02x}")).collect();
        Ok(Command::Set {
            setting: setting.typed(SettingType::Hex),
            value: vec![plain_word(hex.join(":"))],
        })
    }

    /// `set <setting> <word>`.
    ///
    /// ```
    /// use ipxe_script::{Command, SettingRef, Word};
    /// let c = Command::set_word(SettingRef::named("keep-san")?, Word::literal("1")?);
    /// assert_eq!(c.to_string(), "set keep-san 1");
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn set_word(setting: SettingRef, word: Word) -> Command {
        Command::Set {
            setting,
            value: vec![word],
        }
    }

    /// The command's name, options and positional words.
    pub(crate) fn invocation(&self) -> Invocation {
        let mut options = Vec::new();
        let flag = |options: &mut Vec<_>, on: bool, name| {
            if on {
                options.push((name, OptValue::Flag));
            }
        };
        let (name, args) = match self {
            Command::Dhcp(i) | Command::Ifconf(i) => {
                if let Some(c) = i.configurator {
                    options.push(("configurator", OptValue::Plain(c.name().into())));
                }
                if let Some(t) = i.timeout_ms {
                    options.push(("timeout", OptValue::Plain(t.to_string())));
                }
                let args = i
                    .interfaces
                    .iter()
                    .map(|n| plain_word(n.to_string()))
                    .collect();
                let name = if matches!(self, Command::Dhcp(_)) {
                    "dhcp"
                } else {
                    "ifconf"
                };
                (name, args)
            }
            Command::Ifopen(interfaces) => (
                "ifopen",
                interfaces
                    .iter()
                    .map(|n| plain_word(n.to_string()))
                    .collect(),
            ),
            Command::Set { setting, value } => {
                let mut args = vec![setting_word(setting)];
                args.extend(value.iter().cloned());
                ("set", args)
            }
            Command::Clear(setting) => ("clear", vec![setting_word(setting)]),
            Command::Inc { setting, by } => {
                let mut args = vec![setting_word(setting)];
                args.extend(by.map(|b| plain_word(b.to_string())));
                ("inc", args)
            }
            Command::Sanhook(h) => {
                push_drive(&mut options, h.drive);
                flag(&mut options, h.no_describe, "no-describe");
                (
                    "sanhook",
                    h.uris.iter().map(|u| u.as_word().clone()).collect(),
                )
            }
            Command::Sanboot(b) => {
                push_drive(&mut options, b.drive);
                flag(&mut options, b.no_describe, "no-describe");
                flag(&mut options, b.keep, "keep");
                for (name, w) in [
                    ("filename", &b.filename),
                    ("extra", &b.extra),
                    ("label", &b.label),
                ] {
                    if let Some(w) = w {
                        options.push((name, OptValue::Word(w.clone())));
                    }
                }
                if let Some(u) = b.uuid {
                    options.push(("uuid", OptValue::Plain(u.to_string())));
                }
                (
                    "sanboot",
                    b.uris.iter().map(|u| u.as_word().clone()).collect(),
                )
            }
            Command::Sanunhook { drive } => {
                push_drive(&mut options, *drive);
                ("sanunhook", Vec::new())
            }
            Command::Chain(c) => {
                if let Some(n) = &c.name {
                    options.push(("name", OptValue::Word(n.clone())));
                }
                if let Some(t) = c.timeout_ms {
                    options.push(("timeout", OptValue::Plain(t.to_string())));
                }
                flag(&mut options, c.quiet, "quiet");
                flag(&mut options, c.autofree, "autofree");
                flag(&mut options, c.replace, "replace");
                let mut args = vec![c.uri.clone()];
                args.extend(c.args.iter().cloned());
                ("chain", args)
            }
            Command::Goto(l) => ("goto", vec![plain_word(l.as_str().to_owned())]),
            Command::Isset(w) => ("isset", vec![w.clone()]),
            Command::Iseq(a, b) => ("iseq", vec![a.clone(), b.clone()]),
            Command::Echo { no_newline, text } => {
                flag(&mut options, *no_newline, "n");
                ("echo", text.clone())
            }
            Command::Exit(code) => (
                "exit",
                code.map(|c| plain_word(c.to_string()))
                    .into_iter()
                    .collect(),
            ),
            Command::Sleep(s) => ("sleep", vec![plain_word(s.to_string())]),
        };
        Invocation {
            name,
            options,
            args,
        }
    }

    /// Checks what the types alone do not: `sanhook` needs a URI.
    pub(crate) fn check(&self) -> Result<()> {
        match self {
            Command::Sanhook(h) if h.uris.is_empty() => Err(Error::Empty {
                what: "sanhook URI list",
            }),
            _ => Ok(()),
        }
    }

    /// Reads one command from its tokens (as this crate writes them).
    pub(crate) fn from_tokens(tokens: &[&str]) -> core::result::Result<Command, &'static str> {
        let (&name, rest) = tokens.split_first().ok_or("empty command")?;
        let table = option_table(name).ok_or("unknown command")?;
        let (options, args) = read_options(table, rest)?;
        let mut opts = Options(options);
        let words = args
            .iter()
            .map(|a| Word::parse(a).map_err(|_| "an argument is not a valid word"))
            .collect::<core::result::Result<Vec<Word>, _>>()?;
        let command = match name {
            "dhcp" | "ifconf" => {
                let ifconf = Ifconf {
                    configurator: match opts.take("configurator").as_deref() {
                        None => None,
                        Some("dhcp") => Some(Configurator::Dhcp),
                        Some("ipv6") => Some(Configurator::Ipv6),
                        Some(_) => return Err("unknown configurator"),
                    },
                    timeout_ms: opts.number("timeout")?,
                    interfaces: args
                        .iter()
                        .map(|a| NetDev::parse(a).ok_or("not a netN interface"))
                        .collect::<core::result::Result<_, _>>()?,
                };
                if name == "dhcp" {
                    Command::Dhcp(ifconf)
                } else {
                    Command::Ifconf(ifconf)
                }
            }
            "ifopen" => Command::Ifopen(
                args.iter()
                    .map(|a| NetDev::parse(a).ok_or("not a netN interface"))
                    .collect::<core::result::Result<_, _>>()?,
            ),
            "set" => {
                let setting = args.first().ok_or("set needs a setting")?;
                Command::Set {
                    setting: parse_setting(setting)?,
                    value: words[1..].to_vec(),
                }
            }
            "clear" => match args.as_slice() {
                [s] => Command::Clear(parse_setting(s)?),
                _ => return Err("clear takes one setting"),
            },
            "inc" => match args.as_slice() {
                [s] => Command::Inc {
                    setting: parse_setting(s)?,
                    by: None,
                },
                [s, by] => Command::Inc {
                    setting: parse_setting(s)?,
                    by: Some(parse_decimal(by)?),
                },
                _ => return Err("inc takes a setting and an increment"),
            },
            "sanhook" => Command::Sanhook(Sanhook {
                drive: opts.drive()?,
                no_describe: opts.flag("no-describe"),
                uris: words.into_iter().map(SanUri::from_word).collect(),
            }),
            "sanboot" => Command::Sanboot(Sanboot {
                drive: opts.drive()?,
                no_describe: opts.flag("no-describe"),
                keep: opts.flag("keep"),
                filename: opts.word("filename")?,
                extra: opts.word("extra")?,
                label: opts.word("label")?,
                uuid: match opts.take("uuid") {
                    None => None,
                    Some(u) => Some(Uuid::parse(&u).ok_or("not a UUID")?),
                },
                uris: words.into_iter().map(SanUri::from_word).collect(),
            }),
            "sanunhook" => Command::Sanunhook {
                drive: opts.drive()?,
            },
            "chain" => {
                let (uri, args) = words.split_first().ok_or("chain needs a URI")?;
                Command::Chain(Chain {
                    name: opts.word("name")?,
                    timeout_ms: opts.number("timeout")?,
                    quiet: opts.flag("quiet"),
                    autofree: opts.flag("autofree"),
                    replace: opts.flag("replace"),
                    uri: uri.clone(),
                    args: args.to_vec(),
                })
            }
            "goto" => match args.as_slice() {
                [l] => Command::Goto(Label::new(l).map_err(|_| "not a label")?),
                _ => return Err("goto takes one label"),
            },
            "isset" => match words.as_slice() {
                [w] => Command::Isset(w.clone()),
                _ => return Err("isset takes one word"),
            },
            "iseq" => match words.as_slice() {
                [a, b] => Command::Iseq(a.clone(), b.clone()),
                _ => return Err("iseq takes two words"),
            },
            "echo" => Command::Echo {
                no_newline: opts.flag("n"),
                text: words,
            },
            "exit" => match args.as_slice() {
                [] => Command::Exit(None),
                [c] => Command::Exit(Some(parse_decimal(c)?)),
                _ => return Err("exit takes one status"),
            },
            "sleep" => match args.as_slice() {
                [s] => Command::Sleep(parse_decimal(s)?),
                _ => return Err("sleep takes one number"),
            },
            _ => return Err("unknown command"),
        };
        if !opts.0.is_empty() {
            return Err("an option is given twice or does not apply");
        }
        Ok(command)
    }
}

fn push_drive(options: &mut Vec<(&'static str, OptValue)>, drive: Option<u32>) {
    if let Some(d) = drive {
        options.push(("drive", OptValue::Plain(format!("{d:#x}"))));
    }
}

fn parse_setting(text: &str) -> core::result::Result<SettingRef, &'static str> {
    SettingRef::parse(text).map_err(|_| "not a setting name")
}

fn parse_decimal(text: &str) -> core::result::Result<u32, &'static str> {
    if text.is_empty()
        || !text.bytes().all(|b| b.is_ascii_digit())
        || (text.len() > 1 && text.starts_with('0'))
    {
        return Err("not a decimal number");
    }
    text.parse().map_err(|_| "number out of range")
}

/// Options read from tokens, taken out one by one.
struct Options(Vec<(&'static str, Option<String>)>);

impl Options {
    fn take(&mut self, name: &str) -> Option<String> {
        let i = self.0.iter().position(|(n, _)| *n == name)?;
        self.0.remove(i).1
    }

    fn flag(&mut self, name: &str) -> bool {
        match self.0.iter().position(|(n, _)| *n == name) {
            Some(i) => {
                self.0.remove(i);
                true
            }
            None => false,
        }
    }

    fn number(&mut self, name: &str) -> core::result::Result<Option<u32>, &'static str> {
        self.take(name).map(|v| parse_decimal(&v)).transpose()
    }

    fn drive(&mut self) -> core::result::Result<Option<u32>, &'static str> {
        let Some(v) = self.take("drive") else {
            return Ok(None);
        };
        let hex = v.strip_prefix("0x").ok_or("drive is not 0x-prefixed hex")?;
        let canonical = !hex.is_empty()
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && (hex.len() == 1 || !hex.starts_with('0'));
        if !canonical {
            return Err("drive is not 0x-prefixed hex");
        }
        u32::from_str_radix(hex, 16)
            .map(Some)
            .map_err(|_| "drive out of range")
    }

    fn word(&mut self, name: &str) -> core::result::Result<Option<Word>, &'static str> {
        self.take(name)
            .map(|v| Word::parse(&v).map_err(|_| "an option value is not a valid word"))
            .transpose()
    }
}

/// Splits tokens into options and positionals the way this crate writes them: long options
/// (`--name`, `--name value` for options that take one, `--name=value`), `-n` for `echo`, and
/// `--` before positionals.
#[allow(clippy::type_complexity)]
fn read_options<'a>(
    table: &'static [OptionSpec],
    tokens: &[&'a str],
) -> core::result::Result<(Vec<(&'static str, Option<String>)>, Vec<&'a str>), &'static str> {
    let mut options = Vec::new();
    let mut i = 0;
    while let Some(&token) = tokens.get(i) {
        if token == "--" {
            i += 1;
            break;
        }
        let (spec, inline) = if let Some(long) = token.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            let spec = table
                .iter()
                .find(|s| s.long == name)
                .ok_or("unknown option")?;
            (spec, inline)
        } else if let Some(short) = token.strip_prefix('-') {
            let spec = table
                .iter()
                .find(|s| short.len() == 1 && s.short == short.as_bytes()[0] && !s.has_arg)
                .ok_or("unknown option")?;
            (spec, None)
        } else {
            break;
        };
        i += 1;
        let value = match (spec.has_arg, inline) {
            (false, None) => None,
            (false, Some(_)) => return Err("a flag has a value"),
            (true, Some(v)) => Some(v.to_owned()),
            (true, None) => {
                let v = tokens.get(i).ok_or("an option needs a value")?;
                if v.starts_with('-') {
                    return Err("an option needs a value");
                }
                i += 1;
                Some((*v).to_owned())
            }
        };
        if options.iter().any(|(n, _)| *n == spec.long) {
            return Err("an option is given twice");
        }
        options.push((spec.long, value));
    }
    let dashed = i > 0 && tokens[i - 1] == "--";
    let args = tokens[i..].to_vec();
    let needs_dash = args
        .first()
        .is_some_and(|a| Word::parse(a).map_or(a.starts_with('-'), |w| w.starts_with_dash()));
    if needs_dash != dashed {
        return Err("'--' must come exactly before a first positional word starting with '-'");
    }
    Ok((options, args))
}

impl Invocation {
    /// The tokens this invocation renders to.
    pub(crate) fn tokens(&self) -> Vec<String> {
        let mut out = vec![self.name.to_owned()];
        for (name, value) in &self.options {
            match value {
                OptValue::Flag if *name == "n" && self.name == "echo" => out.push("-n".into()),
                OptValue::Flag => out.push(format!("--{name}")),
                OptValue::Plain(v) => {
                    out.push(format!("--{name}"));
                    out.push(v.clone());
                }
                OptValue::Word(w) => out.push(format!("--{name}={w}")),
            }
        }
        if self.args.first().is_some_and(Word::starts_with_dash) {
            out.push("--".into());
        }
        out.extend(self.args.iter().map(Word::to_string));
        out
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.invocation().tokens().join(" "))
    }
}

/// Checks comment text: printable ASCII and spaces, not ending with `\`.
pub(crate) fn check_comment(text: &str) -> Result<()> {
    for (offset, byte) in text.bytes().enumerate() {
        if !(0x20..=0x7e).contains(&byte) {
            return Err(Error::InvalidByte {
                what: "comment",
                byte,
                offset,
            });
        }
    }
    if text.ends_with('\\') {
        return Err(Error::TrailingBackslash { what: "comment" });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(c: &Command) {
        let text = c.to_string();
        let tokens: Vec<&str> = text.split(' ').collect();
        assert_eq!(&Command::from_tokens(&tokens).unwrap(), c, "{text}");
    }

    #[test]
    fn renders_and_reads_back_options() {
        let c = Command::Sanboot(Sanboot {
            drive: Some(0x80),
            no_describe: true,
            keep: true,
            filename: Some(Word::literal(r"\EFI\BOOT\BOOTX64.EFI").unwrap()),
            extra: Some(Word::literal("-odd").unwrap()),
            label: None,
            uuid: Some(Uuid([0xab; 16])),
            uris: vec![SanUri::from_word(Word::literal("-x").unwrap())],
        });
        assert_eq!(
            c.to_string(),
            r"sanboot --drive 0x80 --no-describe --keep --filename=\EFI\BOOT\BOOTX64.EFI --extra=-odd --uuid abababab-abab-abab-abab-abababababab -- -x"
        );
        round_trip(&c);
    }

    #[test]
    fn echo_guards_a_leading_dash() {
        let c = Command::Echo {
            no_newline: true,
            text: vec![Word::literal("-n").unwrap(), Word::literal("x").unwrap()],
        };
        assert_eq!(c.to_string(), "echo -n -- -n x");
        round_trip(&c);
    }

    #[test]
    fn hex_encodes_unsafe_set_values() {
        let s = SettingRef::named("password").unwrap();
        for text in [
            "a b ",
            "x\nchain http://evil",
            "#",
            "${x}",
            "a  b",
            " a",
            "é",
            "&&",
        ] {
            let c = Command::set_text(s.clone(), text).unwrap();
            let rendered = c.to_string();
            assert!(rendered.starts_with("set password:hex "), "{rendered}");
            round_trip(&c);
        }
        assert_eq!(
            Command::set_text(s.clone(), "").unwrap().to_string(),
            "set password"
        );
        let typed = s.typed(SettingType::Int8);
        assert!(Command::set_text(typed, "1").is_err());
    }

    #[test]
    fn rejects_foreign_forms() {
        for bad in [
            "sanboot --drive 128",
            "sanboot --drive 0x080",
            "sanboot --bogus",
            "sanboot --keep --keep",
            "echo -x",
            "isset -x",
            "exit 01",
            "goto a b",
            "dhcp eth0",
            "frobnicate",
            "sanboot --keep=1",
        ] {
            let tokens: Vec<&str> = bad.split(' ').collect();
            assert!(Command::from_tokens(&tokens).is_err(), "{bad}");
        }
    }
}
