//! Login flows end to end: discovery with SendTargets and the ACL, Normal sessions with and
//! without CHAP, what iPXE sends, refusals with the right status, and reinstatement.
#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

mod common;

use std::sync::Arc;

use common::*;
use iscsi_pdu::text_data::{format_hex, parse_binary, parse_number};
use iscsi_pdu::*;
use iscsi_target::*;
use md5::{Digest, Md5};

const SEC: Stage = Stage::SecurityNegotiation;
const OP: Stage = Stage::LoginOperationalNegotiation;
const FFP: Stage = Stage::FullFeaturePhase;

fn chap_response(id: u8, secret: &[u8], challenge: &[u8]) -> Vec<u8> {
    let mut md5 = Md5::new();
    md5.update([id]);
    md5.update(secret);
    md5.update(challenge);
    md5.finalize().to_vec()
}

#[test]
fn discovery_lists_only_the_targets_the_initiator_may_use() {
    for (client, expected) in [(CLIENT, TARGET), (OTHER_CLIENT, OTHER_TARGET)] {
        let mut pair = Pair::new(config(None, None));
        let rsp = pair.login(
            OP,
            FFP,
            true,
            &format!("InitiatorName={client}|SessionType=Discovery|"),
        );
        assert!(rsp.status.is_success());
        assert_ne!(rsp.tsih, Tsih(0));
        let session = pair.logged_in();
        assert_eq!(session.kind, SessionKind::Discovery);

        let answers = pair.text("SendTargets=All|");
        let [Pdu::TextResponse(text)] = answers.as_slice() else {
            panic!("{answers:?}")
        };
        assert!(text.final_bit && text.ttt.is_reserved());
        let keys = keys(&text.data);
        assert_eq!(keys.get_all("TargetName").collect::<Vec<_>>(), [expected]);
        assert_eq!(
            keys.get_all("TargetAddress").collect::<Vec<_>>(),
            ["192.0.2.1:3260,1", "[2001:db8::1]:3260,1"]
        );

        // Asking for the other client's target by name reveals nothing.
        let hidden = if expected == TARGET {
            OTHER_TARGET
        } else {
            TARGET
        };
        let answers = pair.text(&format!("SendTargets={hidden}|"));
        let [Pdu::TextResponse(text)] = answers.as_slice() else {
            panic!()
        };
        assert!(text.data.is_empty());

        // A discovery session refuses SCSI commands.
        let cmd = pair.command(&read10(1), 512, true, false, bytes::Bytes::new(), true);
        let answers = pair.send(Pdu::ScsiCommand(cmd));
        assert!(
            matches!(answers.as_slice(), [Pdu::Reject(r)] if r.reason == RejectReason::ProtocolError)
        );

        let answers = pair.logout();
        assert!(
            matches!(answers.as_slice(), [Pdu::LogoutResponse(r)] if r.response == LogoutResult::Success)
        );
        assert_eq!(pair.closed, Some(CloseReason::Logout));
    }
}

#[test]
fn sendtargets_with_bad_keys_or_values_is_answered_as_an_error() {
    let mut pair = Pair::new(config(None, None));
    pair.login_normal(CLIENT, TARGET, "");
    for (text, key, value) in [
        (
            "SendTargetsPlease=All|",
            "SendTargetsPlease",
            "NotUnderstood",
        ),
        ("SendTargets=Alle|", "SendTargets", "Reject"),
    ] {
        let answers = pair.text(text);
        let [Pdu::TextResponse(t)] = answers.as_slice() else {
            panic!("{text} {answers:?}")
        };
        assert_eq!(keys(&t.data).get(key), Some(value));
    }
    // A key-name "MUST begin with a capital letter" (RFC 7143 §6.1): the text is invalid and
    // the request is rejected (libiscsi fails the task on the Reject).
    let answers = pair.text("sENDtARGETS=aLL|");
    assert!(
        matches!(answers.as_slice(), [Pdu::Reject(r)] if r.reason == RejectReason::InvalidPduField)
    );
    // In a Normal session an empty value means the session's own target.
    let answers = pair.text("SendTargets=|");
    let [Pdu::TextResponse(t)] = answers.as_slice() else {
        panic!("{answers:?}")
    };
    assert_eq!(keys(&t.data).get("TargetName"), Some(TARGET));
}

