//! The transmit queue: PDUs waiting for [`Connection::poll_transmit`](crate::Connection::poll_transmit),
//! Data-In splitting (RFC 7143 §11.7 "SCSI Data-Out & SCSI Data-In") and the stamping of
//! StatSN, ExpCmdSN and MaxCmdSN at the moment a PDU leaves.

use bytes::Bytes;
use iscsi_pdu::{DataIn, Digests, Itt, Lun, Pdu, Residual, ScsiStatus, SerialNumber, Ttt};

/// One entry of the transmit queue.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// A single PDU. `status` PDUs take a StatSN (and advance it).
    Pdu {
        pdu: Pdu,
        status: bool,
        digests: Digests,
    },
    /// The Data-In PDUs of one command, produced lazily one at a time so that a large read
    /// occupies one queue slot and its payload is sliced, never copied.
    DataIn(DataInJob),
}

/// The Data-In PDUs of one read, cut from the task's data.
///
/// Each PDU carries at most the initiator's MaxRecvDataSegmentLength; PDUs never straddle a
/// MaxBurstLength boundary and the F bit ends each burst ("MaxBurstLength: maximum SCSI data
/// payload in bytes in a Data-In or a solicited Data-Out iSCSI sequence", §13.13). DataSN
/// counts from 0 across the whole command; with `status`, the last PDU carries the S bit, the
/// status and the residual (the "phase collapse" of §11.7.3).
#[derive(Debug)]
pub(crate) struct DataInJob {
    itt: Itt,
    data: Bytes,
    offset: usize,
    burst_end: usize,
    mrdsl: usize,
    max_burst: usize,
    data_sn: u32,
    status: Option<(ScsiStatus, Residual)>,
    pub(crate) digests: Digests,
}

impl DataInJob {
    /// A job sending `data` in PDUs of at most `mrdsl` bytes, bursts of at most `max_burst`
    /// bytes, ending with `status` if given.
    pub(crate) fn new(
        itt: Itt,
        data: Bytes,
        mrdsl: u32,
        max_burst: u32,
        status: Option<(ScsiStatus, Residual)>,
        digests: Digests,
    ) -> Self {
        let mrdsl = (mrdsl as usize).max(1);
        let max_burst = (max_burst as usize).max(1);
        DataInJob {
            itt,
            burst_end: max_burst.min(data.len()),
            data,
            offset: 0,
            mrdsl,
            max_burst,
            data_sn: 0,
            status,
            digests,
        }
    }

    /// How many Data-In PDUs `len` bytes take (the SCSI Response's ExpDataSN).
    pub(crate) fn pdu_count(len: usize, mrdsl: u32, max_burst: u32) -> u32 {
        let mrdsl = (mrdsl as usize).max(1);
        let max_burst = (max_burst as usize).max(1);
        let full_bursts = len / max_burst;
        let last = len % max_burst;
        let count = full_bursts * max_burst.div_ceil(mrdsl) + last.div_ceil(mrdsl);
        u32::try_from(count).unwrap_or(u32::MAX)
    }

    /// The next PDU: (the PDU, whether it carries status, whether it is the last).
    pub(crate) fn next_pdu(&mut self) -> (Pdu, bool, bool) {
        let start = self.offset;
        let end = (start + self.mrdsl).min(self.burst_end);
        let end = end.max(start.min(self.data.len()));
        let last = end >= self.data.len();
        let burst_done = end >= self.burst_end;
        let status = if last { self.status } else { None };
        let pdu = Pdu::DataIn(DataIn {
            final_bit: burst_done || last,
            acknowledge: false,
            status: status.map(|(s, _)| s),
            residual: status.map_or(Residual::None, |(_, r)| r),
            lun: Lun::ZERO,
            itt: self.itt,
            ttt: Ttt::RESERVED,
            stat_sn: SerialNumber(0),
            exp_cmd_sn: SerialNumber(0),
            max_cmd_sn: SerialNumber(0),
            data_sn: SerialNumber(self.data_sn),
            buffer_offset: u32::try_from(start).unwrap_or(u32::MAX),
            data: self.data.slice(start..end),
        });
        self.offset = end;
        self.data_sn = self.data_sn.wrapping_add(1);
        if burst_done {
            self.burst_end = (end + self.max_burst).min(self.data.len());
        }
        (pdu, status.is_some(), last)
    }
}

