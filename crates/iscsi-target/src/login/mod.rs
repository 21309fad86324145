//! The login phase (RFC 7143 §6 "Login and Full Feature Phase Negotiation"): stages, identity
//! and ACL checks, authentication and operational negotiation.
//!
//! [`LoginState::step`] is a pure transition: one complete Login Request in, the answer out
//! (a response to send and whether the login is complete, or the status to fail it with). It
//! never touches the session table; the connection registers the session when the step says
//! the login is complete.

pub(crate) mod chap;
pub(crate) mod negotiation;

use iscsi_pdu::text_data::{
    TextAssembler, TextPairs, format_hex, parse_binary, parse_list, parse_number,
};
use iscsi_pdu::{IscsiName, Isid, LoginRequest, LoginStatus, SerialNumber, Stage, Tsih};

use crate::{ChapCredentials, SessionKind, SessionParams, TargetConfig};
use chap::ChallengeSource;
use negotiation::Negotiation;

/// What the first Login Request of the connection fixed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Leading {
    pub(crate) isid: Isid,
    pub(crate) tsih: Tsih,
    pub(crate) cmd_sn: SerialNumber,
}

/// Where authentication stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    /// No AuthMethod negotiated yet.
    Start,
    /// AuthMethod=CHAP chosen; waiting for CHAP_A.
    AwaitAlgorithm,
    /// CHAP_I and CHAP_C sent; waiting for CHAP_N and CHAP_R.
    AwaitResponse {
        id: u8,
        challenge: [u8; chap::CHALLENGE_LEN],
    },
    /// Authenticated (or none required).
    Done,
}

/// A Login Response to send, without the sequence numbers (the connection stamps them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoginReply {
    pub(crate) transit: bool,
    pub(crate) csg: Stage,
    pub(crate) nsg: Stage,
    pub(crate) data: Vec<u8>,
}

/// What a completed login established (before registration assigns the TSIH).
#[derive(Debug, Clone)]
pub(crate) struct LoginOutcome {
    pub(crate) initiator_name: IscsiName,
    pub(crate) initiator_alias: Option<String>,
    pub(crate) target_name: Option<IscsiName>,
    pub(crate) kind: SessionKind,
    pub(crate) params: SessionParams,
}

/// The result of one login step.
#[derive(Debug, Clone)]
pub(crate) enum LoginStep {
    /// Send the reply; the login goes on.
    Continue(LoginReply),
    /// Send the reply (with the TSIH filled in): the connection enters the full feature phase.
    Complete(LoginReply, LoginOutcome),
    /// Fail the login with this status and close the connection.
    Fail(LoginStatus),
}

/// The login state of one connection.
#[derive(Debug)]
pub(crate) struct LoginState {
    pub(crate) leading: Option<Leading>,
    stage: Stage,
    assembler: TextAssembler,
    initiator_name: Option<IscsiName>,
    initiator_alias: Option<String>,
    target_name: Option<IscsiName>,
    /// InitiatorName and TargetName as the initiator sent them, accepted or not (for logs).
    sent_names: (Option<String>, Option<String>),
    kind: SessionKind,
    identity_checked: bool,
    chap: Option<ChapCredentials>,
    mutual_chap: Option<ChapCredentials>,
    auth: Auth,
    negotiation: Negotiation,
    declared: bool,
}

fn fail<T>(status: LoginStatus) -> Result<T, LoginStatus> {
    Err(status)
}

impl LoginState {
    /// The stage the login is in (the CSG of the next response).
    pub(crate) fn stage(&self) -> Stage {
        self.stage
    }

    /// InitiatorName and TargetName as first sent, whether or not they were accepted.
    pub(crate) fn sent_names(&self) -> (Option<&str>, Option<&str>) {
        (self.sent_names.0.as_deref(), self.sent_names.1.as_deref())
    }

    pub(crate) fn new(config: &TargetConfig) -> Self {
        LoginState {
            leading: None,
            stage: Stage::SecurityNegotiation,
            assembler: TextAssembler::with_max_len(iscsi_pdu::text_data::DEFAULT_MAX_TEXT_LEN),
            initiator_name: None,
            initiator_alias: None,
            target_name: None,
            sent_names: (None, None),
            kind: SessionKind::Normal,
            identity_checked: false,
            chap: None,
            mutual_chap: None,
            auth: Auth::Start,
            negotiation: Negotiation::new(&config.limits),
            declared: false,
        }
    }

