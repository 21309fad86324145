//! Unit tests of the login transition: stages, identity, ACL, CHAP and the declarations.

use bytes::Bytes;
use iscsi_pdu::text_data::{TextPairs, format_hex, parse_binary, parse_number};
use iscsi_pdu::{Cid, IscsiName, Isid, Itt, LoginRequest, LoginStatus, SerialNumber, Stage, Tsih};
use proptest::prelude::*;

use super::chap::{self, ChallengeSource};
use super::{LoginState, LoginStep};
use crate::{ChapCredentials, InitiatorAcl, SessionKind, TargetConfig, TargetNode};

const TARGET: &str = "iqn.2026-01.com.example:disk";
const CLIENT: &str = "iqn.2010-04.org.ipxe:client";

fn config(chap: bool, mutual: bool) -> TargetConfig {
    let mut node = TargetNode::new(IscsiName::parse(TARGET).unwrap())
        .with_initiators(InitiatorAcl::only([IscsiName::parse(CLIENT).unwrap()]));
    if chap {
        node = node.with_chap(ChapCredentials::new("client", b"client-secret"));
    }
    if mutual {
        node = node.with_mutual_chap(ChapCredentials::new("target", b"target-secret"));
    }
    TargetConfig {
        targets: vec![node],
        ..TargetConfig::default()
    }
}

fn request(csg: Stage, nsg: Stage, transit: bool, text: &str) -> LoginRequest {
    LoginRequest {
        transit,
        continue_bit: false,
        csg,
        nsg,
        version_max: 0,
        version_min: 0,
        isid: Isid([0x80, 0, 0, 0, 0, 1]),
        tsih: Tsih(0),
        itt: Itt(1),
        cid: Cid(0),
        cmd_sn: SerialNumber(1),
        exp_stat_sn: SerialNumber(0),
        data: Bytes::from(text.replace('|', "\0")),
    }
}

const SEC: Stage = Stage::SecurityNegotiation;
const OP: Stage = Stage::LoginOperationalNegotiation;
const FFP: Stage = Stage::FullFeaturePhase;

struct Login {
    config: TargetConfig,
    state: LoginState,
    random: ChallengeSource,
}

impl Login {
    fn new(config: TargetConfig) -> Self {
        let state = LoginState::new(&config);
        Login {
            config,
            state,
            random: ChallengeSource::new([1; 32]),
        }
    }

    fn step(&mut self, req: &LoginRequest) -> LoginStep {
        self.state.step(&self.config, req, &mut self.random)
    }

    /// A step that must continue; returns the response keys and whether it transits.
    fn cont(&mut self, req: &LoginRequest) -> (TextPairs, bool) {
        match self.step(req) {
            LoginStep::Continue(reply) => (TextPairs::parse(&reply.data).unwrap(), reply.transit),
            other => panic!("expected Continue, got {other:?}"),
        }
    }

    fn fail(&mut self, req: &LoginRequest) -> LoginStatus {
        match self.step(req) {
            LoginStep::Fail(status) => status,
            other => panic!("expected Fail, got {other:?}"),
        }
    }
}

const IPXE_OPERATIONAL: &str = "HeaderDigest=None|DataDigest=None|MaxConnections=1|InitialR2T=Yes|\
    ImmediateData=No|MaxRecvDataSegmentLength=8192|MaxBurstLength=262144|FirstBurstLength=65536|\
    DefaultTime2Wait=0|DefaultTime2Retain=0|MaxOutstandingR2T=1|DataPDUInOrder=Yes|\
    DataSequenceInOrder=Yes|ErrorRecoveryLevel=0|";

