//! One read transfer as a sans-IO state machine: it never touches a socket, a clock or a file.
//!
//! # Call order (as in quinn-proto's `Connection`)
//!
//! 1. [`Transfer::start`] with the parsed RRQ, the file's size and the current time; it refuses
//!    the request with a [`Refusal`] (send its [`Refusal::packet`] and stop) or negotiates the
//!    options (RFC 2347/2348/2349).
//! 2. Loop:
//!    - while [`Transfer::poll_read`] returns a [`ReadRequest`], read up to `len` bytes of the
//!      file at `offset` and hand them to [`Transfer::supply`] (fewer bytes mean end of file),
//!      or call [`Transfer::read_failed`];
//!    - send every datagram [`Transfer::poll_transmit`] returns to the peer;
//!    - if [`Transfer::outcome`] is `Some`, stop;
//!    - wait for a datagram from the peer ([`Transfer::handle_datagram`]) or until
//!      [`Transfer::poll_timeout`] ([`Transfer::handle_timeout`]).
//!
//! # Behaviour
//!
//! - Lock-step, one block in flight. A block is retransmitted only on timeout, never because of a
//!   duplicate ACK: that is the fix for the Sorcerer's Apprentice syndrome (RFC 1123 4.2.3.1).
//!   After `max_retries` timeouts in a row the transfer gives up.
//! - Block numbers wrap from 65535 to 0 (as tftp-hpa and iPXE expect), so files of any size up
//!   to the server's limit transfer.
//! - netascii is converted properly (RFC 764 as RFC 1350 asks): LF becomes CR LF and a bare CR
//!   becomes CR NUL. Since the size on the wire is then unknown in advance, `tsize` is not
//!   acknowledged in netascii mode.
//! - Memory per transfer is bounded by about three blocks, whatever the file's size: the file is
//!   streamed through [`ReadRequest`]s and at most `size` bytes (the size at the start) are sent.

use std::time::{Duration, Instant};

use super::Config;
use super::packet::{ErrorCode, MAX_PACKET, Mode, Packet, Request, error_packet};

/// RFC 1350's block size, used unless `blksize` is negotiated.
pub(crate) const DEFAULT_BLKSIZE: usize = 512;
/// RFC 2348: "Valid values range between "8" and "65464" octets, inclusive."
pub(crate) const MIN_BLKSIZE: usize = 8;
/// The largest block size RFC 2348 allows.
pub(crate) const MAX_BLKSIZE: usize = MAX_PACKET - 4;

/// Why a request is refused before any data moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// The ERROR packet's code.
    pub(crate) code: ErrorCode,
    /// Its message.
    pub(crate) message: String,
}

impl Refusal {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
        }
    }

    /// The ERROR packet to send.
    pub(crate) fn packet(&self) -> Vec<u8> {
        error_packet(self.code, &self.message)
    }
}

/// Bytes of the file the transfer needs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReadRequest {
    /// Where in the file.
    pub(crate) offset: u64,
    /// At most this many bytes; fewer only at end of file.
    pub(crate) len: usize,
}

/// How a transfer ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The client acknowledged the last block.
    Complete {
        /// Bytes sent (after netascii conversion).
        bytes: u64,
    },
    /// The client sent an ERROR packet.
    ClientError {
        /// Its code.
        code: ErrorCode,
        /// Its message.
        message: String,
    },
    /// No answer after the last retransmission.
    TimedOut,
    /// The client sent something that does not belong in a read transfer.
    Protocol(String),
    /// Reading the file failed.
    ReadFailed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// OACK sent, waiting for ACK 0.
    Negotiating,
    /// Gathering the bytes of block `block`.
    Filling,
    /// Block `block` sent, waiting for its ACK.
    WaitingAck {
        last: bool,
    },
    Done,
}

/// A read transfer (see the module documentation for the call order).
#[derive(Debug)]
pub(crate) struct Transfer {
    mode: Mode,
    blksize: usize,
    timeout: Duration,
    max_retries: u32,
    size: u64,
    state: State,
    /// The block in flight or being filled, counted without wrapping (0 is the OACK).
    block: u64,
    /// The last packet sent, for retransmission.
    in_flight: Vec<u8>,
    transmit: Option<Vec<u8>>,
    deadline: Option<Instant>,
    retries: u32,
    /// File bytes read so far.
    raw_offset: u64,
    eof: bool,
    /// Bytes for the wire (converted in netascii mode) not yet put into a block.
    pending: Vec<u8>,
    read_wanted: Option<ReadRequest>,
    sent: u64,
    outcome: Option<Outcome>,
}

/// The options accepted and the values they take.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Negotiated {
    blksize: usize,
    timeout: Duration,
    oack: Vec<(String, String)>,
}

