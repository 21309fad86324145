//! proptest strategies for every PDU kind (feature `arbitrary`), producing only values that
//! encode canonically, so that `parse(encode(x)) == x` must hold for all of them.

use bytes::Bytes;
use proptest::prelude::*;

use crate::*;

fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..=max).prop_map(Bytes::from)
}

fn sn() -> impl Strategy<Value = SerialNumber> {
    any::<u32>().prop_map(SerialNumber)
}

fn itt() -> impl Strategy<Value = Itt> {
    any::<u32>().prop_map(Itt)
}

fn ttt() -> impl Strategy<Value = Ttt> {
    any::<u32>().prop_map(Ttt)
}

fn lun() -> impl Strategy<Value = Lun> {
    any::<[u8; 8]>().prop_map(Lun)
}

fn residual() -> impl Strategy<Value = Residual> {
    prop_oneof![
        Just(Residual::None),
        any::<u32>().prop_map(Residual::Underflow),
        any::<u32>().prop_map(Residual::Overflow),
    ]
}

/// (T or F, C): never both, as the RFC requires.
fn final_continue() -> impl Strategy<Value = (bool, bool)> {
    prop_oneof![
        Just((false, false)),
        Just((true, false)),
        Just((false, true))
    ]
}

fn stage() -> impl Strategy<Value = Stage> {
    (0u8..4).prop_map(Stage::from)
}

fn ahs() -> impl Strategy<Value = Ahs> {
    prop_oneof![
        bytes(64).prop_map(Ahs::ExtendedCdb),
        any::<u32>().prop_map(Ahs::BidiReadLength),
        (any::<u8>().prop_filter("known type", |t| *t > 2), bytes(32))
            .prop_map(|(ahs_type, data)| Ahs::Unknown { ahs_type, data }),
    ]
}

/// Opcodes that RFC 7143 does not assign.
fn unknown_opcode() -> impl Strategy<Value = u8> {
    (0u8..0x40).prop_filter("assigned opcode", |op| {
        matches!(Opcode::from(*op), Opcode::Unknown(_))
    })
}

fn unknown_pdu() -> impl Strategy<Value = UnknownPdu> {
    (
        unknown_opcode(),
        any::<bool>(),
        any::<[u8; 32]>(),
        any::<[u8; 15]>(),
        bytes(32),
        bytes(64),
    )
        .prop_map(|(op, imm, a, b, ahs_words, data)| {
            let mut header = [0u8; BHS_LEN];
            header[0] = op | if imm { 0x40 } else { 0 };
            header[1..4].copy_from_slice(&a[..3]);
            header[8..40].copy_from_slice(&a);
            header[40..].copy_from_slice(&b[..8]);
            let ahs = ahs_words.slice(..ahs_words.len() / 4 * 4);
            UnknownPdu { header, ahs, data }
        })
}

fn nop_out() -> impl Strategy<Value = Pdu> {
    (any::<bool>(), lun(), itt(), ttt(), sn(), sn(), bytes(64)).prop_map(
        |(immediate, lun, itt, ttt, cmd_sn, exp_stat_sn, data)| {
            Pdu::NopOut(NopOut {
                immediate,
                lun,
                itt,
                ttt,
                cmd_sn,
                exp_stat_sn,
                data,
            })
        },
    )
}

fn nop_in() -> impl Strategy<Value = Pdu> {
    (lun(), itt(), ttt(), sn(), sn(), sn(), bytes(64)).prop_map(
        |(lun, itt, ttt, stat_sn, exp_cmd_sn, max_cmd_sn, data)| {
            Pdu::NopIn(NopIn {
                lun,
                itt,
                ttt,
                stat_sn,
                exp_cmd_sn,
                max_cmd_sn,
                data,
            })
        },
    )
}

