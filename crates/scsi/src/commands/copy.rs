//! Third-party copy within one logical unit: EXTENDED COPY (LID1, SPC-4 §6.4) and RECEIVE
//! COPY RESULTS (SPC-4 §6.18) with its COPY STATUS and OPERATING PARAMETERS service actions.
//!
//! The copy manager supports identification descriptor target descriptors (E4h) that name
//! this logical unit by a designator of its Device Identification VPD page, and block device
//! to block device segment descriptors (02h). Any other copy target is unreachable (COPY
//! ABORTED / UNREACHABLE COPY TARGET). The parameter list is validated as a whole before any
//! data moves; segments then run in order, each copied in chunks of at most
//! [`CHUNK_BYTES`](super::io::CHUNK_BYTES) (overlapping ranges are copied like `memmove`).
//!
//! The limits OPERATING PARAMETERS and the Third-party Copy VPD page report are the constants
//! here, and bound everything the handler keeps: at most [`MAX_TARGET_DESCRIPTORS`] targets,
//! [`MAX_SEGMENT_DESCRIPTORS`] segments and one chunk buffer.

use std::collections::VecDeque;

use super::io::CHUNK_BYTES;
use super::{Ctx, Done, Fail, Outcome, PARAMETER_LIST_LENGTH_ERROR};
use crate::cdb::field;
use crate::device::DeviceError;
use crate::sense::{AscAscq, Sense, SenseKey, SenseSpecific};

/// MAXIMUM TARGET DESCRIPTOR COUNT (CSCD descriptors).
pub(crate) const MAX_TARGET_DESCRIPTORS: u16 = 8;
/// MAXIMUM SEGMENT DESCRIPTOR COUNT.
pub(crate) const MAX_SEGMENT_DESCRIPTORS: u16 = 64;
/// MAXIMUM DESCRIPTOR LIST LENGTH, in bytes (target plus segment descriptor lists).
pub(crate) const MAX_DESCRIPTOR_LIST_LENGTH: u32 = 2048;
/// TOTAL CONCURRENT COPIES and MAXIMUM CONCURRENT COPIES.
pub(crate) const MAX_CONCURRENT_COPIES: u8 = 16;
/// The descriptor type codes implemented: block to block segments, identification targets.
pub(crate) const IMPLEMENTED_DESCRIPTORS: [u8; 2] = [BLOCK_TO_BLOCK, IDENTIFICATION];

/// Block device to block device segment descriptor.
const BLOCK_TO_BLOCK: u8 = 0x02;
/// Identification descriptor target descriptor.
const IDENTIFICATION: u8 = 0xe4;
/// Parameter list header length.
const HEADER_LEN: usize = 16;
/// Length of a target descriptor (every type this manager may meet in a 32-byte stride).
const TARGET_LEN: usize = 32;
/// DESCRIPTOR LENGTH of a block to block segment descriptor (its length less 4).
const BLOCK_TO_BLOCK_LEN: u16 = 0x18;
/// Copy statuses held per I_T nexus for RECEIVE COPY RESULTS; older ones are dropped.
const MAX_HELD: usize = 16;

/// ILLEGAL REQUEST with `code`, pointing at `byte` of the parameter list.
fn parameter_error(code: AscAscq, byte: usize) -> Sense {
    Sense {
        key: SenseKey::ILLEGAL_REQUEST,
        code,
        information: None,
        specific: Some(SenseSpecific::Field {
            cdb: false,
            byte: u16::try_from(byte).unwrap_or(u16::MAX),
            bit: None,
        }),
    }
}

/// COPY ABORTED with `code`, the segment pointer at the segment descriptor at `byte`.
fn copy_aborted(code: AscAscq, byte: usize) -> Sense {
    Sense {
        key: SenseKey::COPY_ABORTED,
        ..parameter_error(code, byte)
    }
}

/// One block to block segment descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Segment {
    /// Offset of the descriptor in the parameter list (the segment pointer of errors).
    pub(crate) offset: usize,
    /// SOURCE TARGET DESCRIPTOR INDEX.
    pub(crate) source: u16,
    /// DESTINATION TARGET DESCRIPTOR INDEX.
    pub(crate) destination: u16,
    /// BLOCK DEVICE NUMBER OF BLOCKS.
    pub(crate) blocks: u16,
    /// SOURCE BLOCK DEVICE LOGICAL BLOCK ADDRESS.
    pub(crate) source_lba: u64,
    /// DESTINATION BLOCK DEVICE LOGICAL BLOCK ADDRESS.
    pub(crate) destination_lba: u64,
}

