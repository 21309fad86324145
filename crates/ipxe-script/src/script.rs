//! Scripts: lines of labels, comments and commands joined by `&&`, `||` and `;`, rendered
//! after the `#!ipxe` header; and a parser for exactly the text this crate renders.

use core::fmt;
use std::collections::HashSet;

use crate::command::{Command, Label, check_comment};
use crate::error::{Error, Result};

/// The first line of every script (`script_probe` wants `#!ipxe` and one whitespace byte).
///
/// ```
/// use ipxe_script::{Command, HEADER, Script};
/// let script = Script::new(vec![Command::Exit(None).into()])?;
/// assert_eq!(script.to_string(), format!("{HEADER}\nexit\n"));
/// # Ok::<(), ipxe_script::Error>(())
/// ```
pub const HEADER: &str = "#!ipxe";

/// How a command is joined to the one before it on a line.
///
/// ```
/// use ipxe_script::{Command, Op, Pipeline};
/// let mut line = Pipeline::new(Command::Sleep(1)).and(Command::Exit(Some(0)));
/// assert_eq!(line.rest[0].0, Op::And);
/// line.rest.push((Op::Then, Command::Exit(None)));
/// assert_eq!(line.to_string(), "sleep 1 && exit 0 ; exit");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `&&`: run if the previous command succeeded.
    And,
    /// `||`: run if the previous command failed (and so keep the script going).
    Or,
    /// `;`: run in any case.
    Then,
}

impl Op {
    /// The operator's token.
    ///
    /// ```
    /// assert_eq!(ipxe_script::Op::Or.token(), "||");
    /// ```
    pub fn token(self) -> &'static str {
        match self {
            Op::And => "&&",
            Op::Or => "||",
            Op::Then => ";",
        }
    }

    fn from_token(token: &str) -> Option<Self> {
        match token {
            "&&" => Some(Op::And),
            "||" => Some(Op::Or),
            ";" => Some(Op::Then),
            _ => None,
        }
    }
}

/// Commands on one line: `first [op command]…`.
///
/// iPXE keeps the status of the last command that ran: in `a || b && c`, when `a` succeeds `b`
/// is skipped and `c` runs. A failing command ends the script unless an `||` follows it.
///
/// ```
/// use ipxe_script::{Command, Label, Pipeline};
/// let p = Pipeline::new(Command::Sleep(1)).or(Command::Goto(Label::new("fail")?));
/// assert_eq!(p.to_string(), "sleep 1 || goto fail");
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pipeline {
    /// The first command.
    pub first: Command,
    /// The others, each with the operator before it.
    pub rest: Vec<(Op, Command)>,
}

impl Pipeline {
    /// A line of one command.
    ///
    /// ```
    /// use ipxe_script::{Command, Pipeline};
    /// assert_eq!(Pipeline::new(Command::Exit(None)).to_string(), "exit");
    /// ```
    pub fn new(first: Command) -> Self {
        Pipeline {
            first,
            rest: Vec::new(),
        }
    }

    /// Appends `&& command`.
    ///
    /// ```
    /// use ipxe_script::{Command, Pipeline};
    /// let p = Pipeline::new(Command::Sleep(1)).and(Command::Exit(None));
    /// assert_eq!(p.to_string(), "sleep 1 && exit");
    /// ```
    pub fn and(mut self, command: Command) -> Self {
        self.rest.push((Op::And, command));
        self
    }

    /// Appends `|| command`.
    ///
    /// ```
    /// use ipxe_script::{Command, Pipeline};
    /// let p = Pipeline::new(Command::Sleep(1)).or(Command::Exit(Some(1)));
    /// assert_eq!(p.to_string(), "sleep 1 || exit 1");
    /// ```
    pub fn or(mut self, command: Command) -> Self {
        self.rest.push((Op::Or, command));
        self
    }

    /// Appends `; command`.
    ///
    /// ```
    /// use ipxe_script::{Command, Pipeline};
    /// let p = Pipeline::new(Command::Sleep(1)).then(Command::Exit(None));
    /// assert_eq!(p.to_string(), "sleep 1 ; exit");
    /// ```
    pub fn then(mut self, command: Command) -> Self {
        self.rest.push((Op::Then, command));
        self
    }

    /// The commands in order.
    ///
    /// ```
    /// use ipxe_script::{Command, Pipeline};
    /// assert_eq!(Pipeline::new(Command::Sleep(1)).commands().count(), 1);
    /// ```
    pub fn commands(&self) -> impl Iterator<Item = &Command> {
        core::iter::once(&self.first).chain(self.rest.iter().map(|(_, c)| c))
    }
}

impl From<Command> for Pipeline {
    fn from(command: Command) -> Self {
        Pipeline::new(command)
    }
}

impl fmt::Display for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.first)?;
        for (op, command) in &self.rest {
            write!(f, " {} {command}", op.token())?;
        }
        Ok(())
    }
}

