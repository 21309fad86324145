use crate::*;
use std::sync::Arc;

fn lu(read_only: bool) -> LogicalUnit {
    let dev = MemDevice::new(512, 64).with_read_only(read_only);
    let lu = LogicalUnit::new(Arc::new(dev), LuIdentity::from_name("io"));
    run(&lu, &[0; 6], &[], 0);
    lu
}

fn run(lu: &LogicalUnit, cdb: &[u8], data: &[u8], len: u32) -> CommandResponse {
    let nexus = ItNexus::new("io", [0; 6]);
    let req = CommandRequest {
        cdb,
        data_out: data,
        expected_length: len,
        attribute: TaskAttribute::Simple,
    };
    lu.execute(&nexus, &req)
}

fn sense(r: &CommandResponse) -> Sense {
    Sense::parse(r.sense.as_deref().unwrap_or_default()).unwrap()
}

#[test]
fn read6_zero_length_means_256_blocks() {
    let lu = lu(false);
    let r = run(&lu, &[0x08, 0, 0, 0, 0, 0], &[], 0);
    // 256 blocks do not fit in 64: out of range, proving the length was 256.
    assert_eq!(sense(&r).code, AscAscq::LBA_OUT_OF_RANGE);
    let r = run(&lu, &[0x08, 0, 0, 0, 4, 0], &[], 2048);
    assert_eq!(r.data_in.len(), 2048);
}

#[test]
fn range_checks_catch_overflow() {
    let lu = lu(false);
    let mut read16 = [0u8; 16];
    read16[0] = 0x88;
    read16[2..10].copy_from_slice(&u64::MAX.to_be_bytes());
    read16[13] = 2;
    assert_eq!(
        sense(&run(&lu, &read16, &[], 1024)).code,
        AscAscq::LBA_OUT_OF_RANGE
    );
    // Zero blocks past the end is still out of range; at LBA 0 it is GOOD.
    let r = run(&lu, &[0x28, 0, 0, 0, 0, 65, 0, 0, 0, 0], &[], 0);
    assert_eq!(sense(&r).code, AscAscq::LBA_OUT_OF_RANGE);
    let r = run(&lu, &[0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[], 0);
    assert_eq!((r.status, r.data_in.len()), (Status::GOOD, 0));
}

#[test]
fn rdprotect_is_an_invalid_field_with_pointer() {
    let lu = lu(false);
    let r = run(&lu, &[0x28, 0x20, 0, 0, 0, 0, 0, 0, 1, 0], &[], 512);
    let s = sense(&r);
    assert_eq!(s.code, AscAscq::INVALID_FIELD_IN_CDB);
    assert_eq!(
        s.specific,
        Some(SenseSpecific::Field {
            cdb: true,
            byte: 1,
            bit: Some(5)
        })
    );
}

#[test]
fn write_protected_unit_answers_data_protect() {
    let lu = lu(true);
    let r = run(&lu, &[0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0], &[0; 512], 512);
    assert_eq!(sense(&r).key, SenseKey::DATA_PROTECT);
    assert_eq!(sense(&r).code, AscAscq::WRITE_PROTECTED);
}

#[test]
fn partial_data_out_writes_what_arrived() {
    let lu = lu(false);
    let r = run(&lu, &[0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0], &[0xbb; 312], 312);
    assert_eq!((r.status, r.transfer_length), (Status::GOOD, 512));
    let r = run(&lu, &[0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], &[], 512);
    assert!(r.data_in[..312].iter().all(|&b| b == 0xbb));
    assert!(r.data_in[312..].iter().all(|&b| b == 0));
}

#[test]
fn verify_bytchk_compares() {
    let lu = lu(false);
    run(&lu, &[0x2a, 0, 0, 0, 0, 2, 0, 0, 1, 0], &[7; 512], 512);
    let ok = run(&lu, &[0x2f, 0x02, 0, 0, 0, 2, 0, 0, 1, 0], &[7; 512], 512);
    assert_eq!(ok.status, Status::GOOD);
    let mut data = [7u8; 512];
    data[100] = 8;
    let bad = run(&lu, &[0x2f, 0x02, 0, 0, 0, 2, 0, 0, 1, 0], &data, 512);
    let s = sense(&bad);
    assert_eq!((s.key, s.information), (SenseKey::MISCOMPARE, Some(100)));
    // BYTCHK 0 does not look at the data.
    let r = run(&lu, &[0x2f, 0, 0, 0, 0, 2, 0, 0, 1, 0], &[], 0);
    assert_eq!(r.status, Status::GOOD);
    // BYTCHK 10b is reserved.
    let r = run(&lu, &[0x2f, 0x04, 0, 0, 0, 2, 0, 0, 1, 0], &[], 0);
    assert_eq!(sense(&r).code, AscAscq::INVALID_FIELD_IN_CDB);
}

#[test]
fn transfer_over_the_limit_is_refused_without_allocating() {
    let lu = LogicalUnit::new(
        Arc::new(MemDevice::new(512, 1 << 20)),
        LuIdentity::from_name("big"),
    );
    run(&lu, &[0; 6], &[], 0);
    let mut read16 = [0u8; 16];
    read16[0] = 0x88;
    read16[10..14].copy_from_slice(&(1u32 << 19).to_be_bytes());
    let r = run(&lu, &read16, &[], 0);
    let s = sense(&r);
    assert_eq!(s.code, AscAscq::INVALID_FIELD_IN_CDB);
    assert_eq!(
        s.specific,
        Some(SenseSpecific::Field {
            cdb: true,
            byte: 10,
            bit: None
        })
    );
}

#[test]
fn compare_and_write_of_zero_blocks_refuses_data() {
    let lu = lu(false);
    let mut cdb = [0u8; 16];
    cdb[0] = 0x89;
    // NUMBER OF LOGICAL BLOCKS 0 with 2 × 256 blocks of data: a 256-block request that
    // wrapped in the one-byte field.
    let r = run(&lu, &cdb, &[0; 512 * 512], 512 * 512);
    assert_eq!(r.status, Status::CHECK_CONDITION);
    let s = Sense::parse(r.sense.as_ref().unwrap()).unwrap();
    assert_eq!(s.code, AscAscq::INVALID_FIELD_IN_CDB);
    // Without data it is a no-op.
    assert_eq!(run(&lu, &cdb, &[], 0).status, Status::GOOD);
}