/// A validated EXTENDED COPY parameter list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CopyList {
    /// LIST IDENTIFIER.
    pub(crate) list_id: u8,
    /// LIST ID USAGE (00b hold status, 10b hold none, 11b no list identifier).
    pub(crate) list_id_usage: u8,
    /// For each target descriptor, whether it names this logical unit.
    pub(crate) targets: Vec<bool>,
    /// The segments, in order.
    pub(crate) segments: Vec<Segment>,
}

/// What a target descriptor must match to name this logical unit.
pub(crate) struct Local<'a> {
    /// The designation descriptors of the Device Identification VPD page (no page header).
    pub(crate) designators: &'a [u8],
    /// The logical block length.
    pub(crate) block_size: u32,
}

impl Local<'_> {
    /// Whether the designation descriptor `d` (4-byte header and designator) is one of ours:
    /// same code set, association, designator type and designator.
    fn names_us(&self, d: &[u8]) -> bool {
        let mut rest = self.designators;
        while let [cs, kind, _, len, ..] = *rest {
            let end = 4 + usize::from(len);
            let Some(ours) = rest.get(..end) else {
                return false;
            };
            if (cs & 0x0f, kind & 0x3f) == (d[0] & 0x0f, d[1] & 0x3f) && ours[3..] == d[3..] {
                return true;
            }
            rest = &rest[end..];
        }
        false
    }
}

