//! [`Pdu`]: every PDU of RFC 7143 §11, parsed from and encoded to complete PDUs.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::ahs::{MAX_AHS_LEN, emit_list};
use crate::bhs::{BHS_LEN, Bhs};
use crate::codec::{Codec, Parts};
use crate::digest::{self, Digests};
use crate::*;

/// Largest DataSegmentLength the 24-bit field can hold.
///
/// ```
/// use iscsi_pdu::{Digests, Error, MAX_DATA_SEGMENT_LEN, Pdu, ScsiCommand};
/// let data = bytes::Bytes::from(vec![0u8; MAX_DATA_SEGMENT_LEN as usize + 1]);
/// let cmd = Pdu::ScsiCommand(ScsiCommand { write: true, data, ..ScsiCommand::default() });
/// let err = cmd.encode(Digests::NONE).err();
/// assert!(matches!(err, Some(Error::DataSegmentTooLong { max: MAX_DATA_SEGMENT_LEN, .. })));
/// ```
pub const MAX_DATA_SEGMENT_LEN: u32 = 0x00ff_ffff;

/// One iSCSI PDU, typed by opcode.
///
/// Parsing never panics and never copies the AHS or data segment: they are slices of the
/// input [`Bytes`]. Encoding computes every derived field (TotalAHSLength,
/// DataSegmentLength, padding, digests) itself.
///
/// ```
/// use iscsi_pdu::*;
/// let nop = Pdu::NopOut(NopOut { immediate: true, lun: Lun::ZERO, itt: Itt::RESERVED,
///     ttt: Ttt::RESERVED, cmd_sn: SerialNumber(1), exp_stat_sn: SerialNumber(1),
///     data: bytes::Bytes::new() });
/// let wire = nop.to_bytes(Digests::ALL)?;
/// assert_eq!(wire.len(), 48 + 4); // BHS + header digest; no data, so no data digest
/// assert_eq!(Pdu::parse(wire.into(), Digests::ALL)?, nop);
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)] // each variant is documented by its payload type
pub enum Pdu {
    NopOut(NopOut),
    ScsiCommand(ScsiCommand),
    TaskMgmtRequest(TaskMgmtRequest),
    LoginRequest(LoginRequest),
    TextRequest(TextRequest),
    DataOut(DataOut),
    LogoutRequest(LogoutRequest),
    SnackRequest(SnackRequest),
    NopIn(NopIn),
    ScsiResponse(ScsiResponse),
    TaskMgmtResponse(TaskMgmtResponse),
    LoginResponse(LoginResponse),
    TextResponse(TextResponse),
    DataIn(DataIn),
    LogoutResponse(LogoutResponse),
    ReadyToTransfer(ReadyToTransfer),
    AsyncMessage(AsyncMessage),
    Reject(Reject),
    /// An opcode this crate does not know, kept whole.
    Unknown(UnknownPdu),
}

/// Applies `$body` to the typed payload of every known kind; `$unknown` handles `Unknown`.
macro_rules! each_kind {
    ($pdu:expr, $p:ident => $body:expr, $u:ident => $unknown:expr) => {
        match $pdu {
            Pdu::NopOut($p) => $body,
            Pdu::ScsiCommand($p) => $body,
            Pdu::TaskMgmtRequest($p) => $body,
            Pdu::LoginRequest($p) => $body,
            Pdu::TextRequest($p) => $body,
            Pdu::DataOut($p) => $body,
            Pdu::LogoutRequest($p) => $body,
            Pdu::SnackRequest($p) => $body,
            Pdu::NopIn($p) => $body,
            Pdu::ScsiResponse($p) => $body,
            Pdu::TaskMgmtResponse($p) => $body,
            Pdu::LoginResponse($p) => $body,
            Pdu::TextResponse($p) => $body,
            Pdu::DataIn($p) => $body,
            Pdu::LogoutResponse($p) => $body,
            Pdu::ReadyToTransfer($p) => $body,
            Pdu::AsyncMessage($p) => $body,
            Pdu::Reject($p) => $body,
            Pdu::Unknown($u) => $unknown,
        }
    };
}

