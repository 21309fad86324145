//! REPORT SUPPORTED OPERATION CODES and REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS (SPC-4
//! §6.35, §6.36), generated from the dispatcher's table so the report is what the unit
//! does.

use super::{Ctx, Done, Outcome};
use crate::cdb::field;
use crate::lu::LogicalUnit;
use crate::opcode::{COMMANDS, CommandSpec, Needs, has_service_actions};
use crate::sense::Sense;

/// Whether `spec` runs on `lu` (thin provisioning commands need a device that can unmap).
pub(crate) fn available(lu: &LogicalUnit, spec: &CommandSpec) -> bool {
    spec.needs != Needs::Unmap || lu.unmap.supported()
}

/// The CDB usage data REPORT SUPPORTED OPERATION CODES reports for `spec`: the bits the
/// pipeline accepts, with the service action in byte 1.
pub(crate) fn usage_data(lu: &LogicalUnit, spec: &CommandSpec) -> Vec<u8> {
    let mut u = lu.usage_of(spec)[..spec.usage.len().min(16)].to_vec();
    if let Some(sa) = spec.service_action {
        u[1] = (u[1] & 0xe0) | sa;
    }
    u
}

/// The command timeouts descriptor (SPC-4 §6.35.4): length 0Ah, nominal and recommended
/// timeouts in seconds.
fn timeouts(spec: &CommandSpec) -> [u8; 12] {
    let mut t = [0u8; 12];
    t[1] = 0x0a;
    t[4..8].copy_from_slice(&spec.timeouts.0.to_be_bytes());
    t[8..12].copy_from_slice(&spec.timeouts.1.to_be_bytes());
    t
}

/// REPORT SUPPORTED OPERATION CODES: REPORTING OPTIONS 000b (all), 001b (opcode without
/// service actions), 010b (opcode and service action), 011b (either).
pub(crate) fn report_supported_opcodes(ctx: &Ctx<'_>) -> Outcome {
    let b2 = field::u8_at(ctx.cdb, 2);
    let rctd = b2 & 0x80 != 0;
    let options = b2 & 0x07;
    let opcode = field::u8_at(ctx.cdb, 3);
    let sa = field::u16_at(ctx.cdb, 4);
    let alloc = field::u32_at(ctx.cdb, 6) as usize;
    let lu = ctx.lu;
    let out = match options {
        0 => {
            let mut d = vec![0u8; 4];
            for spec in COMMANDS.iter().filter(|s| available(lu, s)) {
                d.push(spec.opcode);
                d.push(0);
                d.extend_from_slice(&u16::from(spec.service_action.unwrap_or(0)).to_be_bytes());
                d.push(0);
                d.push((u8::from(rctd) << 1) | u8::from(spec.service_action.is_some()));
                d.extend_from_slice(&(spec.usage.len() as u16).to_be_bytes());
                if rctd {
                    d.extend_from_slice(&timeouts(spec));
                }
            }
            let len = (d.len() - 4) as u32;
            d[..4].copy_from_slice(&len.to_be_bytes());
            d
        }
        1..=3 => {
            let with_sa = has_service_actions(opcode);
            // "If the REPORTING OPTIONS field is set to 001b and the REQUESTED OPERATION CODE
            // field specifies an operation code that has service actions, ... INVALID FIELD
            // IN CDB"; 010b with one that has none likewise.
            if options == 1 && with_sa {
                return Err(Sense::invalid_cdb_field(3, None).into());
            }
            if options == 2 && !with_sa && COMMANDS.iter().any(|c| c.opcode == opcode) {
                return Err(Sense::invalid_cdb_field(3, None).into());
            }
            let found = COMMANDS.iter().find(|c| {
                c.opcode == opcode
                    && available(lu, c)
                    && match c.service_action {
                        Some(s) => options != 1 && u16::from(s) == sa,
                        None => true,
                    }
            });
            match found {
                Some(spec) => {
                    let usage = usage_data(lu, spec);
                    let mut d = vec![0, (u8::from(rctd) << 7) | 0x03];
                    d.extend_from_slice(&(usage.len() as u16).to_be_bytes());
                    d.extend_from_slice(&usage);
                    if rctd {
                        d.extend_from_slice(&timeouts(spec));
                    }
                    d
                }
                // SUPPORT 001b: not supported, CDB SIZE 0.
                None => vec![0, 0x01, 0, 0],
            }
        }
        _ => return Err(Sense::invalid_cdb_field(2, Some(2)).into()),
    };
    Done::data(out, alloc)
}

/// REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS: ABORT TASK, ABORT TASK SET, CLEAR TASK SET,
/// LOGICAL UNIT RESET and TARGET RESET; REPD asks for the extended format.
pub(crate) fn report_supported_tmfs(ctx: &Ctx<'_>) -> Outcome {
    let repd = field::u8_at(ctx.cdb, 2) & 0x80 != 0;
    let alloc = field::u32_at(ctx.cdb, 6) as usize;
    // ATS, ATSS, CTSS, LURS, TRS.
    let mut d = vec![0x80 | 0x40 | 0x10 | 0x08 | 0x02, 0, 0, 0];
    if repd {
        d[3] = 0x0c;
        d.resize(16, 0);
    }
    Done::data(d, alloc)
}

#[cfg(test)]
mod tests {
    use crate::*;
    use std::sync::Arc;

    fn run(lu: &LogicalUnit, cdb: &[u8]) -> CommandResponse {
        let nexus = ItNexus::new("s", [0; 6]);
        let req = CommandRequest {
            cdb,
            data_out: &[],
            expected_length: 65535,
            attribute: TaskAttribute::Simple,
        };
        lu.execute(&nexus, &req)
    }

    #[test]
    fn one_command_reports_usage_data() {
        let lu = LogicalUnit::new(Arc::new(MemDevice::new(512, 8)), LuIdentity::from_name("s"));
        run(&lu, &[0; 6]);
        let r = run(&lu, &[0xa3, 0x0c, 0x01, 0x28, 0, 0, 0, 0, 0xff, 0xff, 0, 0]);
        assert_eq!(r.status, Status::GOOD);
        assert_eq!(&r.data_in[..6], &[0, 3, 0, 10, 0x28, 0x1a]);
        // UNMAP is not supported without thin provisioning.
        let r = run(&lu, &[0xa3, 0x0c, 0x01, 0x42, 0, 0, 0, 0, 0xff, 0xff, 0, 0]);
        assert_eq!(&r.data_in[..], &[0, 1, 0, 0]);
        // PERSISTENT RESERVE IN has service actions: option 1 is refused.
        let r = run(&lu, &[0xa3, 0x0c, 0x01, 0x5e, 0, 0, 0, 0, 0xff, 0xff, 0, 0]);
        assert_eq!(r.status, Status::CHECK_CONDITION);
    }
}