#[test]
fn long_sendtargets_answers_are_split_and_pulled_with_the_ttt() {
    let mut config = config(None, None);
    for i in 0..200 {
        config.targets.push(
            TargetNode::new(name(&format!(
                "iqn.2026-01.com.example:many-target-number-{i}"
            )))
            .with_initiators(InitiatorAcl::AllowAll),
        );
    }
    let mut pair = Pair::new(config);
    pair.login(
        OP,
        FFP,
        true,
        &format!("InitiatorName={CLIENT}|SessionType=Discovery|MaxRecvDataSegmentLength=1024|"),
    );
    pair.logged_in();
    let mut answers = pair.text("SendTargets=All|");
    let mut text = Vec::new();
    let mut parts = 0;
    loop {
        let [Pdu::TextResponse(t)] = answers.as_slice() else {
            panic!("{answers:?}")
        };
        assert!(t.data.len() <= 1024);
        text.extend_from_slice(&t.data);
        parts += 1;
        if t.final_bit {
            break;
        }
        assert!(t.continue_bit && !t.ttt.is_reserved());
        let itt = t.itt;
        let ttt = t.ttt;
        answers = pair.send(Pdu::TextRequest(TextRequest {
            immediate: true,
            final_bit: true,
            continue_bit: false,
            lun: Lun::ZERO,
            itt,
            ttt,
            cmd_sn: pair.cmd_sn,
            exp_stat_sn: SerialNumber(0),
            data: bytes::Bytes::new(),
        }));
    }
    assert!(parts > 5);
    // More pairs than a TextPairs holds: count them by hand.
    let names = text
        .split(|b| *b == 0)
        .filter(|kv| kv.starts_with(b"TargetName="))
        .count();
    assert_eq!(names, 201);
}

/// What iPXE sends (ipxe `src/net/tcp/iscsi.c`): security stage with AuthMethod, then every
/// operational key with its own values. The target must not answer Reject to any of them.
const IPXE_OPERATIONAL: &str = "HeaderDigest=None|DataDigest=None|MaxConnections=1|InitialR2T=Yes|\
    ImmediateData=No|MaxRecvDataSegmentLength=8192|MaxBurstLength=262144|FirstBurstLength=65536|\
    DefaultTime2Wait=0|DefaultTime2Retain=0|MaxOutstandingR2T=1|DataPDUInOrder=Yes|\
    DataSequenceInOrder=Yes|ErrorRecoveryLevel=0|";

#[test]
fn ipxe_login_without_chap() {
    let mut pair = Pair::new(config(None, None));
    let rsp = pair.login(
        SEC,
        OP,
        true,
        &format!("InitiatorName={CLIENT}|TargetName={TARGET}|SessionType=Normal|AuthMethod=None|"),
    );
    assert!(rsp.status.is_success());
    assert!(rsp.transit);
    assert_eq!((rsp.csg, rsp.nsg), (SEC, OP));
    let k = keys(&rsp.data);
    assert_eq!(k.get("AuthMethod"), Some("None"));
    assert_eq!(k.get("TargetPortalGroupTag"), Some("1"));
    assert_eq!(k.get("TargetAlias"), Some("disk"));
    let first_stat_sn = rsp.stat_sn;
    assert_eq!(rsp.exp_cmd_sn, SerialNumber(1));

    let rsp = pair.login(OP, FFP, true, IPXE_OPERATIONAL);
    assert!(rsp.status.is_success() && rsp.transit);
    assert_eq!(rsp.stat_sn, first_stat_sn.next());
    let k = keys(&rsp.data);
    for (key, value) in k.iter() {
        assert!(
            value != "Reject" && value != "NotUnderstood",
            "{key}={value}"
        );
    }
    assert_eq!(k.get("MaxRecvDataSegmentLength"), Some("262144"));
    assert_eq!(k.get("MaxBurstLength"), Some("262144"));
    let session = pair.logged_in();
    let p = session.params;
    assert!(p.initial_r2t && !p.immediate_data);
    assert_eq!(p.initiator_max_recv_data_segment_length, 8192);
    assert_eq!(p.max_outstanding_r2t, 1);
    assert_eq!(p.digests(), Digests::NONE);
    assert_eq!(session.target_name, Some(name(TARGET)));
}