/// Where the segments of a PDU lie, computed from its BHS.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    /// End of the AHS (= start of the header digest).
    pub(crate) header_end: usize,
    /// Start of the data segment.
    pub(crate) data_start: usize,
    /// DataSegmentLength.
    pub(crate) data_len: usize,
    /// Total length, padding and digests included.
    pub(crate) total: usize,
    pub(crate) digests: Digests,
}

impl Layout {
    #[inline]
    pub(crate) fn of<T: AsRef<[u8]>>(bhs: &Bhs<T>, digests: Digests) -> Self {
        let header_end = BHS_LEN + bhs.total_ahs_len();
        let data_start = header_end + 4 * usize::from(digests.header);
        let data_len = bhs.data_segment_len() as usize;
        let data_end = data_start + data_len.next_multiple_of(4);
        let total = data_end + 4 * usize::from(digests.data && data_len > 0);
        Layout {
            header_end,
            data_start,
            data_len,
            total,
            digests,
        }
    }

    /// Checks the digests of a complete PDU `buf` (of exactly `total` bytes).
    pub(crate) fn verify(&self, buf: &[u8], header_checked: bool) -> Result<(), Error> {
        if self.digests.header && !header_checked {
            self.verify_header(buf)?;
        }
        if self.digests.data && self.data_len > 0 {
            let end = self.total - 4;
            digest::verify(
                &[&buf[self.data_start..end]],
                word(buf, end),
                digest::data_error,
            )?;
        }
        Ok(())
    }

    /// Checks the header digest; `buf` holds at least `data_start` bytes.
    pub(crate) fn verify_header(&self, buf: &[u8]) -> Result<(), Error> {
        digest::verify(
            &[&buf[..self.header_end]],
            word(buf, self.header_end),
            digest::header_error,
        )
    }
}

fn word(buf: &[u8], at: usize) -> [u8; 4] {
    [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]
}

