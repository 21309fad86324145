//! INQUIRY (SPC-4 §6.6): standard data with version descriptors, and the VPD pages of
//! [`crate::vpd`].

use super::{Ctx, Done, Outcome};
use crate::cdb::InquiryCdb;
use crate::lu::LogicalUnit;
use crate::sense::Sense;
use crate::vpd::{self, pad};

/// Length of the standard INQUIRY data this crate returns.
pub(crate) const STANDARD_LEN: usize = 96;

/// Version descriptors (SPC-4 table 147): SAM-5, SPC-4, SBC-3, iSCSI, no version claimed.
const VERSION_DESCRIPTORS: [u16; 4] = [0x00a0, 0x0460, 0x04c0, 0x0960];

/// INQUIRY: standard data, or the VPD page asked for.
pub(crate) fn inquiry(ctx: &Ctx<'_>) -> Outcome {
    let c = InquiryCdb::parse(ctx.cdb)?;
    let alloc = usize::from(c.allocation_length);
    if !c.evpd {
        // "If the EVPD bit is set to zero and the PAGE CODE field is not set to zero, the
        // device server shall terminate the command ... INVALID FIELD IN CDB."
        if c.page_code != 0 {
            return Err(Sense::invalid_cdb_field(2, None).into());
        }
        return Done::data(standard_data(ctx.lu).to_vec(), alloc);
    }
    match vpd::page(ctx.lu, c.page_code) {
        Some(p) => Done::data(p, alloc),
        None => Err(Sense::invalid_cdb_field(2, None).into()),
    }
}

/// The standard INQUIRY data of `lu`.
pub(crate) fn standard_data(lu: &LogicalUnit) -> [u8; STANDARD_LEN] {
    let mut d = [0u8; STANDARD_LEN];
    d[0] = 0x00; // peripheral qualifier 0, direct access block device
    d[1] = 0x00; // RMB = 0: not removable
    d[2] = 0x06; // VERSION: SPC-4
    d[3] = 0x12; // HISUP, RESPONSE DATA FORMAT 2
    d[4] = (STANDARD_LEN - 5) as u8;
    d[5] = 0x08; // 3PC: EXTENDED COPY and RECEIVE COPY RESULTS
    d[7] = 0x02; // CMDQUE
    d[8..16].copy_from_slice(&pad(&lu.identity.vendor, 8));
    d[16..32].copy_from_slice(&pad(&lu.identity.product, 16));
    d[32..36].copy_from_slice(&pad(&lu.identity.revision, 4));
    for (i, v) in VERSION_DESCRIPTORS.iter().enumerate() {
        d[58 + 2 * i..60 + 2 * i].copy_from_slice(&v.to_be_bytes());
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LuIdentity, MemDevice};
    use std::sync::Arc;

    #[test]
    fn standard_data_fields() {
        let lu = LogicalUnit::new(Arc::new(MemDevice::new(512, 8)), LuIdentity::from_name("x"));
        let d = standard_data(&lu);
        assert_eq!(&d[..6], &[0, 0, 6, 0x12, 91, 0x08]);
        assert_eq!(&d[8..16], b"DISKLESS");
        assert_eq!(&d[16..32], b"VIRTUAL DISK    ");
        assert_eq!(&d[60..62], &[0x04, 0x60]);
    }
}
