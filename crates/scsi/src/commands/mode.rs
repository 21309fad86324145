//! MODE SENSE(6)/(10) and MODE SELECT(6)/(10) (SPC-4 §6.11-6.14) over the pages of
//! [`crate::mode_page`].

use super::{Ctx, Done, Outcome, PARAMETER_LIST_LENGTH_ERROR};
use crate::cdb::{ModeSelectCdb, ModeSenseCdb, field};
use crate::mode_page::{self, PAGES, PageControl};
use crate::sense::{AscAscq, Sense, SenseKey};

/// MODE SENSE: header, block descriptor (unless DBD), and the pages asked for.
pub(crate) fn mode_sense(ctx: &Ctx<'_>) -> Outcome {
    let c = ModeSenseCdb::parse(ctx.cdb)?;
    let pc = match c.pc {
        0 => PageControl::Current,
        1 => PageControl::Changeable,
        2 => PageControl::Default,
        _ => {
            return Err(Sense::new(
                SenseKey::ILLEGAL_REQUEST,
                AscAscq::SAVING_PARAMETERS_NOT_SUPPORTED,
            )
            .into());
        }
    };
    // Only subpage 00h exists; FFh (all subpages) returns the page itself.
    if c.subpage != 0 && c.subpage != 0xff {
        return Err(Sense::invalid_cdb_field(3, None).into());
    }
    let state = ctx.lu.lock().mode;
    let mut pages = Vec::new();
    if c.page == 0x3f {
        for code in PAGES {
            if let Some(p) = mode_page::page(code, state, pc) {
                pages.extend_from_slice(&p);
            }
        }
    } else {
        match mode_page::page(c.page, state, pc) {
            Some(p) => pages.extend_from_slice(&p),
            None => return Err(Sense::invalid_cdb_field(2, Some(5)).into()),
        }
    }
    // Device-specific parameter: WP when writes are refused, DPOFUA.
    let mut dsp = 0x10;
    if ctx.lu.read_only() || state.swp {
        dsp |= 0x80;
    }
    let blocks = ctx.lu.device.block_count();
    let bs = ctx.block_size();
    let changeable = pc == PageControl::Changeable;
    let block_descriptor: Vec<u8> = if c.dbd {
        Vec::new()
    } else if c.llbaa {
        let mut d = vec![0u8; 16];
        if !changeable {
            d[..8].copy_from_slice(&blocks.to_be_bytes());
            d[12..16].copy_from_slice(&bs.to_be_bytes());
        }
        d
    } else {
        let mut d = vec![0u8; 8];
        if !changeable {
            let n = u32::try_from(blocks).unwrap_or(u32::MAX);
            d[..4].copy_from_slice(&n.to_be_bytes());
            d[5..8].copy_from_slice(&bs.to_be_bytes()[1..]);
        }
        d
    };
    let mut out = Vec::with_capacity(8 + block_descriptor.len() + pages.len());
    if c.ten {
        let len = (6 + block_descriptor.len() + pages.len()) as u16;
        out.extend_from_slice(&len.to_be_bytes());
        out.push(0); // MEDIUM TYPE
        out.push(dsp);
        out.push(u8::from(c.llbaa && !c.dbd)); // LONGLBA
        out.push(0);
        out.extend_from_slice(&(block_descriptor.len() as u16).to_be_bytes());
    } else {
        let len = (3 + block_descriptor.len() + pages.len()).min(255) as u8;
        out.push(len);
        out.push(0);
        out.push(dsp);
        out.push(block_descriptor.len() as u8);
    }
    out.extend_from_slice(&block_descriptor);
    out.extend_from_slice(&pages);
    Done::data(out, usize::from(c.allocation_length))
}