/// Text of a `#` comment line: printable ASCII and spaces, not ending with `\` (which would
/// join the next line to the comment).
///
/// ```
/// use ipxe_script::Comment;
/// assert!(Comment::new("per-client script for 52:54:00:12:34:56").is_ok());
/// assert!(Comment::new("x\\").is_err());
/// assert!(Comment::new("a\nsanboot evil").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Comment(String);

impl Comment {
    /// Validates comment text.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidByte`] or [`Error::TrailingBackslash`].
    ///
    /// ```
    /// assert_eq!(ipxe_script::Comment::new("hi")?.as_str(), "hi");
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn new(text: &str) -> Result<Self> {
        check_comment(text)?;
        Ok(Comment(text.to_owned()))
    }

    /// The text.
    ///
    /// ```
    /// assert_eq!(ipxe_script::Comment::new("")?.as_str(), "");
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One line of a script.
///
/// ```
/// use ipxe_script::{Command, Comment, Label, Line, Script};
/// let script = Script::new(vec![
///     Line::Comment(Comment::new("wait a bit")?),
///     Line::Label(Label::new("again")?),
///     Line::from(Command::Sleep(1)),
/// ])?;
/// assert_eq!(script.body().to_string(), "# wait a bit\n:again\nsleep 1\n");
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Line {
    /// `:label`.
    Label(Label),
    /// `# text` (or `#` alone when the text is empty).
    Comment(Comment),
    /// Commands.
    Commands(Pipeline),
}

impl From<Command> for Line {
    fn from(command: Command) -> Self {
        Line::Commands(Pipeline::new(command))
    }
}

impl From<Pipeline> for Line {
    fn from(pipeline: Pipeline) -> Self {
        Line::Commands(pipeline)
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Line::Label(l) => write!(f, ":{l}"),
            Line::Comment(c) if c.as_str().is_empty() => f.write_str("#"),
            Line::Comment(c) => write!(f, "# {}", c.as_str()),
            Line::Commands(p) => p.fmt(f),
        }
    }
}

/// An iPXE script: validated lines, rendered deterministically after the `#!ipxe` header.
///
/// Validation: every `goto` names a label of the script, no label is defined twice, and each
/// command is complete (`sanhook` has a URI). [`Script::parse`] reads back exactly what
/// [`Display`](fmt::Display) writes: `Script::parse(&s.to_string()) == Ok(s)`.
///
/// ```
/// use ipxe_script::{Command, Ifconf, Label, Line, NetDev, Pipeline, Script};
/// let fail = Label::new("fail")?;
/// let script = Script::new(vec![
///     Pipeline::new(Command::Dhcp(Ifconf { interfaces: vec![NetDev(0)], ..Default::default() }))
///         .or(Command::Goto(fail.clone()))
///         .into(),
///     Line::Label(fail),
///     Command::Exit(Some(1)).into(),
/// ])?;
/// assert_eq!(script.to_string(), "#!ipxe\ndhcp net0 || goto fail\n:fail\nexit 1\n");
/// assert_eq!(Script::parse(&script.to_string())?, script);
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Script {
    lines: Vec<Line>,
}

impl Script {
    /// Validates lines into a script.
    ///
    /// # Errors
    ///
    /// [`Error::UndefinedLabel`], [`Error::DuplicateLabel`], or a command's own error
    /// ([`Error::Empty`] for a `sanhook` without URI).
    ///
    /// ```
    /// use ipxe_script::{Command, Error, Label, Script};
    /// let err = Script::new(vec![Command::Goto(Label::new("nowhere")?).into()]);
    /// assert_eq!(err, Err(Error::UndefinedLabel { line: 0 }));
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn new(lines: Vec<Line>) -> Result<Self> {
        let mut labels = HashSet::new();
        for (line, l) in lines.iter().enumerate() {
            if matches!(l, Line::Label(label) if !labels.insert(label.as_str())) {
                return Err(Error::DuplicateLabel { line });
            }
        }
        for (line, l) in lines.iter().enumerate() {
            if let Line::Commands(p) = l {
                for command in p.commands() {
                    command.check()?;
                    if matches!(command, Command::Goto(t) if !labels.contains(t.as_str())) {
                        return Err(Error::UndefinedLabel { line });
                    }
                }
            }
        }
        Ok(Script { lines })
    }

    /// The lines.
    ///
    /// ```
    /// let s = ipxe_script::Script::new(vec![])?;
    /// assert!(s.lines().is_empty());
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// Gives back the lines.
    ///
    /// ```
    /// let s = ipxe_script::Script::new(vec![])?;
    /// assert!(s.into_lines().is_empty());
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn into_lines(self) -> Vec<Line> {
        self.lines
    }

