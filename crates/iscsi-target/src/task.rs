//! Tasks inside the engine: write-data reassembly (immediate, unsolicited and R2T-solicited
//! Data-Out, RFC 7143 §11.7) and the R2Ts that ask for it (§11.8).

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use iscsi_pdu::{DataOut, Itt, Lun, TaskAttribute, Ttt};

/// The engine's name for a task (SCSI command or task management request), unique within a
/// connection. Unlike the ITT it is never reused, so a stale completion cannot hit a new task.
///
/// ```
/// # use std::sync::Arc;
/// # use bytes::Bytes;
/// # use iscsi_pdu::*;
/// # use iscsi_target::*;
/// # let node = TargetNode::new(IscsiName::parse("iqn.2026-01.com.example:disk1")?).with_initiators(InitiatorAcl::AllowAll);
/// # let config = Arc::new(TargetConfig { targets: vec![node], ..TargetConfig::default() });
/// # let mut conn = Connection::new(config, SessionRegistry::new(), [7; 32]);
/// # conn.handle_pdu(Pdu::LoginRequest(LoginRequest {
/// #     transit: true, continue_bit: false, csg: Stage::LoginOperationalNegotiation, nsg: Stage::FullFeaturePhase,
/// #     version_max: 0, version_min: 0, isid: Isid([0x80, 0, 0, 0, 0, 1]), tsih: Tsih(0), itt: Itt(0), cid: Cid(0),
/// #     cmd_sn: SerialNumber(1), exp_stat_sn: SerialNumber(0),
/// #     data: Bytes::from_static(b"InitiatorName=iqn.2010-04.org.ipxe:client1\0TargetName=iqn.2026-01.com.example:disk1\0SessionType=Normal\0"),
/// # }));
/// # while conn.poll_transmit().is_some() {}
/// # let Some(Event::LoggedIn { .. }) = conn.poll_event() else { return Err("login failed".into()) };
/// # conn.handle_pdu(Pdu::ScsiCommand(ScsiCommand {
/// #     read: true, expected_data_length: 512, itt: Itt(1), cmd_sn: SerialNumber(1),
/// #     cdb: [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0], ..ScsiCommand::default()
/// # }));
/// let Some(Event::ScsiCommand(task)) = conn.poll_event() else { return Err("no command".into()) };
/// conn.complete_task(task.id, TaskOutcome::good(Bytes::from(vec![0; 512])))?;
/// // The id is used up: a second completion is an error.
/// let again = conn.complete_task(task.id, TaskOutcome::done(0));
/// assert!(matches!(again, Err(iscsi_target::Error::UnknownTask { id }) if id == task.id));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub u64);

/// The parts of a SCSI command kept until its data is complete.
#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub(crate) lun: Lun,
    pub(crate) cdb: Bytes,
    pub(crate) attribute: TaskAttribute,
    pub(crate) read: bool,
    pub(crate) write: bool,
    pub(crate) bidi_read_length: Option<u32>,
}

/// A task the engine holds.
#[derive(Debug)]
pub(crate) struct Task {
    pub(crate) id: TaskId,
    pub(crate) itt: Itt,
    pub(crate) edtl: u32,
    pub(crate) command: Command,
    pub(crate) state: TaskState,
    /// R2Ts sent (the response's ExpDataSN for a write).
    pub(crate) r2t_count: u32,
    /// Bytes of the connection's write budget ([`Limits::write_budget`](crate::Limits)) this
    /// task holds: its whole write length once it may ask for data, 0 before (and for reads).
    pub(crate) reserved: u32,
}

impl Task {
    /// A write still waiting for room in the write budget before it sends R2Ts.
    pub(crate) fn awaits_budget(&self) -> bool {
        self.reserved == 0 && matches!(self.state, TaskState::Receiving(_))
    }
}

#[derive(Debug)]
pub(crate) enum TaskState {
    /// Waiting for Data-Out.
    Receiving(WriteBuffer),
    /// Handed to the driver.
    Executing,
    /// Aborted while executing: the completion is dropped.
    Aborted,
}

/// One outstanding R2T.
#[derive(Debug, Clone, Copy)]
pub(crate) struct R2tState {
    pub(crate) ttt: Ttt,
    pub(crate) offset: u32,
    pub(crate) length: u32,
    pub(crate) received: u32,
    pub(crate) next_data_sn: u32,
}

/// An R2T to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct R2tRequest {
    pub(crate) ttt: Ttt,
    pub(crate) r2t_sn: u32,
    pub(crate) offset: u32,
    pub(crate) length: u32,
}

/// Why a Data-Out broke the rules: what, and the ASCQ under ASC 4Bh (SPC-4 "DATA PHASE
/// ERROR" and its iSCSI-specific neighbours) that the terminated command reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DataError(pub(crate) &'static str, pub(crate) u8);