/// Runs the CHAP exchange of an iPXE- or libiscsi-like initiator up to the target's challenge.
fn chap_start(pair: &mut Pair, initiator: &str) -> (u8, Vec<u8>) {
    let rsp = pair.login(
        SEC,
        OP,
        true,
        &format!(
            "InitiatorName={initiator}|TargetName={TARGET}|SessionType=Normal|AuthMethod=CHAP,None|"
        ),
    );
    assert!(rsp.status.is_success());
    assert!(!rsp.transit);
    assert_eq!(keys(&rsp.data).get("AuthMethod"), Some("CHAP"));
    let rsp = pair.login(SEC, OP, true, "CHAP_A=5|");
    assert!(!rsp.transit);
    let k = keys(&rsp.data);
    assert_eq!(k.get("CHAP_A"), Some("5"));
    let id = parse_number("CHAP_I", k.get("CHAP_I").unwrap()).unwrap() as u8;
    let challenge = parse_binary("CHAP_C", k.get("CHAP_C").unwrap()).unwrap();
    (id, challenge)
}

#[test]
fn chap_login_with_the_right_secret() {
    let mut pair = Pair::new(config(Some(("client", b"0123456789ab")), None));
    let (id, c) = chap_start(&mut pair, CLIENT);
    let r = chap_response(id, b"0123456789ab", &c);
    let rsp = pair.login(
        SEC,
        OP,
        true,
        &format!("CHAP_N=client|CHAP_R={}|", format_hex(&r)),
    );
    assert!(rsp.status.is_success() && rsp.transit);
    let rsp = pair.login(OP, FFP, true, IPXE_OPERATIONAL);
    assert!(rsp.status.is_success() && rsp.transit);
    pair.logged_in();
}

#[test]
fn mutual_chap_login_proves_the_target() {
    let mut pair = Pair::new(config(
        Some(("client", b"0123456789ab")),
        Some(("target", b"target-secret-1")),
    ));
    let (id, c) = chap_start(&mut pair, CLIENT);
    let r = chap_response(id, b"0123456789ab", &c);
    let mine = [0xa5u8; 16];
    let rsp = pair.login(
        SEC,
        OP,
        true,
        &format!(
            "CHAP_N=client|CHAP_R={}|CHAP_I=9|CHAP_C={}|",
            format_hex(&r),
            format_hex(&mine)
        ),
    );
    assert!(rsp.status.is_success() && rsp.transit);
    let k = keys(&rsp.data);
    assert_eq!(k.get("CHAP_N"), Some("target"));
    let got = parse_binary("CHAP_R", k.get("CHAP_R").unwrap()).unwrap();
    assert_eq!(got, chap_response(9, b"target-secret-1", &mine));
    let rsp = pair.login(OP, FFP, true, IPXE_OPERATIONAL);
    assert!(rsp.status.is_success());
    pair.logged_in();
}