#[test]
fn ipxe_login_without_chap_completes_without_reject() {
    let mut login = Login::new(config(false, false));
    let (keys, transit) = login.cont(&request(
        SEC,
        OP,
        true,
        &format!("InitiatorName={CLIENT}|TargetName={TARGET}|SessionType=Normal|AuthMethod=None|"),
    ));
    assert!(transit);
    assert_eq!(keys.get("AuthMethod"), Some("None"));
    assert_eq!(keys.get("TargetPortalGroupTag"), Some("1"));
    // Operational declarations wait for the operational stage.
    assert_eq!(keys.get("MaxRecvDataSegmentLength"), None);
    match login.step(&request(OP, FFP, true, IPXE_OPERATIONAL)) {
        LoginStep::Complete(reply, outcome) => {
            let keys = TextPairs::parse(&reply.data).unwrap();
            assert!(
                keys.iter()
                    .all(|(_, v)| v != "Reject" && v != "NotUnderstood")
            );
            assert_eq!(keys.get("MaxRecvDataSegmentLength"), Some("262144"));
            assert!(reply.transit);
            assert_eq!(reply.nsg, FFP);
            assert_eq!(outcome.kind, SessionKind::Normal);
            assert!(outcome.params.initial_r2t && !outcome.params.immediate_data);
            assert_eq!(outcome.params.initiator_max_recv_data_segment_length, 8192);
        }
        other => panic!("expected Complete, got {other:?}"),
    }
}

#[test]
fn omitted_keys_take_rfc_defaults() {
    let mut login = Login::new(config(false, false));
    match login.step(&request(
        OP,
        FFP,
        true,
        &format!("InitiatorName={CLIENT}|TargetName={TARGET}|"),
    )) {
        LoginStep::Complete(_, outcome) => {
            assert_eq!(
                outcome.params,
                crate::SessionParams {
                    target_max_recv_data_segment_length: 262_144,
                    ..crate::SessionParams::default()
                }
            );
        }
        other => panic!("expected Complete, got {other:?}"),
    }
}

#[test]
fn refuses_unknown_target_and_unlisted_initiator() {
    let mut login = Login::new(config(false, false));
    let status = login.fail(&request(
        SEC,
        OP,
        true,
        &format!("InitiatorName={CLIENT}|TargetName=iqn.2026-01.com.example:other|"),
    ));
    assert_eq!(status, LoginStatus::NOT_FOUND);

    let mut login = Login::new(config(false, false));
    let status = login.fail(&request(
        SEC,
        OP,
        true,
        &format!("InitiatorName=iqn.2010-04.org.ipxe:intruder|TargetName={TARGET}|"),
    ));
    assert_eq!(status, LoginStatus::AUTHORIZATION_FAILURE);
}

#[test]
fn missing_names_and_bad_session_type_fail() {
    let mut login = Login::new(config(false, false));
    assert_eq!(
        login.fail(&request(SEC, OP, true, &format!("TargetName={TARGET}|"))),
        LoginStatus::MISSING_PARAMETER
    );
    let mut login = Login::new(config(false, false));
    assert_eq!(
        login.fail(&request(SEC, OP, true, &format!("InitiatorName={CLIENT}|"))),
        LoginStatus::MISSING_PARAMETER
    );
    let mut login = Login::new(config(false, false));
    assert_eq!(
        login.fail(&request(
            SEC,
            OP,
            true,
            &format!("InitiatorName={CLIENT}|SessionType=Other|")
        )),
        LoginStatus::SESSION_TYPE_NOT_SUPPORTED
    );
}

#[test]
fn discovery_needs_no_target_name_and_answers_irrelevant() {
    let mut login = Login::new(config(false, false));
    match login.step(&request(
        OP,
        FFP,
        true,
        &format!("InitiatorName={CLIENT}|SessionType=Discovery|InitialR2T=Yes|"),
    )) {
        LoginStep::Complete(reply, outcome) => {
            assert_eq!(outcome.kind, SessionKind::Discovery);
            assert_eq!(outcome.target_name, None);
            let keys = TextPairs::parse(&reply.data).unwrap();
            assert_eq!(keys.get("InitialR2T"), Some("Irrelevant"));
        }
        other => panic!("expected Complete, got {other:?}"),
    }
}

