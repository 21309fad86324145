//! Commands that report or change unit state without moving blocks: TEST UNIT READY, REQUEST
//! SENSE, START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL, READ CAPACITY(10)/(16), READ DEFECT
//! DATA(10)/(12) and REPORT LUNS (SPC-4 §6, SBC-3 §5).

use super::{Ctx, Done, Fail, Outcome};
use crate::cdb::{ReadCapacity10Cdb, ReadCapacity16Cdb, field};
use crate::sense::{AscAscq, Sense, SenseFormat, SenseKey};
use crate::target::lun_to_bytes;

/// TEST UNIT READY: the unit is always ready (a pending unit attention was reported by the
/// pipeline).
pub(crate) fn test_unit_ready(_ctx: &Ctx<'_>) -> Outcome {
    Done::good()
}

/// REQUEST SENSE (SPC-4 §6.39): the oldest pending unit attention (which it clears), else
/// NO SENSE; DESC chooses the format.
pub(crate) fn request_sense(ctx: &Ctx<'_>) -> Outcome {
    let desc = field::u8_at(ctx.cdb, 1) & 1 != 0;
    let alloc = usize::from(field::u8_at(ctx.cdb, 4));
    let pending = ctx.lu.lock().nexus(ctx.key).ua.pop();
    let sense = match pending {
        Some(code) => Sense::new(SenseKey::UNIT_ATTENTION, code),
        None => Sense::new(SenseKey::NO_SENSE, AscAscq::NO_ADDITIONAL_SENSE),
    };
    let format = if desc {
        SenseFormat::Descriptor
    } else {
        SenseFormat::Fixed
    };
    Done::data(sense.to_bytes(format), alloc)
}

/// START STOP UNIT (SBC-3 §5.25): the medium is not removable and the unit is always
/// started, so this only refuses an eject while removal is prevented.
pub(crate) fn start_stop_unit(ctx: &Ctx<'_>) -> Outcome {
    let b4 = field::u8_at(ctx.cdb, 4);
    let (loej, start, power_condition) = (b4 & 0x02 != 0, b4 & 0x01 != 0, b4 >> 4);
    if power_condition == 0 && loej && !start {
        let st = ctx.lu.lock();
        if st.nexuses.values().any(|n| n.prevent) {
            return Err(
                Sense::new(SenseKey::ILLEGAL_REQUEST, AscAscq::MEDIUM_REMOVAL_PREVENTED).into(),
            );
        }
    }
    Done::good()
}

/// PREVENT ALLOW MEDIUM REMOVAL (SBC-3 §5.11): records the nexus's prevention; released by
/// ALLOW, I_T nexus loss and resets.
pub(crate) fn prevent_allow(ctx: &Ctx<'_>) -> Outcome {
    let prevent = field::u8_at(ctx.cdb, 4) & 0x01 != 0;
    ctx.lu.lock().nexus(ctx.key).prevent = prevent;
    Done::good()
}

/// READ CAPACITY(10) (SBC-3 §5.15): the last LBA (FFFFFFFFh when it does not fit) and the
/// block length.
pub(crate) fn read_capacity_10(ctx: &Ctx<'_>) -> Outcome {
    let c = ReadCapacity10Cdb::parse(ctx.cdb)?;
    // "If the PMI bit is set to zero and the LOGICAL BLOCK ADDRESS field is not set to zero,
    // then the device server shall terminate the command ... INVALID FIELD IN CDB."
    if !c.pmi && c.lba != 0 {
        return Err(Sense::invalid_cdb_field(2, None).into());
    }
    let last = ctx.lu.device.block_count().saturating_sub(1);
    let last = u32::try_from(last).unwrap_or(u32::MAX);
    let mut d = Vec::with_capacity(8);
    d.extend_from_slice(&last.to_be_bytes());
    d.extend_from_slice(&ctx.block_size().to_be_bytes());
    Done::data(d, 8)
}