impl Pdu {
    /// Parses one complete PDU: exactly the bytes from its BHS to the end of its data digest.
    ///
    /// ```
    /// use iscsi_pdu::{Digests, Error, Pdu, ScsiCommand};
    /// let cmd = ScsiCommand { read: true, expected_data_length: 512, ..ScsiCommand::default() };
    /// let cmd = Pdu::ScsiCommand(cmd);
    /// let mut wire = cmd.to_bytes(Digests::NONE)?;
    /// assert_eq!(Pdu::parse(wire.clone().into(), Digests::NONE)?, cmd);
    /// wire.push(0);
    /// let trailing = Error::TrailingBytes { expected: 48, have: 49 };
    /// assert_eq!(Pdu::parse(wire.into(), Digests::NONE), Err(trailing));
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Truncated`] or [`Error::TrailingBytes`] if `pdu` is not exactly one PDU long;
    /// [`Error::HeaderDigest`] or [`Error::DataDigest`]; and the content errors of each kind
    /// ([`Error::InvalidField`], [`Error::UnexpectedSegment`], [`Error::AhsOverrun`]).
    pub fn parse(pdu: Bytes, digests: Digests) -> Result<Pdu, Error> {
        let bhs = Bhs::new_checked(&pdu[..])?;
        let layout = Layout::of(&bhs, digests);
        match pdu.len().cmp(&layout.total) {
            core::cmp::Ordering::Less => {
                return Err(Error::Truncated {
                    needed: layout.total,
                    have: pdu.len(),
                });
            }
            core::cmp::Ordering::Greater => {
                return Err(Error::TrailingBytes {
                    expected: layout.total,
                    have: pdu.len(),
                });
            }
            core::cmp::Ordering::Equal => {}
        }
        Self::parse_framed(&pdu, layout, false)
    }

    /// Parses a PDU whose length is known to match `layout`.
    #[inline]
    pub(crate) fn parse_framed(
        pdu: &Bytes,
        layout: Layout,
        header_checked: bool,
    ) -> Result<Pdu, Error> {
        layout.verify(pdu, header_checked)?;
        let parts = Parts {
            bhs: Bhs::new_unchecked(&pdu[..BHS_LEN]),
            ahs: pdu.slice(BHS_LEN..layout.header_end),
            data: pdu.slice(layout.data_start..layout.data_start + layout.data_len),
        };
        Ok(match parts.bhs.opcode() {
            Opcode::NopOut => Pdu::NopOut(Codec::parse(&parts)?),
            Opcode::ScsiCommand => Pdu::ScsiCommand(Codec::parse(&parts)?),
            Opcode::TaskMgmtRequest => Pdu::TaskMgmtRequest(Codec::parse(&parts)?),
            Opcode::LoginRequest => Pdu::LoginRequest(Codec::parse(&parts)?),
            Opcode::TextRequest => Pdu::TextRequest(Codec::parse(&parts)?),
            Opcode::DataOut => Pdu::DataOut(Codec::parse(&parts)?),
            Opcode::LogoutRequest => Pdu::LogoutRequest(Codec::parse(&parts)?),
            Opcode::SnackRequest => Pdu::SnackRequest(Codec::parse(&parts)?),
            Opcode::NopIn => Pdu::NopIn(Codec::parse(&parts)?),
            Opcode::ScsiResponse => Pdu::ScsiResponse(Codec::parse(&parts)?),
            Opcode::TaskMgmtResponse => Pdu::TaskMgmtResponse(Codec::parse(&parts)?),
            Opcode::LoginResponse => Pdu::LoginResponse(Codec::parse(&parts)?),
            Opcode::TextResponse => Pdu::TextResponse(Codec::parse(&parts)?),
            Opcode::DataIn => Pdu::DataIn(Codec::parse(&parts)?),
            Opcode::LogoutResponse => Pdu::LogoutResponse(Codec::parse(&parts)?),
            Opcode::ReadyToTransfer => Pdu::ReadyToTransfer(Codec::parse(&parts)?),
            Opcode::AsyncMessage => Pdu::AsyncMessage(Codec::parse(&parts)?),
            Opcode::Reject => Pdu::Reject(Codec::parse(&parts)?),
            Opcode::Unknown(_) => {
                let mut header = [0u8; BHS_LEN];
                header.copy_from_slice(&pdu[..BHS_LEN]);
                Pdu::Unknown(UnknownPdu::from_parts(&header, parts.ahs, parts.data))
            }
        })
    }

    /// The opcode.
    ///
    /// ```
    /// use iscsi_pdu::{Opcode, Pdu, ScsiCommand};
    /// assert_eq!(Pdu::ScsiCommand(ScsiCommand::default()).opcode(), Opcode::ScsiCommand);
    /// ```
    pub fn opcode(&self) -> Opcode {
        each_kind!(self, p => opcode_of(p), u => u.opcode())
    }

    /// The Initiator Task Tag (reserved for Reject and Asynchronous Message).
    ///
    /// ```
    /// use iscsi_pdu::{Itt, Pdu, Reject, RejectReason, ScsiCommand, SerialNumber};
    /// let cmd = Pdu::ScsiCommand(ScsiCommand { itt: Itt(42), ..ScsiCommand::default() });
    /// assert_eq!(cmd.itt(), Itt(42));
    /// let sn = SerialNumber(1);
    /// let reject = Reject::for_header(RejectReason::ProtocolError, &[0; 48], sn, sn, sn);
    /// assert_eq!(Pdu::Reject(reject).itt(), Itt::RESERVED);
    /// ```
    pub fn itt(&self) -> Itt {
        match self {
            Pdu::NopOut(p) => p.itt,
            Pdu::ScsiCommand(p) => p.itt,
            Pdu::TaskMgmtRequest(p) => p.itt,
            Pdu::LoginRequest(p) => p.itt,
            Pdu::TextRequest(p) => p.itt,
            Pdu::DataOut(p) => p.itt,
            Pdu::LogoutRequest(p) => p.itt,
            Pdu::SnackRequest(p) => p.itt,
            Pdu::NopIn(p) => p.itt,
            Pdu::ScsiResponse(p) => p.itt,
            Pdu::TaskMgmtResponse(p) => p.itt,
            Pdu::LoginResponse(p) => p.itt,
            Pdu::TextResponse(p) => p.itt,
            Pdu::DataIn(p) => p.itt,
            Pdu::LogoutResponse(p) => p.itt,
            Pdu::ReadyToTransfer(p) => p.itt,
            // Their encoders always write the reserved value.
            Pdu::AsyncMessage(_) | Pdu::Reject(_) => Itt::RESERVED,
            Pdu::Unknown(u) => u.itt(),
        }
    }

