//! A realistic command sequence against in-memory devices, as an initiator would send it:
//! login-time discovery (REPORT LUNS, INQUIRY, VPD, READ CAPACITY), IO, thin provisioning,
//! COMPARE AND WRITE, reservations between two initiators, and REPORT SUPPORTED OPERATION
//! CODES checked against what dispatch accepts.

#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

use std::sync::Arc;

use scsi::cdb::BlockCdb;
use scsi::*;

struct Host {
    target: ScsiTarget,
    a: ItNexus,
    b: ItNexus,
}

impl Host {
    fn new() -> Self {
        let mut target = ScsiTarget::new();
        let thin = MemDevice::new(512, 2048).with_unmap(UnmapSupport::Zeroes);
        let golden = MemDevice::new(512, 256)
            .with_contents(&[0x11; 512 * 256])
            .with_read_only(true);
        target
            .add_lun(
                0,
                LogicalUnit::new(Arc::new(thin), LuIdentity::from_name("t/0")),
            )
            .unwrap();
        target
            .add_lun(
                1,
                LogicalUnit::new(Arc::new(golden), LuIdentity::from_name("t/1")),
            )
            .unwrap();
        let host = Host {
            target,
            a: ItNexus::new("iqn.2026-01.test:a", [0x80, 0, 0, 0, 0, 1]),
            b: ItNexus::new("iqn.2026-01.test:b", [0x80, 0, 0, 0, 0, 2]),
        };
        // Consume the power on unit attentions.
        for lun in [0, 1] {
            for n in [&host.a, &host.b] {
                let r = host.target.execute(lun, n, &req(&[0; 6], &[], 0));
                assert_eq!(sense(&r).key, SenseKey::UNIT_ATTENTION);
            }
        }
        host
    }

    fn run(&self, lun: u64, who: &ItNexus, cdb: &[u8], data: &[u8], len: u32) -> CommandResponse {
        self.target.execute(lun, who, &req(cdb, data, len))
    }
}

fn req<'a>(cdb: &'a [u8], data_out: &'a [u8], expected_length: u32) -> CommandRequest<'a> {
    CommandRequest {
        cdb,
        data_out,
        expected_length,
        attribute: TaskAttribute::Simple,
    }
}

fn sense(r: &CommandResponse) -> Sense {
    Sense::parse(r.sense.as_deref().expect("sense data")).expect("valid sense")
}

fn block(opcode: u8, flags: u8, lba: u64, length: u32) -> Vec<u8> {
    let c = BlockCdb {
        opcode,
        flags,
        lba,
        length,
        group: 0,
        control: 0,
    };
    let mut b = vec![0u8; c.buffer_len()];
    c.emit(&mut b);
    b
}

