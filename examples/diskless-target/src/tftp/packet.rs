//! TFTP packets (RFC 1350 "The TFTP Protocol (Revision 2)", section 5 "TFTP Packets", and
//! RFC 2347 "TFTP Option Extension"): parse from a datagram, emit into a buffer.
//!
//! ```text
//!  RRQ/WRQ  | 01/02 | filename | 0 | mode | 0 | opt1 | 0 | value1 | 0 | ...
//!  DATA     | 03 | block# (2) | data (0..=blksize) |
//!  ACK      | 04 | block# (2) |
//!  ERROR    | 05 | code (2)   | message | 0 |
//!  OACK     | 06 | opt1 | 0 | value1 | 0 | ...
//! ```
//!
//! All integers are big-endian. Parsing never panics; everything the peer controls is bounded
//! (the datagram size, [`MAX_OPTIONS`], NUL-terminated UTF-8 strings).

use std::fmt;

/// The largest datagram either side sends: a DATA packet with the largest block size
/// (RFC 2348: 65464) plus its 4-byte header.
pub(crate) const MAX_PACKET: usize = 65468;

/// At most this many options in one request or OACK; more is refused as malformed.
pub(crate) const MAX_OPTIONS: usize = 32;

/// Opcodes (RFC 1350 section 5, RFC 2347).
mod opcode {
    pub(super) const RRQ: u16 = 1;
    pub(super) const WRQ: u16 = 2;
    pub(super) const DATA: u16 = 3;
    pub(super) const ACK: u16 = 4;
    pub(super) const ERROR: u16 = 5;
    pub(super) const OACK: u16 = 6;
}

/// The transfer mode of a request. RFC 1350: "The mode field contains the string "netascii",
/// "octet", or "mail" (or any combination of upper and lower case)".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Text, with lines ending in CR LF and a bare CR sent as CR NUL.
    Netascii,
    /// Raw bytes.
    Octet,
    /// Obsolete (RFC 1350 itself says it "should not be implemented"); always refused.
    Mail,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Netascii => "netascii",
            Mode::Octet => "octet",
            Mode::Mail => "mail",
        }
    }

    fn parse(s: &str) -> Option<Mode> {
        [Mode::Netascii, Mode::Octet, Mode::Mail]
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s))
    }
}

/// A read or write request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    /// The file name as the client sent it.
    pub(crate) filename: String,
    /// The transfer mode.
    pub(crate) mode: Mode,
    /// RFC 2347 options in the order sent, names as sent (they compare case-insensitively).
    pub(crate) options: Vec<(String, String)>,
}

/// An ERROR packet's code (RFC 1350 appendix "Error Codes", RFC 2347 code 8). A newtype so that
/// unknown codes keep their value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct ErrorCode(pub(crate) u16);

#[allow(dead_code)] // the whole registry, whether or not the server sends each code
impl ErrorCode {
    /// Not defined, see error message (if any).
    pub(crate) const NOT_DEFINED: Self = Self(0);
    /// File not found.
    pub(crate) const FILE_NOT_FOUND: Self = Self(1);
    /// Access violation.
    pub(crate) const ACCESS_VIOLATION: Self = Self(2);
    /// Disk full or allocation exceeded.
    pub(crate) const DISK_FULL: Self = Self(3);
    /// Illegal TFTP operation.
    pub(crate) const ILLEGAL_OPERATION: Self = Self(4);
    /// Unknown transfer ID.
    pub(crate) const UNKNOWN_TID: Self = Self(5);
    /// File already exists.
    pub(crate) const FILE_EXISTS: Self = Self(6);
    /// No such user.
    pub(crate) const NO_SUCH_USER: Self = Self(7);
    /// Option negotiation failed (RFC 2347): the client refuses the OACK.
    pub(crate) const OPTION_REFUSED: Self = Self(8);

    fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "not defined",
            1 => "file not found",
            2 => "access violation",
            3 => "disk full",
            4 => "illegal operation",
            5 => "unknown transfer ID",
            6 => "file exists",
            7 => "no such user",
            8 => "option negotiation failed",
            _ => return None,
        })
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} ({name})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

