//! Thin provisioning and bulk writes: WRITE SAME(10)/(16), UNMAP and GET LBA STATUS (SBC-3
//! §5.42-5.46, §5.28, §5.17).
//!
//! SANITIZE is deliberately not implemented: it runs in the background on real devices
//! (IMMED, NOT READY / SANITIZE IN PROGRESS for other commands), which a synchronous
//! executor cannot model, and erasing a differencing disk's view of a golden image has no
//! useful meaning here.

use super::io::{CHUNK_BYTES, block_range, length_byte};
use super::{Ctx, Done, Fail, Outcome, PARAMETER_LIST_LENGTH_ERROR};
use crate::cdb::field;
use crate::sense::Sense;
use crate::vpd::{MAX_UNMAP_BLOCK_DESCRIPTORS, MAX_UNMAP_LBA_COUNT, MAX_WRITE_SAME_BLOCKS};

/// Writes `pattern` (one block) to `blocks` blocks from `lba`, in chunks of at most
/// [`CHUNK_BYTES`].
fn fill(ctx: &Ctx<'_>, lba: u64, blocks: u64, pattern: &[u8], fua: bool) -> Result<(), Fail> {
    let bs = ctx.block_size() as usize;
    let per_chunk = (CHUNK_BYTES / bs).max(1) as u64;
    let mut chunk = Vec::with_capacity((per_chunk.min(blocks) as usize) * bs);
    for _ in 0..per_chunk.min(blocks) {
        chunk.extend_from_slice(pattern);
    }
    let mut done = 0u64;
    while done < blocks {
        let n = per_chunk.min(blocks - done);
        ctx.lu
            .device
            .write(lba + done, &chunk[..n as usize * bs], fua)?;
        done += n;
    }
    Ok(())
}

/// WRITE SAME(10)/(16): one block written to (or, with UNMAP, deallocated from) a range; a
/// NUMBER OF LOGICAL BLOCKS of zero means up to the last block (WSNZ = 0). NDOB (16 only)
/// uses a block of zeros without data-out.
pub(crate) fn write_same(ctx: &Ctx<'_>) -> Outcome {
    let r = block_range(ctx, u64::MAX)?;
    let blocks = if r.blocks == 0 {
        ctx.lu.device.block_count().saturating_sub(r.lba)
    } else {
        r.blocks
    };
    if blocks > MAX_WRITE_SAME_BLOCKS {
        return Err(Sense::invalid_cdb_field(length_byte(ctx.cdb), None).into());
    }
    ctx.check_writable()?;
    let flags = r.cdb.flags;
    let unmap = flags & 0x08 != 0;
    if unmap && !ctx.lu.unmap.supported() {
        return Err(Sense::invalid_cdb_field(1, Some(3)).into());
    }
    let ndob = ctx.cdb.first() == Some(&0x93) && flags & 0x01 != 0;
    let bs = ctx.block_size() as usize;
    let zeros;
    let pattern = if ndob {
        zeros = vec![0u8; bs];
        &zeros[..]
    } else {
        // One block of data-out, exactly.
        match ctx.request.data_out.get(..bs) {
            Some(p) if ctx.request.expected_length as usize == bs => p,
            _ => return Err(Sense::invalid_cdb_field(length_byte(ctx.cdb), None).into()),
        }
    };
    let transfer = if ndob { 0 } else { bs as u32 };
    if blocks == 0 {
        return Ok(Done {
            transfer_length: transfer,
            ..Done::empty()
        });
    }
    let _io = ctx.lu.io_shared();
    // With the UNMAP bit the range is unmapped whatever the data-out block holds, as Linux's
    // LIO target does and libiscsi's WriteSame*Unmap tests expect: the initiator asked for
    // the blocks to be released, and afterwards they read as zeros (LBPRZ).
    if unmap {
        ctx.lu.device.unmap(r.lba, blocks)?;
    } else {
        fill(ctx, r.lba, blocks, pattern, ctx.force_unit_access(false))?;
    }
    Ok(Done {
        transfer_length: transfer,
        ..Done::empty()
    })
}

/// UNMAP (SBC-3 §5.28): every descriptor is checked before any is applied.
pub(crate) fn unmap(ctx: &Ctx<'_>) -> Outcome {
    let len = usize::from(field::u16_at(ctx.cdb, 7));
    ctx.check_writable()?;
    if len == 0 {
        return Done::good();
    }
    // "If the PARAMETER LIST LENGTH field is set to a value greater than zero and less than
    // eight, the device server shall terminate the command ... PARAMETER LIST LENGTH ERROR."
    if len < 8 {
        return Err(PARAMETER_LIST_LENGTH_ERROR.into());
    }
    let list = ctx.parameter_list(len)?;
    let bd_len = usize::from(field::u16_at(list, 2)).min(len - 8);
    let descriptors = &list[8..8 + bd_len - bd_len % 16];
    if descriptors.len() / 16 > MAX_UNMAP_BLOCK_DESCRIPTORS as usize {
        return Err(Sense::invalid_parameter_field(2, None).into());
    }
    let count = ctx.lu.device.block_count();
    let mut ranges = Vec::with_capacity(descriptors.len() / 16);
    for (i, d) in descriptors.chunks_exact(16).enumerate() {
        let lba = field::u64_at(d, 0);
        let blocks = u64::from(field::u32_at(d, 8));
        if lba > count || count - lba < blocks {
            return Err(super::LBA_OUT_OF_RANGE.into());
        }
        if blocks > u64::from(MAX_UNMAP_LBA_COUNT) {
            return Err(Sense::invalid_parameter_field((8 + 16 * i + 8) as u16, None).into());
        }
        if blocks > 0 {
            ranges.push((lba, blocks));
        }
    }
    let _io = ctx.lu.io_shared();
    for (lba, blocks) in ranges {
        ctx.lu.device.unmap(lba, blocks)?;
    }
    Ok(Done {
        transfer_length: len as u32,
        ..Done::empty()
    })
}