fn negotiate(request: &Request, size: u64, config: &Config) -> Negotiated {
    let mut n = Negotiated {
        blksize: DEFAULT_BLKSIZE,
        timeout: config.timeout,
        oack: Vec::new(),
    };
    let mut seen: Vec<String> = Vec::new();
    for (name, value) in &request.options {
        let name = name.to_ascii_lowercase();
        // A repeated option: the first one counts.
        if seen.contains(&name) {
            continue;
        }
        seen.push(name.clone());
        let value = value.trim();
        match name.as_str() {
            // RFC 2348: the server may answer with a smaller size; below 8 it is invalid and
            // ignored (the transfer then uses 512).
            "blksize" => {
                let Ok(asked) = value.parse::<u32>() else {
                    continue;
                };
                let asked = usize::try_from(asked).unwrap_or(usize::MAX);
                if asked < MIN_BLKSIZE {
                    continue;
                }
                let limit = usize::from(config.max_blksize).clamp(MIN_BLKSIZE, MAX_BLKSIZE);
                n.blksize = asked.min(limit);
                n.oack.push((name, n.blksize.to_string()));
            }
            // RFC 2349: "the server [...] will place the size of the file in the OACK".
            "tsize" if request.mode == Mode::Octet => {
                n.oack.push((name, size.to_string()));
            }
            // RFC 2349: "Valid values range between "1" and "255" seconds, inclusive."
            "timeout" => {
                let Ok(secs) = value.parse::<u8>() else {
                    continue;
                };
                if secs == 0 {
                    continue;
                }
                n.timeout = Duration::from_secs(u64::from(secs));
                n.oack.push((name, secs.to_string()));
            }
            // Unknown options (windowsize, multicast, ...) are not acknowledged: RFC 2347 lets
            // the server ignore them.
            _ => {}
        }
    }
    n
}

/// netascii (RFC 764): CR LF ends a line and a bare CR is CR NUL. Each input byte maps on its
/// own, so conversion needs no state across reads.
fn to_netascii(data: &[u8], out: &mut Vec<u8>) {
    for &b in data {
        match b {
            b'\n' => out.extend_from_slice(b"\r\n"),
            b'\r' => out.extend_from_slice(b"\r\0"),
            _ => out.push(b),
        }
    }
}

impl Transfer {
    /// Starts a transfer of a file of `size` bytes for `request`, or refuses it.
    ///
    /// # Errors
    ///
    /// A [`Refusal`] for a WRQ-like mode (`mail`) or a file larger than `config.max_file_size`.
    pub(crate) fn start(
        request: &Request,
        size: u64,
        config: &Config,
        now: Instant,
    ) -> Result<Transfer, Refusal> {
        if request.mode == Mode::Mail {
            return Err(Refusal::new(
                ErrorCode::ILLEGAL_OPERATION,
                "mail mode is not supported",
            ));
        }
        if size > config.max_file_size {
            return Err(Refusal::new(
                ErrorCode::DISK_FULL,
                format!(
                    "file too large ({size} bytes; this server's limit is {})",
                    config.max_file_size
                ),
            ));
        }
        let n = negotiate(request, size, config);
        let mut t = Transfer {
            mode: request.mode,
            blksize: n.blksize,
            timeout: n.timeout,
            max_retries: config.max_retries,
            size,
            state: State::Filling,
            block: 1,
            in_flight: Vec::new(),
            transmit: None,
            deadline: None,
            retries: 0,
            raw_offset: 0,
            eof: false,
            pending: Vec::new(),
            read_wanted: None,
            sent: 0,
            outcome: None,
        };
        if n.oack.is_empty() {
            t.advance(now);
        } else {
            t.state = State::Negotiating;
            t.block = 0;
            t.send(Packet::Oack { options: n.oack }.to_vec(), now);
        }
        Ok(t)
    }