#[test]
fn wrong_secret_is_an_authentication_failure() {
    let mut pair = Pair::new(config(Some(("client", b"0123456789ab")), None));
    let (id, c) = chap_start(&mut pair, CLIENT);
    let r = chap_response(id, b"not-the-secret", &c);
    let rsp = pair.login(
        SEC,
        OP,
        true,
        &format!("CHAP_N=client|CHAP_R={}|", format_hex(&r)),
    );
    assert_eq!(rsp.status, LoginStatus::AUTH_FAILURE);
    assert_eq!(
        pair.closed,
        Some(CloseReason::LoginFailed(LoginStatus::AUTH_FAILURE))
    );
    assert!(pair.target.session().is_none());
    assert!(pair.registry.is_empty());
}

#[test]
fn wrong_initiator_is_an_authorization_failure_and_unknown_target_not_found() {
    let mut pair = Pair::new(config(None, None));
    let rsp = pair.login(
        SEC,
        OP,
        true,
        &format!("InitiatorName={OTHER_CLIENT}|TargetName={TARGET}|AuthMethod=None|"),
    );
    assert_eq!(rsp.status, LoginStatus::AUTHORIZATION_FAILURE);
    assert!(matches!(pair.closed, Some(CloseReason::LoginFailed(_))));
    // What a log of the refusal names: the names as sent.
    assert_eq!(
        pair.target.login_names(),
        (Some(OTHER_CLIENT), Some(TARGET))
    );

    let mut pair = Pair::new(config(None, None));
    let rsp = pair.login(
        SEC,
        OP,
        true,
        &format!("InitiatorName={CLIENT}|TargetName=iqn.2026-01.com.example:nope|"),
    );
    assert_eq!(rsp.status, LoginStatus::NOT_FOUND);
    assert_eq!(
        pair.target.login_names(),
        (Some(CLIENT), Some("iqn.2026-01.com.example:nope"))
    );
}

#[test]
fn digests_are_used_after_login() {
    let mut pair = Pair::new(config(None, None));
    pair.login_normal(
        CLIENT,
        TARGET,
        "HeaderDigest=CRC32C,None|DataDigest=CRC32C,None|",
    );
    assert_eq!(
        pair.digests,
        Digests {
            header: true,
            data: true
        }
    );
    assert_eq!(pair.target.framer_config().digests, pair.digests);
    // A NOP-Out with digests is answered with digests (Pair::drain checks them).
    let itt = pair.itt();
    let answers = pair.send(Pdu::NopOut(NopOut {
        immediate: true,
        lun: Lun::ZERO,
        itt,
        ttt: Ttt::RESERVED,
        cmd_sn: pair.cmd_sn,
        exp_stat_sn: SerialNumber(0),
        data: bytes::Bytes::from_static(b"ping"),
    }));
    assert!(matches!(answers.as_slice(), [Pdu::NopIn(n)] if n.data.as_ref() == b"ping"));
}

#[test]
fn a_new_login_with_the_same_isid_reinstates_the_session() {
    let config = Arc::new(config(None, None));
    let registry = SessionRegistry::new();
    let mut first = Pair::with_registry(Arc::clone(&config), registry.clone());
    let old = first.login_normal(CLIENT, TARGET, "");
    assert_eq!(registry.len(), 1);

    // The client reboots: a new TCP connection, TSIH 0, the same ISID.
    let mut second = Pair::with_registry(Arc::clone(&config), registry.clone());
    second.login(
        OP,
        FFP,
        true,
        &format!("InitiatorName={CLIENT}|TargetName={TARGET}|"),
    );
    let events = second.take_events();
    let [Event::LoggedIn { session, replaces }] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(*replaces, Some(old.id));
    assert_ne!(session.id, old.id);
    assert_eq!(registry.len(), 1);

    // The driver closes the old connection; dropping it leaves the new session registered.
    first.target.shutdown();
    first.drain();
    assert_eq!(first.closed, Some(CloseReason::Shutdown));
    drop(first);
    assert_eq!(registry.len(), 1);
    drop(second);
    assert!(registry.is_empty());

    // A different ISID is a second, independent session.
    let mut a = Pair::with_registry(Arc::clone(&config), registry.clone());
    a.login_normal(CLIENT, TARGET, "");
    let mut b = Pair::with_registry(Arc::clone(&config), registry.clone());
    b.isid = Isid([0x80, 0, 0, 0, 0, 9]);
    b.login(
        OP,
        FFP,
        true,
        &format!("InitiatorName={CLIENT}|TargetName={TARGET}|"),
    );
    assert!(matches!(
        b.take_events().as_slice(),
        [Event::LoggedIn { replaces: None, .. }]
    ));
    assert_eq!(registry.len(), 2);
}