/// Most LBA status descriptors GET LBA STATUS returns.
const MAX_LBA_STATUS_DESCRIPTORS: usize = 64;

/// GET LBA STATUS (SBC-3 §5.17): runs of mapped and deallocated blocks from the starting LBA.
pub(crate) fn get_lba_status(ctx: &Ctx<'_>) -> Outcome {
    let start = field::u64_at(ctx.cdb, 2);
    let alloc = field::u32_at(ctx.cdb, 10) as usize;
    let count = ctx.lu.device.block_count();
    if start >= count {
        return Err(super::LBA_OUT_OF_RANGE.into());
    }
    // Header (8) + descriptors (16 each), as many as the allocation length holds (at least one).
    let want = (alloc.saturating_sub(8) / 16).clamp(1, MAX_LBA_STATUS_DESCRIPTORS);
    let mut d = vec![0u8; 8];
    let mut lba = start;
    let mut n = 0;
    while lba < count && n < want {
        let a = ctx.lu.device.allocation(lba)?;
        let blocks = a.blocks.clamp(1, count - lba).min(u64::from(u32::MAX));
        d.extend_from_slice(&lba.to_be_bytes());
        d.extend_from_slice(&(blocks as u32).to_be_bytes());
        d.push(if a.mapped { 0 } else { 1 });
        d.extend_from_slice(&[0; 3]);
        lba += blocks;
        n += 1;
    }
    let len = (d.len() - 4) as u32;
    d[..4].copy_from_slice(&len.to_be_bytes());
    Done::data(d, alloc)
}

#[cfg(test)]
mod tests {
    use crate::*;
    use std::sync::Arc;

    fn run(lu: &LogicalUnit, cdb: &[u8], data: &[u8]) -> CommandResponse {
        let n = ItNexus::new("p", [0; 6]);
        let req = CommandRequest {
            cdb,
            data_out: data,
            expected_length: data.len() as u32,
            attribute: TaskAttribute::Simple,
        };
        lu.execute(&n, &req)
    }

    fn thin() -> LogicalUnit {
        let dev = MemDevice::new(512, 32).with_unmap(UnmapSupport::Zeroes);
        let lu = LogicalUnit::new(Arc::new(dev), LuIdentity::from_name("p"));
        run(&lu, &[0; 6], &[]);
        lu
    }

    #[test]
    fn write_same_zero_blocks_writes_to_the_end() {
        let lu = thin();
        let r = run(&lu, &[0x41, 0, 0, 0, 0, 30, 0, 0, 0, 0], &[9; 512]);
        assert_eq!(r.status, Status::GOOD);
        let c = lu.device().block_count();
        assert_eq!(c, 32);
        let mut buf = vec![0u8; 1024];
        lu.device().read(30, &mut buf).unwrap();
        assert!(buf.iter().all(|&b| b == 9));
        // Past the end: LBA out of range; wrong data-out size: refused.
        let r = run(&lu, &[0x41, 0, 0, 0, 0, 33, 0, 0, 0, 0], &[9; 512]);
        assert_eq!(r.status, Status::CHECK_CONDITION);
        let r = run(&lu, &[0x41, 0, 0, 0, 0, 1, 0, 0, 1, 0], &[9; 1024]);
        assert_eq!(r.status, Status::CHECK_CONDITION);
    }

    #[test]
    fn write_same_with_unmap_releases_whatever_the_data_block_holds() {
        let lu = thin();
        run(&lu, &[0x2a, 0, 0, 0, 0, 4, 0, 0, 2, 0], &[0xff; 1024]);
        // WRITE SAME(10), UNMAP bit, 2 blocks at LBA 4, a data block of 0xff.
        let r = run(&lu, &[0x41, 0x08, 0, 0, 0, 4, 0, 0, 2, 0], &[0xff; 512]);
        assert_eq!(r.status, Status::GOOD);
        let mut buf = vec![1u8; 1024];
        lu.device().read(4, &mut buf).unwrap();
        assert!(buf.iter().all(|&b| b == 0), "unmapped blocks read as zeros");
    }

    #[test]
    fn unmap_short_parameter_list_is_a_length_error() {
        let lu = thin();
        let r = run(&lu, &[0x42, 0, 0, 0, 0, 0, 0, 0, 4, 0], &[0; 4]);
        let s = Sense::parse(&r.sense.unwrap()).unwrap();
        assert_eq!(s.code, AscAscq::PARAMETER_LIST_LENGTH_ERROR);
        assert_eq!(
            run(&lu, &[0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[]).status,
            Status::GOOD
        );
    }

    #[test]
    fn get_lba_status_past_the_end_is_out_of_range() {
        let lu = thin();
        let mut cdb = [0u8; 16];
        cdb[0] = 0x9e;
        cdb[1] = 0x12;
        cdb[9] = 32;
        cdb[13] = 24;
        let r = run(&lu, &cdb, &[]);
        assert_eq!(
            Sense::parse(&r.sense.unwrap()).unwrap().code,
            AscAscq::LBA_OUT_OF_RANGE
        );
        cdb[9] = 0;
        let r = run(&lu, &cdb, &[]);
        assert_eq!(r.data_in.len(), 24);
        assert_eq!(r.data_in[20], 1, "deallocated");
    }
}
