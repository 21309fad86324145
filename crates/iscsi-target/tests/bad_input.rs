//! What the engine does with broken or hostile input: the RFC's answer (Reject, login failure,
//! or close), never a panic, and other sessions unaffected.
#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

mod common;

use bytes::Bytes;
use common::*;
use iscsi_pdu::*;
use iscsi_target::*;

fn logged_in() -> Pair {
    let mut pair = Pair::new(config(None, None));
    pair.login_normal(CLIENT, TARGET, "");
    pair
}

#[test]
fn a_malformed_pdu_in_the_full_feature_phase_is_rejected() {
    let mut pair = logged_in();
    // A Text Request with both F and C set (RFC 7143 §11.10.1 forbids it).
    let text = Pdu::TextRequest(TextRequest {
        immediate: true,
        final_bit: true,
        continue_bit: false,
        lun: Lun::ZERO,
        itt: Itt(0x55),
        ttt: Ttt::RESERVED,
        cmd_sn: pair.cmd_sn,
        exp_stat_sn: SerialNumber(0),
        data: Bytes::from_static(b"SendTargets=All\0"),
    });
    let mut bytes = text.to_bytes(Digests::NONE).unwrap();
    bytes[1] |= 0x40;
    let answers = pair.send_raw(&bytes);
    let [Pdu::Reject(r)] = answers.as_slice() else {
        panic!("{answers:?}")
    };
    assert_eq!(r.reason, RejectReason::InvalidPduField);
    assert_eq!(&r.data[..], &bytes[..48]);
    assert!(pair.closed.is_none());

    // The connection carries on.
    let cmd = pair.command(&read10(1), 512, true, false, Bytes::new(), true);
    let answers = pair.send(Pdu::ScsiCommand(cmd));
    pair.expect_task(&answers);
}

#[test]
fn a_rejected_non_immediate_command_still_takes_its_cmd_sn() {
    let mut pair = logged_in();
    // A SCSI Command with both O and U... is not a thing; use a Task Management Request with
    // a data segment, which the RFC fixes at zero.
    let tmf = Pdu::TaskMgmtRequest(TaskMgmtRequest {
        immediate: false,
        function: TmfFunction::AbortTaskSet,
        lun: Lun::ZERO,
        itt: Itt(0x77),
        referenced_task_tag: Itt::RESERVED,
        cmd_sn: pair.cmd_sn,
        exp_stat_sn: SerialNumber(0),
        ref_cmd_sn: SerialNumber(0),
        exp_data_sn: SerialNumber(0),
    });
    let mut bytes = tmf.to_bytes(Digests::NONE).unwrap();
    bytes[7] = 4; // DataSegmentLength = 4
    bytes.extend_from_slice(&[0; 4]);
    pair.cmd_sn = pair.cmd_sn.next();
    let answers = pair.send_raw(&bytes);
    assert!(
        matches!(answers.as_slice(), [Pdu::Reject(_)]),
        "{answers:?}"
    );
    // The next CmdSN is accepted at once: no gap.
    let cmd = pair.command(&read10(1), 512, true, false, Bytes::new(), true);
    let answers = pair.send(Pdu::ScsiCommand(cmd));
    pair.expect_task(&answers);
}

#[test]
fn an_unknown_opcode_is_rejected_as_not_supported() {
    let mut pair = logged_in();
    let mut bytes = vec![0u8; 48];
    bytes[0] = 0x1f; // an initiator opcode RFC 7143 does not define
    bytes[16..20].copy_from_slice(&[0, 0, 0, 9]);
    let answers = pair.send_raw(&bytes);
    let [Pdu::Reject(r)] = answers.as_slice() else {
        panic!("{answers:?}")
    };
    assert_eq!(r.reason, RejectReason::CommandNotSupported);
    assert!(pair.closed.is_none());
}

#[test]
fn a_snack_is_rejected_at_error_recovery_level_0() {
    let mut pair = logged_in();
    let answers = pair.send(Pdu::SnackRequest(SnackRequest {
        snack_type: SnackType::DataR2t,
        lun: Lun::ZERO,
        itt: Itt(1),
        ttt: Ttt::RESERVED,
        exp_stat_sn: SerialNumber(0),
        beg_run: 0,
        run_length: 0,
    }));
    assert!(
        matches!(answers.as_slice(), [Pdu::Reject(r)] if r.reason == RejectReason::SnackReject)
    );
}

#[test]
fn a_non_login_pdu_during_login_fails_the_login_and_closes() {
    let mut pair = Pair::new(config(None, None));
    let cmd = pair.command(&read10(1), 512, true, false, Bytes::new(), true);
    let answers = pair.send(Pdu::ScsiCommand(cmd));
    let [Pdu::LoginResponse(r)] = answers.as_slice() else {
        panic!("{answers:?}")
    };
    assert_eq!(r.status, LoginStatus::INVALID_DURING_LOGIN);
    assert_eq!(
        pair.closed,
        Some(CloseReason::LoginFailed(LoginStatus::INVALID_DURING_LOGIN))
    );
    // Also in the middle of a login.
    let mut pair = Pair::new(config(None, None));
    pair.login(
        Stage::SecurityNegotiation,
        Stage::SecurityNegotiation,
        false,
        &format!("InitiatorName={CLIENT}|TargetName={TARGET}|"),
    );
    let answers = pair.send(Pdu::NopOut(NopOut {
        immediate: true,
        lun: Lun::ZERO,
        itt: Itt(5),
        ttt: Ttt::RESERVED,
        cmd_sn: SerialNumber(1),
        exp_stat_sn: SerialNumber(0),
        data: Bytes::new(),
    }));
    let [Pdu::LoginResponse(r)] = answers.as_slice() else {
        panic!("{answers:?}")
    };
    assert_eq!(r.status, LoginStatus::INVALID_DURING_LOGIN);
    // The answer names the login under way: its ISID and stage.
    assert_eq!((r.isid, r.csg), (pair.isid, Stage::SecurityNegotiation));
    assert_eq!(r.itt, Itt(5));
    assert!(pair.closed.is_some());
}