fn scsi_command() -> impl Strategy<Value = Pdu> {
    (
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            0u8..8,
        ),
        (lun(), itt(), any::<u32>(), sn(), sn(), any::<[u8; 16]>()),
        proptest::collection::vec(ahs(), 0..4),
        bytes(300),
    )
        .prop_map(
            |(
                (immediate, final_bit, read, write, attr),
                (lun, itt, expected_data_length, cmd_sn, exp_stat_sn, cdb),
                ahs,
                data,
            )| {
                Pdu::ScsiCommand(ScsiCommand {
                    immediate,
                    final_bit,
                    read,
                    write,
                    attr: TaskAttribute::from(attr),
                    lun,
                    itt,
                    expected_data_length,
                    cmd_sn,
                    exp_stat_sn,
                    cdb,
                    ahs,
                    data,
                })
            },
        )
}

fn scsi_response() -> impl Strategy<Value = Pdu> {
    (
        (residual(), residual(), any::<u8>(), any::<u8>()),
        (itt(), any::<u32>(), sn(), sn(), sn(), any::<u32>()),
        bytes(96),
    )
        .prop_map(
            |(
                (bidi_residual, residual, response, status),
                (itt, snack_tag, stat_sn, exp_cmd_sn, max_cmd_sn, exp_data_sn),
                data,
            )| {
                Pdu::ScsiResponse(ScsiResponse {
                    bidi_residual,
                    residual,
                    response: ServiceResponse::from(response),
                    status: ScsiStatus(status),
                    itt,
                    snack_tag,
                    stat_sn,
                    exp_cmd_sn,
                    max_cmd_sn,
                    exp_data_sn,
                    data,
                })
            },
        )
}

fn tmf_request() -> impl Strategy<Value = Pdu> {
    (
        any::<bool>(),
        0u8..0x80,
        lun(),
        itt(),
        itt(),
        sn(),
        sn(),
        sn(),
        sn(),
    )
        .prop_map(
            |(
                immediate,
                f,
                lun,
                itt,
                referenced_task_tag,
                cmd_sn,
                exp_stat_sn,
                ref_cmd_sn,
                eds,
            )| {
                Pdu::TaskMgmtRequest(TaskMgmtRequest {
                    immediate,
                    function: TmfFunction::from(f),
                    lun,
                    itt,
                    referenced_task_tag,
                    cmd_sn,
                    exp_stat_sn,
                    ref_cmd_sn,
                    exp_data_sn: eds,
                })
            },
        )
}

fn tmf_response() -> impl Strategy<Value = Pdu> {
    (any::<u8>(), itt(), sn(), sn(), sn()).prop_map(
        |(response, itt, stat_sn, exp_cmd_sn, max_cmd_sn)| {
            Pdu::TaskMgmtResponse(TaskMgmtResponse {
                response: TmfResponse::from(response),
                itt,
                stat_sn,
                exp_cmd_sn,
                max_cmd_sn,
            })
        },
    )
}

fn login_request() -> impl Strategy<Value = Pdu> {
    (
        (final_continue(), stage(), stage(), any::<u8>(), any::<u8>()),
        (
            any::<[u8; 6]>(),
            any::<u16>(),
            itt(),
            any::<u16>(),
            sn(),
            sn(),
        ),
        bytes(200),
    )
        .prop_map(
            |(
                ((transit, continue_bit), csg, nsg, version_max, version_min),
                (isid, tsih, itt, cid, cmd_sn, exp_stat_sn),
                data,
            )| {
                Pdu::LoginRequest(LoginRequest {
                    transit,
                    continue_bit,
                    csg,
                    nsg,
                    version_max,
                    version_min,
                    isid: Isid(isid),
                    tsih: Tsih(tsih),
                    itt,
                    cid: Cid(cid),
                    cmd_sn,
                    exp_stat_sn,
                    data,
                })
            },
        )
}

fn login_response() -> impl Strategy<Value = Pdu> {
    (
        (final_continue(), stage(), stage(), any::<u8>(), any::<u8>()),
        (
            any::<[u8; 6]>(),
            any::<u16>(),
            itt(),
            sn(),
            sn(),
            sn(),
            any::<u16>(),
        ),
        bytes(200),
    )
        .prop_map(
            |(
                ((transit, continue_bit), csg, nsg, version_max, version_active),
                (isid, tsih, itt, stat_sn, exp_cmd_sn, max_cmd_sn, status),
                data,
            )| {
                Pdu::LoginResponse(LoginResponse {
                    transit,
                    continue_bit,
                    csg,
                    nsg,
                    version_max,
                    version_active,
                    isid: Isid(isid),
                    tsih: Tsih(tsih),
                    itt,
                    stat_sn,
                    exp_cmd_sn,
                    max_cmd_sn,
                    status: LoginStatus(status),
                    data,
                })
            },
        )
}

