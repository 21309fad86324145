//! The streaming framer: bytes as they arrive in, whole PDUs out (tokio-util's
//! `Decoder` shape, httparse's `Partial`).

use bytes::{Bytes, BytesMut};

use crate::ahs::MAX_AHS_LEN;
use crate::bhs::{BHS_LEN, Bhs};
use crate::pdu::Layout;
use crate::{Digests, Error, Itt, Opcode, Pdu};

/// Limits and digests of one connection's receive side.
///
/// ```
/// use iscsi_pdu::{Digests, FramerConfig};
/// let mut config = FramerConfig::default();
/// assert_eq!(config.max_recv_data_segment_length, 8192); // the RFC default, and the login limit
/// config.max_recv_data_segment_length = 262_144;
/// config.digests = Digests::ALL;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramerConfig {
    /// The MaxRecvDataSegmentLength this side declared (RFC 7143 §13.12): longer data segments
    /// are refused before any of their bytes are buffered.
    pub max_recv_data_segment_length: u32,
    /// Largest AHS accepted, in bytes (at most 1020, which the 1-byte TotalAHSLength allows).
    pub max_ahs_length: usize,
    /// Digests in force.
    pub digests: Digests,
}

impl Default for FramerConfig {
    fn default() -> Self {
        FramerConfig {
            max_recv_data_segment_length: 8192,
            max_ahs_length: MAX_AHS_LEN,
            digests: Digests::NONE,
        }
    }
}

/// What [`Framer::decode`] found.
///
/// ```
/// use bytes::BytesMut;
/// use iscsi_pdu::{Framed, Framer, FramerConfig, Opcode};
/// let mut framer = Framer::new(FramerConfig::default());
/// let mut buf = BytesMut::from(&[0u8; 20][..]); // the start of an all-zero NOP-Out
/// assert_eq!(framer.decode(&mut buf)?, Framed::NeedMore(28));
/// buf.extend_from_slice(&[0u8; 28]);
/// let Framed::Pdu(pdu) = framer.decode(&mut buf)? else { panic!("expected a whole PDU") };
/// assert_eq!(pdu.opcode(), Opcode::NopOut);
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framed {
    /// A whole, valid PDU (consumed from the buffer).
    Pdu(Pdu),
    /// A whole PDU whose framing is intact but whose content is bad (consumed from the buffer):
    /// answer it with a Reject ([`Error::reject_reason`]) and carry on.
    Malformed(Malformed),
    /// The buffer holds only part of the next PDU: at least this many more bytes are needed.
    NeedMore(usize),
}

/// A PDU that framed correctly but did not parse; see [`Framed::Malformed`].
///
/// ```
/// use bytes::BytesMut;
/// use iscsi_pdu::{Error, Framed, Framer, FramerConfig, RejectReason};
/// let mut pdu = [0u8; 52];
/// pdu[4] = 1; // a NOP-Out with a 4-byte AHS, which NOP-Out must not carry
/// let mut framer = Framer::new(FramerConfig::default());
/// let Framed::Malformed(bad) = framer.decode(&mut BytesMut::from(&pdu[..]))? else { panic!() };
/// assert_eq!(bad.header.len(), 48);
/// assert_eq!(bad.error.reject_reason(), Some(RejectReason::InvalidPduField));
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// Its BHS, to return in the Reject's data segment.
    pub header: Bytes,
    /// What is wrong.
    pub error: Error,
}

impl Malformed {
    /// The offending PDU's opcode.
    ///
    /// ```
    /// use iscsi_pdu::{Error, Malformed, Opcode};
    /// let mut header = [0u8; 48];
    /// header[0] = 0x06; // Logout Request
    /// let header = bytes::Bytes::copy_from_slice(&header);
    /// let bad = Malformed { header, error: Error::AhsOverrun { offset: 48 } };
    /// assert_eq!(bad.opcode(), Opcode::LogoutRequest);
    /// ```
    pub fn opcode(&self) -> Opcode {
        Bhs::new_unchecked(&self.header[..]).opcode()
    }

    /// The offending PDU's Initiator Task Tag.
    ///
    /// ```
    /// use iscsi_pdu::{Error, Itt, Malformed};
    /// let mut header = [0u8; 48];
    /// header[16..20].copy_from_slice(&[0, 0, 0, 9]);
    /// let header = bytes::Bytes::copy_from_slice(&header);
    /// let bad = Malformed { header, error: Error::AhsOverrun { offset: 48 } };
    /// assert_eq!(bad.itt(), Itt(9));
    /// ```
    pub fn itt(&self) -> Itt {
        Bhs::new_unchecked(&self.header[..]).itt()
    }
}