/// ASCQ 00h of ASC 4Bh: DATA PHASE ERROR.
const DATA_PHASE_ERROR: u8 = 0x00;
/// ASCQ 01h of ASC 4Bh: INVALID TARGET PORT TRANSFER TAG RECEIVED.
const INVALID_TTT: u8 = 0x01;
/// ASCQ 02h of ASC 4Bh: TOO MUCH WRITE DATA.
const TOO_MUCH_WRITE_DATA: u8 = 0x02;
/// ASCQ 05h of ASC 4Bh: DATA OFFSET ERROR.
const DATA_OFFSET_ERROR: u8 = 0x05;

/// The write data received so far.
#[derive(Debug, Default)]
enum Gathered {
    /// Nothing yet.
    #[default]
    Empty,
    /// One segment that is the whole write, kept as received (no copy): the task is complete
    /// and runs at once.
    Whole(Bytes),
    /// Pieces copied together. A piece is never kept as received while the write is incomplete:
    /// a slice of the connection's input keeps the whole input buffer it came in alive, so a
    /// peer sending small Data-Out PDUs among large junk could make a little data hold much
    /// memory for as long as the write waits.
    Copied(BytesMut),
}

/// Write data being gathered.
#[derive(Debug)]
pub(crate) struct WriteBuffer {
    gathered: Gathered,
    pub(crate) received: u32,
    edtl: u32,
    /// Unsolicited Data-Out still expected: (next DataSN, byte limit).
    unsolicited: Option<(u32, u32)>,
    r2ts: VecDeque<R2tState>,
    next_r2t_sn: u32,
    solicited_to: u32,
}

impl WriteBuffer {
    /// Starts a write with its immediate data; `unsolicited_limit` is set when unsolicited
    /// Data-Out PDUs follow (the command's F bit was clear), to min(FirstBurstLength, EDTL).
    pub(crate) fn new(edtl: u32, immediate: Bytes, unsolicited_limit: Option<u32>) -> Self {
        let mut buffer = WriteBuffer {
            gathered: Gathered::Empty,
            received: 0,
            edtl,
            unsolicited: unsolicited_limit.map(|limit| (0, limit)),
            r2ts: VecDeque::new(),
            next_r2t_sn: 0,
            solicited_to: 0,
        };
        let len = u32::try_from(immediate.len()).unwrap_or(u32::MAX);
        buffer.push(immediate, len);
        buffer.solicited_to = buffer.received;
        buffer
    }

    /// Whether every byte arrived.
    pub(crate) fn is_complete(&self) -> bool {
        self.received >= self.edtl && self.unsolicited.is_none()
    }

    /// R2Ts to send now: while fewer than `max_outstanding` are out and data is missing, each
    /// for at most `max_burst` bytes.
    pub(crate) fn solicit(
        &mut self,
        max_outstanding: u16,
        max_burst: u32,
        next_ttt: &mut u32,
    ) -> Vec<R2tRequest> {
        let mut out = Vec::new();
        if self.unsolicited.is_some() {
            return out;
        }
        while self.r2ts.len() < usize::from(max_outstanding) && self.solicited_to < self.edtl {
            let length = (self.edtl - self.solicited_to).min(max_burst.max(1));
            // TTT 0xffffffff is reserved.
            let ttt = Ttt(*next_ttt);
            *next_ttt = next_ttt.wrapping_add(1);
            if next_ttt == &u32::MAX {
                *next_ttt = 0;
            }
            let r2t = R2tState {
                ttt,
                offset: self.solicited_to,
                length,
                received: 0,
                next_data_sn: 0,
            };
            out.push(R2tRequest {
                ttt,
                r2t_sn: self.next_r2t_sn,
                offset: r2t.offset,
                length,
            });
            self.next_r2t_sn += 1;
            self.solicited_to += length;
            self.r2ts.push_back(r2t);
        }
        out
    }

