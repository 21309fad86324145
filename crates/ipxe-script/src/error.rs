//! The crate's one error type.

/// Why a value cannot become part of an iPXE script, a root path or a DHCP snippet, or why a
/// script text is not one this crate emits.
///
/// Every variant names `what` was being built (`"literal"`, `"target name"`, `"label"`, …) so
/// that a message is useful without a backtrace. The enum is `Copy + PartialEq` so tests can
/// `assert_eq!` on it.
///
/// ```
/// use ipxe_script::{Error, Word};
/// // A space would split one argument into two when iPXE tokenizes the line.
/// assert_eq!(
///     Word::literal("two words"),
///     Err(Error::InvalidByte { what: "literal", byte: b' ', offset: 3 })
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value is empty where iPXE needs at least one character.
    #[error("{what} is empty")]
    Empty {
        /// What was being built.
        what: &'static str,
    },
    /// A byte that iPXE would read differently (whitespace splits a word, a control byte or a
    /// NUL ends or corrupts the line) or that the value's syntax does not allow.
    #[error("{what} has byte {byte:#04x} at offset {offset}, which is not allowed there")]
    InvalidByte {
        /// What was being built.
        what: &'static str,
        /// The offending byte.
        byte: u8,
        /// Its offset in the value.
        offset: usize,
    },
    /// A literal contains `${`, which iPXE would expand as a setting (there is no escape).
    #[error("{what} contains \"${{\" at offset {offset}, which iPXE would expand")]
    ExpansionInLiteral {
        /// What was being built.
        what: &'static str,
        /// Offset of the `$`.
        offset: usize,
    },
    /// A word starts with `#`, which iPXE reads as the start of a comment.
    #[error("{what} starts with '#', which iPXE reads as a comment")]
    CommentStart {
        /// What was being built.
        what: &'static str,
    },
    /// A word is exactly `&&`, `||` or `;`, which iPXE reads as an operator.
    #[error("{what} is a command separator (&&, || or ;)")]
    Operator {
        /// What was being built.
        what: &'static str,
    },
    /// A word ends with `\`, which iPXE reads as a line continuation at the end of a line.
    #[error("{what} ends with a backslash, which iPXE reads as a line continuation")]
    TrailingBackslash {
        /// What was being built.
        what: &'static str,
    },
    /// A literal ends with `$` right before an expansion, or starts with `{` right after one:
    /// iPXE rescans expanded text, so the two could form a new `${`.
    #[error("{what} puts '$' or '{{' next to an expansion")]
    ExpansionBoundary {
        /// What was being built.
        what: &'static str,
    },
    /// A `${…}` whose setting reference does not parse.
    #[error("{what} has a malformed expansion at offset {offset}")]
    BadExpansion {
        /// What was being built.
        what: &'static str,
        /// Offset of the `$`.
        offset: usize,
    },
    /// An expansion whose output may hold characters the value does not allow (for example a
    /// `:string` setting inside an IQN, or any expansion inside a server address).
    #[error("{what} cannot contain this expansion")]
    ExpansionNotAllowed {
        /// What was being built.
        what: &'static str,
    },
    /// A value is longer than its limit.
    #[error("{what} is {len} bytes long, more than {max}")]
    TooLong {
        /// What was being built.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An iSCSI name breaks RFC 7143 §4.2.7 ("iSCSI Names").
    #[error("{what} is not a valid iSCSI name: {problem}")]
    InvalidIscsiName {
        /// What was being built.
        what: &'static str,
        /// Which rule is broken.
        problem: &'static str,
    },
    /// A number is out of range (port 0, a LUN level, a drive number).
    #[error("{what} is out of range")]
    OutOfRange {
        /// What was being built.
        what: &'static str,
    },
    /// A root path or URI that does not parse.
    #[error("invalid root path: {problem}")]
    InvalidRootPath {
        /// What is wrong.
        problem: &'static str,
    },
    /// CHAP settings iPXE would refuse (`iscsi_check_auth`): a user name without a secret,
    /// or reverse credentials without forward ones.
    #[error("invalid CHAP settings: {problem}")]
    InvalidChap {
        /// What is wrong.
        problem: &'static str,
    },
    /// A `goto` names a label the script does not define.
    #[error("line {line}: goto names a label the script does not define")]
    UndefinedLabel {
        /// Index of the line holding the `goto` (0 is the first line after `#!ipxe`).
        line: usize,
    },
    /// A label is defined twice (iPXE would always jump to the first).
    #[error("line {line}: label already defined")]
    DuplicateLabel {
        /// Index of the second definition.
        line: usize,
    },
    /// Two DHCP hosts share a name or a MAC address.
    #[error("DHCP host {index} has the name or MAC address of an earlier host")]
    DuplicateHost {
        /// Index of the second host.
        index: usize,
    },
    /// Script text that is not in the subset this crate emits.
    #[error("line {line}: {problem}")]
    Parse {
        /// Line number, 1-based, counting the `#!ipxe` header as line 1.
        line: usize,
        /// What is wrong.
        problem: &'static str,
    },
}

/// The crate's result type.
///
/// ```
/// use ipxe_script::IscsiRootPath;
/// fn port(root_path: &str) -> ipxe_script::Result<u16> {
///     Ok(IscsiRootPath::parse(root_path)?.port())
/// }
/// assert_eq!(port("iscsi:10.0.0.1::::iqn.2010-04.org.example:d"), Ok(3260));
/// assert!(port("nfs:10.0.0.1:/export").is_err());
/// ```
pub type Result<T, E = Error> = core::result::Result<T, E>;
