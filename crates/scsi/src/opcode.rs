//! The dispatcher table: every command this crate executes, with its CDB usage data (the
//! bits a CDB may set; any other set bit is an INVALID FIELD IN CDB), its reservation access
//! class, its timeouts and its handler. REPORT SUPPORTED OPERATION CODES reports exactly
//! this table, so what the device reports is what it does.

use crate::commands::{self, Ctx, Outcome};
use crate::const_newtype::const_newtype;

const_newtype! {
    /// A SCSI operation code (SPC-4 annex E).
    ///
    /// ```
    /// use scsi::Opcode;
    /// assert_eq!(format!("{:?}", Opcode(0x28)), "READ_10");
    /// ```
    pub struct Opcode(pub u8) {
        /// TEST UNIT READY.
        TEST_UNIT_READY = 0x00,
        /// REQUEST SENSE.
        REQUEST_SENSE = 0x03,
        /// READ(6).
        READ_6 = 0x08,
        /// WRITE(6).
        WRITE_6 = 0x0a,
        /// INQUIRY.
        INQUIRY = 0x12,
        /// MODE SELECT(6).
        MODE_SELECT_6 = 0x15,
        /// RESERVE(6).
        RESERVE_6 = 0x16,
        /// RELEASE(6).
        RELEASE_6 = 0x17,
        /// MODE SENSE(6).
        MODE_SENSE_6 = 0x1a,
        /// START STOP UNIT.
        START_STOP_UNIT = 0x1b,
        /// PREVENT ALLOW MEDIUM REMOVAL.
        PREVENT_ALLOW_MEDIUM_REMOVAL = 0x1e,
        /// READ CAPACITY(10).
        READ_CAPACITY_10 = 0x25,
        /// READ(10).
        READ_10 = 0x28,
        /// WRITE(10).
        WRITE_10 = 0x2a,
        /// WRITE AND VERIFY(10).
        WRITE_AND_VERIFY_10 = 0x2e,
        /// VERIFY(10).
        VERIFY_10 = 0x2f,
        /// PRE-FETCH(10).
        PRE_FETCH_10 = 0x34,
        /// SYNCHRONIZE CACHE(10).
        SYNCHRONIZE_CACHE_10 = 0x35,
        /// READ DEFECT DATA(10).
        READ_DEFECT_DATA_10 = 0x37,
        /// WRITE SAME(10).
        WRITE_SAME_10 = 0x41,
        /// UNMAP.
        UNMAP = 0x42,
        /// SANITIZE.
        SANITIZE = 0x48,
        /// MODE SELECT(10).
        MODE_SELECT_10 = 0x55,
        /// RESERVE(10).
        RESERVE_10 = 0x56,
        /// RELEASE(10).
        RELEASE_10 = 0x57,
        /// MODE SENSE(10).
        MODE_SENSE_10 = 0x5a,
        /// PERSISTENT RESERVE IN.
        PERSISTENT_RESERVE_IN = 0x5e,
        /// PERSISTENT RESERVE OUT.
        PERSISTENT_RESERVE_OUT = 0x5f,
        /// EXTENDED COPY (THIRD-PARTY COPY OUT): LID1.
        EXTENDED_COPY = 0x83,
        /// RECEIVE COPY RESULTS (THIRD-PARTY COPY IN): COPY STATUS, OPERATING PARAMETERS.
        RECEIVE_COPY_RESULTS = 0x84,
        /// READ(16).
        READ_16 = 0x88,
        /// COMPARE AND WRITE.
        COMPARE_AND_WRITE = 0x89,
        /// WRITE(16).
        WRITE_16 = 0x8a,
        /// ORWRITE(16).
        ORWRITE_16 = 0x8b,
        /// WRITE AND VERIFY(16).
        WRITE_AND_VERIFY_16 = 0x8e,
        /// VERIFY(16).
        VERIFY_16 = 0x8f,
        /// PRE-FETCH(16).
        PRE_FETCH_16 = 0x90,
        /// SYNCHRONIZE CACHE(16).
        SYNCHRONIZE_CACHE_16 = 0x91,
        /// WRITE SAME(16).
        WRITE_SAME_16 = 0x93,
        /// WRITE ATOMIC(16).
        WRITE_ATOMIC_16 = 0x9c,
        /// SERVICE ACTION IN(16): READ CAPACITY(16), GET LBA STATUS.
        SERVICE_ACTION_IN_16 = 0x9e,
        /// REPORT LUNS.
        REPORT_LUNS = 0xa0,
        /// MAINTENANCE IN: REPORT SUPPORTED OPERATION CODES, REPORT SUPPORTED TASK
        /// MANAGEMENT FUNCTIONS.
        MAINTENANCE_IN = 0xa3,
        /// READ(12).
        READ_12 = 0xa8,
        /// WRITE(12).
        WRITE_12 = 0xaa,
        /// WRITE AND VERIFY(12).
        WRITE_AND_VERIFY_12 = 0xae,
        /// VERIFY(12).
        VERIFY_12 = 0xaf,
        /// READ DEFECT DATA(12).
        READ_DEFECT_DATA_12 = 0xb7,
    }
}