/// MODE SELECT: PF must be set and SP clear (nothing is saved); the header's block
/// descriptor must name the unit's block length; the pages change only their changeable
/// bits, and the other nexuses get MODE PARAMETERS CHANGED.
pub(crate) fn mode_select(ctx: &Ctx<'_>) -> Outcome {
    let c = ModeSelectCdb::parse(ctx.cdb)?;
    let len = usize::from(c.parameter_list_length);
    if c.sp {
        return Err(Sense::invalid_cdb_field(1, Some(0)).into());
    }
    if len == 0 {
        return Done::good();
    }
    if !c.pf {
        return Err(Sense::invalid_cdb_field(1, Some(4)).into());
    }
    let list = ctx.parameter_list(len)?;
    let header = if c.ten { 8 } else { 4 };
    if list.len() < header {
        return Err(PARAMETER_LIST_LENGTH_ERROR.into());
    }
    let (bdl, long) = if c.ten {
        (usize::from(field::u16_at(list, 6)), list[4] & 1 != 0)
    } else {
        (usize::from(list[3]), false)
    };
    let Some(descriptors) = list.get(header..header + bdl) else {
        return Err(PARAMETER_LIST_LENGTH_ERROR.into());
    };
    let step = if long { 16 } else { 8 };
    if bdl % step != 0 {
        return Err(Sense::invalid_parameter_field(if c.ten { 6 } else { 3 }, None).into());
    }
    for (i, d) in descriptors.chunks_exact(step).enumerate() {
        let (at, length) = if long {
            (12, field::u32_at(d, 12))
        } else {
            (5, field::u24_at(d, 5))
        };
        if length != ctx.block_size() {
            return Err(
                Sense::invalid_parameter_field((header + i * step + at) as u16, None).into(),
            );
        }
    }
    let mut st = ctx.lu.lock();
    let before = st.mode;
    let mut mode = st.mode;
    mode_page::apply(&mut mode, list, header + bdl)?;
    st.mode = mode;
    if mode != before {
        st.unit_attention_all(AscAscq::MODE_PARAMETERS_CHANGED, Some(ctx.key));
    }
    Ok(Done {
        transfer_length: len as u32,
        ..Done::empty()
    })
}

#[cfg(test)]
mod tests {
    use crate::*;
    use std::sync::Arc;

    fn run(lu: &LogicalUnit, cdb: &[u8], data: &[u8]) -> CommandResponse {
        let nexus = ItNexus::new("i", [0; 6]);
        let req = CommandRequest {
            cdb,
            data_out: data,
            expected_length: 255,
            attribute: TaskAttribute::Simple,
        };
        lu.execute(&nexus, &req)
    }

    #[test]
    fn mode_sense_all_pages_and_select_d_sense() {
        let lu = LogicalUnit::new(Arc::new(MemDevice::new(512, 8)), LuIdentity::from_name("m"));
        run(&lu, &[0; 6], &[]);
        let r = run(&lu, &[0x1a, 0, 0x3f, 0, 255, 0], &[]);
        assert_eq!(r.status, Status::GOOD);
        assert_eq!(usize::from(r.data_in[0]) + 1, r.data_in.len());
        assert_eq!(r.data_in[3], 8);
        // Control page alone, DBD.
        let r = run(&lu, &[0x1a, 0x08, 0x0a, 0, 255, 0], &[]);
        let mut control = r.data_in[4..].to_vec();
        assert_eq!(control[0], 0x0a);
        control[2] |= 0x04;
        let mut list = vec![0, 0, 0, 0];
        list.extend_from_slice(&control);
        let r = run(&lu, &[0x15, 0x10, 0, 0, list.len() as u8, 0], &list);
        assert_eq!(r.status, Status::GOOD);
        // Sense data is now in descriptor format.
        let r = run(&lu, &[0x28, 0x20, 0, 0, 0, 0, 0, 0, 1, 0], &[]);
        assert_eq!(r.sense.unwrap()[0], 0x72);
    }

    #[test]
    fn saved_values_are_not_supported() {
        let lu = LogicalUnit::new(Arc::new(MemDevice::new(512, 8)), LuIdentity::from_name("m"));
        run(&lu, &[0; 6], &[]);
        let r = run(&lu, &[0x1a, 0, 0xff, 0, 255, 0], &[]);
        let s = Sense::parse(&r.sense.unwrap()).unwrap();
        assert_eq!(s.code, AscAscq::SAVING_PARAMETERS_NOT_SUPPORTED);
    }
}
