//! Entry points of the cargo-fuzz targets in `fuzz/` (rustls's `internal::fuzzing` idea):
//! each takes arbitrary bytes and asserts the crate's invariants, panicking only when one is
//! broken, which is what the fuzzer looks for.

use std::sync::Arc;

use crate::cdb::{
    BlockCdb, InquiryCdb, ModeSelectCdb, ModeSenseCdb, ReadCapacity10Cdb, ReadCapacity16Cdb,
    ReportLunsCdb,
};
use crate::{
    CommandRequest, ItNexus, LogicalUnit, LuIdentity, MemDevice, ScsiTarget, Sense, Status,
    TaskAttribute, UnmapSupport,
};

/// A small target: LUN 0 a thin 64-block device, LUN 1 a read-only one.
fn small_target() -> ScsiTarget {
    let mut t = ScsiTarget::new();
    let thin = MemDevice::new(512, 64).with_unmap(UnmapSupport::Zeroes);
    let ro = MemDevice::new(512, 32).with_read_only(true);
    let _ = t.add_lun(
        0,
        LogicalUnit::new(Arc::new(thin), LuIdentity::from_name("fuzz/0")),
    );
    let _ = t.add_lun(
        1,
        LogicalUnit::new(Arc::new(ro), LuIdentity::from_name("fuzz/1")),
    );
    t
}

/// Parses `cdb` with every typed CDB and checks that whatever parses emits back to a CDB
/// that parses to the same value.
pub fn cdb_parse(cdb: &[u8]) {
    if let Ok(c) = BlockCdb::parse(cdb) {
        let mut b = [0u8; 16];
        c.emit(&mut b);
        assert_eq!(BlockCdb::parse(&b[..c.buffer_len()]), Ok(c));
    }
    if let Ok(c) = InquiryCdb::parse(cdb) {
        let mut b = [0u8; 6];
        c.emit(&mut b);
        assert_eq!(InquiryCdb::parse(&b), Ok(c));
    }
    let _ = (
        ModeSenseCdb::parse(cdb),
        ModeSelectCdb::parse(cdb),
        ReadCapacity10Cdb::parse(cdb),
        ReadCapacity16Cdb::parse(cdb),
        ReportLunsCdb::parse(cdb),
    );
    let _ = Sense::parse(cdb);
}

/// Executes commands from `data` against a small target (LUN 0 thin, LUN 1 read-only): each command is a header byte
/// (LUN in bit 0, initiator in bit 1, CDB length 6/10/12/16 in bits 2-3), the CDB, a
/// data-out length byte (in units of 64 bytes) and the data-out bytes. Checks that no
/// command panics, that CHECK CONDITION always carries parseable sense data, and that the
/// data-in never exceeds the transfer length.
pub fn scsi_exec(data: &[u8]) {
    let target = small_target();
    let nexuses = [
        ItNexus::new("iqn.fuzz:a", [0x80, 0, 0, 0, 0, 1]),
        ItNexus::new("iqn.fuzz:b", [0x80, 0, 0, 0, 0, 2]),
    ];
    let mut rest = data;
    for _ in 0..16 {
        let Some((&head, tail)) = rest.split_first() else {
            break;
        };
        let cdb_len = [6, 10, 12, 16][usize::from((head >> 2) & 3)];
        let cdb_len = cdb_len.min(tail.len());
        let (cdb, tail) = tail.split_at(cdb_len);
        let (out_len, tail) = match tail.split_first() {
            Some((&n, t)) => ((usize::from(n) * 64).min(t.len()), t),
            None => (0, tail),
        };
        let (data_out, tail) = tail.split_at(out_len);
        rest = tail;
        cdb_parse(cdb);
        let nexus = &nexuses[usize::from(head >> 1 & 1)];
        let request = CommandRequest {
            cdb,
            data_out,
            expected_length: out_len.max(4096) as u32,
            attribute: TaskAttribute::Simple,
        };
        let r = target.execute(u64::from(head & 1), nexus, &request);
        if r.status == Status::CHECK_CONDITION {
            let sense = r.sense.as_deref().unwrap_or_default();
            assert!(Sense::parse(sense).is_ok(), "unparseable sense {sense:?}");
        }
        assert!(r.data_in.len() <= r.transfer_length as usize || r.data_in.is_empty());
        assert!(r.data_in.len() <= crate::MAX_TRANSFER_BYTES as usize);
    }
}