    /// One Login Request in, the answer out.
    pub(crate) fn step(
        &mut self,
        config: &TargetConfig,
        req: &LoginRequest,
        random: &mut ChallengeSource,
    ) -> LoginStep {
        match self.try_step(config, req, random) {
            Ok(step) => step,
            Err(status) => LoginStep::Fail(status),
        }
    }

    fn try_step(
        &mut self,
        config: &TargetConfig,
        req: &LoginRequest,
        random: &mut ChallengeSource,
    ) -> Result<LoginStep, LoginStatus> {
        // "Version-min ... All Login Requests within the Login Phase MUST carry the same
        // Version-max and Version-min" and RFC 7143 defines version 0 only.
        if req.version_min > 0 {
            return fail(LoginStatus::UNSUPPORTED_VERSION);
        }
        match self.leading {
            None => {
                // The first request may start in either negotiation stage.
                if !matches!(
                    req.csg,
                    Stage::SecurityNegotiation | Stage::LoginOperationalNegotiation
                ) {
                    return fail(LoginStatus::INITIATOR_ERROR);
                }
                self.stage = req.csg;
                self.leading = Some(Leading {
                    isid: req.isid,
                    tsih: req.tsih,
                    cmd_sn: req.cmd_sn,
                });
            }
            Some(leading) => {
                if leading.isid != req.isid || leading.tsih != req.tsih || req.csg != self.stage {
                    return fail(LoginStatus::INITIATOR_ERROR);
                }
            }
        }
        if req.transit {
            let forward = match req.csg {
                Stage::SecurityNegotiation => matches!(
                    req.nsg,
                    Stage::LoginOperationalNegotiation | Stage::FullFeaturePhase
                ),
                Stage::LoginOperationalNegotiation => req.nsg == Stage::FullFeaturePhase,
                _ => false,
            };
            if !forward {
                return fail(LoginStatus::INITIATOR_ERROR);
            }
        }
        let pairs = match self.assembler.push(&req.data, req.continue_bit) {
            Ok(Some(pairs)) => pairs,
            // More text follows: answer with an empty response in the same stage.
            Ok(None) => {
                return Ok(LoginStep::Continue(LoginReply {
                    transit: false,
                    csg: req.csg,
                    nsg: req.csg,
                    data: Vec::new(),
                }));
            }
            Err(_) => return fail(LoginStatus::INITIATOR_ERROR),
        };
        if pairs.check_unique().is_err() {
            return fail(LoginStatus::INITIATOR_ERROR);
        }
        let mut answer = TextPairs::new();
        self.identity(config, &pairs, &mut answer)?;
        if req.csg == Stage::SecurityNegotiation {
            self.authenticate(&pairs, &mut answer, random)?;
        } else if self.auth != Auth::Done {
            // Skipping the security stage is only allowed when no authentication is required.
            if self.chap.is_some() {
                return fail(LoginStatus::AUTH_FAILURE);
            }
            self.auth = Auth::Done;
        }
        for (key, value) in pairs.iter() {
            if negotiation::is_operational(key) {
                if self
                    .negotiation
                    .offer(key, value, &config.limits, self.kind, &mut answer)
                    .is_err()
                {
                    return fail(LoginStatus::INITIATOR_ERROR);
                }
            } else if !is_known_non_operational(key) {
                let _ = answer.push(key, "NotUnderstood");
            }
        }
        // Transit when the initiator asks to and authentication allows it.
        let mut transit = false;
        if req.transit {
            if self.auth == Auth::Start && req.csg == Stage::SecurityNegotiation {
                // No AuthMethod offered: the default is None.
                if self.chap.is_some() {
                    return fail(LoginStatus::AUTH_FAILURE);
                }
                self.auth = Auth::Done;
            }
            transit = self.auth == Auth::Done;
        }
        // Operational keys belong to the operational stage; the target's declaration goes in
        // its first response of that stage, or in the security stage's last response when
        // the initiator skips straight to the full feature phase.
        let entering_operational = req.csg == Stage::LoginOperationalNegotiation
            || (transit && req.nsg == Stage::FullFeaturePhase);
        if entering_operational && !self.declared {
            self.declared = true;
            let _ = answer.push(
                "MaxRecvDataSegmentLength",
                config.limits.max_recv_data_segment_length.to_string(),
            );
        }
        let reply = LoginReply {
            transit,
            csg: req.csg,
            nsg: if transit { req.nsg } else { req.csg },
            data: answer.to_bytes(),
        };
        if transit {
            self.stage = req.nsg;
        }
        if transit && req.nsg == Stage::FullFeaturePhase {
            let Some(initiator_name) = self.initiator_name.clone() else {
                return fail(LoginStatus::MISSING_PARAMETER);
            };
            let outcome = LoginOutcome {
                initiator_name,
                initiator_alias: self.initiator_alias.clone(),
                target_name: self.target_name.clone(),
                kind: self.kind,
                params: self.negotiation.finish(),
            };
            return Ok(LoginStep::Complete(reply, outcome));
        }
        Ok(LoginStep::Continue(reply))
    }