    /// The data segment, for the kinds that carry one.
    ///
    /// ```
    /// use iscsi_pdu::*;
    /// let data = bytes::Bytes::from_static(b"abc");
    /// let cmd = Pdu::ScsiCommand(ScsiCommand { data, ..ScsiCommand::default() });
    /// assert_eq!(cmd.data().map(|d| &d[..]), Some(&b"abc"[..]));
    /// let logout = Pdu::LogoutRequest(LogoutRequest { immediate: true,
    ///     reason: LogoutReason::CloseSession, itt: Itt(1), cid: Cid(0), cmd_sn: SerialNumber(1),
    ///     exp_stat_sn: SerialNumber(1) });
    /// assert_eq!(logout.data(), None); // a Logout Request has no data segment
    /// ```
    pub fn data(&self) -> Option<&Bytes> {
        each_kind!(self, p => p.data(), u => Some(&u.data))
    }

    /// Encodes the PDU. The result is a [`Buf`] of up to three chunks (header, data, padding
    /// and data digest): the data segment is not copied, and without an AHS the header is held
    /// inline, so encoding allocates nothing.
    ///
    /// ```
    /// use bytes::Buf;
    /// use iscsi_pdu::{Digests, Pdu, ScsiCommand};
    /// let data = bytes::Bytes::from_static(b"abc");
    /// let cmd = Pdu::ScsiCommand(ScsiCommand { write: true, data, ..ScsiCommand::default() });
    /// let mut encoded = cmd.encode(Digests::NONE)?;
    /// assert_eq!(encoded.remaining(), 48 + 4); // "abc" padded to a whole word
    /// let wire = encoded.copy_to_bytes(encoded.remaining());
    /// assert_eq!(wire, cmd.to_bytes(Digests::NONE)?);
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::DataSegmentTooLong`] for data over 16 MiB − 1 bytes, [`Error::AhsTooLong`] for
    /// an AHS over 1020 bytes (or an unknown PDU's AHS that is not a multiple of 4).
    pub fn encode(&self, digests: Digests) -> Result<EncodedPdu, Error> {
        let (head, data) = self.encode_head(digests)?;
        let (tail, tail_len) = tail(&data, digests);
        Ok(EncodedPdu {
            head,
            head_pos: 0,
            data,
            tail,
            tail_pos: 0,
            tail_len,
        })
    }

    /// Encodes the PDU into one contiguous `Vec` (copies the data segment).
    ///
    /// ```
    /// use iscsi_pdu::{Digests, Pdu, ScsiCommand};
    /// let data = bytes::Bytes::from_static(b"abcde");
    /// let cmd = Pdu::ScsiCommand(ScsiCommand { write: true, data, ..ScsiCommand::default() });
    /// let wire = cmd.to_bytes(Digests::ALL)?;
    /// assert_eq!(wire.len(), 48 + 4 + 8 + 4); // BHS, header digest, data padded to 8, data digest
    /// assert_eq!(&wire[52..57], b"abcde");
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Pdu::encode`].
    pub fn to_bytes(&self, digests: Digests) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.write_to(digests, &mut out)?;
        Ok(out)
    }

    /// Appends the encoded PDU to `out` (copies the data segment).
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use iscsi_pdu::{Digests, Itt, Pdu, ScsiCommand};
    /// let mut out = BytesMut::new();
    /// for itt in [Itt(1), Itt(2)] {
    ///     let cmd = Pdu::ScsiCommand(ScsiCommand { itt, ..ScsiCommand::default() });
    ///     cmd.encode_into(Digests::NONE, &mut out)?;
    /// }
    /// assert_eq!(out.len(), 2 * 48);
    /// assert_eq!(out[48 + 19], 2); // the low byte of the second PDU's ITT
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Pdu::encode`].
    pub fn encode_into(&self, digests: Digests, out: &mut BytesMut) -> Result<(), Error> {
        self.write_to(digests, out)
    }

    fn write_to<B: BufMut>(&self, digests: Digests, out: &mut B) -> Result<(), Error> {
        let (head, data) = self.encode_head(digests)?;
        let (tail, tail_len) = tail(&data, digests);
        out.put_slice(head.bytes());
        out.put_slice(&data);
        out.put_slice(&tail[..tail_len]);
        Ok(())
    }

    /// The header (BHS, AHS, header digest) and the data segment to send.
    fn encode_head(&self, digests: Digests) -> Result<(Head, Bytes), Error> {
        let mut bhs = [0u8; BHS_LEN];
        let mut ahs = Vec::new();
        let data = match self {
            Pdu::Unknown(u) => {
                bhs = u.header;
                if u.ahs.len() % 4 != 0 {
                    return Err(Error::AhsTooLong {
                        length: u.ahs.len(),
                        max: MAX_AHS_LEN,
                    });
                }
                ahs.extend_from_slice(&u.ahs);
                u.data.clone()
            }
            _ => each_kind!(self, p => {
                p.write_bhs(&mut Bhs::new_unchecked(&mut bhs[..]));
                emit_list(p.ahs(), &mut ahs)?;
                p.data().cloned().unwrap_or_default()
            }, _u => Bytes::new()),
        };
        if ahs.len() > MAX_AHS_LEN {
            return Err(Error::AhsTooLong {
                length: ahs.len(),
                max: MAX_AHS_LEN,
            });
        }
        let data_len = u32::try_from(data.len())
            .ok()
            .filter(|&n| n <= MAX_DATA_SEGMENT_LEN)
            .ok_or(Error::DataSegmentTooLong {
                length: u32::try_from(data.len()).unwrap_or(u32::MAX),
                max: MAX_DATA_SEGMENT_LEN,
            })?;
        let mut view = Bhs::new_unchecked(&mut bhs[..]);
        view.set_total_ahs_len(ahs.len());
        view.set_data_segment_len(data_len);
        let head = if ahs.is_empty() {
            let mut buf = [0u8; BHS_LEN + 4];
            buf[..BHS_LEN].copy_from_slice(&bhs);
            if digests.header {
                let crc = digest::crc32c(&[&bhs]);
                buf[BHS_LEN..].copy_from_slice(&crc.to_le_bytes());
            }
            Head::Inline(buf, BHS_LEN + 4 * usize::from(digests.header))
        } else {
            let mut head = Vec::with_capacity(BHS_LEN + ahs.len() + 4);
            head.extend_from_slice(&bhs);
            head.extend_from_slice(&ahs);
            if digests.header {
                let crc = digest::crc32c(&[&head]);
                head.extend_from_slice(&crc.to_le_bytes());
            }
            Head::Heap(Bytes::from(head))
        };
        Ok((head, data))
    }
}