fn text_request() -> impl Strategy<Value = Pdu> {
    (
        any::<bool>(),
        final_continue(),
        lun(),
        itt(),
        ttt(),
        sn(),
        sn(),
        bytes(200),
    )
        .prop_map(
            |(immediate, (final_bit, continue_bit), lun, itt, ttt, cmd_sn, exp_stat_sn, data)| {
                Pdu::TextRequest(TextRequest {
                    immediate,
                    final_bit,
                    continue_bit,
                    lun,
                    itt,
                    ttt,
                    cmd_sn,
                    exp_stat_sn,
                    data,
                })
            },
        )
}

fn text_response() -> impl Strategy<Value = Pdu> {
    (
        final_continue(),
        lun(),
        itt(),
        ttt(),
        sn(),
        sn(),
        sn(),
        bytes(200),
    )
        .prop_map(
            |((final_bit, continue_bit), lun, itt, ttt, stat_sn, exp_cmd_sn, max_cmd_sn, data)| {
                Pdu::TextResponse(TextResponse {
                    final_bit,
                    continue_bit,
                    lun,
                    itt,
                    ttt,
                    stat_sn,
                    exp_cmd_sn,
                    max_cmd_sn,
                    data,
                })
            },
        )
}

fn data_out() -> impl Strategy<Value = Pdu> {
    (
        any::<bool>(),
        lun(),
        itt(),
        ttt(),
        sn(),
        sn(),
        any::<u32>(),
        bytes(600),
    )
        .prop_map(
            |(final_bit, lun, itt, ttt, exp_stat_sn, data_sn, buffer_offset, data)| {
                Pdu::DataOut(DataOut {
                    final_bit,
                    lun,
                    itt,
                    ttt,
                    exp_stat_sn,
                    data_sn,
                    buffer_offset,
                    data,
                })
            },
        )
}

fn data_in() -> impl Strategy<Value = Pdu> {
    (
        (
            any::<bool>(),
            any::<bool>(),
            proptest::option::of(any::<u8>()),
            residual(),
        ),
        (lun(), itt(), ttt(), sn(), sn(), sn(), sn(), any::<u32>()),
        bytes(600),
    )
        .prop_map(
            |(
                (final_bit, acknowledge, status, residual),
                (lun, itt, ttt, stat_sn, exp_cmd_sn, max_cmd_sn, data_sn, buffer_offset),
                data,
            )| {
                Pdu::DataIn(DataIn {
                    final_bit,
                    acknowledge,
                    status: status.map(ScsiStatus),
                    residual,
                    lun,
                    itt,
                    ttt,
                    stat_sn,
                    exp_cmd_sn,
                    max_cmd_sn,
                    data_sn,
                    buffer_offset,
                    data,
                })
            },
        )
}

fn logout_request() -> impl Strategy<Value = Pdu> {
    (any::<bool>(), 0u8..0x80, itt(), any::<u16>(), sn(), sn()).prop_map(
        |(immediate, reason, itt, cid, cmd_sn, exp_stat_sn)| {
            Pdu::LogoutRequest(LogoutRequest {
                immediate,
                reason: LogoutReason::from(reason),
                itt,
                cid: Cid(cid),
                cmd_sn,
                exp_stat_sn,
            })
        },
    )
}

fn logout_response() -> impl Strategy<Value = Pdu> {
    (
        any::<u8>(),
        itt(),
        sn(),
        sn(),
        sn(),
        any::<u16>(),
        any::<u16>(),
    )
        .prop_map(
            |(response, itt, stat_sn, exp_cmd_sn, max_cmd_sn, time2wait, time2retain)| {
                Pdu::LogoutResponse(LogoutResponse {
                    response: LogoutResult::from(response),
                    itt,
                    stat_sn,
                    exp_cmd_sn,
                    max_cmd_sn,
                    time2wait,
                    time2retain,
                })
            },
        )
}