    /// Handles InitiatorName, TargetName, SessionType and the ACL, on the first complete text.
    fn identity(
        &mut self,
        config: &TargetConfig,
        pairs: &TextPairs,
        answer: &mut TextPairs,
    ) -> Result<(), LoginStatus> {
        if let Some(alias) = pairs.get("InitiatorAlias") {
            self.initiator_alias = Some(alias.to_owned());
        }
        if self.identity_checked {
            // The leading-only declarations must not change.
            if let Some(name) = pairs.get("InitiatorName")
                && IscsiName::prepare(name).ok() != self.initiator_name
            {
                return fail(LoginStatus::INITIATOR_ERROR);
            }
            return Ok(());
        }
        self.identity_checked = true;
        self.sent_names = (
            pairs.get("InitiatorName").map(str::to_owned),
            pairs.get("TargetName").map(str::to_owned),
        );
        let Some(name) = pairs.get("InitiatorName") else {
            return fail(LoginStatus::MISSING_PARAMETER);
        };
        let Ok(initiator) = IscsiName::prepare(name) else {
            return fail(LoginStatus::INITIATOR_ERROR);
        };
        self.kind = match pairs.get("SessionType") {
            None | Some("Normal") => SessionKind::Normal,
            Some("Discovery") => SessionKind::Discovery,
            Some(_) => return fail(LoginStatus::SESSION_TYPE_NOT_SUPPORTED),
        };
        match self.kind {
            SessionKind::Discovery => {
                self.chap = config.discovery_chap.clone();
                self.mutual_chap = config.discovery_mutual_chap.clone();
            }
            SessionKind::Normal => {
                let Some(target) = pairs.get("TargetName") else {
                    return fail(LoginStatus::MISSING_PARAMETER);
                };
                let Some(node) = IscsiName::prepare(target)
                    .ok()
                    .and_then(|t| config.target(&t))
                else {
                    return fail(LoginStatus::NOT_FOUND);
                };
                if !node.admits(&initiator) {
                    return fail(LoginStatus::AUTHORIZATION_FAILURE);
                }
                self.chap = node.chap.clone();
                self.mutual_chap = node.mutual_chap.clone();
                self.target_name = Some(node.name.clone());
                // "The target portal group tag ... MUST be returned in the first login
                // response" of a Normal session (RFC 7143 §13.9).
                let _ = answer.push("TargetPortalGroupTag", config.portal_group_tag.to_string());
                if let Some(alias) = &node.alias {
                    let _ = answer.push("TargetAlias", alias.clone());
                }
            }
        }
        self.initiator_name = Some(initiator);
        Ok(())
    }

