//! Block IO (SBC-3 §5): READ, WRITE, WRITE AND VERIFY, VERIFY, ORWRITE, WRITE ATOMIC, COMPARE
//! AND WRITE, PRE-FETCH and SYNCHRONIZE CACHE.
//!
//! Every handler checks, in this order: the LBA range (LOGICAL BLOCK ADDRESS OUT OF RANGE,
//! overflow included, and for an LBA past the end even with zero blocks), the transfer
//! length against the Block Limits VPD page (INVALID FIELD IN CDB pointing at the length),
//! write protection (DATA PROTECT), then does the IO. A transfer length of zero is not an
//! error and moves no data.

use bytes::BytesMut;

use super::{Ctx, Done, Fail, Outcome};
use crate::cdb::BlockCdb;
use crate::sense::{AscAscq, Sense, SenseKey};
use crate::vpd;

/// Largest chunk a handler reads or writes at once when it loops (WRITE SAME, VERIFY).
pub(crate) const CHUNK_BYTES: usize = 1 << 20;

/// The byte of the TRANSFER LENGTH field (or its equivalent) for a CDB of `len` bytes.
pub(crate) fn length_byte(cdb: &[u8]) -> u16 {
    match cdb.first() {
        Some(0x89) => 13,
        Some(0x9c) => 12,
        _ => match cdb.len() {
            6 => 4,
            10 => 7,
            12 => 6,
            _ => 10,
        },
    }
}

/// A parsed block command with its number of blocks (READ(6)/WRITE(6): 0 means 256).
pub(crate) struct BlockRange {
    pub(crate) cdb: BlockCdb,
    pub(crate) lba: u64,
    pub(crate) blocks: u64,
}

/// Parses the CDB and checks its range; `max_blocks` bounds the length (INVALID FIELD IN
/// CDB).
pub(crate) fn block_range(ctx: &Ctx<'_>, max_blocks: u64) -> Result<BlockRange, Fail> {
    let cdb = BlockCdb::parse(ctx.cdb)?;
    let mut blocks = u64::from(cdb.length);
    if matches!(cdb.opcode, 0x08 | 0x0a) && blocks == 0 {
        // SBC-3 §5.12: "A TRANSFER LENGTH field set to zero specifies that 256 logical
        // blocks shall be read."
        blocks = 256;
    }
    ctx.check_range(cdb.lba, blocks)?;
    if blocks > max_blocks {
        return Err(Sense::invalid_cdb_field(length_byte(ctx.cdb), None).into());
    }
    Ok(BlockRange {
        cdb,
        lba: cdb.lba,
        blocks,
    })
}

/// The largest transfer, in blocks.
fn max_blocks(ctx: &Ctx<'_>) -> u64 {
    u64::from(vpd::max_transfer_blocks(ctx.block_size()))
}

/// `blocks` blocks in bytes (bounded by the caller's limits).
fn bytes_of(ctx: &Ctx<'_>, blocks: u64) -> usize {
    (blocks as usize).saturating_mul(ctx.block_size() as usize)
}

/// Reads `blocks` blocks at `lba` into a new buffer.
fn read_blocks(ctx: &Ctx<'_>, lba: u64, blocks: u64) -> Result<BytesMut, Fail> {
    let mut buf = BytesMut::zeroed(bytes_of(ctx, blocks));
    ctx.lu.device.read(lba, &mut buf)?;
    Ok(buf)
}

/// Writes the data-out bytes that arrived for a write of `blocks` blocks at `lba`: whole
/// blocks directly, a trailing partial block (the transport's expected length cut it)
/// merged into the medium's block (SPC-4 / FCP-4: "process the command normally except
/// that data beyond the expected length shall not be transferred").
fn write_arrived(ctx: &Ctx<'_>, lba: u64, blocks: u64, data: &[u8], fua: bool) -> Result<(), Fail> {
    let bs = ctx.block_size() as usize;
    let data = &data[..data.len().min(bytes_of(ctx, blocks))];
    let whole = data.len() / bs;
    if whole > 0 {
        ctx.lu.device.write(lba, &data[..whole * bs], fua)?;
    }
    let rest = &data[whole * bs..];
    if !rest.is_empty() {
        let at = lba + whole as u64;
        let mut block = read_blocks(ctx, at, 1)?;
        block[..rest.len()].copy_from_slice(rest);
        ctx.lu.device.write(at, &block, fua)?;
    }
    Ok(())
}