fn snack() -> impl Strategy<Value = Pdu> {
    (
        0u8..0x10,
        lun(),
        itt(),
        ttt(),
        sn(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(|(t, lun, itt, ttt, exp_stat_sn, beg_run, run_length)| {
            Pdu::SnackRequest(SnackRequest {
                snack_type: SnackType::from(t),
                lun,
                itt,
                ttt,
                exp_stat_sn,
                beg_run,
                run_length,
            })
        })
}

fn r2t() -> impl Strategy<Value = Pdu> {
    (
        lun(),
        itt(),
        ttt(),
        sn(),
        sn(),
        sn(),
        sn(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(lun, itt, ttt, stat_sn, exp_cmd_sn, max_cmd_sn, r2t_sn, buffer_offset, desired)| {
                Pdu::ReadyToTransfer(ReadyToTransfer {
                    lun,
                    itt,
                    ttt,
                    stat_sn,
                    exp_cmd_sn,
                    max_cmd_sn,
                    r2t_sn,
                    buffer_offset,
                    desired_length: desired,
                })
            },
        )
}

fn async_message() -> impl Strategy<Value = Pdu> {
    (
        (lun(), sn(), sn(), sn()),
        (
            any::<u8>(),
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
        ),
        bytes(64),
    )
        .prop_map(
            |(
                (lun, stat_sn, exp_cmd_sn, max_cmd_sn),
                (event, vcode, parameter1, parameter2, parameter3),
                data,
            )| {
                Pdu::AsyncMessage(AsyncMessage {
                    lun,
                    stat_sn,
                    exp_cmd_sn,
                    max_cmd_sn,
                    event: AsyncEvent::from(event),
                    vcode,
                    parameter1,
                    parameter2,
                    parameter3,
                    data,
                })
            },
        )
}

fn reject() -> impl Strategy<Value = Pdu> {
    (any::<u8>(), sn(), sn(), sn(), any::<u32>(), bytes(48)).prop_map(
        |(reason, stat_sn, exp_cmd_sn, max_cmd_sn, data_sn, data)| {
            Pdu::Reject(Reject {
                reason: RejectReason::from(reason),
                stat_sn,
                exp_cmd_sn,
                max_cmd_sn,
                data_sn,
                data,
            })
        },
    )
}

/// Any PDU of any kind, unknown opcodes included.
///
/// ```
/// use proptest::strategy::{Strategy, ValueTree};
/// let mut runner = proptest::test_runner::TestRunner::deterministic();
/// let pdu = iscsi_pdu::arbitrary::any_pdu().new_tree(&mut runner).map_err(|reason| reason.to_string())?.current();
/// let wire = pdu.to_bytes(iscsi_pdu::Digests::ALL)?;
/// assert_eq!(iscsi_pdu::Pdu::parse(wire.into(), iscsi_pdu::Digests::ALL)?, pdu);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn any_pdu() -> impl Strategy<Value = Pdu> {
    prop_oneof![
        nop_out(),
        nop_in(),
        scsi_command(),
        scsi_response(),
        tmf_request(),
        tmf_response(),
        login_request(),
        login_response(),
        text_request(),
        text_response(),
        data_out(),
        data_in(),
        logout_request(),
        logout_response(),
        snack(),
        r2t(),
        async_message(),
        reject(),
        unknown_pdu().prop_map(Pdu::Unknown),
    ]
}

/// Any combination of digests.
pub fn any_digests() -> impl Strategy<Value = Digests> {
    (any::<bool>(), any::<bool>()).prop_map(|(header, data)| Digests { header, data })
}

impl Arbitrary for Pdu {
    type Parameters = ();
    type Strategy = BoxedStrategy<Pdu>;

    fn arbitrary_with(_: ()) -> Self::Strategy {
        any_pdu().boxed()
    }
}