/// Padding and data digest after `data`: the bytes and how many of them are used.
fn tail(data: &[u8], digests: Digests) -> ([u8; 7], usize) {
    let pad = data.len().next_multiple_of(4) - data.len();
    let mut tail = [0u8; 7];
    let mut len = pad;
    if digests.data && !data.is_empty() {
        let crc = digest::crc32c(&[data, &[0u8; 3][..pad]]);
        tail[pad..pad + 4].copy_from_slice(&crc.to_le_bytes());
        len += 4;
    }
    (tail, len)
}

/// The header of an encoded PDU: inline without an AHS, on the heap with one.
#[derive(Debug, Clone)]
enum Head {
    /// BHS and, if any, the header digest; the length used.
    Inline([u8; BHS_LEN + 4], usize),
    /// BHS, AHS and, if any, the header digest.
    Heap(Bytes),
}

impl Head {
    fn bytes(&self) -> &[u8] {
        match self {
            Head::Inline(buf, len) => &buf[..*len],
            Head::Heap(bytes) => bytes,
        }
    }
}

fn opcode_of<C: Codec>(_: &C) -> Opcode {
    C::OPCODE
}

/// An encoded PDU: header bytes, the data segment (shared, not copied), and padding plus data
/// digest. Implements [`Buf`], with [`Buf::chunks_vectored`] giving all three parts for a
/// vectored write.
///
/// ```
/// use bytes::Buf;
/// use iscsi_pdu::*;
/// let data = bytes::Bytes::from(vec![7u8; 8191]);
/// let pdu = Pdu::DataIn(DataIn { final_bit: true, acknowledge: false, status: None,
///     residual: Residual::None, lun: Lun::ZERO, itt: Itt(1), ttt: Ttt::RESERVED,
///     stat_sn: SerialNumber(0), exp_cmd_sn: SerialNumber(0), max_cmd_sn: SerialNumber(0),
///     data_sn: SerialNumber(0), buffer_offset: 0, data: data.clone() });
/// let encoded = pdu.encode(Digests::ALL)?;
/// assert_eq!(encoded.len(), 48 + 4 + 8192 + 4);
/// let mut slices = [std::io::IoSlice::new(&[]); 4];
/// assert_eq!(encoded.chunks_vectored(&mut slices), 3);
/// assert_eq!(slices[1].as_ptr(), data.as_ptr()); // the payload itself, not a copy
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct EncodedPdu {
    head: Head,
    head_pos: usize,
    data: Bytes,
    tail: [u8; 7],
    tail_pos: usize,
    tail_len: usize,
}

