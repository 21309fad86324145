//! Entry points of the cargo-fuzz targets in `fuzz/` (rustls's `internal::fuzzing` idea):
//! each takes arbitrary bytes and asserts the crate's invariants, panicking only when one is
//! broken, which is what the fuzzer looks for.

use std::sync::Arc;

use crate::cdb::{
    BlockCdb, InquiryCdb, ModeSelectCdb, ModeSenseCdb, ReadCapacity10Cdb, ReadCapacity16Cdb,
    ReportLunsCdb,
};
use crate::{
    CommandRequest, ItNexus, LogicalUnit, LuIdentity, MemDevice, MemReservationStore, ScsiTarget,
    Sense, Status, TaskAttribute, TransportId, UnmapSupport,
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

/// Parses `data` as an iSCSI TransportID and as a saved reservation image (what
/// [`LogicalUnit::restore_reservations`] reads from a [`crate::ReservationStore`]'s file).
/// Whatever parses must emit back to the same value (the image to the same bytes), and a
/// unit restored from the image must answer every PERSISTENT RESERVE IN service action and a
/// few PERSISTENT RESERVE OUT ones with well-formed responses.
pub fn reservations(data: &[u8]) {
    if let Ok((id, n)) = TransportId::parse(data) {
        assert!(n <= data.len());
        let again = id.emit();
        assert_eq!(TransportId::parse(&again), Ok((id, again.len())));
    }
    let Ok(decoded) = crate::reservation_image::decode(data) else {
        return;
    };
    assert_eq!(crate::reservation_image::encode(&decoded), data);
    let lu = LogicalUnit::new(Arc::new(MemDevice::new(512, 8)), LuIdentity::from_name("f"))
        .with_reservation_store(Arc::new(MemReservationStore::default()));
    assert_eq!(
        lu.restore_reservations(data),
        Ok(()),
        "a decodable image restores"
    );
    // The first registrant (if any) and a stranger.
    let first = decoded.registrations.first().map(|r| {
        (
            r.port.name.to_string(),
            r.port.isid.unwrap_or_default(),
            r.key,
        )
    });
    let mut nexuses = vec![(ItNexus::new("iqn.fuzz:stranger", [0x80, 0, 0, 0, 0, 9]), 0)];
    if let Some((name, isid, key)) = first {
        nexuses.push((ItNexus::new(name, isid), key));
    }
    for (nexus, key) in &nexuses {
        let mut list = [0u8; 24];
        list[..8].copy_from_slice(&key.to_be_bytes());
        list[8..16].copy_from_slice(&0x5eu64.to_be_bytes());
        list[20] = 0x01;
        let commands: [&[u8]; 8] = [
            &[0; 6],
            &[0x5e, 0x00, 0, 0, 0, 0, 0, 0x10, 0, 0],
            &[0x5e, 0x01, 0, 0, 0, 0, 0, 0x10, 0, 0],
            &[0x5e, 0x02, 0, 0, 0, 0, 0, 0x10, 0, 0],
            &[0x5e, 0x03, 0, 0, 0, 0, 0, 0x10, 0, 0],
            &[0x5f, 0x06, 0, 0, 0, 0, 0, 0, 24, 0],
            &[0x5f, 0x01, 0x05, 0, 0, 0, 0, 0, 24, 0],
            &[0x5f, 0x03, 0, 0, 0, 0, 0, 0, 24, 0],
        ];
        for cdb in commands {
            let request = CommandRequest {
                cdb,
                data_out: if cdb[0] == 0x5f { &list } else { &[] },
                expected_length: 4096,
                attribute: TaskAttribute::Simple,
            };
            let r = lu.execute(nexus, &request);
            if r.status == Status::CHECK_CONDITION {
                let sense = r.sense.as_deref().unwrap_or_default();
                assert!(Sense::parse(sense).is_ok(), "unparseable sense {sense:?}");
            }
            assert!(r.data_in.len() <= r.transfer_length as usize || r.data_in.is_empty());
        }
    }
}