    /// The negotiated block size.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn blksize(&self) -> usize {
        self.blksize
    }

    /// The negotiated retransmission timeout.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The file bytes the transfer needs before it can send its next block.
    pub(crate) fn poll_read(&self) -> Option<ReadRequest> {
        self.read_wanted
    }

    /// The bytes asked for by [`Transfer::poll_read`]; fewer than asked means end of file.
    /// Extra bytes are ignored, and so is a call nobody asked for.
    pub(crate) fn supply(&mut self, now: Instant, data: &[u8]) {
        let Some(wanted) = self.read_wanted.take() else {
            return;
        };
        let data = data.get(..wanted.len).unwrap_or(data);
        if data.len() < wanted.len {
            self.eof = true;
        }
        self.raw_offset += data.len() as u64;
        match self.mode {
            Mode::Netascii => to_netascii(data, &mut self.pending),
            Mode::Octet | Mode::Mail => self.pending.extend_from_slice(data),
        }
        self.advance(now);
    }

    /// Reading the file failed: tell the client and stop.
    pub(crate) fn read_failed(&mut self) {
        self.read_wanted = None;
        self.finish(
            Outcome::ReadFailed,
            Some(error_packet(ErrorCode::NOT_DEFINED, "read error")),
        );
    }

    /// A datagram from the peer (the driver has checked its source).
    pub(crate) fn handle_datagram(&mut self, now: Instant, bytes: &[u8]) {
        if self.state == State::Done {
            return;
        }
        let packet = match Packet::parse(bytes) {
            Ok(p) => p,
            Err(e) => {
                let message = format!("malformed packet: {e}");
                let reply = error_packet(ErrorCode::ILLEGAL_OPERATION, &message);
                self.finish(Outcome::Protocol(message), Some(reply));
                return;
            }
        };
        match packet {
            Packet::Ack { block } => self.handle_ack(now, block),
            Packet::Error { code, message } => {
                // RFC 1350: an ERROR packet is never acknowledged or answered.
                self.finish(Outcome::ClientError { code, message }, None);
            }
            Packet::Rrq(_) | Packet::Wrq(_) | Packet::Data { .. } | Packet::Oack { .. } => {
                let message = "only ACK and ERROR belong in a read transfer".to_owned();
                let reply = error_packet(ErrorCode::ILLEGAL_OPERATION, &message);
                self.finish(Outcome::Protocol(message), Some(reply));
            }
        }
    }

    fn handle_ack(&mut self, now: Instant, block: u16) {
        // Only the ACK of the block in flight moves the transfer. Older (duplicate) ACKs are
        // ignored, without retransmitting: no Sorcerer's Apprentice.
        if block != self.block as u16 {
            return;
        }
        match self.state {
            State::Negotiating => {
                self.block = 1;
                self.state = State::Filling;
                self.deadline = None;
                self.advance(now);
            }
            State::WaitingAck { last: true } => {
                let bytes = self.sent;
                self.finish(Outcome::Complete { bytes }, None);
            }
            State::WaitingAck { last: false } => {
                self.block += 1;
                self.state = State::Filling;
                self.deadline = None;
                self.advance(now);
            }
            // While filling no block is in flight, so no ACK can match the next one.
            State::Filling | State::Done => {}
        }
    }

    /// Call when [`Transfer::poll_timeout`] has passed: retransmit, or give up.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        let Some(deadline) = self.deadline else {
            return;
        };
        if now < deadline || self.state == State::Done {
            return;
        }
        if self.retries >= self.max_retries {
            let reply = error_packet(ErrorCode::NOT_DEFINED, "transfer timed out");
            self.finish(Outcome::TimedOut, Some(reply));
            return;
        }
        self.retries += 1;
        self.transmit = Some(self.in_flight.clone());
        self.deadline = Some(now + self.timeout);
    }

    /// The next datagram to send to the peer.
    pub(crate) fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.take()
    }

    /// When to call [`Transfer::handle_timeout`]; `None` while waiting for a read or when done.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// How the transfer ended, once it has.
    pub(crate) fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// Builds the block being filled if its bytes are there, or asks for them.
    fn advance(&mut self, now: Instant) {
        if self.state != State::Filling {
            return;
        }
        if !self.eof && self.raw_offset >= self.size {
            // Never more than the size announced at the start, even if the file grows.
            self.eof = true;
        }
        if self.pending.len() < self.blksize && !self.eof {
            let remaining = self.size - self.raw_offset;
            let len = usize::try_from(remaining)
                .unwrap_or(usize::MAX)
                .min(self.blksize);
            self.read_wanted = Some(ReadRequest {
                offset: self.raw_offset,
                len,
            });
            return;
        }
        let take = self.pending.len().min(self.blksize);
        let data: Vec<u8> = self.pending.drain(..take).collect();
        let last = data.len() < self.blksize;
        self.sent += data.len() as u64;
        let packet = Packet::Data {
            block: self.block as u16,
            data: &data,
        }
        .to_vec();
        self.state = State::WaitingAck { last };
        self.send(packet, now);
    }

    fn send(&mut self, packet: Vec<u8>, now: Instant) {
        self.transmit = Some(packet.clone());
        self.in_flight = packet;
        self.retries = 0;
        self.deadline = Some(now + self.timeout);
    }

    fn finish(&mut self, outcome: Outcome, reply: Option<Vec<u8>>) {
        self.state = State::Done;
        self.deadline = None;
        self.read_wanted = None;
        self.transmit = reply;
        self.outcome = Some(outcome);
    }
}

#[cfg(test)]
#[path = "transfer_tests.rs"]
mod tests;