/// READ CAPACITY(16) (SBC-3 §5.16): the last LBA, block length, and the LBPME/LBPRZ bits of
/// thin provisioning.
pub(crate) fn read_capacity_16(ctx: &Ctx<'_>) -> Outcome {
    let c = ReadCapacity16Cdb::parse(ctx.cdb)?;
    if !c.pmi && c.lba != 0 {
        return Err(Sense::invalid_cdb_field(2, None).into());
    }
    let last = ctx.lu.device.block_count().saturating_sub(1);
    let mut d = vec![0u8; 32];
    d[..8].copy_from_slice(&last.to_be_bytes());
    d[8..12].copy_from_slice(&ctx.block_size().to_be_bytes());
    d[13] = ctx.lu.device.physical_block_exponent().min(15); // LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT
    if ctx.lu.unmap.supported() {
        d[14] |= 0x80; // LBPME
        if ctx.lu.unmap.reads_zeroes() {
            d[14] |= 0x40; // LBPRZ
        }
    }
    Done::data(d, c.allocation_length as usize)
}

/// READ DEFECT DATA(10) and (12) (SBC-3 §5.19, §5.20): an empty list in the requested
/// format.
pub(crate) fn read_defect_data(ctx: &Ctx<'_>) -> Outcome {
    if ctx.cdb.first() == Some(&0x37) {
        let flags = field::u8_at(ctx.cdb, 2) & 0x1f;
        let alloc = usize::from(field::u16_at(ctx.cdb, 7));
        Done::data(vec![0, flags, 0, 0], alloc)
    } else {
        let flags = field::u8_at(ctx.cdb, 1) & 0x1f;
        let alloc = field::u32_at(ctx.cdb, 6) as usize;
        Done::data(vec![0, flags, 0, 0, 0, 0, 0, 0], alloc.min(8))
    }
}

/// REPORT LUNS (SPC-4 §6.33) through a logical unit: the target's list, or LUN 0 alone for
/// a unit executed on its own.
pub(crate) fn report_luns(ctx: &Ctx<'_>) -> Outcome {
    if let Some(target) = ctx.target {
        let (data, len) = target.report_luns_data(ctx.cdb).map_err(Fail::Check)?;
        return Ok(Done {
            status: crate::Status::GOOD,
            data,
            transfer_length: len,
        });
    }
    let c = crate::cdb::ReportLunsCdb::parse(ctx.cdb)?;
    if c.select_report > 2 && !(0x10..=0x12).contains(&c.select_report) {
        return Err(Sense::invalid_cdb_field(2, None).into());
    }
    if c.allocation_length < 16 {
        return Err(Sense::invalid_cdb_field(6, None).into());
    }
    let mut d = vec![0, 0, 0, 8, 0, 0, 0, 0];
    if c.select_report != 1 && c.select_report != 0x11 {
        d.extend_from_slice(&lun_to_bytes(0));
    } else {
        d[3] = 0;
    }
    Done::data(d, c.allocation_length as usize)
}

#[cfg(test)]
mod tests {
    use crate::{CommandRequest, ItNexus, LogicalUnit, LuIdentity, MemDevice, Status};
    use std::sync::Arc;

    fn run(lu: &LogicalUnit, cdb: &[u8]) -> crate::CommandResponse {
        let nexus = ItNexus::new("i", [0; 6]);
        let req = CommandRequest {
            cdb,
            data_out: &[],
            expected_length: 255,
            attribute: crate::TaskAttribute::Simple,
        };
        lu.execute(&nexus, &req)
    }

    #[test]
    fn request_sense_reports_then_clears_the_unit_attention() {
        let lu = LogicalUnit::new(Arc::new(MemDevice::new(512, 8)), LuIdentity::from_name("x"));
        let r = run(&lu, &[0x03, 0, 0, 0, 18, 0]);
        assert_eq!(r.status, Status::GOOD);
        assert_eq!((r.data_in[2], r.data_in[12]), (0x06, 0x29));
        let r = run(&lu, &[0x03, 0, 0, 0, 18, 0]);
        assert_eq!((r.data_in[2], r.data_in[12]), (0, 0));
    }

    #[test]
    fn read_capacity_reports_last_lba() {
        let lu = LogicalUnit::new(Arc::new(MemDevice::new(512, 8)), LuIdentity::from_name("x"));
        run(&lu, &[0; 6]);
        let r = run(&lu, &[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&r.data_in[..], &[0, 0, 0, 7, 0, 0, 2, 0]);
        let r = run(&lu, &[0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(r.status, Status::CHECK_CONDITION);
        let mut rc16 = [0u8; 16];
        rc16[0] = 0x9e;
        rc16[1] = 0x10;
        rc16[13] = 12;
        let r = run(&lu, &rc16);
        assert_eq!(r.data_in.len(), 12);
        assert_eq!(&r.data_in[..8], &7u64.to_be_bytes());
    }
}
