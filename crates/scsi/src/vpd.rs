//! Vital product data pages (SPC-4 §7.8, SBC-3 §6.6): Supported VPD Pages, Unit Serial
//! Number, Device Identification, Extended INQUIRY Data, Block Limits, Block Device
//! Characteristics and Logical Block Provisioning. Every limit a page reports is a constant
//! here that the command handlers enforce.

use crate::const_newtype::const_newtype;
use crate::lu::{LogicalUnit, MAX_TRANSFER_BYTES};

const_newtype! {
    /// A VPD page code (SPC-4 table 619, SBC-3 table 182).
    ///
    /// ```
    /// use scsi::VpdPage;
    /// assert_eq!(format!("{:?}", VpdPage(0x83)), "DEVICE_IDENTIFICATION");
    /// assert_eq!(VpdPage::BLOCK_LIMITS.0, 0xb0);
    /// ```
    pub struct VpdPage(pub u8) {
        /// Supported VPD Pages.
        SUPPORTED_PAGES = 0x00,
        /// Unit Serial Number.
        UNIT_SERIAL_NUMBER = 0x80,
        /// Device Identification.
        DEVICE_IDENTIFICATION = 0x83,
        /// Extended INQUIRY Data.
        EXTENDED_INQUIRY = 0x86,
        /// Third-party Copy.
        THIRD_PARTY_COPY = 0x8f,
        /// Block Limits.
        BLOCK_LIMITS = 0xb0,
        /// Block Device Characteristics.
        BLOCK_DEVICE_CHARACTERISTICS = 0xb1,
        /// Logical Block Provisioning.
        LOGICAL_BLOCK_PROVISIONING = 0xb2,
    }
}

/// The pages this crate returns, in ascending order (the Supported VPD Pages page lists them).
pub(crate) const PAGES: [u8; 8] = [0x00, 0x80, 0x83, 0x86, 0x8f, 0xb0, 0xb1, 0xb2];

/// MAXIMUM COMPARE AND WRITE LENGTH (Block Limits), in blocks.
///
/// ```
/// use std::sync::Arc;
/// use scsi::*;
/// let lu = LogicalUnit::new(Arc::new(MemDevice::new(512, 8)), LuIdentity::from_name("d"));
/// // INQUIRY, Block Limits VPD page.
/// let r = lu.execute(&ItNexus::new("iqn.example:i", [0; 6]),
///                    &CommandRequest { cdb: &[0x12, 0x01, 0xb0, 0, 64, 0], data_out: &[],
///                                      expected_length: 64, attribute: TaskAttribute::Simple });
/// assert_eq!(r.data_in[5], MAX_COMPARE_AND_WRITE_BLOCKS);
/// ```
pub const MAX_COMPARE_AND_WRITE_BLOCKS: u8 = 255;

/// MAXIMUM WRITE SAME LENGTH (Block Limits), in blocks. WRITE SAME writes in bounded chunks,
/// so this bounds the time of one command, not its memory. One below 64 Ki: initiators that
/// see a limit of 65536 or more (libiscsi's WriteSame16.Unmap) prepare the range with a single
/// 32 MiB WRITE(16), beyond MAXIMUM TRANSFER LENGTH.
///
/// ```
/// use std::sync::Arc;
/// use scsi::*;
/// let lu = LogicalUnit::new(Arc::new(MemDevice::new(512, 8)), LuIdentity::from_name("d"));
/// // INQUIRY, Block Limits VPD page.
/// let r = lu.execute(&ItNexus::new("iqn.example:i", [0; 6]),
///                    &CommandRequest { cdb: &[0x12, 0x01, 0xb0, 0, 64, 0], data_out: &[],
///                                      expected_length: 64, attribute: TaskAttribute::Simple });
/// assert_eq!(r.data_in[36..44], MAX_WRITE_SAME_BLOCKS.to_be_bytes());
/// ```
pub const MAX_WRITE_SAME_BLOCKS: u64 = 65535;

/// MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT (Block Limits), when the device can unmap.
///
/// ```
/// use std::sync::Arc;
/// use scsi::*;
/// let dev = MemDevice::new(512, 8).with_unmap(UnmapSupport::Zeroes);
/// let lu = LogicalUnit::new(Arc::new(dev), LuIdentity::from_name("d"));
/// // INQUIRY, Block Limits VPD page.
/// let r = lu.execute(&ItNexus::new("iqn.example:i", [0; 6]),
///                    &CommandRequest { cdb: &[0x12, 0x01, 0xb0, 0, 64, 0], data_out: &[],
///                                      expected_length: 64, attribute: TaskAttribute::Simple });
/// assert_eq!(r.data_in[24..28], MAX_UNMAP_BLOCK_DESCRIPTORS.to_be_bytes());
/// ```
pub const MAX_UNMAP_BLOCK_DESCRIPTORS: u32 = 256;

/// MAXIMUM UNMAP LBA COUNT (Block Limits), when the device can unmap.
pub(crate) const MAX_UNMAP_LBA_COUNT: u32 = 1 << 20;