#[test]
fn a_login_naming_a_session_that_does_not_exist_fails() {
    let mut pair = Pair::new(config(None, None));
    pair.tsih = Tsih(77);
    let rsp = pair.login(
        OP,
        FFP,
        true,
        &format!("InitiatorName={CLIENT}|TargetName={TARGET}|"),
    );
    assert_eq!(rsp.status, LoginStatus::SESSION_DOES_NOT_EXIST);
}

#[test]
fn a_slow_login_times_out() {
    let mut pair = Pair::new(config(None, None));
    assert_eq!(pair.target.poll_timeout(), Some(Instant::ZERO));
    pair.target.handle_timeout(Instant::from_secs(100));
    let rsp = pair.login(
        SEC,
        OP,
        false,
        &format!("InitiatorName={CLIENT}|TargetName={TARGET}|"),
    );
    assert!(rsp.status.is_success());
    let deadline = pair.target.poll_timeout().unwrap();
    assert_eq!(deadline, Instant::from_secs(130));
    pair.target.handle_timeout(deadline);
    pair.drain();
    assert_eq!(pair.closed, Some(CloseReason::Timeout));
}

#[test]
fn login_names_are_the_session_names_once_logged_in() {
    let mut pair = Pair::new(config(None, None));
    assert_eq!(pair.target.login_names(), (None, None));
    pair.login_normal(CLIENT, TARGET, "");
    assert_eq!(pair.target.login_names(), (Some(CLIENT), Some(TARGET)));
}

/// Hands the engine a Login Request for CLIENT and TARGET without polling anything.
fn send_login_unpolled(pair: &mut Pair) {
    let text = format!("InitiatorName={CLIENT}|TargetName={TARGET}|");
    let req = pair.login_request(OP, FFP, true, &text);
    let mut bytes = bytes::BytesMut::from(&req.to_bytes(Digests::NONE).unwrap()[..]);
    pair.target.handle_bytes(&mut bytes);
}

/// The Login Response of a login that reinstates a session waits until the driver has polled
/// its `LoggedIn { replaces }`, as the Logout Response waits for `LoggedOut`: the driver ends
/// the old session's nexus while handling the event, before the initiator can use the new one
/// (whose nexus is the same I_T nexus, and whose first command could otherwise be undone by
/// the old one's teardown).
#[test]
fn a_reinstating_login_is_answered_after_its_event_is_polled() {
    let config = Arc::new(config(None, None));
    let registry = SessionRegistry::new();
    let mut first = Pair::with_registry(Arc::clone(&config), registry.clone());
    let old = first.login_normal(CLIENT, TARGET, "");

    let mut second = Pair::with_registry(Arc::clone(&config), registry.clone());
    send_login_unpolled(&mut second);
    assert!(
        second.target.poll_transmit().is_none(),
        "answered before the event"
    );
    let Some(Event::LoggedIn { replaces, .. }) = second.target.poll_event() else {
        panic!("no LoggedIn")
    };
    assert_eq!(replaces, Some(old.id));
    let answers = second.drain();
    assert!(
        matches!(answers.as_slice(), [Pdu::LoginResponse(r)] if r.status.is_success()),
        "{answers:?}"
    );

    // A first login (nothing reinstated) is answered at once.
    let mut other = Pair::with_registry(Arc::clone(&config), registry.clone());
    other.isid = Isid([0x80, 0, 0, 0, 0, 9]);
    send_login_unpolled(&mut other);
    assert!(other.target.poll_transmit().is_some());
}