/// READ(6)/(10)/(12)/(16).
pub(crate) fn read(ctx: &Ctx<'_>) -> Outcome {
    let r = block_range(ctx, max_blocks(ctx))?;
    if r.blocks == 0 {
        return Done::blocks(BytesMut::new(), 0);
    }
    let _io = ctx.lu.io_shared();
    let buf = read_blocks(ctx, r.lba, r.blocks)?;
    let n = buf.len() as u32;
    Done::blocks(buf, n)
}

/// WRITE(6)/(10)/(12)/(16).
pub(crate) fn write(ctx: &Ctx<'_>) -> Outcome {
    let r = block_range(ctx, max_blocks(ctx))?;
    ctx.check_writable()?;
    let len = bytes_of(ctx, r.blocks) as u32;
    if r.blocks > 0 {
        let fua = ctx.force_unit_access(r.cdb.flags & 0x08 != 0);
        let _io = ctx.lu.io_shared();
        write_arrived(ctx, r.lba, r.blocks, ctx.data_out(len as usize), fua)?;
    }
    Ok(Done {
        transfer_length: len,
        ..Done::empty()
    })
}

/// WRITE AND VERIFY(10)/(12)/(16): a forced-unit-access write; the verification (BYTCHK 1
/// compares the data just written) cannot fail.
pub(crate) fn write_and_verify(ctx: &Ctx<'_>) -> Outcome {
    let r = block_range(ctx, max_blocks(ctx))?;
    ctx.check_writable()?;
    let len = bytes_of(ctx, r.blocks) as u32;
    if r.blocks > 0 {
        let _io = ctx.lu.io_shared();
        write_arrived(ctx, r.lba, r.blocks, ctx.data_out(len as usize), true)?;
    }
    Ok(Done {
        transfer_length: len,
        ..Done::empty()
    })
}

/// The sense data of a miscompare at byte `offset` of the data-out buffer.
fn miscompare(offset: usize) -> Fail {
    let mut s = Sense::new(SenseKey::MISCOMPARE, AscAscq::MISCOMPARE_DURING_VERIFY);
    s.information = Some(offset as u64);
    Fail::Check(s)
}

/// VERIFY(10)/(12)/(16) (SBC-3 §5.33): BYTCHK 00b checks the range only (the medium has no
/// media errors to find), 01b compares the data-out blocks with the medium, 11b compares
/// one data-out block with each block; 10b is reserved.
pub(crate) fn verify(ctx: &Ctx<'_>) -> Outcome {
    let cdb = BlockCdb::parse(ctx.cdb)?;
    let bytchk = (cdb.flags >> 1) & 3;
    if bytchk == 2 {
        return Err(Sense::invalid_cdb_field(1, Some(2)).into());
    }
    let limit = if bytchk == 0 {
        u64::MAX
    } else {
        max_blocks(ctx)
    };
    let r = block_range(ctx, limit)?;
    if r.blocks == 0 || bytchk == 0 {
        return Done::good();
    }
    let bs = ctx.block_size() as usize;
    let (data, expected) = if bytchk == 1 {
        (
            ctx.data_out(bytes_of(ctx, r.blocks)),
            bytes_of(ctx, r.blocks),
        )
    } else {
        (ctx.data_out(bs), bs)
    };
    if data.len() < expected {
        return Err(Sense::invalid_cdb_field(length_byte(ctx.cdb), None).into());
    }
    let _io = ctx.lu.io_shared();
    let medium = read_blocks(ctx, r.lba, r.blocks)?;
    for (i, m) in medium.chunks(bs).enumerate() {
        let want = if bytchk == 1 {
            &data[i * bs..(i + 1) * bs]
        } else {
            data
        };
        if let Some(k) = m.iter().zip(want).position(|(a, b)| a != b) {
            let offset = if bytchk == 1 { i * bs + k } else { k };
            return Err(miscompare(offset));
        }
    }
    Ok(Done {
        transfer_length: expected as u32,
        ..Done::empty()
    })
}