/// One TFTP packet. DATA borrows its payload from the datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Packet<'a> {
    /// Read request.
    Rrq(Request),
    /// Write request.
    Wrq(Request),
    /// A block of data; a block shorter than the block size ends the transfer.
    Data {
        /// Block number, wrapping after 65535.
        block: u16,
        /// The payload.
        data: &'a [u8],
    },
    /// Acknowledges a block (block 0 acknowledges an OACK).
    Ack {
        /// Block number.
        block: u16,
    },
    /// Ends the transfer.
    Error {
        /// What went wrong.
        code: ErrorCode,
        /// A human-readable message.
        message: String,
    },
    /// The server's acknowledgment of the options it accepted (RFC 2347).
    Oack {
        /// Accepted options and their values.
        options: Vec<(String, String)>,
    },
}

/// Why a datagram is not a TFTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// Shorter than its fixed part.
    Truncated,
    /// More than [`MAX_PACKET`] bytes.
    TooLong,
    /// An opcode other than 1 to 6.
    UnknownOpcode(u16),
    /// A string field without its terminating NUL.
    Unterminated(&'static str),
    /// A string field that is not UTF-8.
    NotUtf8(&'static str),
    /// A mode other than netascii, octet or mail.
    UnknownMode,
    /// An option name without a value.
    OptionWithoutValue,
    /// More than [`MAX_OPTIONS`] options.
    TooManyOptions,
    /// An ACK with bytes after the block number.
    TrailingBytes,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Truncated => f.write_str("packet truncated"),
            ParseError::TooLong => f.write_str("packet too long"),
            ParseError::UnknownOpcode(op) => write!(f, "unknown opcode {op}"),
            ParseError::Unterminated(what) => write!(f, "{what} not NUL-terminated"),
            ParseError::NotUtf8(what) => write!(f, "{what} is not UTF-8"),
            ParseError::UnknownMode => f.write_str("unknown transfer mode"),
            ParseError::OptionWithoutValue => f.write_str("option without a value"),
            ParseError::TooManyOptions => write!(f, "more than {MAX_OPTIONS} options"),
            ParseError::TrailingBytes => f.write_str("trailing bytes after the packet"),
        }
    }
}

/// Splits one NUL-terminated UTF-8 string off the front of `bytes`.
fn take_str<'b>(bytes: &'b [u8], what: &'static str) -> Result<(&'b str, &'b [u8]), ParseError> {
    let nul = bytes
        .iter()
        .position(|&b| b == 0)
        .ok_or(ParseError::Unterminated(what))?;
    let (s, rest) = bytes.split_at(nul);
    let s = std::str::from_utf8(s).map_err(|_| ParseError::NotUtf8(what))?;
    Ok((s, rest.get(1..).unwrap_or_default()))
}

fn parse_options(mut bytes: &[u8]) -> Result<Vec<(String, String)>, ParseError> {
    let mut options = Vec::new();
    while !bytes.is_empty() {
        if options.len() == MAX_OPTIONS {
            return Err(ParseError::TooManyOptions);
        }
        let (name, rest) = take_str(bytes, "option name")?;
        if rest.is_empty() {
            return Err(ParseError::OptionWithoutValue);
        }
        let (value, rest) = take_str(rest, "option value")?;
        options.push((name.to_owned(), value.to_owned()));
        bytes = rest;
    }
    Ok(options)
}

fn parse_request(bytes: &[u8]) -> Result<Request, ParseError> {
    let (filename, rest) = take_str(bytes, "filename")?;
    let (mode, rest) = take_str(rest, "mode")?;
    let mode = Mode::parse(mode).ok_or(ParseError::UnknownMode)?;
    Ok(Request {
        filename: filename.to_owned(),
        mode,
        options: parse_options(rest)?,
    })
}

fn u16_at(bytes: &[u8], at: usize) -> Result<u16, ParseError> {
    match bytes.get(at..at + 2) {
        Some(&[a, b]) => Ok(u16::from_be_bytes([a, b])),
        _ => Err(ParseError::Truncated),
    }
}

