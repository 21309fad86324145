//! Entry points of the cargo-fuzz target `ipxe_render` (rustls's `internal::fuzzing` idea), and
//! the model of iPXE's reader that it and the property tests check rendered scripts against.
//!
//! [`ipxe`] re-implements, from iPXE's sources, how a script becomes commands: `script.c`
//! (lines, `\r`, `\` continuations, labels), `exec.c` (`split_command` at whitespace,
//! `command_terminator` at `#…`, `&&`, `||`, `;`), `settings.c` (`expand_settings`: the last
//! `${` before the first `}`, rescanning until none is left), `getopt.c` (long and short options,
//! `--`), and `iscsi.c`/`scsi.c` for root paths (`iscsi_parse_root_path`, `scsi_parse_lun`).
//! It shares no code with the renderer.
//!
//! [`check_script`] renders a [`Script`] and asserts that the model reads back, for every
//! line, exactly the labels, commands, operators, options and positional arguments of the AST,
//! and that every argument expands to what [`Word::expand_with`] says, under setting values
//! chosen to be hostile (spaces, `#`, `;`, `&&`, `}`, `$`, newlines; not `{`, which together
//! with a `$` could form a new `${`, and not a leading `-` where a positional word starts,
//! which `getopt` would take for an option: the two assumptions the renderer documents).
//!
//! Every function here panics only when an invariant is broken, which is what the fuzzer looks
//! for; `tests/fuzz_corpus.rs` replays the committed seeds in `cargo test`.

use std::net::Ipv4Addr;

use crate::boot::{Chap, Retry, SanBootScript};
use crate::command::{Chain, Command, Label, NetDev, OptValue, Sanboot, option_table};
use crate::dhcp::{BootFlow, Chainload, DhcpConfig, DhcpHost, MacAddr, SanOptions};
use crate::dispatch::Dispatcher;
use crate::name::IscsiName;
use crate::script::{Comment, Line, Op, Pipeline, Script};
use crate::uri::{HostName, IscsiRootPath, Lun, Server};
use crate::value::{SettingRef, Word};

/// A model of how iPXE reads scripts, written from iPXE's C sources.
pub mod ipxe {
    /// iPXE's `isspace`: space, `\t`, `\n`, `\v`, `\f`, `\r`.
    pub fn is_space(b: u8) -> bool {
        matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
    }