/// Runs the CHAP exchange up to the target's challenge; returns (CHAP_I, CHAP_C).
fn chap_challenge(login: &mut Login) -> (u8, Vec<u8>) {
    let (keys, transit) = login.cont(&request(
        SEC,
        OP,
        true,
        &format!("InitiatorName={CLIENT}|TargetName={TARGET}|AuthMethod=CHAP,None|"),
    ));
    assert!(!transit);
    assert_eq!(keys.get("AuthMethod"), Some("CHAP"));
    let (keys, transit) = login.cont(&request(SEC, OP, true, "CHAP_A=5|"));
    assert!(!transit);
    assert_eq!(keys.get("CHAP_A"), Some("5"));
    let id = parse_number("CHAP_I", keys.get("CHAP_I").unwrap()).unwrap() as u8;
    let challenge = parse_binary("CHAP_C", keys.get("CHAP_C").unwrap()).unwrap();
    assert_eq!(challenge.len(), chap::CHALLENGE_LEN);
    (id, challenge)
}

#[test]
fn one_way_chap_succeeds_with_the_right_secret() {
    let mut login = Login::new(config(true, false));
    let (id, c) = chap_challenge(&mut login);
    let r = chap::response(id, b"client-secret", &c);
    let (keys, transit) = login.cont(&request(
        SEC,
        OP,
        true,
        &format!("CHAP_N=client|CHAP_R={}|", format_hex(&r)),
    ));
    assert!(transit);
    assert!(keys.get("CHAP_R").is_none());
}

#[test]
fn chap_with_a_wrong_secret_or_name_fails() {
    for (name, secret) in [("client", &b"wrong"[..]), ("other", &b"client-secret"[..])] {
        let mut login = Login::new(config(true, false));
        let (id, c) = chap_challenge(&mut login);
        let r = chap::response(id, secret, &c);
        let status = login.fail(&request(
            SEC,
            OP,
            true,
            &format!("CHAP_N={name}|CHAP_R={}|", format_hex(&r)),
        ));
        assert_eq!(status, LoginStatus::AUTH_FAILURE);
    }
}

#[test]
fn chap_is_required_when_configured() {
    let mut login = Login::new(config(true, false));
    let status = login.fail(&request(
        SEC,
        OP,
        true,
        &format!("InitiatorName={CLIENT}|TargetName={TARGET}|AuthMethod=None|"),
    ));
    assert_eq!(status, LoginStatus::AUTH_FAILURE);
    // Skipping the security stage is no way around it.
    let mut login = Login::new(config(true, false));
    let status = login.fail(&request(
        OP,
        FFP,
        true,
        &format!("InitiatorName={CLIENT}|TargetName={TARGET}|"),
    ));
    assert_eq!(status, LoginStatus::AUTH_FAILURE);
}

#[test]
fn mutual_chap_answers_the_initiators_challenge() {
    let mut login = Login::new(config(true, true));
    let (id, c) = chap_challenge(&mut login);
    let r = chap::response(id, b"client-secret", &c);
    let my_challenge = [0x42u8; 16];
    let (keys, transit) = login.cont(&request(
        SEC,
        OP,
        true,
        &format!(
            "CHAP_N=client|CHAP_R={}|CHAP_I=77|CHAP_C={}|",
            format_hex(&r),
            format_hex(&my_challenge)
        ),
    ));
    assert!(transit);
    assert_eq!(keys.get("CHAP_N"), Some("target"));
    let got = parse_binary("CHAP_R", keys.get("CHAP_R").unwrap()).unwrap();
    assert_eq!(got, chap::response(77, b"target-secret", &my_challenge));
}

#[test]
fn mutual_chap_refuses_bad_identifiers_and_reflected_challenges() {
    for (i, reflect) in [("256", false), ("77", true)] {
        let mut login = Login::new(config(true, true));
        let (id, c) = chap_challenge(&mut login);
        let r = chap::response(id, b"client-secret", &c);
        let challenge = if reflect { c.clone() } else { vec![1; 16] };
        let status = login.fail(&request(
            SEC,
            OP,
            true,
            &format!(
                "CHAP_N=client|CHAP_R={}|CHAP_I={i}|CHAP_C={}|",
                format_hex(&r),
                format_hex(&challenge)
            ),
        ));
        assert_eq!(status, LoginStatus::AUTH_FAILURE);
    }
    // Mutual CHAP asked of a target without mutual credentials.
    let mut login = Login::new(config(true, false));
    let (id, c) = chap_challenge(&mut login);
    let r = chap::response(id, b"client-secret", &c);
    let status = login.fail(&request(
        SEC,
        OP,
        true,
        &format!(
            "CHAP_N=client|CHAP_R={}|CHAP_I=1|CHAP_C=0x0102|",
            format_hex(&r)
        ),
    ));
    assert_eq!(status, LoginStatus::AUTH_FAILURE);
}