/// The largest transfer in blocks for a block size (MAXIMUM TRANSFER LENGTH).
pub(crate) fn max_transfer_blocks(block_size: u32) -> u32 {
    MAX_TRANSFER_BYTES / block_size.max(1)
}

/// MAXIMUM ATOMIC TRANSFER LENGTH (WRITE ATOMIC(16)), in blocks: the maximum transfer
/// length (within the CDB's 16 bit field), since WRITE ATOMIC holds the unit's IO lock alone.
pub(crate) fn max_atomic_blocks(block_size: u32) -> u32 {
    max_transfer_blocks(block_size).clamp(1, u32::from(u16::MAX))
}

/// The page `code` of `lu` (header included), or `None` for a page this crate does not
/// implement.
pub(crate) fn page(lu: &LogicalUnit, code: u8) -> Option<Vec<u8>> {
    let mut p = match code {
        0x00 => {
            let mut p = vec![0u8; 4];
            p.extend_from_slice(&PAGES);
            p
        }
        0x80 => {
            let mut p = vec![0u8; 4];
            let serial = lu.identity.serial.as_bytes();
            p.extend_from_slice(&serial[..serial.len().min(252)]);
            p
        }
        0x83 => device_identification(lu),
        0x86 => {
            let mut p = vec![0u8; 64];
            p[5] = 0x07; // HEADSUP, ORDSUP, SIMPSUP
            p[7] = 0x01; // LUICLR
            p
        }
        0x8f => third_party_copy(),
        0xb0 => block_limits(lu),
        0xb1 => {
            let mut p = vec![0u8; 64];
            p[4..6].copy_from_slice(&1u16.to_be_bytes()); // MEDIUM ROTATION RATE: non-rotating
            p
        }
        0xb2 => {
            let mut p = vec![0u8; 8];
            if lu.unmap.supported() {
                p[5] = 0x80 | 0x40 | 0x20; // LBPU, LBPWS, LBPWS10
                if lu.unmap.reads_zeroes() {
                    p[5] |= 0x04; // LBPRZ
                }
                p[6] = 0x02; // PROVISIONING TYPE: thin
            }
            p
        }
        _ => return None,
    };
    // Byte 0: peripheral qualifier 0, device type 0 (direct access block device).
    p[0] = 0;
    p[1] = code;
    let len = (p.len() - 4) as u16;
    p[2..4].copy_from_slice(&len.to_be_bytes());
    Some(p)
}

/// Device Identification: the NAA designator (unique and stable per LU) and a T10 vendor ID
/// designator (vendor + serial number), both associated with the logical unit.
fn device_identification(lu: &LogicalUnit) -> Vec<u8> {
    let mut p = vec![0u8; 4];
    // NAA: protocol identifier 0, code set 1 (binary); PIV 0, association 0 (LU), type 3.
    p.extend_from_slice(&[0x01, 0x03, 0x00, 16]);
    p.extend_from_slice(&lu.identity.naa);
    // T10 vendor ID: code set 2 (ASCII), association 0, type 1.
    let mut t10 = pad(&lu.identity.vendor, 8);
    t10.extend_from_slice(lu.identity.serial.as_bytes());
    t10.truncate(200);
    p.extend_from_slice(&[0x02, 0x01, 0x00, t10.len() as u8]);
    p.extend_from_slice(&t10);
    p
}

/// Third-party Copy (SPC-4 §7.8.17): the Supported Commands, Parameter Data, Supported
/// Descriptors and Supported CSCD Descriptor IDs descriptors of the EXTENDED COPY (LID1)
/// copy manager, with the limits [`crate::commands::copy`] enforces.
fn third_party_copy() -> Vec<u8> {
    use crate::commands::copy;
    let mut p = vec![0u8; 4];
    // Appends a descriptor of `kind` with `body`, padded to a multiple of 4 bytes.
    let mut push = |kind: u16, body: &[u8]| {
        let padded = body.len().div_ceil(4) * 4;
        p.extend_from_slice(&kind.to_be_bytes());
        p.extend_from_slice(&(padded as u16).to_be_bytes());
        p.extend_from_slice(body);
        p.resize(p.len() + padded - body.len(), 0);
    };
    // Supported Commands: EXTENDED COPY (00h), RECEIVE COPY RESULTS (00h, 03h).
    let commands = [0x83, 1, 0x00, 0x84, 2, 0x00, 0x03];
    let mut body = vec![commands.len() as u8];
    body.extend_from_slice(&commands);
    push(0x0001, &body);
    // Parameter Data.
    let mut body = [0u8; 28];
    body[4..6].copy_from_slice(&copy::MAX_TARGET_DESCRIPTORS.to_be_bytes());
    body[6..8].copy_from_slice(&copy::MAX_SEGMENT_DESCRIPTORS.to_be_bytes());
    body[8..12].copy_from_slice(&copy::MAX_DESCRIPTOR_LIST_LENGTH.to_be_bytes());
    push(0x0004, &body);
    // Supported Descriptors.
    let mut body = vec![copy::IMPLEMENTED_DESCRIPTORS.len() as u8];
    body.extend_from_slice(&copy::IMPLEMENTED_DESCRIPTORS);
    push(0x0008, &body);
    // Supported CSCD Descriptor IDs: none.
    push(0x000c, &[0, 0]);
    p
}