/// Parses and validates a whole EXTENDED COPY (LID1) parameter list of at least 16 bytes.
///
/// Checks, in order: the header's reserved fields and LIST ID USAGE; the lists against the
/// parameter list length and [`MAX_DESCRIPTOR_LIST_LENGTH`] (PARAMETER LIST LENGTH ERROR);
/// the target descriptors (count, type, peripheral device type, designator length, block
/// length); the segment descriptors (truncation, count, type, length, reserved fields).
pub(crate) fn parse(list: &[u8], local: &Local<'_>) -> Result<CopyList, Sense> {
    let header = list.get(..HEADER_LEN).ok_or(PARAMETER_LIST_LENGTH_ERROR)?;
    let flags = header[1];
    if flags & 0xc0 != 0 {
        let bit = 7 - (flags & 0xc0).leading_zeros() as u8;
        return Err(Sense::invalid_parameter_field(1, Some(bit)));
    }
    let list_id_usage = (flags >> 3) & 3;
    if list_id_usage == 1 {
        return Err(Sense::invalid_parameter_field(1, Some(4)));
    }
    if let Some(i) = (4..8).find(|&i| header[i] != 0) {
        return Err(Sense::invalid_parameter_field(i as u16, None));
    }
    let target_len = usize::from(field::u16_at(header, 2));
    let segment_len = field::u32_at(header, 8) as usize;
    let inline_len = field::u32_at(header, 12) as usize;
    let total = HEADER_LEN as u64 + target_len as u64 + segment_len as u64 + inline_len as u64;
    if total > list.len() as u64
        || target_len as u64 + segment_len as u64 > u64::from(MAX_DESCRIPTOR_LIST_LENGTH)
    {
        return Err(PARAMETER_LIST_LENGTH_ERROR);
    }
    if inline_len != 0 {
        // MAXIMUM INLINE DATA LENGTH is zero.
        return Err(Sense::invalid_parameter_field(12, None));
    }

    // Target descriptors.
    if target_len % TARGET_LEN != 0 {
        return Err(Sense::invalid_parameter_field(2, None));
    }
    if target_len / TARGET_LEN > usize::from(MAX_TARGET_DESCRIPTORS) {
        return Err(parameter_error(
            AscAscq::TOO_MANY_TARGET_DESCRIPTORS,
            HEADER_LEN,
        ));
    }
    let mut targets = Vec::with_capacity(target_len / TARGET_LEN);
    let target_end = HEADER_LEN + target_len;
    for at in (HEADER_LEN..target_end).step_by(TARGET_LEN) {
        let t = &list[at..at + TARGET_LEN];
        if t[0] != IDENTIFICATION {
            return Err(parameter_error(
                AscAscq::UNSUPPORTED_TARGET_DESCRIPTOR_TYPE_CODE,
                at,
            ));
        }
        // Byte 1: LU ID TYPE and NUL are ignored (SPC-4); the peripheral device type must
        // be a block device.
        if t[1] & 0x1f != 0 {
            return Err(parameter_error(
                AscAscq::UNSUPPORTED_TARGET_DESCRIPTOR_TYPE_CODE,
                at + 1,
            ));
        }
        let designator_len = usize::from(t[7]);
        if designator_len > 20 {
            return Err(Sense::invalid_parameter_field((at + 7) as u16, None));
        }
        let local_lu = local.names_us(&t[4..8 + designator_len]);
        if local_lu {
            let block_length = u32::from_be_bytes([0, t[29], t[30], t[31]]);
            if block_length != local.block_size {
                return Err(Sense::invalid_parameter_field((at + 29) as u16, None));
            }
        }
        targets.push(local_lu);
    }

    // Segment descriptors.
    let end = target_end + segment_len;
    let mut segments = Vec::new();
    let mut at = target_end;
    while at < end {
        if end - at < 4 {
            return Err(PARAMETER_LIST_LENGTH_ERROR);
        }
        let kind = list[at];
        let descriptor_len = field::u16_at(list, at + 2);
        let next = at + 4 + usize::from(descriptor_len);
        if next > end {
            return Err(PARAMETER_LIST_LENGTH_ERROR);
        }
        if segments.len() >= usize::from(MAX_SEGMENT_DESCRIPTORS) {
            return Err(parameter_error(AscAscq::TOO_MANY_SEGMENT_DESCRIPTORS, at));
        }
        if kind != BLOCK_TO_BLOCK {
            return Err(parameter_error(
                AscAscq::UNSUPPORTED_SEGMENT_DESCRIPTOR_TYPE_CODE,
                at,
            ));
        }
        if descriptor_len != BLOCK_TO_BLOCK_LEN {
            return Err(Sense::invalid_parameter_field((at + 2) as u16, None));
        }
        let s = &list[at..next];
        // Byte 1: DC and CAT; both leave a block to block copy within one unit unchanged.
        if s[1] & 0xfc != 0 {
            let bit = 7 - (s[1] & 0xfc).leading_zeros() as u8;
            return Err(Sense::invalid_parameter_field((at + 1) as u16, Some(bit)));
        }
        if let Some(i) = (8..10).find(|&i| s[i] != 0) {
            return Err(Sense::invalid_parameter_field((at + i) as u16, None));
        }
        segments.push(Segment {
            offset: at,
            source: field::u16_at(s, 4),
            destination: field::u16_at(s, 6),
            blocks: field::u16_at(s, 10),
            source_lba: field::u64_at(s, 12),
            destination_lba: field::u64_at(s, 20),
        });
        at = next;
    }
    Ok(CopyList {
        list_id: header[0],
        list_id_usage,
        targets,
        segments,
    })
}

/// The outcome of a completed EXTENDED COPY, held for RECEIVE COPY RESULTS / COPY STATUS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CopyStatus {
    /// Whether every segment completed.
    pub(crate) ok: bool,
    /// Segments processed.
    pub(crate) segments: u16,
    /// Bytes written to the destination.
    pub(crate) bytes: u64,
}

/// The copy statuses held for one I_T nexus, by list identifier (the newest
/// [`MAX_HELD`]).
#[derive(Debug, Default)]
pub(crate) struct HeldCopies(VecDeque<(u8, CopyStatus)>);

impl HeldCopies {
    /// Holds `status` for `list_id`, replacing an older one.
    pub(crate) fn hold(&mut self, list_id: u8, status: CopyStatus) {
        self.0.retain(|(id, _)| *id != list_id);
        self.0.push_back((list_id, status));
        while self.0.len() > MAX_HELD {
            self.0.pop_front();
        }
    }

    /// The status held for `list_id`, discarded as it is returned.
    pub(crate) fn take(&mut self, list_id: u8) -> Option<CopyStatus> {
        let i = self.0.iter().position(|(id, _)| *id == list_id)?;
        self.0.remove(i).map(|(_, s)| s)
    }
}