    /// Takes one Data-Out PDU, checking DataSN, Buffer Offset, length and the F bit (with
    /// DataPDUInOrder and DataSequenceInOrder both Yes, data arrives in order).
    pub(crate) fn accept(&mut self, d: &DataOut) -> Result<(), DataError> {
        let len = u32::try_from(d.data.len())
            .map_err(|_| DataError("data too long", TOO_MUCH_WRITE_DATA))?;
        if d.ttt.is_reserved() {
            let Some((next_sn, limit)) = self.unsolicited else {
                return Err(DataError(
                    "unsolicited Data-Out not allowed here",
                    INVALID_TTT,
                ));
            };
            if d.data_sn.0 != next_sn {
                return Err(DataError(
                    "unsolicited Data-Out DataSN out of order",
                    DATA_PHASE_ERROR,
                ));
            }
            if d.buffer_offset != self.received {
                return Err(DataError(
                    "unsolicited Data-Out Buffer Offset out of order",
                    DATA_OFFSET_ERROR,
                ));
            }
            if u64::from(self.received) + u64::from(len) > u64::from(limit) {
                return Err(DataError(
                    "unsolicited data beyond FirstBurstLength",
                    TOO_MUCH_WRITE_DATA,
                ));
            }
            self.push(d.data.clone(), len);
            self.unsolicited = if d.final_bit {
                None
            } else {
                Some((next_sn.wrapping_add(1), limit))
            };
            if self.unsolicited.is_none() {
                self.solicited_to = self.received;
            }
            return Ok(());
        }
        let Some(r2t) = self.r2ts.front_mut() else {
            return Err(DataError("Data-Out for no outstanding R2T", INVALID_TTT));
        };
        if r2t.ttt != d.ttt {
            return Err(DataError(
                "Data-Out Target Transfer Tag out of order",
                INVALID_TTT,
            ));
        }
        if d.data_sn.0 != r2t.next_data_sn {
            return Err(DataError("Data-Out DataSN out of order", DATA_PHASE_ERROR));
        }
        if d.buffer_offset != r2t.offset + r2t.received {
            return Err(DataError(
                "Data-Out Buffer Offset out of order",
                DATA_OFFSET_ERROR,
            ));
        }
        if len > r2t.length - r2t.received {
            return Err(DataError(
                "Data-Out beyond the R2T's Desired Data Transfer Length",
                TOO_MUCH_WRITE_DATA,
            ));
        }
        r2t.received += len;
        r2t.next_data_sn = r2t.next_data_sn.wrapping_add(1);
        let done = r2t.received == r2t.length;
        if d.final_bit && !done {
            return Err(DataError(
                "Data-Out F bit before the end of the R2T",
                DATA_PHASE_ERROR,
            ));
        }
        self.push(d.data.clone(), len);
        if done {
            self.r2ts.pop_front();
        }
        Ok(())
    }

    fn push(&mut self, data: Bytes, len: u32) {
        self.received = self.received.saturating_add(len);
        if data.is_empty() {
            return;
        }
        self.gathered = match std::mem::take(&mut self.gathered) {
            Gathered::Empty if self.received == self.edtl => Gathered::Whole(data),
            Gathered::Empty => Gathered::Copied(BytesMut::from(&data[..])),
            Gathered::Whole(first) => {
                let mut all = BytesMut::with_capacity(first.len() + data.len());
                all.extend_from_slice(&first);
                all.extend_from_slice(&data);
                Gathered::Copied(all)
            }
            Gathered::Copied(mut all) => {
                all.extend_from_slice(&data);
                Gathered::Copied(all)
            }
        };
    }