    /// The security stage: AuthMethod and the CHAP exchange (RFC 7143 §12.1.3).
    fn authenticate(
        &mut self,
        pairs: &TextPairs,
        answer: &mut TextPairs,
        random: &mut ChallengeSource,
    ) -> Result<(), LoginStatus> {
        if let Some(methods) = pairs.get("AuthMethod") {
            if self.auth != Auth::Start {
                return fail(LoginStatus::INITIATOR_ERROR);
            }
            let Ok(methods) = parse_list("AuthMethod", methods) else {
                return fail(LoginStatus::INITIATOR_ERROR);
            };
            if self.chap.is_some() {
                if !methods.contains(&"CHAP") {
                    return fail(LoginStatus::AUTH_FAILURE);
                }
                let _ = answer.push("AuthMethod", "CHAP");
                self.auth = Auth::AwaitAlgorithm;
            } else {
                if !methods.contains(&"None") {
                    return fail(LoginStatus::AUTH_FAILURE);
                }
                let _ = answer.push("AuthMethod", "None");
                self.auth = Auth::Done;
            }
        }
        if let Some(algorithms) = pairs.get("CHAP_A") {
            if self.auth != Auth::AwaitAlgorithm {
                return fail(LoginStatus::INITIATOR_ERROR);
            }
            let Ok(algorithms) = parse_list("CHAP_A", algorithms) else {
                return fail(LoginStatus::INITIATOR_ERROR);
            };
            if !algorithms.contains(&chap::ALGORITHM_MD5) {
                return fail(LoginStatus::AUTH_FAILURE);
            }
            let block = random.next_block();
            let id = block[0];
            let challenge = random.next_block();
            let _ = answer.push("CHAP_A", chap::ALGORITHM_MD5);
            let _ = answer.push("CHAP_I", id.to_string());
            let _ = answer.push("CHAP_C", format_hex(&challenge));
            self.auth = Auth::AwaitResponse { id, challenge };
            return Ok(());
        }
        let has_response = pairs.contains_key("CHAP_N") || pairs.contains_key("CHAP_R");
        if let Auth::AwaitResponse { id, challenge } = self.auth {
            if !has_response {
                return fail(LoginStatus::AUTH_FAILURE);
            }
            self.check_chap_response(pairs, id, &challenge, answer)?;
            self.auth = Auth::Done;
        } else if has_response || pairs.contains_key("CHAP_I") || pairs.contains_key("CHAP_C") {
            return fail(LoginStatus::INITIATOR_ERROR);
        }
        Ok(())
    }

    fn check_chap_response(
        &self,
        pairs: &TextPairs,
        id: u8,
        challenge: &[u8; chap::CHALLENGE_LEN],
        answer: &mut TextPairs,
    ) -> Result<(), LoginStatus> {
        let Some(creds) = &self.chap else {
            return fail(LoginStatus::AUTH_FAILURE);
        };
        let (Some(user), Some(resp)) = (pairs.get("CHAP_N"), pairs.get("CHAP_R")) else {
            return fail(LoginStatus::AUTH_FAILURE);
        };
        let Ok(resp) = parse_binary("CHAP_R", resp) else {
            return fail(LoginStatus::AUTH_FAILURE);
        };
        let expected = chap::response(id, &creds.secret, challenge);
        // Compare both before deciding, so that timing does not tell which one was wrong.
        let user_ok = user.as_bytes() == creds.user.as_bytes();
        let resp_ok = chap::verify(&expected, &resp);
        if !(user_ok & resp_ok) {
            return fail(LoginStatus::AUTH_FAILURE);
        }
        // Mutual CHAP: the initiator challenges the target.
        match (pairs.get("CHAP_I"), pairs.get("CHAP_C")) {
            (None, None) => Ok(()),
            (Some(i), Some(c)) => {
                let Some(mutual) = &self.mutual_chap else {
                    return fail(LoginStatus::AUTH_FAILURE);
                };
                // CHAP_I is a one-byte identifier: values over 255 are refused.
                let Some(i) = parse_number("CHAP_I", i)
                    .ok()
                    .and_then(|i| u8::try_from(i).ok())
                else {
                    return fail(LoginStatus::AUTH_FAILURE);
                };
                let Ok(c) = parse_binary("CHAP_C", c) else {
                    return fail(LoginStatus::AUTH_FAILURE);
                };
                // A reflected challenge would let an attacker use the target as an oracle.
                if c.is_empty() || c.len() > chap::MAX_CHALLENGE_LEN || c[..] == challenge[..] {
                    return fail(LoginStatus::AUTH_FAILURE);
                }
                let r = chap::response(i, &mutual.secret, &c);
                let _ = answer.push("CHAP_N", mutual.user.clone());
                let _ = answer.push("CHAP_R", format_hex(&r));
                Ok(())
            }
            _ => fail(LoginStatus::AUTH_FAILURE),
        }
    }
}

/// Keys the login understands besides the operational ones: declarations and security keys.
fn is_known_non_operational(key: &str) -> bool {
    matches!(
        key,
        "InitiatorName"
            | "InitiatorAlias"
            | "TargetName"
            | "TargetAlias"
            | "TargetAddress"
            | "TargetPortalGroupTag"
            | "SessionType"
            | "AuthMethod"
            | "CHAP_A"
            | "CHAP_I"
            | "CHAP_C"
            | "CHAP_N"
            | "CHAP_R"
    )
}

#[cfg(test)]
mod tests;