    /// One line as `process_script` hands it to `script_exec_line`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ScriptLine {
        /// The label, for a line starting (after whitespace) with `:`.
        pub label: Option<String>,
        /// The command text (after the label and one whitespace byte).
        pub command: String,
    }

    /// `script_probe` then `process_script`: `None` without the `#!ipxe` or `#!gpxe` magic
    /// followed by whitespace. A continuation at the end of the file is dropped (iPXE fails
    /// it with `-EINVAL`), as is everything after a NUL on a line (iPXE's strings end there).
    pub fn script_lines(text: &str) -> Option<Vec<ScriptLine>> {
        let bytes = text.as_bytes();
        let magic_ok = (bytes.starts_with(b"#!ipxe") || bytes.starts_with(b"#!gpxe"))
            && bytes.get(6).is_some_and(|&b| is_space(b));
        if !magic_ok {
            return None;
        }
        let mut out = Vec::new();
        let mut line: Vec<u8> = Vec::new();
        let mut offset = 0;
        while offset < bytes.len() {
            let end = bytes[offset..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |i| offset + i);
            line.extend_from_slice(&bytes[offset..end]);
            offset = end + 1;
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if line.last() == Some(&b'\\') {
                line.pop();
                continue;
            }
            if let Some(nul) = line.iter().position(|&b| b == 0) {
                line.truncate(nul);
            }
            let mut i = 0;
            while line.get(i).is_some_and(|&b| is_space(b)) {
                i += 1;
            }
            let label = if line.get(i) == Some(&b':') {
                let start = i + 1;
                let mut j = start;
                while line.get(j).is_some_and(|&b| !is_space(b)) {
                    j += 1;
                }
                let label = String::from_utf8_lossy(&line[start..j]).into_owned();
                i = if j < line.len() { j + 1 } else { j };
                Some(label)
            } else {
                None
            };
            out.push(ScriptLine {
                label,
                command: String::from_utf8_lossy(&line[i..]).into_owned(),
            });
            line.clear();
        }
        Some(out)
    }

    /// `split_command`: tokens between runs of whitespace.
    pub fn split_command(command: &str) -> Vec<String> {
        command
            .split(|c: char| c.is_ascii() && is_space(c as u8))
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The operator that joins a command to the one before it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Joiner {
        /// `&&`.
        And,
        /// `||`.
        Or,
        /// `;`.
        Then,
    }

    /// `system` and `command_terminator`: the commands of a line, each with the operator
    /// before it (`None` for the first), up to a token starting with `#`. Empty commands
    /// (`a && && b`, a line of only a comment) are kept as empty token lists, as iPXE runs
    /// them (successfully, doing nothing).
    pub fn commands(command: &str) -> Vec<(Option<Joiner>, Vec<String>)> {
        let mut out = Vec::new();
        let mut current = Vec::new();
        let mut joiner = None;
        for token in split_command(command) {
            if token.starts_with('#') {
                break;
            }
            let next = match token.as_str() {
                "&&" => Some(Joiner::And),
                "||" => Some(Joiner::Or),
                ";" => Some(Joiner::Then),
                _ => None,
            };
            match next {
                Some(op) => {
                    out.push((joiner, core::mem::take(&mut current)));
                    joiner = Some(op);
                }
                None => current.push(token),
            }
        }
        if joiner.is_some() || !current.is_empty() {
            out.push((joiner, current));
        }
        out
    }

    /// Most rounds of `expand_settings` this model runs (iPXE has no limit: a setting that
    /// expands to itself never ends).
    pub const MAX_EXPANSIONS: usize = 1000;

    /// `expand_settings`: repeatedly replaces the last `${` before the first `}` that follows
    /// one, with `lookup` of the text between (`None` and invalid names give nothing).
    /// `None` if [`MAX_EXPANSIONS`] rounds were not enough.
    pub fn expand(token: &str, lookup: &mut dyn FnMut(&str) -> Option<String>) -> Option<String> {
        let mut s = token.to_owned();
        for _ in 0..MAX_EXPANSIONS {
            let bytes = s.as_bytes();
            let mut start = None;
            let mut end = None;
            for i in 0..bytes.len() {
                if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'{') {
                    start = Some(i);
                }
                if start.is_some() && bytes[i] == b'}' {
                    end = Some(i);
                    break;
                }
            }
            let (Some(start), Some(end)) = (start, end) else {
                return Some(s);
            };
            let name = s.get(start + 2..end).unwrap_or("");
            let value = lookup(name).unwrap_or_default();
            s = format!("{}{}{}", &s[..start], value, &s[end + 1..]);
        }
        None
    }

    /// One entry of an option table: long name, short letter, takes an argument.
    pub type OptSpec = (&'static str, u8, bool);

    /// `getopt_long` as `parse_options` runs it over `argv[1..]`: the options (long name and
    /// argument) and the positional arguments, or `Err` where iPXE prints an error.
    #[allow(clippy::type_complexity)]
    pub fn getopt(
        args: &[String],
        table: &[OptSpec],
    ) -> Result<(Vec<(&'static str, Option<String>)>, Vec<String>), &'static str> {
        let mut options = Vec::new();
        let mut i = 0;
        while let Some(text) = args.get(i) {
            let Some(rest) = text.strip_prefix('-') else {
                break;
            };
            if let Some(long) = rest.strip_prefix('-') {
                if long.is_empty() {
                    i += 1;
                    break;
                }
                let mut matched = None;
                for &(name, _, has_arg) in table {
                    let Some(after) = long.strip_prefix(name) else {
                        continue;
                    };
                    let inline = match after.strip_prefix('=') {
                        Some(v) => Some(v.to_owned()),
                        None if after.is_empty() => None,
                        None => continue,
                    };
                    matched = Some((name, has_arg, inline));
                    break;
                }
                let (name, has_arg, inline) = matched.ok_or("unrecognised option")?;
                i += 1;
                let value = match (has_arg, inline) {
                    (true, None) => {
                        let v = args.get(i).ok_or("option requires an argument")?;
                        i += 1;
                        Some(v.clone())
                    }
                    (false, Some(_)) => return Err("option takes no argument"),
                    (_, v) => v,
                };
                options.push((name, value));
            } else {
                // Short options, possibly grouped; an argument is the rest or the next word.
                let bytes = rest.as_bytes();
                if bytes.is_empty() {
                    return Err("unrecognised option");
                }
                i += 1;
                let mut k = 0;
                while k < bytes.len() {
                    let &(name, _, has_arg) = table
                        .iter()
                        .find(|(_, short, _)| *short == bytes[k])
                        .ok_or("unrecognised option")?;
                    if has_arg {
                        let value = if k + 1 < bytes.len() {
                            rest[k + 1..].to_owned()
                        } else {
                            let v = args.get(i).ok_or("option requires an argument")?;
                            i += 1;
                            v.clone()
                        };
                        options.push((name, Some(value)));
                        break;
                    }
                    options.push((name, None));
                    k += 1;
                }
            }
        }
        Ok((options, args[i.min(args.len())..].to_vec()))
    }

    /// What iPXE's iSCSI driver reads from a root path URI: server, port, the 8-byte LUN and
    /// the target name (`parse_uri`, then `iscsi_parse_root_path` and `scsi_parse_lun`).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct RootPath {
        /// The server field, as given.
        pub server: String,
        /// The port (3260 for empty or 0).
        pub port: u64,
        /// The LUN.
        pub lun: [u8; 8],
        /// The target name.
        pub target: String,
    }

    /// `strtoul(text, &end, base)` without sign or prefix handling (which our texts never
    /// need): the value (saturated) and the rest.
    fn strtoul(text: &str, base: u32) -> (u64, &str) {
        let end = text.find(|c: char| !c.is_digit(base)).unwrap_or(text.len());
        let value = text[..end].chars().fold(0u64, |acc, c| {
            acc.saturating_mul(u64::from(base))
                .saturating_add(u64::from(c.to_digit(base).unwrap_or(0)))
        });
        (value, &text[end..])
    }

    /// Reads `iscsi:…` as iPXE does; `None` where iPXE fails.
    pub fn parse_iscsi_uri(uri: &str) -> Option<RootPath> {
        let uri = uri.split('#').next().unwrap_or("");
        let opaque = uri.strip_prefix("iscsi:")?;
        if opaque.contains('%') {
            return None; // would be URI-decoded: not what this model compares
        }
        let mut fields = Vec::new();
        let mut skip = false;
        let mut start = 0;
        for (i, c) in opaque.char_indices() {
            if fields.len() == 4 {
                break;
            }
            match c {
                '[' => skip = true,
                ']' => skip = false,
                ':' if !skip => {
                    fields.push(&opaque[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        if fields.len() < 4 {
            return None;
        }
        let target = &opaque[start..];
        let (port, _) = strtoul(fields[2], 10);
        let port = if port == 0 { 3260 } else { port };
        let mut lun = [0u8; 8];
        let mut p = fields[3];
        for i in 0..4 {
            let (v, rest) = strtoul(p, 16);
            lun[2 * i..2 * i + 2].copy_from_slice(&(v as u16).to_be_bytes());
            p = rest;
            if p.is_empty() {
                break;
            }
            p = p.strip_prefix('-')?;
        }
        if !p.is_empty() {
            return None;
        }
        Some(RootPath {
            server: fields[0].to_owned(),
            port,
            lun,
            target: target.to_owned(),
        })
    }
}

/// A setting value for `name` that is as hostile as the renderer's assumptions allow:
/// whitespace, `#`, operators, `}`, `$`, `\` and newlines, but never `{` nor a leading `-`.
/// `salt` varies the choice.
pub fn hostile_value(name: &str, salt: u64) -> String {
    const VALUES: &[&str] = &[
        "",
        "a b",
        "#x",
        "&&",
        "||",
        ";",
        "}",
        "x}y",
        "$",
        "x$",
        "a\\",
        "line\nchain http://evil/",
        " leading",
        "trailing ",
        "52-54-00-12-34-56",
        "tab\tx",
        "\r",
        ":label",
    ];
    let mut h = salt ^ 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    VALUES[(h % VALUES.len() as u64) as usize].to_owned()
}

/// Asserts that `script` renders to text that [`Script::parse`] reads back, and that iPXE (as
/// [`ipxe`] models it) reads exactly the script's lines, commands, options and arguments, with
/// setting values from [`hostile_value`] under `salt`.
///
/// # Panics
///
/// When the rendered text would be read differently.
pub fn check_script(script: &Script, salt: u64) {
    let text = script.to_string();
    assert_eq!(
        Script::parse(&text).as_ref(),
        Ok(script),
        "does not parse back:\n{text}"
    );
    let lines = ipxe::script_lines(&text);
    let Some(lines) = lines else {
        panic!("no #!ipxe magic:\n{text}");
    };
    assert_eq!(lines.len(), script.lines().len() + 1, "line count:\n{text}");
    // The header is a comment line.
    assert!(lines[0].label.is_none() && ipxe::commands(&lines[0].command).is_empty());
    for (line, read) in script.lines().iter().zip(&lines[1..]) {
        check_line(line, read, salt, &text);
    }
}

fn check_line(line: &Line, read: &ipxe::ScriptLine, salt: u64, text: &str) {
    match line {
        Line::Label(l) => {
            assert_eq!(read.label.as_deref(), Some(l.as_str()), "{text}");
            assert!(ipxe::commands(&read.command).is_empty(), "{text}");
        }
        Line::Comment(_) => {
            assert_eq!(read.label, None, "{text}");
            assert!(ipxe::commands(&read.command).is_empty(), "{text}");
        }
        Line::Commands(p) => {
            assert_eq!(read.label, None, "{text}");
            let read = ipxe::commands(&read.command);
            let meant: Vec<(Option<Op>, &Command)> = core::iter::once((None, &p.first))
                .chain(p.rest.iter().map(|(op, c)| (Some(*op), c)))
                .collect();
            assert_eq!(read.len(), meant.len(), "command count: {line}");
            for ((op, command), (joiner, tokens)) in meant.into_iter().zip(read) {
                let joiner_meant = op.map(|op| match op {
                    Op::And => ipxe::Joiner::And,
                    Op::Or => ipxe::Joiner::Or,
                    Op::Then => ipxe::Joiner::Then,
                });
                assert_eq!(joiner, joiner_meant, "operator: {line}");
                check_command(command, &tokens, salt);
            }
        }
    }
}

/// The hostile value of a setting, for the model and for [`Word::expand_with`] alike.
fn lookup(salt: u64) -> impl FnMut(&str) -> String {
    move |name: &str| hostile_value(name, salt)
}

fn check_command(command: &Command, tokens: &[String], salt: u64) {
    let invocation = command.invocation();
    assert_eq!(
        tokens,
        invocation.tokens().as_slice(),
        "tokens of {command}"
    );
    let mut values = lookup(salt);
    let argv: Vec<String> = tokens
        .iter()
        .map(|t| {
            let expanded = ipxe::expand(t, &mut |name| Some(values(name)));
            expanded.unwrap_or_else(|| panic!("expansion of {t} does not end"))
        })
        .collect();
    assert_eq!(argv.first().map(String::as_str), Some(invocation.name));
    let table: Vec<ipxe::OptSpec> = option_table(invocation.name)
        .unwrap_or_else(|| panic!("no option table for {}", invocation.name))
        .iter()
        .map(|o| (o.long, o.short, o.has_arg))
        .collect();
    let read = ipxe::getopt(&argv[1..], &table);
    let mut values = lookup(salt);
    let mut expand = |w: &Word| w.expand_with(&mut |r: &SettingRef| values(&r.to_string()));
    let options: Vec<(&'static str, Option<String>)> = invocation
        .options
        .iter()
        .map(|(name, value)| {
            let value = match value {
                OptValue::Flag => None,
                OptValue::Plain(v) => Some(v.clone()),
                OptValue::Word(w) => Some(expand(w)),
            };
            (*name, value)
        })
        .collect();
    let args: Vec<String> = invocation.args.iter().map(&mut expand).collect();
    assert_eq!(read, Ok((options, args)), "getopt of {command}");
}

/// What `set` stores, read from a rendered `set` line through the model: the arguments
/// joined by single spaces (`concat_args`), hex-decoded when the setting is written `:hex`.
/// `None` if the line is not one `set` command.
pub fn stored_by_set(line: &str) -> Option<Vec<u8>> {
    let read = ipxe::commands(line);
    let [(None, tokens)] = read.as_slice() else {
        return None;
    };
    let (name, rest) = tokens.split_first()?;
    if name != "set" {
        return None;
    }
    let (setting, words) = rest.split_first()?;
    let joined = words.join(" ");
    if setting.ends_with(":hex") {
        if joined.is_empty() {
            return Some(Vec::new());
        }
        joined
            .split(':')
            .map(|h| u8::from_str_radix(h, 16).ok())
            .collect()
    } else {
        Some(joined.into_bytes())
    }
}

/// Reads fuzz input as a sequence of choices.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }

    /// A string: a length byte, then that many bytes (lossily UTF-8).
    fn text(&mut self) -> String {
        let len = usize::from(self.byte()).min(self.0.len());
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        String::from_utf8_lossy(head).into_owned()
    }
}

/// Builds a few one-line scripts around `word` and checks each.
fn check_word(word: &Word, salt: u64) {
    let (Ok(fail), Ok(x)) = (Label::new("fail"), SettingRef::named("x")) else {
        return;
    };
    let mut chain = Chain::new(word.clone());
    chain.args = vec![word.clone(), word.clone()];
    chain.name = Some(word.clone());
    let commands = [
        Command::Echo {
            no_newline: true,
            text: vec![word.clone(), word.clone()],
        },
        Command::Set {
            setting: x,
            value: vec![word.clone()],
        },
        Command::Isset(word.clone()),
        Command::Iseq(word.clone(), word.clone()),
        Command::Chain(chain),
        Command::Sanboot(Sanboot {
            filename: Some(word.clone()),
            label: Some(word.clone()),
            uris: vec![crate::uri::SanUri::from_word(word.clone())],
            ..Sanboot::default()
        }),
    ];
    let mut lines: Vec<Line> = commands
        .into_iter()
        .map(|c| Pipeline::new(c).or(Command::Goto(fail.clone())).into())
        .collect();
    lines.push(Line::Label(fail));
    match Script::new(lines) {
        Ok(script) => check_script(&script, salt),
        Err(e) => panic!("valid commands make an invalid script: {e}"),
    }
}

/// The `ipxe_render` fuzz target: builds every kind of value the crate has from `data` (valid
/// or not), renders what builds, and checks it with [`check_script`] and the root-path and
/// `set` models. Never panics unless an invariant is broken.
pub fn ipxe_render(data: &[u8]) {
    let mut input = Input(data);
    let salt = u64::from(input.u16());
    let s = input.text();

    // Whole script text: what parses renders back byte for byte and reads as meant.
    if let Ok(script) = Script::parse(&s) {
        assert_eq!(script.to_string(), s);
        check_script(&script, salt);
    }

    // Words, from literal text and from templates.
    for word in [Word::literal(&s), Word::parse(&s)].into_iter().flatten() {
        check_word(&word, salt);
    }

    // `set` of any text stores exactly that text.
    if let Ok(setting) = SettingRef::named("password")
        && let Ok(command) = Command::set_text(setting, &s)
    {
        let line = command.to_string();
        assert_eq!(stored_by_set(&line), Some(s.clone().into_bytes()), "{line}");
        if let Ok(script) = Script::new(vec![command.into()]) {
            check_script(&script, salt);
        }
    }

    // Comments and labels cannot carry commands.
    if let (Ok(comment), Ok(script_label)) = (Comment::new(&s), Label::new("l"))
        && let Ok(script) = Script::new(vec![
            Line::Comment(comment),
            Line::Label(script_label.clone()),
            Command::Goto(script_label).into(),
        ])
    {
        check_script(&script, salt);
    }
    if let Ok(label) = Label::new(&s)
        && let Ok(script) = Script::new(vec![
            Line::Label(label.clone()),
            Command::Goto(label).into(),
        ])
    {
        check_script(&script, salt);
    }

    // Root paths: iPXE reads back the typed parts.
    let server = match input.byte() % 3 {
        0 => Server::Ipv4(Ipv4Addr::from(u32::from(input.u16()) << 8 | 1)),
        1 => {
            let mut seg = [0u16; 8];
            for x in &mut seg {
                *x = input.u16();
            }
            Server::Ipv6(seg.into())
        }
        _ => match HostName::new(&input.text()) {
            Ok(name) => Server::Name(name),
            Err(_) => Server::Ipv4(Ipv4Addr::new(10, 0, 2, 2)),
        },
    };
    let port = input.u16();
    let lun = Lun::from_levels([input.u16(), input.u16(), input.u16(), input.u16()]);
    let target = IscsiName::new(&s)
        .or_else(|_| IscsiName::new(&format!("iqn.2024-01.org.example:{s}")))
        .or_else(|_| IscsiName::new("iqn.2024-01.org.example:disk"));
    let Ok(target) = target else { return };
    if let Ok(rp) = IscsiRootPath::new(server, port, lun, target) {
        let text = rp.to_string();
        assert_eq!(IscsiRootPath::parse(&text).as_ref(), Ok(&rp), "{text}");
        let mut values = lookup(salt);
        let mut values2 = lookup(salt);
        let expanded = ipxe::expand(&text, &mut |n| Some(values(n)));
        let meant = rp
            .target()
            .as_word()
            .expand_with(&mut |r| values2(&r.to_string()));
        if !meant.contains(['#', '%']) {
            let read = expanded.as_deref().and_then(ipxe::parse_iscsi_uri);
            let read = read.unwrap_or_else(|| panic!("iPXE cannot read {text}"));
            assert_eq!(read.server, rp.server().to_string(), "{text}");
            assert_eq!(read.port, u64::from(rp.port()), "{text}");
            assert_eq!(read.lun, rp.lun().to_bytes(), "{text}");
            assert_eq!(read.target, meant, "{text}");
        }

        // A whole per-client script with (possibly mutual) CHAP from hostile credentials.
        let creds = [input.text(), input.text(), input.text(), input.text()];
        let chap = if input.byte() % 2 == 0 {
            Chap::one_way(&creds[0], &creds[1])
        } else {
            Chap::mutual(&creds[0], &creds[1], &creds[2], &creds[3])
        };
        let mut plan = SanBootScript::new(rp.clone());
        let flags = input.byte();
        plan.chap = chap.ok();
        plan.via_root_path_setting = flags & 1 != 0;
        plan.keep_san = flags & 2 != 0;
        plan.drive = (flags & 4 != 0).then_some(0x80 + u32::from(flags >> 4));
        plan.interface = (flags & 8 != 0).then_some(NetDev(flags >> 5));
        plan.retry = Some(Retry {
            attempts: u32::from(input.byte()),
            delay_secs: u32::from(input.byte()),
        });
        if let Ok(script) = plan.script() {
            check_script(&script, salt);
            if let Some(chap) = &plan.chap {
                let text = script.to_string();
                let stored: Vec<Vec<u8>> = text.lines().filter_map(stored_by_set).collect();
                for secret in [chap.username(), chap.password()] {
                    assert!(stored.contains(&secret.as_bytes().to_vec()), "{text}");
                }
            }
        }

        // DHCP snippets: one line per directive, every value inside its quotes.
        let mac = MacAddr([0x52, 0x54, 0, input.byte(), input.byte(), input.byte()]);
        let name = HostName::new(&s).or_else(|_| HostName::new("client"));
        if let (Ok(name), Ok(script_word)) = (
            name,
            Word::parse(&s).or_else(|_| Word::literal("boot.ipxe")),
        ) {
            let flow = match Chainload::new(Some(Ipv4Addr::new(10, 0, 2, 2)), script_word) {
                Ok(c) if input.byte() % 2 == 0 => BootFlow::Chainload(c),
                _ => BootFlow::Embedded,
            };
            let config = DhcpConfig {
                flow,
                hosts: vec![DhcpHost {
                    name,
                    mac,
                    address: Some(Ipv4Addr::new(10, 0, 2, 15)),
                    san: Some(SanOptions {
                        root_path: rp,
                        initiator: None,
                        keep_san: true,
                    }),
                }],
            };
            for text in [config.dnsmasq(), config.isc_dhcpd()].into_iter().flatten() {
                for line in text.lines() {
                    assert!(line.matches('"').count() % 2 == 0, "{line}");
                    assert!(!line.contains('\\'), "{line}");
                    assert!(line.bytes().all(|b| (0x20..0x7f).contains(&b)), "{line}");
                }
            }
        }
    }

    // The dispatcher, from any prefix.
    if let Ok(prefix) = Word::parse(&s) {
        let mut d = Dispatcher::new(prefix);
        d.configure = salt & 1 != 0;
        d.root_path_fallback = salt & 2 != 0;
        if let Ok(script) = d.script() {
            check_script(&script, salt);
        }
    }
}