/// How a command interacts with reservations (SPC-4 table 52, simplified to classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Allowed whatever the reservation (INQUIRY, REPORT LUNS, REQUEST SENSE, PR IN/OUT, ...).
    Free,
    /// Allowed to all under Write Exclusive reservations; conflicts under Exclusive Access.
    Read,
    /// Conflicts for non-holders under every reservation type.
    Write,
    /// RESERVE / RELEASE: conflict under persistent reservations; handled by the command.
    Reserve,
}

/// Optional capabilities a command needs; without them it is not supported (and not
/// reported).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Needs {
    /// Nothing.
    Nothing,
    /// Thin provisioning (UNMAP).
    Unmap,
}

/// One supported command.
pub(crate) struct CommandSpec {
    /// Operation code.
    pub(crate) opcode: u8,
    /// Service action (byte 1 bits 0-4), for opcodes that have them.
    pub(crate) service_action: Option<u8>,
    /// CDB usage data: `usage.len()` is the CDB length, `usage[0]` the opcode, and each
    /// other byte the bits a CDB may set.
    pub(crate) usage: &'static [u8],
    /// Reservation access class.
    pub(crate) access: Access,
    /// Required capability.
    pub(crate) needs: Needs,
    /// Nominal and recommended timeouts in seconds (REPORT SUPPORTED OPERATION CODES).
    pub(crate) timeouts: (u32, u32),
    /// The handler.
    pub(crate) handler: fn(&Ctx<'_>) -> Outcome,
}

/// Shorthand for a table entry.
const fn cmd(
    opcode: u8,
    service_action: Option<u8>,
    usage: &'static [u8],
    access: Access,
    medium: bool,
    handler: fn(&Ctx<'_>) -> Outcome,
) -> CommandSpec {
    CommandSpec {
        opcode,
        service_action,
        usage,
        access,
        needs: Needs::Nothing,
        timeouts: (if medium { 30 } else { 5 }, if medium { 60 } else { 10 }),
        handler,
    }
}

use Access::{Free, Read, Reserve, Write};

/// READ/WRITE byte 1: DPO, FUA and FUA_NV (SBC-3; obsolete in SBC-4, accepted and ignored).
const RW10: &[u8] = &[0, 0x1a, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0];
const RW12: &[u8] = &[
    0, 0x1a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0,
];
const RW16: &[u8] = &[
    0, 0x1a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0,
];
const VERIFY10: &[u8] = &[0, 0x16, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0];
const VERIFY12: &[u8] = &[
    0, 0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0,
];
const VERIFY16: &[u8] = &[
    0, 0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0,
];
const WV10: &[u8] = &[0, 0x12, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0];
const WV12: &[u8] = &[
    0, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0,
];
const WV16: &[u8] = &[
    0, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0,
];
const PF10: &[u8] = &[0, 0x02, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0];
const PF16: &[u8] = &[
    0, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0,
];
const SC10: &[u8] = &[0, 0x06, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0];
const SC16: &[u8] = &[
    0, 0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0,
];
const WS10: &[u8] = &[0, 0x08, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0];
const WS16: &[u8] = &[
    0, 0x09, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0,
];

/// Every supported command, in opcode order.
pub(crate) static COMMANDS: &[CommandSpec] = &[
    cmd(
        0x00,
        None,
        &[0, 0, 0, 0, 0, 0],
        Free,
        false,
        commands::info::test_unit_ready,
    ),
    cmd(
        0x03,
        None,
        &[0, 0x01, 0, 0, 0xff, 0],
        Free,
        false,
        commands::info::request_sense,
    ),
    cmd(
        0x08,
        None,
        &[0, 0x1f, 0xff, 0xff, 0xff, 0],
        Read,
        true,
        commands::io::read,
    ),
    cmd(
        0x0a,
        None,
        &[0, 0x1f, 0xff, 0xff, 0xff, 0],
        Write,
        true,
        commands::io::write,
    ),
    cmd(
        0x12,
        None,
        &[0, 0x01, 0xff, 0xff, 0xff, 0],
        Free,
        false,
        commands::inquiry::inquiry,
    ),
    cmd(
        0x15,
        None,
        &[0, 0x11, 0, 0, 0xff, 0],
        Write,
        false,
        commands::mode::mode_select,
    ),
    cmd(
        0x16,
        None,
        &[0, 0, 0, 0, 0, 0],
        Reserve,
        false,
        commands::reserve::reserve,
    ),
    cmd(
        0x17,
        None,
        &[0, 0, 0, 0, 0, 0],
        Reserve,
        false,
        commands::reserve::release,
    ),
    cmd(
        0x1a,
        None,
        &[0, 0x08, 0xff, 0xff, 0xff, 0],
        Read,
        false,
        commands::mode::mode_sense,
    ),
    cmd(
        0x1b,
        None,
        &[0, 0x01, 0, 0x0f, 0xf7, 0],
        Write,
        false,
        commands::info::start_stop_unit,
    ),
    cmd(
        0x1e,
        None,
        &[0, 0, 0, 0, 0x03, 0],
        Write,
        false,
        commands::info::prevent_allow,
    ),
    cmd(
        0x25,
        None,
        &[0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x01, 0],
        Free,
        false,
        commands::info::read_capacity_10,
    ),
    cmd(0x28, None, RW10, Read, true, commands::io::read),
    cmd(0x2a, None, RW10, Write, true, commands::io::write),
    cmd(
        0x2e,
        None,
        WV10,
        Write,
        true,
        commands::io::write_and_verify,
    ),
    cmd(0x2f, None, VERIFY10, Read, true, commands::io::verify),
    cmd(0x34, None, PF10, Read, true, commands::io::pre_fetch),
    cmd(
        0x35,
        None,
        SC10,
        Write,
        true,
        commands::io::synchronize_cache,
    ),
    cmd(
        0x37,
        None,
        &[0, 0, 0x1f, 0, 0, 0, 0, 0xff, 0xff, 0],
        Read,
        false,
        commands::info::read_defect_data,
    ),
    cmd(
        0x41,
        None,
        WS10,
        Write,
        true,
        commands::provisioning::write_same,
    ),
    CommandSpec {
        needs: Needs::Unmap,
        ..cmd(
            0x42,
            None,
            &[0, 0, 0, 0, 0, 0, 0x1f, 0xff, 0xff, 0],
            Write,
            true,
            commands::provisioning::unmap,
        )
    },
    cmd(
        0x55,
        None,
        &[0, 0x11, 0, 0, 0, 0, 0, 0xff, 0xff, 0],
        Write,
        false,
        commands::mode::mode_select,
    ),
    cmd(
        0x56,
        None,
        &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        Reserve,
        false,
        commands::reserve::reserve,
    ),
    cmd(
        0x57,
        None,
        &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        Reserve,
        false,
        commands::reserve::release,
    ),
    cmd(
        0x5a,
        None,
        &[0, 0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, 0],
        Read,
        false,
        commands::mode::mode_sense,
    ),
    cmd(
        0x5e,
        Some(0x00),
        PRIN,
        Free,
        false,
        commands::reserve::persistent_reserve_in,
    ),
    cmd(
        0x5e,
        Some(0x01),
        PRIN,
        Free,
        false,
        commands::reserve::persistent_reserve_in,
    ),
    cmd(
        0x5e,
        Some(0x02),
        PRIN,
        Free,
        false,
        commands::reserve::persistent_reserve_in,
    ),
    cmd(
        0x5e,
        Some(0x03),
        PRIN,
        Free,
        false,
        commands::reserve::persistent_reserve_in,
    ),
    cmd(
        0x5f,
        Some(0x00),
        PROUT,
        Free,
        false,
        commands::reserve::persistent_reserve_out,
    ),
    cmd(
        0x5f,
        Some(0x01),
        PROUT,
        Free,
        false,
        commands::reserve::persistent_reserve_out,
    ),
    cmd(
        0x5f,
        Some(0x02),
        PROUT,
        Free,
        false,
        commands::reserve::persistent_reserve_out,
    ),
    cmd(
        0x5f,
        Some(0x03),
        PROUT,
        Free,
        false,
        commands::reserve::persistent_reserve_out,
    ),
    cmd(
        0x5f,
        Some(0x04),
        PROUT,
        Free,
        false,
        commands::reserve::persistent_reserve_out,
    ),
    cmd(
        0x5f,
        Some(0x05),
        PROUT,
        Free,
        false,
        commands::reserve::persistent_reserve_out,
    ),
    cmd(
        0x5f,
        Some(0x06),
        PROUT,
        Free,
        false,
        commands::reserve::persistent_reserve_out,
    ),
    cmd(
        0x5f,
        Some(0x07),
        PROUT,
        Free,
        false,
        commands::reserve::persistent_reserve_out,
    ),
    cmd(
        0x83,
        Some(0x00),
        XCOPY,
        Write,
        true,
        commands::copy::extended_copy,
    ),
    cmd(
        0x84,
        Some(0x00),
        RCR,
        Free,
        false,
        commands::copy::receive_copy_results,
    ),
    cmd(
        0x84,
        Some(0x03),
        RCR,
        Free,
        false,
        commands::copy::receive_copy_results,
    ),
    cmd(0x88, None, RW16, Read, true, commands::io::read),
    cmd(
        0x89,
        None,
        &[
            0, 0x1a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0xff, 0x1f, 0,
        ],
        Write,
        true,
        commands::io::compare_and_write,
    ),
    cmd(0x8a, None, RW16, Write, true, commands::io::write),
    cmd(0x8b, None, RW16, Write, true, commands::io::orwrite),
    cmd(
        0x8e,
        None,
        WV16,
        Write,
        true,
        commands::io::write_and_verify,
    ),
    cmd(0x8f, None, VERIFY16, Read, true, commands::io::verify),
    cmd(0x90, None, PF16, Read, true, commands::io::pre_fetch),
    cmd(
        0x91,
        None,
        SC16,
        Write,
        true,
        commands::io::synchronize_cache,
    ),
    cmd(
        0x93,
        None,
        WS16,
        Write,
        true,
        commands::provisioning::write_same,
    ),
    cmd(
        0x9c,
        None,
        &[
            0, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0xff, 0xff, 0x1f, 0,
        ],
        Write,
        true,
        commands::io::write_atomic,
    ),
    cmd(
        0x9e,
        Some(0x10),
        &[
            0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            0,
        ],
        Free,
        false,
        commands::info::read_capacity_16,
    ),
    cmd(
        0x9e,
        Some(0x12),
        &[
            0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0,
        ],
        Read,
        true,
        commands::provisioning::get_lba_status,
    ),
    cmd(
        0xa0,
        None,
        &[0, 0, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0],
        Free,
        false,
        commands::info::report_luns,
    ),
    cmd(
        0xa3,
        Some(0x0c),
        &[
            0, 0x1f, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0,
        ],
        Free,
        false,
        commands::supported::report_supported_opcodes,
    ),
    cmd(
        0xa3,
        Some(0x0d),
        &[0, 0x1f, 0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0],
        Free,
        false,
        commands::supported::report_supported_tmfs,
    ),
    cmd(0xa8, None, RW12, Read, true, commands::io::read),
    cmd(0xaa, None, RW12, Write, true, commands::io::write),
    cmd(
        0xae,
        None,
        WV12,
        Write,
        true,
        commands::io::write_and_verify,
    ),
    cmd(0xaf, None, VERIFY12, Read, true, commands::io::verify),
    cmd(
        0xb7,
        None,
        &[
            0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0,
        ],
        Read,
        false,
        commands::info::read_defect_data,
    ),
];

/// EXTENDED COPY: service action, PARAMETER LIST LENGTH.
const XCOPY: &[u8] = &[
    0, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0,
];
/// RECEIVE COPY RESULTS: service action, LIST IDENTIFIER, ALLOCATION LENGTH.
const RCR: &[u8] = &[
    0, 0x1f, 0xff, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0,
];
const PRIN: &[u8] = &[0, 0x1f, 0, 0, 0, 0, 0, 0xff, 0xff, 0];
const PROUT: &[u8] = &[0, 0x1f, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0];

/// Whether `opcode` has service actions in byte 1.
pub(crate) fn has_service_actions(opcode: u8) -> bool {
    COMMANDS
        .iter()
        .any(|c| c.opcode == opcode && c.service_action.is_some())
}

/// The table entry for a CDB, or the sense data refusing it: INVALID COMMAND OPERATION CODE
/// for an unknown opcode, INVALID FIELD IN CDB (byte 1) for an unknown service action.
pub(crate) fn lookup(cdb: &[u8]) -> Result<&'static CommandSpec, crate::Sense> {
    let opcode = cdb.first().copied().unwrap_or(0xff);
    let sa = cdb.get(1).copied().unwrap_or(0) & 0x1f;
    let mut known = false;
    for c in COMMANDS {
        if c.opcode == opcode {
            known = true;
            if c.service_action.is_none_or(|s| s == sa) {
                return Ok(c);
            }
        }
    }
    if known {
        Err(crate::Sense::invalid_cdb_field(1, Some(4)))
    } else {
        Err(crate::Sense::new(
            crate::SenseKey::ILLEGAL_REQUEST,
            crate::AscAscq::INVALID_COMMAND_OPERATION_CODE,
        ))
    }
}

/// Checks `cdb` against `usage`: the first set bit that usage data does not allow, as
/// INVALID FIELD IN CDB with its byte and bit. Service action bits are checked by
/// [`lookup`]; byte 0 is the opcode.
pub(crate) fn check_usage(cdb: &[u8], usage: &[u8]) -> Result<(), crate::Sense> {
    for (i, (&b, &allowed)) in cdb.iter().zip(usage).enumerate().skip(1) {
        let bad = b & !allowed;
        if bad != 0 {
            let bit = 7 - bad.leading_zeros() as u8;
            return Err(crate::Sense::invalid_cdb_field(i as u16, Some(bit)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_ordered_and_usage_matches_cdb_length() {
        for w in COMMANDS.windows(2) {
            let a = (w[0].opcode, w[0].service_action);
            let b = (w[1].opcode, w[1].service_action);
            assert!(a < b, "{a:x?} before {b:x?}");
        }
        for c in COMMANDS {
            assert_eq!(
                Some(c.usage.len()),
                crate::cdb::cdb_len(c.opcode),
                "{:#x}",
                c.opcode
            );
            assert_eq!(
                *c.usage.last().unwrap_or(&1),
                0,
                "{:#x}: CONTROL byte",
                c.opcode
            );
            if c.service_action.is_some() {
                assert_eq!(
                    c.usage[1] & 0x1f,
                    0x1f,
                    "{:#x}: service action bits",
                    c.opcode
                );
            }
        }
    }

    #[test]
    fn lookup_distinguishes_opcode_and_service_action() {
        assert_eq!(lookup(&[0x28; 10]).map(|c| c.opcode).ok(), Some(0x28));
        let Err(unknown) = lookup(&[0xc0; 16]) else {
            panic!("C0h is not supported")
        };
        assert_eq!(unknown.code, crate::AscAscq::INVALID_COMMAND_OPERATION_CODE);
        let Err(bad_sa) = lookup(&[0x9e, 0x05, 0, 0]) else {
            panic!("9Eh/05h is not supported")
        };
        assert_eq!(bad_sa, crate::Sense::invalid_cdb_field(1, Some(4)));
        assert!(has_service_actions(0x5e) && !has_service_actions(0x28));
    }

    #[test]
    fn usage_check_points_at_the_highest_bad_bit() {
        let e = check_usage(&[0x28, 0x60, 0, 0, 0, 0, 0, 0, 0, 0], RW10).unwrap_err();
        assert_eq!(e, crate::Sense::invalid_cdb_field(1, Some(6)));
        assert!(
            check_usage(
                &[0x28, 0x1a, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0],
                RW10
            )
            .is_ok()
        );
    }
}