#[test]
fn an_over_long_data_segment_closes_the_connection() {
    // During login the limit is the RFC default of 8192 bytes.
    let mut pair = Pair::new(config(None, None));
    let mut bytes = vec![0u8; 48];
    bytes[0] = 0x43; // Login Request
    bytes[5..8].copy_from_slice(&[0x01, 0x00, 0x00]); // 65536 bytes announced
    let answers = pair.send_raw(&bytes);
    assert!(answers.is_empty());
    assert!(matches!(
        pair.closed,
        Some(CloseReason::Framing(
            iscsi_pdu::Error::DataSegmentTooLong { .. }
        ))
    ));

    // After login, the target's declared MaxRecvDataSegmentLength applies.
    let mut pair = logged_in();
    let mut bytes = vec![0u8; 48];
    bytes[0] = 0x05; // Data-Out
    bytes[5..8].copy_from_slice(&[0x10, 0x00, 0x00]); // 1 MiB
    pair.send_raw(&bytes);
    assert!(matches!(pair.closed, Some(CloseReason::Framing(_))));
}

#[test]
fn a_malformed_login_fails_the_login() {
    let mut pair = Pair::new(config(None, None));
    let login = pair.login_request(
        Stage::SecurityNegotiation,
        Stage::LoginOperationalNegotiation,
        true,
        "",
    );
    let mut bytes = login.to_bytes(Digests::NONE).unwrap();
    bytes[1] |= 0x40; // T and C together
    let answers = pair.send_raw(&bytes);
    assert!(
        matches!(answers.as_slice(), [Pdu::LoginResponse(r)] if r.status == LoginStatus::INITIATOR_ERROR)
    );
    assert!(pair.closed.is_some());
}

#[test]
fn garbage_text_in_login_fails_cleanly() {
    let mut pair = Pair::new(config(None, None));
    let rsp = pair.login(
        Stage::SecurityNegotiation,
        Stage::LoginOperationalNegotiation,
        true,
        "no equals sign|",
    );
    assert_eq!(rsp.status, LoginStatus::INITIATOR_ERROR);
}

#[test]
fn a_duplicate_task_tag_is_rejected() {
    let mut pair = logged_in();
    let cmd = pair.command(&read10(1), 512, true, false, Bytes::new(), true);
    let itt = cmd.itt;
    let answers = pair.send(Pdu::ScsiCommand(cmd));
    pair.expect_task(&answers);
    let mut again = pair.command(&read10(1), 512, true, false, Bytes::new(), true);
    again.itt = itt;
    let answers = pair.send(Pdu::ScsiCommand(again));
    assert!(
        matches!(answers.as_slice(), [Pdu::Reject(r)] if r.reason == RejectReason::TaskInProgress)
    );
}

#[test]
fn one_broken_connection_leaves_other_sessions_alone() {
    let config = std::sync::Arc::new(config(None, None));
    let registry = SessionRegistry::new();
    let mut good = Pair::with_registry(config.clone(), registry.clone());
    good.login_normal(CLIENT, TARGET, "");
    let mut bad = Pair::with_registry(config, registry.clone());
    bad.send_raw(&[0xff; 200]);
    assert!(bad.closed.is_some());
    drop(bad);
    assert_eq!(registry.len(), 1);
    let cmd = good.command(&read10(1), 512, true, false, Bytes::new(), true);
    let answers = good.send(Pdu::ScsiCommand(cmd));
    good.expect_task(&answers);
}

#[test]
fn a_peer_that_never_reads_cannot_grow_the_output_queue() {
    let mut pair = logged_in();
    let mut input = bytes::BytesMut::new();
    for i in 0..2000u32 {
        Pdu::NopOut(NopOut {
            immediate: true,
            lun: Lun::ZERO,
            itt: Itt(i),
            ttt: Ttt::RESERVED,
            cmd_sn: pair.cmd_sn,
            exp_stat_sn: SerialNumber(0),
            data: Bytes::new(),
        })
        .encode_into(Digests::NONE, &mut input)
        .unwrap();
    }
    pair.target.handle_bytes(&mut input);
    // Input stops being consumed once a few hundred answers wait.
    assert!(!input.is_empty());
    let answered = pair.drain().len();
    assert!((256..2000).contains(&answered), "{answered}");
}

/// Found by `session_ops`: a task management request answered after the connection closed
/// queued a response behind [`Event::Close`].
#[test]
fn completing_task_management_after_close_sends_nothing() {
    let mut pair = logged_in();
    let itt = pair.itt();
    pair.send(Pdu::TaskMgmtRequest(TaskMgmtRequest {
        immediate: true,
        function: TmfFunction::LogicalUnitReset,
        lun: Lun::ZERO,
        itt,
        referenced_task_tag: Itt::RESERVED,
        cmd_sn: pair.cmd_sn,
        exp_stat_sn: SerialNumber(0),
        ref_cmd_sn: SerialNumber(0),
        exp_data_sn: SerialNumber(0),
    }));
    let events = pair.take_events();
    let [Event::TaskManagement(tmf)] = events.as_slice() else {
        panic!("{events:?}")
    };
    pair.target.shutdown();
    assert!(pair.drain().is_empty());
    assert_eq!(pair.closed, Some(CloseReason::Shutdown));
    assert!(
        pair.target
            .complete_task_management(tmf.id, tmf.proposed)
            .is_err()
    );
    assert!(pair.drain().is_empty());
}