#[test]
fn unsupported_chap_algorithm_fails() {
    let mut login = Login::new(config(true, false));
    login.cont(&request(
        SEC,
        OP,
        false,
        &format!("InitiatorName={CLIENT}|TargetName={TARGET}|AuthMethod=CHAP|"),
    ));
    assert_eq!(
        login.fail(&request(SEC, OP, false, "CHAP_A=7|")),
        LoginStatus::AUTH_FAILURE
    );
}

#[test]
fn changing_isid_or_stage_mid_login_is_an_initiator_error() {
    let mut login = Login::new(config(true, false));
    chap_challenge(&mut login);
    let mut req = request(SEC, OP, true, "CHAP_N=client|CHAP_R=0x00|");
    req.isid = Isid([0x80, 0, 0, 0, 0, 2]);
    assert_eq!(login.fail(&req), LoginStatus::INITIATOR_ERROR);

    let mut login = Login::new(config(false, false));
    login.cont(&request(
        SEC,
        SEC,
        false,
        &format!("InitiatorName={CLIENT}|TargetName={TARGET}|"),
    ));
    assert_eq!(
        login.fail(&request(OP, FFP, true, "")),
        LoginStatus::INITIATOR_ERROR
    );
}

#[test]
fn repeated_keys_and_bad_versions_fail() {
    let mut login = Login::new(config(false, false));
    assert_eq!(
        login.fail(&request(
            OP,
            FFP,
            true,
            &format!(
                "InitiatorName={CLIENT}|TargetName={TARGET}|MaxBurstLength=512|MaxBurstLength=1024|"
            ),
        )),
        LoginStatus::INITIATOR_ERROR
    );
    let mut login = Login::new(config(false, false));
    let mut req = request(
        OP,
        FFP,
        true,
        &format!("InitiatorName={CLIENT}|TargetName={TARGET}|"),
    );
    req.version_min = 1;
    assert_eq!(login.fail(&req), LoginStatus::UNSUPPORTED_VERSION);
}

#[test]
fn unknown_keys_are_not_understood() {
    let mut login = Login::new(config(false, false));
    match login.step(&request(
        OP,
        FFP,
        true,
        &format!("InitiatorName={CLIENT}|TargetName={TARGET}|X-com.example.Thing=1|"),
    )) {
        LoginStep::Complete(reply, _) => {
            let keys = TextPairs::parse(&reply.data).unwrap();
            assert_eq!(keys.get("X-com.example.Thing"), Some("NotUnderstood"));
        }
        other => panic!("expected Complete, got {other:?}"),
    }
}

#[test]
fn text_split_with_the_continue_bit_is_reassembled() {
    let mut login = Login::new(config(false, false));
    let text = format!("InitiatorName={CLIENT}|TargetName={TARGET}|").replace('|', "\0");
    let (first, second) = text.as_bytes().split_at(10);
    let mut req = request(OP, FFP, false, "");
    req.continue_bit = true;
    req.data = Bytes::copy_from_slice(first);
    let (keys, transit) = login.cont(&req);
    assert!(keys.is_empty() && !transit);
    let mut req = request(OP, FFP, true, "");
    req.data = Bytes::copy_from_slice(second);
    assert!(matches!(login.step(&req), LoginStep::Complete(..)));
}

proptest! {
    /// Whatever text an initiator sends, a login step answers (or fails) without panicking,
    /// and every answer is well-formed text.
    #[test]
    fn any_text_gets_an_answer(text in proptest::collection::vec(any::<u8>(), 0..512), csg in 0u8..4, transit: bool) {
        let mut login = Login::new(config(true, true));
        let csg = Stage::from(csg);
        let req = LoginRequest { data: Bytes::from(text), ..request(csg, FFP, transit, "") };
        if let LoginStep::Continue(reply) | LoginStep::Complete(reply, _) = login.step(&req) {
            prop_assert!(TextPairs::parse(&reply.data).is_ok());
        }
    }
}