impl<'a> Packet<'a> {
    /// Parses one datagram.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Packet<'a>, ParseError> {
        if bytes.len() > MAX_PACKET {
            return Err(ParseError::TooLong);
        }
        let op = u16_at(bytes, 0)?;
        let body = bytes.get(2..).unwrap_or_default();
        match op {
            opcode::RRQ => Ok(Packet::Rrq(parse_request(body)?)),
            opcode::WRQ => Ok(Packet::Wrq(parse_request(body)?)),
            opcode::DATA => Ok(Packet::Data {
                block: u16_at(body, 0)?,
                data: body.get(2..).unwrap_or_default(),
            }),
            opcode::ACK => {
                let block = u16_at(body, 0)?;
                // Some clients pad; RFC 1350 fixes ACK at 4 bytes. Refuse anything else.
                if body.len() != 2 {
                    return Err(ParseError::TrailingBytes);
                }
                Ok(Packet::Ack { block })
            }
            opcode::ERROR => {
                let code = ErrorCode(u16_at(body, 0)?);
                let rest = body.get(2..).unwrap_or_default();
                // Lenient: a missing NUL or non-UTF-8 message still ends the transfer.
                let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                let message = String::from_utf8_lossy(rest.get(..end).unwrap_or_default());
                Ok(Packet::Error {
                    code,
                    message: message.into_owned(),
                })
            }
            opcode::OACK => Ok(Packet::Oack {
                options: parse_options(body)?,
            }),
            other => Err(ParseError::UnknownOpcode(other)),
        }
    }

    /// The packet's length on the wire.
    pub(crate) fn buffer_len(&self) -> usize {
        let strings = |options: &[(String, String)]| {
            options
                .iter()
                .map(|(n, v)| n.len() + v.len() + 2)
                .sum::<usize>()
        };
        2 + match self {
            Packet::Rrq(r) | Packet::Wrq(r) => {
                r.filename.len() + 1 + r.mode.as_str().len() + 1 + strings(&r.options)
            }
            Packet::Data { data, .. } => 2 + data.len(),
            Packet::Ack { .. } => 2,
            Packet::Error { message, .. } => 2 + message.len() + 1,
            Packet::Oack { options } => strings(options),
        }
    }

    /// Appends the packet to `out`. Strings are written as given (a NUL inside one would
    /// split it: callers never put one there).
    pub(crate) fn emit(&self, out: &mut Vec<u8>) {
        out.reserve(self.buffer_len());
        let put_str = |out: &mut Vec<u8>, s: &str| {
            out.extend_from_slice(s.as_bytes());
            out.push(0);
        };
        let put_options = |out: &mut Vec<u8>, options: &[(String, String)]| {
            for (n, v) in options {
                put_str(out, n);
                put_str(out, v);
            }
        };
        match self {
            Packet::Rrq(r) | Packet::Wrq(r) => {
                let op = if matches!(self, Packet::Rrq(_)) {
                    opcode::RRQ
                } else {
                    opcode::WRQ
                };
                out.extend_from_slice(&op.to_be_bytes());
                put_str(out, &r.filename);
                put_str(out, r.mode.as_str());
                put_options(out, &r.options);
            }
            Packet::Data { block, data } => {
                out.extend_from_slice(&opcode::DATA.to_be_bytes());
                out.extend_from_slice(&block.to_be_bytes());
                out.extend_from_slice(data);
            }
            Packet::Ack { block } => {
                out.extend_from_slice(&opcode::ACK.to_be_bytes());
                out.extend_from_slice(&block.to_be_bytes());
            }
            Packet::Error { code, message } => {
                out.extend_from_slice(&opcode::ERROR.to_be_bytes());
                out.extend_from_slice(&code.0.to_be_bytes());
                put_str(out, message);
            }
            Packet::Oack { options } => {
                out.extend_from_slice(&opcode::OACK.to_be_bytes());
                put_options(out, options);
            }
        }
    }

    /// The packet as a new buffer.
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.emit(&mut out);
        out
    }
}