/// The designation descriptors of the Device Identification VPD page of the context's unit.
fn our_designators(ctx: &Ctx<'_>) -> Vec<u8> {
    let mut page = crate::vpd::page(ctx.lu, 0x83).unwrap_or_default();
    page.drain(..page.len().min(4));
    page
}

/// A device error while copying: write protection is reported as such, anything else as
/// COPY ABORTED / COPY TARGET DEVICE NOT REACHABLE for the segment at `offset`.
fn device_failure(e: DeviceError, offset: usize) -> Sense {
    match e {
        DeviceError::ReadOnly => super::WRITE_PROTECTED,
        _ => copy_aborted(AscAscq::COPY_TARGET_DEVICE_NOT_REACHABLE, offset),
    }
}

/// Runs one segment; returns the bytes copied.
fn copy_segment(ctx: &Ctx<'_>, targets: &[bool], s: &Segment) -> Result<u64, Sense> {
    let reachable = |i: u16| targets.get(usize::from(i)).copied().unwrap_or(false);
    if !reachable(s.source) || !reachable(s.destination) {
        return Err(copy_aborted(AscAscq::UNREACHABLE_COPY_TARGET, s.offset));
    }
    let blocks = u64::from(s.blocks);
    let count = ctx.lu.device.block_count();
    let in_range = |lba: u64| lba.checked_add(blocks).is_some_and(|e| e <= count);
    if !in_range(s.source_lba) || !in_range(s.destination_lba) {
        return Err(copy_aborted(
            AscAscq::COPY_TARGET_DEVICE_NOT_REACHABLE,
            s.offset,
        ));
    }
    if blocks == 0 || s.source_lba == s.destination_lba {
        return Ok(blocks * u64::from(ctx.block_size()));
    }
    let bs = ctx.block_size() as usize;
    let per_chunk = (CHUNK_BYTES / bs).max(1) as u64;
    let mut buf = vec![0u8; (blocks.min(per_chunk) as usize) * bs];
    let fua = ctx.force_unit_access(false);
    // A destination above an overlapping source is copied from the end, like memmove.
    let backward = s.destination_lba > s.source_lba && s.destination_lba < s.source_lba + blocks;
    let chunks = blocks.div_ceil(per_chunk);
    for k in 0..chunks {
        let k = if backward { chunks - 1 - k } else { k };
        let off = k * per_chunk;
        let n = (blocks - off).min(per_chunk) as usize;
        let chunk = &mut buf[..n * bs];
        let _io = ctx.lu.io_shared();
        ctx.lu
            .device
            .read(s.source_lba + off, chunk)
            .map_err(|e| device_failure(e, s.offset))?;
        ctx.lu
            .device
            .write(s.destination_lba + off, chunk, fua)
            .map_err(|e| device_failure(e, s.offset))?;
    }
    Ok(blocks * bs as u64)
}

/// EXTENDED COPY (LID1).
pub(crate) fn extended_copy(ctx: &Ctx<'_>) -> Outcome {
    let len = field::u32_at(ctx.cdb, 10) as usize;
    // "A PARAMETER LIST LENGTH field set to zero specifies that no data shall be
    // transferred. This shall not be considered an error."
    if len == 0 {
        return Done::good();
    }
    if len < HEADER_LEN || len > HEADER_LEN + MAX_DESCRIPTOR_LIST_LENGTH as usize {
        return Err(PARAMETER_LIST_LENGTH_ERROR.into());
    }
    let list = ctx.parameter_list(len)?;
    let designators = our_designators(ctx);
    let local = Local {
        designators: &designators,
        block_size: ctx.block_size(),
    };
    let copy = parse(list, &local)?;
    if !copy.segments.is_empty() {
        ctx.check_writable()?;
    }
    let mut status = CopyStatus {
        ok: true,
        segments: 0,
        bytes: 0,
    };
    let mut failure = None;
    for s in &copy.segments {
        match copy_segment(ctx, &copy.targets, s) {
            Ok(n) => {
                status.segments += 1;
                status.bytes += n;
            }
            Err(sense) => {
                status.ok = false;
                failure = Some(sense);
                break;
            }
        }
    }
    if copy.list_id_usage == 0 {
        ctx.lu
            .lock()
            .nexus(ctx.key)
            .copies
            .hold(copy.list_id, status);
    }
    match failure {
        Some(sense) => Err(Fail::Check(sense)),
        None => Done::good(),
    }
}