/// Writes StatSN, ExpCmdSN and MaxCmdSN into a target PDU about to be sent.
///
/// Every target PDU carries ExpCmdSN and MaxCmdSN. StatSN is the PDU's own for status-bearing
/// PDUs and "the next StatSN" for R2T, NOP-In pings and Data-In without status (where it is
/// informational or reserved).
pub(crate) fn stamp(pdu: &mut Pdu, stat_sn: SerialNumber, exp: SerialNumber, max: SerialNumber) {
    macro_rules! set {
        ($p:expr) => {{
            $p.stat_sn = stat_sn;
            $p.exp_cmd_sn = exp;
            $p.max_cmd_sn = max;
        }};
    }
    match pdu {
        Pdu::LoginResponse(p) => set!(p),
        Pdu::TextResponse(p) => set!(p),
        Pdu::ScsiResponse(p) => set!(p),
        Pdu::TaskMgmtResponse(p) => set!(p),
        Pdu::LogoutResponse(p) => set!(p),
        Pdu::NopIn(p) => set!(p),
        Pdu::ReadyToTransfer(p) => set!(p),
        Pdu::AsyncMessage(p) => set!(p),
        Pdu::Reject(p) => set!(p),
        Pdu::DataIn(p) => {
            // StatSN is reserved without the S bit.
            p.stat_sn = if p.status.is_some() {
                stat_sn
            } else {
                SerialNumber(0)
            };
            p.exp_cmd_sn = exp;
            p.max_cmd_sn = max;
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(job: &mut DataInJob) -> Vec<DataIn> {
        let mut out = Vec::new();
        loop {
            let (pdu, _, last) = job.next_pdu();
            let Pdu::DataIn(d) = pdu else { panic!() };
            out.push(d);
            if last {
                return out;
            }
        }
    }

    #[test]
    fn splits_at_mrdsl_and_bursts() {
        let data = Bytes::from(vec![0u8; 20_000]);
        let mut job = DataInJob::new(
            Itt(1),
            data,
            8192,
            12_288,
            Some((ScsiStatus::GOOD, Residual::None)),
            Digests::NONE,
        );
        let pdus = drain(&mut job);
        let shape: Vec<_> = pdus
            .iter()
            .map(|d| (d.buffer_offset, d.data.len(), d.final_bit, d.data_sn.0))
            .collect();
        assert_eq!(
            shape,
            [
                (0, 8192, false, 0),
                (8192, 4096, true, 1),
                (12_288, 7712, true, 2)
            ]
        );
        assert_eq!(DataInJob::pdu_count(20_000, 8192, 12_288), 3);
        assert!(pdus[..2].iter().all(|d| d.status.is_none()));
        assert_eq!(pdus[2].status, Some(ScsiStatus::GOOD));
    }

    proptest::proptest! {
        /// The Data-In PDUs of any read cover its data in order, each within the initiator's
        /// MaxRecvDataSegmentLength, with F exactly at the end of each MaxBurstLength sequence,
        /// status only on the last, and as many PDUs as `pdu_count` (the ExpDataSN) says.
        #[test]
        fn data_in_split_covers_the_data(len in 1usize..50_000, mrdsl in 1u32..9000, burst in 1u32..20_000) {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut job = DataInJob::new(Itt(1), Bytes::from(data.clone()), mrdsl, burst,
                Some((ScsiStatus::GOOD, Residual::None)), Digests::NONE);
            let pdus = drain(&mut job);
            let mut joined = Vec::new();
            for (i, d) in pdus.iter().enumerate() {
                proptest::prop_assert_eq!(d.buffer_offset as usize, joined.len());
                proptest::prop_assert_eq!(d.data_sn, SerialNumber(i as u32));
                proptest::prop_assert!(!d.data.is_empty() && d.data.len() <= mrdsl as usize);
                let end = joined.len() + d.data.len();
                let at_burst_end = end % burst as usize == 0 || end == len;
                proptest::prop_assert_eq!(d.final_bit, at_burst_end);
                // No PDU straddles a burst boundary.
                proptest::prop_assert_eq!(joined.len() / burst as usize, (end - 1) / burst as usize);
                proptest::prop_assert_eq!(d.status.is_some(), i + 1 == pdus.len());
                joined.extend_from_slice(&d.data);
            }
            proptest::prop_assert_eq!(joined, data);
            proptest::prop_assert_eq!(pdus.len() as u32, DataInJob::pdu_count(len, mrdsl, burst));
        }
    }

    #[test]
    fn pdu_count_matches_the_split() {
        for (len, mrdsl, burst) in [
            (1, 512, 512),
            (512, 512, 512),
            (513, 512, 512),
            (65_536, 8192, 262_144),
            (100_000, 3000, 7000),
            (7000, 3000, 7000),
        ] {
            let mut job = DataInJob::new(
                Itt(0),
                Bytes::from(vec![0; len]),
                mrdsl,
                burst,
                None,
                Digests::NONE,
            );
            let pdus = drain(&mut job);
            assert_eq!(
                pdus.len() as u32,
                DataInJob::pdu_count(len, mrdsl, burst),
                "{len}"
            );
            let total: usize = pdus.iter().map(|d| d.data.len()).sum();
            assert_eq!(total, len);
            assert!(pdus.iter().all(|d| d.data.len() <= mrdsl as usize));
            assert!(pdus.last().is_some_and(|d| d.final_bit));
        }
    }
}