impl EncodedPdu {
    /// Bytes left to send.
    ///
    /// ```
    /// use bytes::Buf;
    /// use iscsi_pdu::{Digests, Pdu, ScsiCommand};
    /// let mut encoded = Pdu::ScsiCommand(ScsiCommand::default()).encode(Digests::ALL)?;
    /// assert_eq!(encoded.len(), 48 + 4);
    /// encoded.advance(50); // a partial write
    /// assert_eq!(encoded.len(), 2);
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.remaining()
    }

    /// Whether everything was sent.
    ///
    /// ```
    /// use bytes::Buf;
    /// use iscsi_pdu::{Digests, Pdu, ScsiCommand};
    /// let mut encoded = Pdu::ScsiCommand(ScsiCommand::default()).encode(Digests::NONE)?;
    /// assert!(!encoded.is_empty());
    /// encoded.advance(48);
    /// assert!(encoded.is_empty());
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        !self.has_remaining()
    }

    fn parts(&self) -> [&[u8]; 3] {
        [
            &self.head.bytes()[self.head_pos..],
            &self.data,
            &self.tail[self.tail_pos..self.tail_len],
        ]
    }
}

impl Buf for EncodedPdu {
    fn remaining(&self) -> usize {
        self.parts().iter().map(|p| p.len()).sum()
    }

    fn chunk(&self) -> &[u8] {
        self.parts()
            .into_iter()
            .find(|p| !p.is_empty())
            .unwrap_or_default()
    }

    /// # Panics
    /// If `cnt` exceeds [`Buf::remaining`], as the `Buf` contract allows.
    fn advance(&mut self, mut cnt: usize) {
        let n = cnt.min(self.head.bytes().len() - self.head_pos);
        self.head_pos += n;
        cnt -= n;
        let n = cnt.min(self.data.len());
        self.data.advance(n);
        cnt -= n;
        assert!(
            cnt <= self.tail_len - self.tail_pos,
            "advance past the end of the PDU"
        );
        self.tail_pos += cnt;
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [std::io::IoSlice<'a>]) -> usize {
        let mut n = 0;
        for part in self.parts().into_iter().filter(|p| !p.is_empty()) {
            let Some(slot) = dst.get_mut(n) else { break };
            *slot = std::io::IoSlice::new(part);
            n += 1;
        }
        n
    }
}