#[test]
fn discovery_then_write_and_read_back() {
    let h = Host::new();
    let r = h.run(
        0,
        &h.a,
        &[0xa0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0],
        &[],
        4096,
    );
    assert_eq!(&r.data_in[..4], &[0, 0, 0, 16]);
    let r = h.run(0, &h.a, &[0x12, 0, 0, 0, 96, 0], &[], 96);
    assert_eq!(r.data_in.len(), 96);
    assert_eq!(r.data_in[0], 0);
    // VPD 83h of the two LUs carry different NAA designators.
    let naa = |lun| {
        h.run(lun, &h.a, &[0x12, 1, 0x83, 0, 255, 0], &[], 255)
            .data_in[8..24]
            .to_vec()
    };
    assert_ne!(naa(0), naa(1));
    assert_eq!(naa(0), naa(0));
    // READ CAPACITY(16): last LBA, LBPME and LBPRZ.
    let mut rc16 = [0u8; 16];
    rc16[0] = 0x9e;
    rc16[1] = 0x10;
    rc16[13] = 32;
    let r = h.run(0, &h.a, &rc16, &[], 32);
    assert_eq!(&r.data_in[..8], &2047u64.to_be_bytes());
    assert_eq!(r.data_in[14] & 0xc0, 0xc0);

    for (op, len) in [(0x0a, 6), (0x2a, 10), (0xaa, 12), (0x8a, 16)] {
        let data: Vec<u8> = (0..1024u32).map(|i| (i as u8) ^ op).collect();
        let w = block(op, 0, 100, 2);
        assert_eq!(w.len(), len);
        let r = h.run(0, &h.a, &w, &data, 1024);
        assert_eq!(
            (r.status, r.transfer_length),
            (Status::GOOD, 1024),
            "{op:#x}"
        );
        let read_op = op - 2;
        let r = h.run(0, &h.b, &block(read_op, 0, 100, 2), &[], 1024);
        assert_eq!(r.status, Status::GOOD);
        assert_eq!(&r.data_in[..], &data[..], "{read_op:#x}");
    }
    // FUA and DPO are accepted; SYNCHRONIZE CACHE flushes.
    let r = h.run(0, &h.a, &block(0x2a, 0x18, 7, 1), &[1; 512], 512);
    assert_eq!(r.status, Status::GOOD);
    let r = h.run(0, &h.a, &[0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[], 0);
    assert_eq!(r.status, Status::GOOD);
}

#[test]
fn write_protected_lu_answers_data_protect() {
    let h = Host::new();
    for cdb in [
        block(0x2a, 0, 0, 1),
        block(0x8a, 0, 0, 1),
        block(0x2e, 0, 0, 1),
        block(0x41, 0, 0, 1),
    ] {
        let r = h.run(1, &h.a, &cdb, &[0; 512], 512);
        let s = sense(&r);
        assert_eq!(
            (s.key, s.code),
            (SenseKey::DATA_PROTECT, AscAscq::WRITE_PROTECTED),
            "{cdb:x?}"
        );
    }
    // WRITE SAME with UNMAP on a read-only LU without thin provisioning: DATA PROTECT first.
    let r = h.run(1, &h.a, &block(0x41, 0x08, 0, 1), &[0; 512], 512);
    assert_eq!(sense(&r).key, SenseKey::DATA_PROTECT);
    // Reads still work, and MODE SENSE reports WP.
    let r = h.run(1, &h.a, &block(0x28, 0, 3, 1), &[], 512);
    assert!(r.data_in.iter().all(|&b| b == 0x11));
    let r = h.run(1, &h.a, &[0x1a, 0x08, 0x3f, 0, 255, 0], &[], 255);
    assert_eq!(r.data_in[2] & 0x80, 0x80);
}

#[test]
fn unmap_deallocates_and_reads_zeroes() {
    let h = Host::new();
    h.run(0, &h.a, &block(0x8a, 0, 10, 4), &[0xee; 2048], 2048);
    let mut list = vec![0, 22, 0, 16, 0, 0, 0, 0];
    list.extend_from_slice(&11u64.to_be_bytes());
    list.extend_from_slice(&2u32.to_be_bytes());
    list.extend_from_slice(&[0; 4]);
    let r = h.run(0, &h.a, &[0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], &list, 24);
    assert_eq!(r.status, Status::GOOD);
    let r = h.run(0, &h.a, &block(0x88, 0, 10, 4), &[], 2048);
    assert!(r.data_in[..512].iter().all(|&b| b == 0xee));
    assert!(r.data_in[512..1536].iter().all(|&b| b == 0));
    // GET LBA STATUS sees the hole.
    let mut gls = [0u8; 16];
    gls[0] = 0x9e;
    gls[1] = 0x12;
    gls[2..10].copy_from_slice(&11u64.to_be_bytes());
    gls[13] = 24;
    let r = h.run(0, &h.a, &gls, &[], 24);
    assert_eq!(&r.data_in[8..16], &11u64.to_be_bytes());
    assert_eq!(&r.data_in[16..20], &2u32.to_be_bytes());
    assert_eq!(r.data_in[20], 1);
    // A descriptor past the end fails as a whole.
    let mut list = vec![0, 22, 0, 16, 0, 0, 0, 0];
    list.extend_from_slice(&2047u64.to_be_bytes());
    list.extend_from_slice(&2u32.to_be_bytes());
    list.extend_from_slice(&[0; 4]);
    let r = h.run(0, &h.a, &[0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], &list, 24);
    assert_eq!(sense(&r).code, AscAscq::LBA_OUT_OF_RANGE);
    // WRITE SAME with UNMAP and a zero block deallocates.
    let r = h.run(0, &h.a, &block(0x93, 0x08, 10, 1), &[0; 512], 512);
    assert_eq!(r.status, Status::GOOD);
    let r = h.run(0, &h.a, &block(0x28, 0, 10, 1), &[], 512);
    assert!(r.data_in.iter().all(|&b| b == 0));
}

#[test]
fn compare_and_write_miscompare() {
    let h = Host::new();
    h.run(0, &h.a, &block(0x2a, 0, 50, 1), &[0x42; 512], 512);
    let mut caw = [0u8; 16];
    caw[0] = 0x89;
    caw[2..10].copy_from_slice(&50u64.to_be_bytes());
    caw[13] = 1;
    let mut data = vec![0x42; 512];
    data.extend_from_slice(&[0x43; 512]);
    let r = h.run(0, &h.a, &caw, &data, 1024);
    assert_eq!(r.status, Status::GOOD);
    // The medium now holds 0x43: comparing against 0x42 miscompares at offset 0, and
    // nothing is written.
    data[512..].fill(0x44);
    let r = h.run(0, &h.a, &caw, &data, 1024);
    let s = sense(&r);
    assert_eq!(
        (s.key, s.code, s.information),
        (
            SenseKey::MISCOMPARE,
            AscAscq::MISCOMPARE_DURING_VERIFY,
            Some(0)
        )
    );
    let r = h.run(0, &h.a, &block(0x28, 0, 50, 1), &[], 512);
    assert!(r.data_in.iter().all(|&b| b == 0x43));
    // A data-out buffer of the wrong size is refused.
    let r = h.run(0, &h.a, &caw, &data[..512], 512);
    assert_eq!(r.status, Status::CHECK_CONDITION);
}

#[test]
fn reservations_conflict_between_initiators() {
    let h = Host::new();
    // SPC-2 RESERVE by a: b conflicts on IO, INQUIRY still works.
    assert_eq!(
        h.run(0, &h.a, &[0x16, 0, 0, 0, 0, 0], &[], 0).status,
        Status::GOOD
    );
    let r = h.run(0, &h.b, &block(0x28, 0, 0, 1), &[], 512);
    assert_eq!(r.status, Status::RESERVATION_CONFLICT);
    assert_eq!(
        h.run(0, &h.b, &[0x12, 0, 0, 0, 36, 0], &[], 36).status,
        Status::GOOD
    );
    // A LUN reset releases it, and both see the reset.
    assert_eq!(
        h.target
            .task_management(Some(0), &h.a, TmfFunction::LogicalUnitReset),
        TmfOutcome::Complete
    );
    let r = h.run(0, &h.b, &block(0x28, 0, 0, 1), &[], 512);
    assert_eq!(sense(&r).code, AscAscq::BUS_DEVICE_RESET);
    assert_eq!(
        h.run(0, &h.b, &block(0x28, 0, 0, 1), &[], 512).status,
        Status::GOOD
    );

    // Persistent: a registers and reserves WRITE EXCLUSIVE; b can read but not write.
    let prout = |who: &ItNexus, sa: u8, kind: u8, key: u64, sa_key: u64| {
        let mut list = [0u8; 24];
        list[..8].copy_from_slice(&key.to_be_bytes());
        list[8..16].copy_from_slice(&sa_key.to_be_bytes());
        h.run(0, who, &[0x5f, sa, kind, 0, 0, 0, 0, 0, 24, 0], &list, 24)
            .status
    };
    h.run(0, &h.a, &[0; 6], &[], 0);
    assert_eq!(prout(&h.a, 0, 0, 0, 0xa), Status::GOOD);
    assert_eq!(prout(&h.a, 1, 1, 0xa, 0), Status::GOOD);
    assert_eq!(
        h.run(0, &h.b, &block(0x28, 0, 0, 1), &[], 512).status,
        Status::GOOD
    );
    let r = h.run(0, &h.b, &block(0x2a, 0, 0, 1), &[0; 512], 512);
    assert_eq!(r.status, Status::RESERVATION_CONFLICT);
    // SPC-2 RESERVE conflicts with a persistent reservation.
    assert_eq!(
        h.run(0, &h.a, &[0x16, 0, 0, 0, 0, 0], &[], 0).status,
        Status::RESERVATION_CONFLICT
    );
    // b registers and preempts.
    assert_eq!(prout(&h.b, 0, 0, 0, 0xb), Status::GOOD);
    assert_eq!(prout(&h.b, 4, 1, 0xb, 0xa), Status::GOOD);
    let r = h.run(0, &h.a, &block(0x28, 0, 0, 1), &[], 512);
    assert_eq!(sense(&r).code, AscAscq::REGISTRATIONS_PREEMPTED);
    assert_eq!(
        h.run(0, &h.b, &block(0x2a, 0, 0, 1), &[0; 512], 512).status,
        Status::GOOD
    );
}

/// Every operation code 00h-FFh (and every service action of those that have them): what
/// REPORT SUPPORTED OPERATION CODES says about it matches whether dispatch accepts it.
#[test]
fn report_supported_opcodes_matches_dispatch() {
    let h = Host::new();
    let rsoc = |lun, options: u8, op: u8, sa: u16| {
        let mut c = [0xa3, 0x0c, options, op, 0, 0, 0, 0, 0xff, 0xff, 0, 0];
        c[4..6].copy_from_slice(&sa.to_be_bytes());
        h.run(lun, &h.a, &c, &[], 65535)
    };
    for lun in [0, 1] {
        let all = rsoc(lun, 0, 0, 0);
        assert_eq!(all.status, Status::GOOD);
        let len = u32::from_be_bytes(all.data_in[..4].try_into().unwrap()) as usize;
        assert_eq!(len + 4, all.data_in.len());
        let listed: Vec<(u8, Option<u8>, usize)> = all.data_in[4..]
            .chunks(8)
            .map(|d| {
                (
                    d[0],
                    (d[5] & 1 != 0).then_some(d[3]),
                    usize::from(u16::from_be_bytes([d[6], d[7]])),
                )
            })
            .collect();
        assert!(
            listed.iter().any(|&(op, _, _)| op == 0x42) == (lun == 0),
            "UNMAP only where thin"
        );
        for op in 0..=255u8 {
            let sas: Vec<Option<u8>> = listed.iter().filter(|l| l.0 == op).map(|l| l.1).collect();
            // A minimal CDB of this opcode's length: unsupported ones must fail with
            // INVALID COMMAND OPERATION CODE.
            let cdb_len = scsi::cdb::cdb_len(op).unwrap_or(16);
            let mut cdb = vec![0u8; cdb_len];
            cdb[0] = op;
            if sas.is_empty() {
                let r = h.run(lun, &h.a, &cdb, &[], 0);
                let s = sense(&r);
                assert_eq!(
                    s.code,
                    AscAscq::INVALID_COMMAND_OPERATION_CODE,
                    "opcode {op:#x}"
                );
                let one = rsoc(lun, 1, op, 0);
                assert_eq!(
                    &one.data_in[..2],
                    &[0, 1],
                    "opcode {op:#x} reported unsupported"
                );
                continue;
            }
            for sa in sas {
                let (options, sa_value) = match sa {
                    Some(s) => (2, s),
                    None => (1, 0),
                };
                let one = rsoc(lun, options, op, u16::from(sa_value));
                assert_eq!(one.data_in[1] & 7, 3, "{op:#x}/{sa:?} supported");
                let size = usize::from(u16::from_be_bytes([one.data_in[2], one.data_in[3]]));
                let usage = &one.data_in[4..4 + size];
                assert_eq!(usage[0], op);
                assert_eq!(
                    Some(size),
                    listed.iter().find(|l| l.0 == op && l.1 == sa).map(|l| l.2)
                );
                // Every bit outside the usage data is refused with a pointer to it.
                for byte in 1..size - 1 {
                    for bit in 0..8 {
                        let mask = 1u8 << bit;
                        if usage[byte] & mask != 0
                            || (byte == 1 && sa.is_some() && mask & 0x1f != 0)
                        {
                            continue;
                        }
                        let mut c = vec![0u8; size];
                        c[0] = op;
                        if let Some(s) = sa {
                            c[1] = s;
                        }
                        c[byte] |= mask;
                        let r = h.run(lun, &h.a, &c, &[0; 4096], 4096);
                        let s = sense(&r);
                        if lun == 1 && matches!(op, 0x41 | 0x93) && (byte, bit) == (1, 3) {
                            // The UNMAP bit on a read-only unit: write protection comes first.
                            assert_eq!(s.key, SenseKey::DATA_PROTECT);
                            continue;
                        }
                        assert_eq!(
                            s.code,
                            AscAscq::INVALID_FIELD_IN_CDB,
                            "{op:#x} byte {byte} bit {bit}"
                        );
                        assert_eq!(
                            s.specific,
                            Some(SenseSpecific::Field {
                                cdb: true,
                                byte: byte as u16,
                                bit: Some(bit)
                            }),
                            "{op:#x} byte {byte} bit {bit}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn capacity_change_raises_a_unit_attention() {
    let dev = Arc::new(MemDevice::new(512, 16));
    let lu = LogicalUnit::new(dev.clone(), LuIdentity::from_name("grow"));
    let n = ItNexus::new("iqn.test:x", [0; 6]);
    lu.execute(&n, &req(&[0; 6], &[], 0));
    dev.resize(32);
    let r = lu.execute(&n, &req(&[0; 6], &[], 0));
    assert_eq!(sense(&r).code, AscAscq::CAPACITY_DATA_HAS_CHANGED);
    let r = lu.execute(&n, &req(&[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[], 8));
    assert_eq!(&r.data_in[..4], &31u32.to_be_bytes());
}

#[test]
fn missing_lun_answers_inquiry_with_qualifier_3() {
    let h = Host::new();
    let r = h.run(5, &h.a, &[0x12, 0, 0, 0, 36, 0], &[], 36);
    assert_eq!((r.status, r.data_in[0]), (Status::GOOD, 0x7f));
    let r = h.run(5, &h.a, &[0; 6], &[], 0);
    assert_eq!(sense(&r).code, AscAscq::LOGICAL_UNIT_NOT_SUPPORTED);
}

#[test]
fn identity_read_only_serves_a_writable_device_read_only() {
    let dev = Arc::new(MemDevice::new(512, 16).with_physical_block_exponent(3));
    let mut id = LuIdentity::from_name("golden");
    id.read_only = true;
    let lu = LogicalUnit::new(dev.clone(), id);
    let n = ItNexus::new("iqn.test:x", [0; 6]);
    lu.execute(&n, &req(&[0; 6], &[], 0));
    let r = lu.execute(&n, &req(&block(0x2a, 0, 0, 1), &[1; 512], 512));
    assert_eq!(sense(&r).key, SenseKey::DATA_PROTECT);
    assert!(dev.contents().iter().all(|&b| b == 0), "nothing written");
    // READ CAPACITY(16) reports 8 logical blocks per physical block.
    let mut rc16 = [0u8; 16];
    rc16[0] = 0x9e;
    rc16[1] = 0x10;
    rc16[13] = 32;
    let r = lu.execute(&n, &req(&rc16, &[], 32));
    assert_eq!(r.data_in[13], 3);
}