    /// The script without the `#!ipxe` header: for DHCP option 175.81 (scriptlet) or for
    /// comparing with a script body.
    ///
    /// ```
    /// use ipxe_script::{Command, Script};
    /// let s = Script::new(vec![Command::Exit(None).into()])?;
    /// assert_eq!(s.body().to_string(), "exit\n");
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn body(&self) -> Body<'_> {
        Body(self)
    }

    /// Reads a script in the form this crate writes: the header, then one label, comment or
    /// command line per `\n`, tokens separated by single spaces, options as
    /// [`Command`]'s `Display` writes them.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the 1-based line number, and the errors of [`Script::new`].
    ///
    /// ```
    /// use ipxe_script::Script;
    /// let s = Script::parse("#!ipxe\nset keep-san 1\nsanboot ${root-path}\n")?;
    /// assert_eq!(s.lines().len(), 2);
    /// assert!(Script::parse("sanboot ${root-path}\n").is_err());
    /// # Ok::<(), ipxe_script::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        let body = text
            .strip_prefix(HEADER)
            .and_then(|rest| rest.strip_prefix('\n'))
            .ok_or(Error::Parse {
                line: 1,
                problem: "the script does not start with \"#!ipxe\\n\"",
            })?;
        let mut lines = Vec::new();
        if !body.is_empty() {
            let body = body.strip_suffix('\n').ok_or(Error::Parse {
                line: body.matches('\n').count() + 2,
                problem: "the last line has no newline",
            })?;
            for (i, line) in body.split('\n').enumerate() {
                lines.push(parse_line(line).map_err(|problem| Error::Parse {
                    line: i + 2,
                    problem,
                })?);
            }
        }
        Script::new(lines)
    }
}

fn parse_line(line: &str) -> core::result::Result<Line, &'static str> {
    if line.ends_with('\\') {
        return Err("a line ends with '\\' (a continuation)");
    }
    if let Some(label) = line.strip_prefix(':') {
        return Label::new(label)
            .map(Line::Label)
            .map_err(|_| "not a label");
    }
    if let Some(comment) = line.strip_prefix('#') {
        let text = match comment.strip_prefix(' ') {
            Some(text) if !text.is_empty() => text,
            None if comment.is_empty() => "",
            _ => return Err("a comment is not \"# text\" or \"#\""),
        };
        return Comment::new(text)
            .map(Line::Comment)
            .map_err(|_| "a comment has a byte that is not allowed");
    }
    let tokens: Vec<&str> = line.split(' ').collect();
    if tokens.iter().any(|t| t.is_empty()) {
        return Err("tokens are not separated by single spaces");
    }
    let mut segments = Vec::new();
    let mut op = None;
    let mut start = 0;
    for (i, token) in tokens.iter().enumerate() {
        if let Some(next) = Op::from_token(token) {
            segments.push((op, &tokens[start..i]));
            op = Some(next);
            start = i + 1;
        } else if token.starts_with('#') {
            return Err("a token starts with '#'");
        }
    }
    segments.push((op, &tokens[start..]));
    let mut pipeline: Option<Pipeline> = None;
    for (op, tokens) in segments {
        let command = Command::from_tokens(tokens)?;
        pipeline = Some(match (pipeline, op) {
            (None, _) => Pipeline::new(command),
            (Some(mut p), Some(op)) => {
                p.rest.push((op, command));
                p
            }
            (Some(_), None) => return Err("an operator is missing"),
        });
    }
    pipeline.map(Line::Commands).ok_or("empty line")
}

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{HEADER}")?;
        self.body().fmt(f)
    }
}

/// A [`Script`] displayed without its header (see [`Script::body`]).
///
/// ```
/// use ipxe_script::{HEADER, Script};
/// let script = Script::parse("#!ipxe\nsleep 1\n")?;
/// let body = script.body();
/// assert_eq!(body.to_string(), "sleep 1\n");
/// assert_eq!(format!("{HEADER}\n{body}"), script.to_string());
/// # Ok::<(), ipxe_script::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Body<'a>(&'a Script);

impl fmt::Display for Body<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.0.lines {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_duplicate_labels() {
        let l = Label::new("a").unwrap();
        assert_eq!(
            Script::new(vec![Line::Label(l.clone()), Line::Label(l)]),
            Err(Error::DuplicateLabel { line: 1 })
        );
    }

    #[test]
    fn parses_comments_labels_and_operators() {
        let text = "#!ipxe\n#\n# hello ${x}\n:a\nsleep 1 && goto a || exit 2 ; echo -n done\n";
        let s = Script::parse(text).unwrap();
        assert_eq!(s.lines().len(), 4);
        assert_eq!(s.to_string(), text);
    }

    #[test]
    fn rejects_text_it_does_not_write() {
        for bad in [
            "#!ipxe",
            "#!ipxe\nexit",
            "#!ipxe\n\n",
            "#!ipxe\nexit  1\n",
            "#!ipxe\n exit\n",
            "#!ipxe\nexit\r\n",
            "#!ipxe\necho a\\\nb\n",
            "#!ipxe\necho #x\n",
            "#!ipxe\n#x\n",
            "#!ipxe\n:a b\n",
            "#!ipxe\nexit &&\n",
            "#!ipxe\n&& exit\n",
            "#!gpxe\nexit\n",
        ] {
            assert!(Script::parse(bad).is_err(), "{bad:?}");
        }
    }
}