    /// The reassembled data.
    pub(crate) fn into_bytes(self) -> Bytes {
        match self.gathered {
            Gathered::Empty => Bytes::new(),
            Gathered::Whole(data) => data,
            Gathered::Copied(all) => all.freeze(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iscsi_pdu::SerialNumber;

    fn data_out(ttt: Ttt, data_sn: u32, offset: u32, len: usize, fin: bool) -> DataOut {
        DataOut {
            final_bit: fin,
            lun: Lun::ZERO,
            itt: Itt(1),
            ttt,
            exp_stat_sn: SerialNumber(0),
            data_sn: SerialNumber(data_sn),
            buffer_offset: offset,
            data: Bytes::from(vec![offset as u8; len]),
        }
    }

    #[test]
    fn solicits_within_max_burst_and_outstanding() {
        let mut w = WriteBuffer::new(10_000, Bytes::from(vec![0; 1000]), None);
        let mut ttt = 0;
        let r2ts = w.solicit(2, 4096, &mut ttt);
        assert_eq!(
            r2ts.iter()
                .map(|r| (r.offset, r.length))
                .collect::<Vec<_>>(),
            [(1000, 4096), (5096, 4096)]
        );
        assert!(w.solicit(2, 4096, &mut ttt).is_empty());
        w.accept(&data_out(Ttt(0), 0, 1000, 4096, true)).unwrap();
        let more = w.solicit(2, 4096, &mut ttt);
        assert_eq!(more.len(), 1);
        assert_eq!(
            (more[0].offset, more[0].length, more[0].r2t_sn),
            (9192, 808, 2)
        );
    }

    #[test]
    fn an_incomplete_write_keeps_no_slice_of_the_input() {
        // A small piece of a large input buffer, as the framer hands it over.
        let input = Bytes::from(vec![7u8; 64 * 1024]);
        let mut w = WriteBuffer::new(4096, input.slice(0..512), None);
        let mut ttt = 0;
        let r2t = w.solicit(1, 4096, &mut ttt)[0];
        assert!(
            input.is_unique(),
            "the immediate data still holds the input buffer"
        );
        let mut piece = data_out(r2t.ttt, 0, 512, 0, false);
        piece.data = input.slice(512..1024);
        w.accept(&piece).unwrap();
        drop(piece);
        assert!(input.is_unique(), "a Data-Out still holds the input buffer");
        let rest = data_out(r2t.ttt, 1, 1024, 3072, true);
        w.accept(&rest).unwrap();
        assert!(w.is_complete());
        let data = w.into_bytes();
        assert_eq!(&data[..1024], &[7u8; 1024][..]);
        assert_eq!(&data[1024..], &rest.data[..]);
    }

    #[test]
    fn a_write_that_arrives_whole_is_not_copied() {
        let input = Bytes::from(vec![9u8; 8192]);
        let w = WriteBuffer::new(4096, input.slice(0..4096), None);
        assert!(w.is_complete());
        let data = w.into_bytes();
        assert_eq!(data.as_ptr(), input.as_ptr());
    }

    #[test]
    fn rejects_bad_data_sn_and_offset() {
        let mut w = WriteBuffer::new(1024, Bytes::new(), None);
        let mut ttt = 5;
        w.solicit(1, 4096, &mut ttt);
        assert!(w.accept(&data_out(Ttt(5), 1, 0, 512, false)).is_err());
        assert!(w.accept(&data_out(Ttt(5), 0, 4, 512, false)).is_err());
        assert!(w.accept(&data_out(Ttt(6), 0, 0, 512, false)).is_err());
        w.accept(&data_out(Ttt(5), 0, 0, 512, false)).unwrap();
        assert!(w.accept(&data_out(Ttt(5), 1, 512, 256, true)).is_err());
    }

    proptest::proptest! {
        /// Whatever the lengths, answering every R2T in order with Data-Out PDUs of at most
        /// `segment` bytes reassembles exactly the initiator's buffer, with R2Ts of at most
        /// MaxBurstLength and never more than MaxOutstandingR2T outstanding.
        #[test]
        fn r2t_and_data_out_reassemble_the_buffer(
            edtl in 1u32..40_000,
            immediate in 0u32..5000,
            burst in 512u32..9000,
            outstanding in 1u16..4,
            segment in 1u32..3000,
        ) {
            let immediate = immediate.min(edtl);
            let data: Vec<u8> = (0..edtl).map(|i| (i % 253) as u8).collect();
            let mut w = WriteBuffer::new(edtl, Bytes::copy_from_slice(&data[..immediate as usize]), None);
            let mut ttt = 0;
            let mut queue: VecDeque<R2tRequest> = w.solicit(outstanding, burst, &mut ttt).into();
            let mut r2ts = queue.len();
            while let Some(r2t) = queue.pop_front() {
                proptest::prop_assert!(r2t.length <= burst);
                proptest::prop_assert!(queue.len() < usize::from(outstanding));
                let mut offset = r2t.offset;
                let end = r2t.offset + r2t.length;
                let mut sn = 0;
                while offset < end {
                    let len = segment.min(end - offset);
                    let d = DataOut {
                        final_bit: offset + len == end,
                        lun: Lun::ZERO,
                        itt: Itt(1),
                        ttt: r2t.ttt,
                        exp_stat_sn: SerialNumber(0),
                        data_sn: SerialNumber(sn),
                        buffer_offset: offset,
                        data: Bytes::copy_from_slice(&data[offset as usize..(offset + len) as usize]),
                    };
                    proptest::prop_assert!(w.accept(&d).is_ok());
                    offset += len;
                    sn += 1;
                }
                let more = w.solicit(outstanding, burst, &mut ttt);
                r2ts += more.len();
                queue.extend(more);
            }
            proptest::prop_assert!(w.is_complete());
            proptest::prop_assert_eq!(r2ts as u32, (edtl - immediate).div_ceil(burst));
            let joined = w.into_bytes();
            proptest::prop_assert_eq!(joined.as_ref(), &data[..]);
        }
    }

    #[test]
    fn unsolicited_then_complete() {
        let mut w = WriteBuffer::new(1024, Bytes::from(vec![1; 256]), Some(1024));
        let mut ttt = 0;
        assert!(w.solicit(1, 4096, &mut ttt).is_empty());
        w.accept(&data_out(Ttt::RESERVED, 0, 256, 768, true))
            .unwrap();
        assert!(w.is_complete());
        assert_eq!(w.into_bytes().len(), 1024);
    }
}