/// RECEIVE COPY RESULTS: COPY STATUS (00h) and OPERATING PARAMETERS (03h).
pub(crate) fn receive_copy_results(ctx: &Ctx<'_>) -> Outcome {
    let sa = field::u8_at(ctx.cdb, 1) & 0x1f;
    let list_id = field::u8_at(ctx.cdb, 2);
    let alloc = field::u32_at(ctx.cdb, 10) as usize;
    match sa {
        0x00 => {
            let held = ctx.lu.lock().nexus(ctx.key).copies.take(list_id);
            match held {
                Some(status) => Done::data(copy_status(&status).to_vec(), alloc),
                None => Err(Sense::invalid_cdb_field(2, None).into()),
            }
        }
        _ => Done::data(operating_parameters(ctx.block_size()), alloc),
    }
}

/// COPY STATUS data (SPC-4 §6.18.2) for a completed command.
fn copy_status(s: &CopyStatus) -> [u8; 12] {
    let mut d = [0u8; 12];
    d[..4].copy_from_slice(&8u32.to_be_bytes());
    // HDD 0; COPY MANAGER STATUS 01h completed without errors, 02h with errors.
    d[4] = if s.ok { 0x01 } else { 0x02 };
    d[5..7].copy_from_slice(&s.segments.to_be_bytes());
    // TRANSFER COUNT UNITS: bytes while they fit, else KiB.
    let (units, count) = match u32::try_from(s.bytes) {
        Ok(n) => (0x00, n),
        Err(_) => (0x01, u32::try_from(s.bytes >> 10).unwrap_or(u32::MAX)),
    };
    d[7] = units;
    d[8..12].copy_from_slice(&count.to_be_bytes());
    d
}

/// MAXIMUM SEGMENT LENGTH, in bytes: the largest block to block segment.
pub(crate) fn max_segment_bytes(block_size: u32) -> u32 {
    u32::try_from(u64::from(u16::MAX) * u64::from(block_size)).unwrap_or(u32::MAX)
}