/// Block Limits (SBC-3 §6.6.3), page length 3Ch.
fn block_limits(lu: &LogicalUnit) -> Vec<u8> {
    let bs = lu.block_size;
    let mut p = vec![0u8; 64];
    p[4] = 0; // WSNZ: a WRITE SAME of 0 blocks writes to the end of the medium
    p[5] = MAX_COMPARE_AND_WRITE_BLOCKS;
    let physical = 1u32 << lu.device.physical_block_exponent().min(15);
    // OPTIMAL TRANSFER LENGTH GRANULARITY: one physical block.
    p[6..8].copy_from_slice(&(physical as u16).to_be_bytes());
    p[8..12].copy_from_slice(&max_transfer_blocks(bs).to_be_bytes());
    let optimal = ((1u32 << 20) / bs.max(1)).min(max_transfer_blocks(bs));
    p[12..16].copy_from_slice(&optimal.to_be_bytes());
    if lu.unmap.supported() {
        p[20..24].copy_from_slice(&MAX_UNMAP_LBA_COUNT.to_be_bytes());
        p[24..28].copy_from_slice(&MAX_UNMAP_BLOCK_DESCRIPTORS.to_be_bytes());
        p[28..32].copy_from_slice(&physical.to_be_bytes()); // OPTIMAL UNMAP GRANULARITY
    }
    p[36..44].copy_from_slice(&MAX_WRITE_SAME_BLOCKS.to_be_bytes());
    p[44..48].copy_from_slice(&max_atomic_blocks(bs).to_be_bytes());
    p
}

/// `s` as ASCII, space padded (or cut) to `n` bytes.
pub(crate) fn pad(s: &str, n: usize) -> Vec<u8> {
    let mut v: Vec<u8> = s
        .bytes()
        .map(|b| if (0x20..0x7f).contains(&b) { b } else { b' ' })
        .take(n)
        .collect();
    v.resize(n, b' ');
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LuIdentity, MemDevice, UnmapSupport};
    use std::sync::Arc;

    fn lu(unmap: UnmapSupport) -> LogicalUnit {
        LogicalUnit::new(
            Arc::new(MemDevice::new(512, 64).with_unmap(unmap)),
            LuIdentity::from_name("vpd"),
        )
    }

    #[test]
    fn every_listed_page_exists_with_its_length() {
        let lu = lu(UnmapSupport::Zeroes);
        for code in PAGES {
            let p = page(&lu, code).unwrap();
            assert_eq!(p[1], code);
            assert_eq!(usize::from(u16::from_be_bytes([p[2], p[3]])) + 4, p.len());
        }
        assert!(page(&lu, 0x99).is_none());
        assert!(PAGES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn device_identification_carries_the_naa() {
        let lu = lu(UnmapSupport::None);
        let p = page(&lu, 0x83).unwrap();
        assert_eq!(&p[4..8], &[0x01, 0x03, 0x00, 16]);
        assert_eq!(&p[8..24], &lu.identity.naa);
    }

    #[test]
    fn third_party_copy_lists_the_copy_commands_and_limits() {
        let p = page(&lu(UnmapSupport::None), 0x8f).unwrap();
        let mut rest = &p[4..];
        let mut kinds = vec![];
        while rest.len() >= 4 {
            let kind = u16::from_be_bytes([rest[0], rest[1]]);
            let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
            assert_eq!(len % 4, 0);
            let d = &rest[..4 + len];
            match kind {
                // Supported Commands: opcode, service action count, service actions.
                1 => assert_eq!(&d[4..12], &[7, 0x83, 1, 0, 0x84, 2, 0, 3]),
                4 => {
                    assert_eq!(len, 0x1c);
                    assert_eq!(&d[8..10], &8u16.to_be_bytes());
                    assert_eq!(&d[10..12], &64u16.to_be_bytes());
                }
                8 => assert_eq!(&d[4..7], &[2, 0x02, 0xe4]),
                _ => {}
            }
            kinds.push(kind);
            rest = &rest[4 + len..];
        }
        assert!(rest.is_empty());
        assert_eq!(kinds, [1, 4, 8, 0x0c]);
    }

    #[test]
    fn provisioning_matches_device() {
        let thin = page(&lu(UnmapSupport::Zeroes), 0xb2).unwrap();
        assert_eq!(thin[5], 0xe4);
        let thick = page(&lu(UnmapSupport::None), 0xb2).unwrap();
        assert_eq!(thick[5], 0);
        let bl = page(&lu(UnmapSupport::None), 0xb0).unwrap();
        assert_eq!(&bl[20..28], &[0; 8]);
    }
}