/// Splits a byte stream into PDUs.
///
/// Feed it the connection's receive buffer; each call consumes at most one PDU. It reads the BHS,
/// checks the header digest and the AHS and data lengths against the configured limits, and
/// only then says how many more bytes to read: no buffer is ever sized by a length field beyond
/// the negotiated MaxRecvDataSegmentLength. PDUs are split off the buffer without copying.
///
/// Errors are fatal for the connection (the stream can no longer be framed: a header digest
/// error, or a length over the limits); close it.
///
/// ```
/// use bytes::BytesMut;
/// use iscsi_pdu::*;
/// let ping = Pdu::NopOut(NopOut { immediate: true, lun: Lun::ZERO, itt: Itt(1),
///     ttt: Ttt::RESERVED, cmd_sn: SerialNumber(1), exp_stat_sn: SerialNumber(1),
///     data: bytes::Bytes::from_static(b"ping") });
/// let wire = ping.to_bytes(Digests::NONE)?;
///
/// let mut framer = Framer::new(FramerConfig::default());
/// let mut buf = BytesMut::new();
/// buf.extend_from_slice(&wire[..10]);
/// assert_eq!(framer.decode(&mut buf)?, Framed::NeedMore(38));
/// buf.extend_from_slice(&wire[10..]);
/// assert_eq!(framer.decode(&mut buf)?, Framed::Pdu(ping));
/// assert!(buf.is_empty());
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Framer {
    config: FramerConfig,
    /// Layout of the PDU at the front of the buffer, once its header was checked.
    pending: Option<Layout>,
}

impl Framer {
    /// A framer with the given limits.
    ///
    /// ```
    /// use iscsi_pdu::{Digests, Framer, FramerConfig};
    /// let framer = Framer::new(FramerConfig { digests: Digests::ALL, ..FramerConfig::default() });
    /// assert_eq!(framer.config().digests, Digests::ALL);
    /// ```
    pub fn new(config: FramerConfig) -> Self {
        Framer {
            config,
            pending: None,
        }
    }

    /// The limits in force.
    ///
    /// ```
    /// use iscsi_pdu::{Framer, FramerConfig};
    /// let framer = Framer::new(FramerConfig::default());
    /// assert_eq!(framer.config().max_recv_data_segment_length, 8192);
    /// ```
    pub fn config(&self) -> &FramerConfig {
        &self.config
    }

    /// Changes the limits, e.g. after login negotiated digests and MaxRecvDataSegmentLength.
    /// Takes effect from the next PDU that has not started to be decoded.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use iscsi_pdu::{Error, Framed, Framer, FramerConfig};
    /// let mut header = [0u8; 48];
    /// header[5..8].copy_from_slice(&[0x00, 0x40, 0x00]); // a NOP-Out announcing 16 KiB of data
    /// let mut framer = Framer::new(FramerConfig::default());
    /// let too_long = Err(Error::DataSegmentTooLong { length: 16384, max: 8192 });
    /// assert_eq!(framer.decode(&mut BytesMut::from(&header[..])), too_long);
    /// // Login negotiated MaxRecvDataSegmentLength=65536.
    /// framer.set_config(FramerConfig { max_recv_data_segment_length: 65536, ..*framer.config() });
    /// assert_eq!(framer.decode(&mut BytesMut::from(&header[..]))?, Framed::NeedMore(16384));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn set_config(&mut self, config: FramerConfig) {
        self.config = config;
    }

    /// Decodes the next PDU at the front of `src`, consuming it.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use iscsi_pdu::{Digests, Error, Framer, FramerConfig};
    /// let config = FramerConfig { digests: Digests::ALL, ..FramerConfig::default() };
    /// let mut framer = Framer::new(config);
    /// let mut src = BytesMut::from(&[0u8; 52][..]); // a BHS and a wrong header digest
    /// assert!(matches!(framer.decode(&mut src), Err(Error::HeaderDigest { got: 0, .. })));
    /// ```
    ///
    /// # Errors
    /// [`Error::HeaderDigest`], [`Error::DataSegmentTooLong`], [`Error::AhsTooLong`]: the
    /// connection must be closed.
    #[inline]
    pub fn decode(&mut self, src: &mut BytesMut) -> Result<Framed, Error> {
        let layout = match self.pending {
            Some(layout) => layout,
            None => {
                let Ok(bhs) = Bhs::new_checked(&src[..]) else {
                    return Ok(Framed::NeedMore(BHS_LEN - src.len()));
                };
                let layout = self.check_limits(&bhs)?;
                if src.len() < layout.data_start {
                    return Ok(Framed::NeedMore(layout.data_start - src.len()));
                }
                if layout.digests.header {
                    layout.verify_header(src)?;
                }
                layout
            }
        };
        if src.len() < layout.total {
            self.pending = Some(layout);
            return Ok(Framed::NeedMore(layout.total - src.len()));
        }
        self.pending = None;
        let frame = src.split_to(layout.total).freeze();
        Ok(match Pdu::parse_framed(&frame, layout, true) {
            Ok(pdu) => Framed::Pdu(pdu),
            Err(error) => Framed::Malformed(Malformed {
                header: frame.slice(..BHS_LEN),
                error,
            }),
        })
    }

    fn check_limits<T: AsRef<[u8]>>(&self, bhs: &Bhs<T>) -> Result<Layout, Error> {
        let ahs = bhs.total_ahs_len();
        let max_ahs = self.config.max_ahs_length.min(MAX_AHS_LEN);
        if ahs > max_ahs {
            return Err(Error::AhsTooLong {
                length: ahs,
                max: max_ahs,
            });
        }
        let length = bhs.data_segment_len();
        let max = self.config.max_recv_data_segment_length;
        if length > max {
            return Err(Error::DataSegmentTooLong { length, max });
        }
        Ok(Layout::of(bhs, self.config.digests))
    }
}