/// An ERROR packet as bytes.
pub(crate) fn error_packet(code: ErrorCode, message: &str) -> Vec<u8> {
    Packet::Error {
        code,
        message: message.to_owned(),
    }
    .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_rrq_with_options_field_by_field() {
        let bytes = b"\x00\x01\
            boot.ipxe\x00\
            OCTET\x00\
            blksize\x001432\x00\
            tsize\x000\x00";
        let p = Packet::parse(bytes).expect("parses");
        assert_eq!(
            p,
            Packet::Rrq(Request {
                filename: "boot.ipxe".into(),
                mode: Mode::Octet,
                options: vec![
                    ("blksize".into(), "1432".into()),
                    ("tsize".into(), "0".into())
                ],
            })
        );
        // Emit writes the mode in lower case; otherwise the same bytes.
        let mut expected = bytes.to_vec();
        expected[12..17].copy_from_slice(b"octet");
        assert_eq!(p.to_vec(), expected);
        assert_eq!(p.buffer_len(), expected.len());
    }

    #[test]
    fn data_ack_error_oack_fixtures() {
        let data = b"\x00\x03\xff\xfehello";
        assert_eq!(
            Packet::parse(data),
            Ok(Packet::Data {
                block: 0xfffe,
                data: b"hello"
            })
        );
        assert_eq!(
            Packet::parse(b"\x00\x04\x00\x07"),
            Ok(Packet::Ack { block: 7 })
        );
        let err = b"\x00\x05\x00\x01no such file\x00";
        assert_eq!(
            Packet::parse(err),
            Ok(Packet::Error {
                code: ErrorCode::FILE_NOT_FOUND,
                message: "no such file".into()
            })
        );
        let oack = b"\x00\x06blksize\x00512\x00";
        let p = Packet::parse(oack).expect("oack");
        assert_eq!(p.to_vec(), oack);
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(Packet::parse(b""), Err(ParseError::Truncated));
        assert_eq!(Packet::parse(b"\x00"), Err(ParseError::Truncated));
        assert_eq!(
            Packet::parse(b"\x00\x09"),
            Err(ParseError::UnknownOpcode(9))
        );
        assert_eq!(
            Packet::parse(b"\x00\x01file"),
            Err(ParseError::Unterminated("filename"))
        );
        assert_eq!(
            Packet::parse(b"\x00\x01file\x00binary\x00"),
            Err(ParseError::UnknownMode)
        );
        assert_eq!(
            Packet::parse(b"\x00\x01f\x00octet\x00blksize\x00"),
            Err(ParseError::OptionWithoutValue)
        );
        assert_eq!(
            Packet::parse(b"\x00\x01\xff\x00octet\x00"),
            Err(ParseError::NotUtf8("filename"))
        );
        assert_eq!(Packet::parse(b"\x00\x04\x00"), Err(ParseError::Truncated));
        assert_eq!(
            Packet::parse(b"\x00\x04\x00\x01\x00"),
            Err(ParseError::TrailingBytes)
        );
        let mut many = b"\x00\x01f\x00octet\x00".to_vec();
        for _ in 0..=MAX_OPTIONS {
            many.extend_from_slice(b"a\x00b\x00");
        }
        assert_eq!(Packet::parse(&many), Err(ParseError::TooManyOptions));
        assert_eq!(
            Packet::parse(&vec![0u8; MAX_PACKET + 1]),
            Err(ParseError::TooLong)
        );
    }

    #[test]
    fn error_message_is_read_leniently() {
        assert_eq!(
            Packet::parse(b"\x00\x05\x00\x08"),
            Ok(Packet::Error {
                code: ErrorCode::OPTION_REFUSED,
                message: String::new()
            })
        );
    }

    fn nul_free() -> impl Strategy<Value = String> {
        "[^\u{0}]{0,20}"
    }

    fn options() -> impl Strategy<Value = Vec<(String, String)>> {
        prop::collection::vec((nul_free(), nul_free()), 0..=MAX_OPTIONS)
    }

    fn request() -> impl Strategy<Value = Request> {
        (
            nul_free(),
            prop_oneof![Just(Mode::Netascii), Just(Mode::Octet), Just(Mode::Mail)],
            options(),
        )
            .prop_map(|(filename, mode, options)| Request {
                filename,
                mode,
                options,
            })
    }

    proptest! {
        #[test]
        fn requests_round_trip(r in request(), write in any::<bool>()) {
            let p = if write { Packet::Wrq(r) } else { Packet::Rrq(r) };
            let bytes = p.to_vec();
            prop_assert_eq!(bytes.len(), p.buffer_len());
            prop_assert_eq!(Packet::parse(&bytes), Ok(p.clone()));
        }

        #[test]
        fn data_ack_error_oack_round_trip(
            block in any::<u16>(),
            data in prop::collection::vec(any::<u8>(), 0..1500),
            code in any::<u16>(),
            message in nul_free(),
            options in options(),
        ) {
            for p in [
                Packet::Data { block, data: &data },
                Packet::Ack { block },
                Packet::Error { code: ErrorCode(code), message: message.clone() },
                Packet::Oack { options: options.clone() },
            ] {
                let bytes = p.to_vec();
                prop_assert_eq!(bytes.len(), p.buffer_len());
                let parsed = Packet::parse(&bytes);
                prop_assert_eq!(parsed.as_ref(), Ok(&p));
                // emit(parse(b)) == b for canonical b.
                if let Ok(q) = parsed {
                    prop_assert_eq!(q.to_vec(), bytes);
                }
            }
        }

        #[test]
        fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(p) = Packet::parse(&bytes) {
                // Whatever parses re-emits to something that parses the same.
                let again = p.to_vec();
                prop_assert_eq!(Packet::parse(&again), Ok(p));
            }
        }
    }
}