/// OPERATING PARAMETERS data (SPC-4 §6.18.4).
pub(crate) fn operating_parameters(block_size: u32) -> Vec<u8> {
    let mut d = vec![0u8; 44];
    d[4] = 0x01; // SNLID: LIST ID USAGE 11b is supported
    d[8..10].copy_from_slice(&MAX_TARGET_DESCRIPTORS.to_be_bytes());
    d[10..12].copy_from_slice(&MAX_SEGMENT_DESCRIPTORS.to_be_bytes());
    d[12..16].copy_from_slice(&MAX_DESCRIPTOR_LIST_LENGTH.to_be_bytes());
    d[16..20].copy_from_slice(&max_segment_bytes(block_size).to_be_bytes());
    // MAXIMUM INLINE DATA LENGTH, HELD DATA LIMIT, MAXIMUM STREAM DEVICE TRANSFER SIZE: 0.
    d[34..36].copy_from_slice(&u16::from(MAX_CONCURRENT_COPIES).to_be_bytes());
    d[36] = MAX_CONCURRENT_COPIES;
    d[37] = block_size.max(1).trailing_zeros() as u8; // DATA SEGMENT GRANULARITY (log2)
    d[43] = IMPLEMENTED_DESCRIPTORS.len() as u8;
    d.extend_from_slice(&IMPLEMENTED_DESCRIPTORS);
    let n = (d.len() - 4) as u32;
    d[..4].copy_from_slice(&n.to_be_bytes());
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        BlockDevice, CommandRequest, ItNexus, LogicalUnit, LuIdentity, MemDevice, Status,
        TaskAttribute,
    };
    use std::sync::Arc;

    const NAA: [u8; 16] = [0x60, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

    fn ours() -> Vec<u8> {
        let mut d = vec![0x01, 0x03, 0x00, 16];
        d.extend_from_slice(&NAA);
        d
    }

    fn target(naa: &[u8; 16], block_size: u32) -> [u8; 32] {
        let mut t = [0u8; 32];
        t[0] = 0xe4;
        t[4..8].copy_from_slice(&[0x01, 0x03, 0x00, 16]);
        t[8..24].copy_from_slice(naa);
        t[29..32].copy_from_slice(&block_size.to_be_bytes()[1..]);
        t
    }

    fn segment(src: u16, dst: u16, blocks: u16, src_lba: u64, dst_lba: u64) -> [u8; 28] {
        let mut s = [0u8; 28];
        s[0] = 0x02;
        s[2..4].copy_from_slice(&0x18u16.to_be_bytes());
        s[4..6].copy_from_slice(&src.to_be_bytes());
        s[6..8].copy_from_slice(&dst.to_be_bytes());
        s[10..12].copy_from_slice(&blocks.to_be_bytes());
        s[12..20].copy_from_slice(&src_lba.to_be_bytes());
        s[20..28].copy_from_slice(&dst_lba.to_be_bytes());
        s
    }

    fn list(list_id: u8, targets: &[[u8; 32]], segments: &[[u8; 28]]) -> Vec<u8> {
        let mut l = vec![0u8; 16];
        l[0] = list_id;
        l[2..4].copy_from_slice(&((targets.len() * 32) as u16).to_be_bytes());
        l[8..12].copy_from_slice(&((segments.len() * 28) as u32).to_be_bytes());
        for t in targets {
            l.extend_from_slice(t);
        }
        for s in segments {
            l.extend_from_slice(s);
        }
        l
    }

    fn parse_ours(l: &[u8]) -> Result<CopyList, Sense> {
        let d = ours();
        parse(
            l,
            &Local {
                designators: &d,
                block_size: 512,
            },
        )
    }

    #[test]
    fn parses_a_simple_list() {
        let l = list(7, &[target(&NAA, 512)], &[segment(0, 0, 8, 1, 100)]);
        let c = parse_ours(&l).unwrap();
        assert_eq!((c.list_id, c.list_id_usage), (7, 0));
        assert_eq!(c.targets, vec![true]);
        assert_eq!(c.segments.len(), 1);
        assert_eq!(
            c.segments[0],
            Segment {
                offset: 48,
                source: 0,
                destination: 0,
                blocks: 8,
                source_lba: 1,
                destination_lba: 100
            }
        );
        // Another unit's designator is parsed but not local.
        let mut other = NAA;
        other[15] ^= 1;
        let l = list(1, &[target(&other, 512)], &[]);
        assert_eq!(parse_ours(&l).unwrap().targets, vec![false]);
    }

    #[test]
    fn truncation_and_list_length_errors() {
        let l = list(1, &[target(&NAA, 512)], &[segment(0, 0, 1, 0, 1)]);
        assert_eq!(parse_ours(&l[..47]), Err(PARAMETER_LIST_LENGTH_ERROR));
        assert_eq!(parse_ours(&l[..75]), Err(PARAMETER_LIST_LENGTH_ERROR));
        assert_eq!(parse_ours(&l[..10]), Err(PARAMETER_LIST_LENGTH_ERROR));
        // Over MAXIMUM DESCRIPTOR LIST LENGTH.
        let segs = vec![segment(0, 0, 1, 0, 1); 74];
        let l = list(1, &[target(&NAA, 512)], &segs);
        assert_eq!(parse_ours(&l), Err(PARAMETER_LIST_LENGTH_ERROR));
        // A segment descriptor cut by the segment list length.
        let mut l = list(1, &[target(&NAA, 512)], &[segment(0, 0, 1, 0, 1)]);
        l[8..12].copy_from_slice(&20u32.to_be_bytes());
        assert_eq!(parse_ours(&l), Err(PARAMETER_LIST_LENGTH_ERROR));
    }

    #[test]
    fn descriptor_limits_and_types() {
        let targets = vec![target(&NAA, 512); 9];
        let e = parse_ours(&list(1, &targets, &[segment(0, 0, 1, 0, 1)])).unwrap_err();
        assert_eq!(e.code, AscAscq::TOO_MANY_TARGET_DESCRIPTORS);
        let segs = vec![segment(0, 0, 1, 0, 1); 65];
        let e = parse_ours(&list(1, &[target(&NAA, 512)], &segs)).unwrap_err();
        assert_eq!(e.code, AscAscq::TOO_MANY_SEGMENT_DESCRIPTORS);
        let mut fc = target(&NAA, 512);
        fc[0] = 0xe0;
        let e = parse_ours(&list(1, &[fc], &[])).unwrap_err();
        assert_eq!(
            e,
            parameter_error(AscAscq::UNSUPPORTED_TARGET_DESCRIPTOR_TYPE_CODE, 16)
        );
        let mut stream = segment(0, 0, 1, 0, 1);
        stream[0] = 0x03;
        let e = parse_ours(&list(1, &[target(&NAA, 512)], &[stream])).unwrap_err();
        assert_eq!(
            e,
            parameter_error(AscAscq::UNSUPPORTED_SEGMENT_DESCRIPTOR_TYPE_CODE, 48)
        );
    }

    #[test]
    fn invalid_fields_point_at_their_byte() {
        let mut l = list(1, &[target(&NAA, 512)], &[segment(0, 0, 1, 0, 1)]);
        l[1] = 0x08; // LIST ID USAGE 01b
        assert_eq!(
            parse_ours(&l),
            Err(Sense::invalid_parameter_field(1, Some(4)))
        );
        let l = list(1, &[target(&NAA, 4096)], &[]);
        assert_eq!(
            parse_ours(&l),
            Err(Sense::invalid_parameter_field(45, None))
        );
        let mut s = segment(0, 0, 1, 0, 1);
        s[1] = 0x04;
        let l = list(1, &[target(&NAA, 512)], &[s]);
        assert_eq!(
            parse_ours(&l),
            Err(Sense::invalid_parameter_field(49, Some(2)))
        );
        // LU ID TYPE and NUL are ignored.
        let mut t = target(&NAA, 512);
        t[1] = 0xa0;
        assert!(parse_ours(&list(1, &[t], &[])).is_ok());
    }

    #[test]
    fn held_copies_are_bounded_and_taken_once() {
        let mut h = HeldCopies::default();
        let s = CopyStatus {
            ok: true,
            segments: 1,
            bytes: 512,
        };
        for id in 0..40 {
            h.hold(id, s);
        }
        assert_eq!(h.0.len(), MAX_HELD);
        assert_eq!(h.take(0), None);
        assert_eq!(h.take(39), Some(s));
        assert_eq!(h.take(39), None);
    }

    fn run(lu: &LogicalUnit, n: &ItNexus, cdb: &[u8], data_out: &[u8]) -> crate::CommandResponse {
        lu.execute(
            n,
            &CommandRequest {
                cdb,
                data_out,
                expected_length: 4096,
                attribute: TaskAttribute::Simple,
            },
        )
    }

    fn xcopy_cdb(len: usize) -> [u8; 16] {
        let mut c = [0u8; 16];
        c[0] = 0x83;
        c[10..14].copy_from_slice(&(len as u32).to_be_bytes());
        c
    }

    fn rcr_cdb(sa: u8, list_id: u8) -> [u8; 16] {
        let mut c = [0u8; 16];
        c[0] = 0x84;
        c[1] = sa;
        c[2] = list_id;
        c[10..14].copy_from_slice(&1024u32.to_be_bytes());
        c
    }

    #[test]
    fn copies_within_the_unit_and_reports_status() {
        // 3000 blocks of 512 bytes: a 2100-block copy spans three 1 MiB chunks.
        let dev = Arc::new(MemDevice::new(512, 6000));
        let lu = LogicalUnit::new(dev.clone(), LuIdentity::from_name("copy"));
        let n = ItNexus::new("i", [0; 6]);
        run(&lu, &n, &[0; 6], &[]); // power on unit attention
        let data: Vec<u8> = (0..2100 * 512)
            .map(|i| (i / 512) as u8 ^ (i as u8))
            .collect();
        dev.write(10, &data, false).unwrap();
        let naa = lu.identity().naa;
        let l = list(5, &[target(&naa, 512)], &[segment(0, 0, 2100, 10, 3000)]);
        let r = run(&lu, &n, &xcopy_cdb(l.len()), &l);
        assert_eq!(r.status, Status::GOOD);
        let mut back = vec![0u8; data.len()];
        dev.read(3000, &mut back).unwrap();
        assert!(back == data);

        let r = run(&lu, &n, &rcr_cdb(0, 5), &[]);
        assert_eq!(r.status, Status::GOOD);
        assert_eq!(&r.data_in[..8], &[0, 0, 0, 8, 1, 0, 1, 0]);
        assert_eq!(&r.data_in[8..12], &(2100u32 * 512).to_be_bytes());
        // Taken once.
        let r = run(&lu, &n, &rcr_cdb(0, 5), &[]);
        let s = Sense::parse(&r.sense.unwrap()).unwrap();
        assert_eq!(s, Sense::invalid_cdb_field(2, None));

        let r = run(&lu, &n, &rcr_cdb(3, 0), &[]);
        assert_eq!(r.status, Status::GOOD);
        assert_eq!(r.data_in.len(), 46);
        assert_eq!(&r.data_in[8..10], &MAX_TARGET_DESCRIPTORS.to_be_bytes());
        assert_eq!(&r.data_in[43..], &[2, 0x02, 0xe4]);

        // Zero length is a no-op.
        assert_eq!(run(&lu, &n, &xcopy_cdb(0), &[]).status, Status::GOOD);
    }

    #[test]
    fn overlapping_copies_behave_like_memmove() {
        let dev = Arc::new(MemDevice::new(512, 8192));
        let lu = LogicalUnit::new(dev.clone(), LuIdentity::from_name("overlap"));
        let n = ItNexus::new("i", [0; 6]);
        run(&lu, &n, &[0; 6], &[]);
        let data: Vec<u8> = (0..4000 * 512).map(|i| (i / 512) as u8).collect();
        let naa = lu.identity().naa;
        for (src, dst) in [(0u64, 1000u64), (1000, 0)] {
            dev.write(src, &data, false).unwrap();
            let l = list(1, &[target(&naa, 512)], &[segment(0, 0, 4000, src, dst)]);
            assert_eq!(run(&lu, &n, &xcopy_cdb(l.len()), &l).status, Status::GOOD);
            let mut back = vec![0u8; data.len()];
            dev.read(dst, &mut back).unwrap();
            assert!(back == data, "{src} -> {dst}");
        }
    }

    #[test]
    fn copy_errors() {
        let dev = Arc::new(MemDevice::new(512, 64));
        let lu = LogicalUnit::new(dev, LuIdentity::from_name("errors"));
        let n = ItNexus::new("i", [0; 6]);
        run(&lu, &n, &[0; 6], &[]);
        let naa = lu.identity().naa;
        let key = |l: &[u8]| {
            let r = run(&lu, &n, &xcopy_cdb(l.len()), l);
            let s = Sense::parse(&r.sense.unwrap()).unwrap();
            (s.key, s.code)
        };
        // Destination index beyond the target list.
        let l = list(1, &[target(&naa, 512)], &[segment(0, 1, 8, 0, 8)]);
        assert_eq!(
            key(&l),
            (SenseKey::COPY_ABORTED, AscAscq::UNREACHABLE_COPY_TARGET)
        );
        // Another unit.
        let l = list(1, &[target(&NAA, 512)], &[segment(0, 0, 8, 0, 8)]);
        assert_eq!(
            key(&l),
            (SenseKey::COPY_ABORTED, AscAscq::UNREACHABLE_COPY_TARGET)
        );
        // Past the end.
        let l = list(2, &[target(&naa, 512)], &[segment(0, 0, 8, 0, 63)]);
        assert_eq!(
            key(&l),
            (
                SenseKey::COPY_ABORTED,
                AscAscq::COPY_TARGET_DEVICE_NOT_REACHABLE
            )
        );
        // The failure is held: completed with errors, no segment processed.
        let r = run(&lu, &n, &rcr_cdb(0, 2), &[]);
        assert_eq!(&r.data_in[4..7], &[2, 0, 0]);
        // A parameter list shorter than the header.
        let r = run(&lu, &n, &xcopy_cdb(8), &[0; 8]);
        let s = Sense::parse(&r.sense.unwrap()).unwrap();
        assert_eq!(s.code, AscAscq::PARAMETER_LIST_LENGTH_ERROR);
    }

    #[test]
    fn read_only_unit_refuses_to_copy() {
        let mut id = LuIdentity::from_name("ro");
        id.read_only = true;
        let lu = LogicalUnit::new(Arc::new(MemDevice::new(512, 64)), id);
        let n = ItNexus::new("i", [0; 6]);
        run(&lu, &n, &[0; 6], &[]);
        let l = list(
            1,
            &[target(&lu.identity().naa, 512)],
            &[segment(0, 0, 8, 0, 8)],
        );
        let r = run(&lu, &n, &xcopy_cdb(l.len()), &l);
        let s = Sense::parse(&r.sense.unwrap()).unwrap();
        assert_eq!(s.key, SenseKey::DATA_PROTECT);
    }
}