/// ORWRITE(16) (SBC-3 §5.8): ORs the data-out blocks into the medium, atomically with
/// respect to other commands.
pub(crate) fn orwrite(ctx: &Ctx<'_>) -> Outcome {
    let r = block_range(ctx, max_blocks(ctx))?;
    ctx.check_writable()?;
    let len = bytes_of(ctx, r.blocks);
    if r.blocks > 0 {
        let data = ctx.data_out(len);
        let fua = ctx.force_unit_access(r.cdb.flags & 0x08 != 0);
        let _io = ctx.lu.io_exclusive();
        let mut medium = read_blocks(ctx, r.lba, r.blocks)?;
        for (m, d) in medium.iter_mut().zip(data) {
            *m |= d;
        }
        let keep = data.len().div_ceil(ctx.block_size() as usize) * ctx.block_size() as usize;
        write_arrived(ctx, r.lba, r.blocks, &medium[..keep.min(medium.len())], fua)?;
    }
    Ok(Done {
        transfer_length: len as u32,
        ..Done::empty()
    })
}

/// WRITE ATOMIC(16) (SBC-4 §5.48): a write of at most the MAXIMUM ATOMIC TRANSFER LENGTH,
/// done under the unit's exclusive IO lock so no other command sees part of it.
pub(crate) fn write_atomic(ctx: &Ctx<'_>) -> Outcome {
    let atomic = u64::from(vpd::max_atomic_blocks(ctx.block_size()));
    let r = block_range(ctx, atomic)?;
    ctx.check_writable()?;
    let len = bytes_of(ctx, r.blocks);
    if r.blocks > 0 {
        let fua = ctx.force_unit_access(r.cdb.flags & 0x08 != 0);
        let _io = ctx.lu.io_exclusive();
        write_arrived(ctx, r.lba, r.blocks, ctx.data_out(len), fua)?;
    }
    Ok(Done {
        transfer_length: len as u32,
        ..Done::empty()
    })
}

/// COMPARE AND WRITE (SBC-3 §5.2): compares the first half of the data-out buffer with the
/// medium and, if equal, writes the second half, atomically. A miscompare is MISCOMPARE /
/// MISCOMPARE DURING VERIFY OPERATION with the offset of the first differing byte in
/// INFORMATION.
pub(crate) fn compare_and_write(ctx: &Ctx<'_>) -> Outcome {
    let r = block_range(ctx, u64::from(vpd::MAX_COMPARE_AND_WRITE_BLOCKS))?;
    ctx.check_writable()?;
    if r.blocks == 0 {
        // Zero blocks compare and write nothing; data sent with them means the CDB does not
        // say what the initiator meant (a 256-block request wrapped to 0 in the one-byte
        // field, as libiscsi's CompareAndWrite tests send).
        if ctx.request.expected_length != 0 {
            return Err(Sense::invalid_cdb_field(13, None).into());
        }
        return Done::good();
    }
    let half = bytes_of(ctx, r.blocks);
    let Some(data) = ctx.request.data_out.get(..2 * half) else {
        return Err(Sense::invalid_cdb_field(13, None).into());
    };
    if ctx.request.expected_length as usize != 2 * half {
        return Err(Sense::invalid_cdb_field(13, None).into());
    }
    let (verify, write) = data.split_at(half);
    let fua = ctx.force_unit_access(r.cdb.flags & 0x08 != 0);
    let _io = ctx.lu.io_exclusive();
    let medium = read_blocks(ctx, r.lba, r.blocks)?;
    if let Some(k) = medium.iter().zip(verify).position(|(a, b)| a != b) {
        return Err(miscompare(k));
    }
    ctx.lu.device.write(r.lba, write, fua)?;
    Ok(Done {
        transfer_length: (2 * half) as u32,
        ..Done::empty()
    })
}

/// PRE-FETCH(10)/(16) (SBC-3 §5.9): there is no cache to load, so GOOD ("the specified
/// logical blocks ... not all transferred to the cache" is GOOD, not CONDITION MET).
pub(crate) fn pre_fetch(ctx: &Ctx<'_>) -> Outcome {
    block_range(ctx, u64::MAX)?;
    Done::good()
}

/// SYNCHRONIZE CACHE(10)/(16) (SBC-3 §5.22): flushes the device; a NUMBER OF LOGICAL BLOCKS
/// of zero means up to the last block.
pub(crate) fn synchronize_cache(ctx: &Ctx<'_>) -> Outcome {
    block_range(ctx, u64::MAX)?;
    ctx.lu.device.flush()?;
    Done::good()
}

#[cfg(test)]
mod tests;
