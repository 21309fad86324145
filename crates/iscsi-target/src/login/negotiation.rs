//! Operational parameter negotiation (RFC 7143 §6.2 "Text Mode Negotiation" and §13 "Login/Text
//! Operational Text Keys"): the result function of every key, applied to the initiator's offer
//! and the target's [`Limits`].

use iscsi_pdu::Digests;
use iscsi_pdu::text_data::{TextPairs, format_bool, parse_bool, parse_list, parse_number};

use crate::config::LENGTH_RANGE;
use crate::{Limits, SessionKind};

/// The operational parameters of a session, as negotiated (or defaulted: a key the initiator
/// did not offer keeps its RFC 7143 default).
///
/// ```
/// use iscsi_target::SessionParams;
/// let p = SessionParams::default();
/// assert_eq!(p.initiator_max_recv_data_segment_length, 8192);
/// assert!(p.initial_r2t && p.immediate_data);
/// assert_eq!(p.max_burst_length, 262_144);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionParams {
    /// `HeaderDigest=CRC32C` was selected.
    pub header_digest: bool,
    /// `DataDigest=CRC32C` was selected.
    pub data_digest: bool,
    /// `MaxConnections` (always 1: one connection per session).
    pub max_connections: u16,
    /// `InitialR2T`.
    pub initial_r2t: bool,
    /// `ImmediateData`.
    pub immediate_data: bool,
    /// The initiator's `MaxRecvDataSegmentLength`: the longest data segment the target sends.
    pub initiator_max_recv_data_segment_length: u32,
    /// The target's `MaxRecvDataSegmentLength`: the longest data segment it accepts.
    pub target_max_recv_data_segment_length: u32,
    /// `MaxBurstLength`.
    pub max_burst_length: u32,
    /// `FirstBurstLength` (never above `max_burst_length`).
    pub first_burst_length: u32,
    /// `DefaultTime2Wait`.
    pub default_time2wait: u16,
    /// `DefaultTime2Retain`.
    pub default_time2retain: u16,
    /// `MaxOutstandingR2T`.
    pub max_outstanding_r2t: u16,
    /// `DataPDUInOrder` (always Yes: the target asks for it).
    pub data_pdu_in_order: bool,
    /// `DataSequenceInOrder` (always Yes: the target asks for it).
    pub data_sequence_in_order: bool,
    /// `ErrorRecoveryLevel` (always 0).
    pub error_recovery_level: u8,
}

impl Default for SessionParams {
    /// The RFC 7143 §13 defaults.
    fn default() -> Self {
        SessionParams {
            header_digest: false,
            data_digest: false,
            max_connections: 1,
            initial_r2t: true,
            immediate_data: true,
            initiator_max_recv_data_segment_length: 8192,
            target_max_recv_data_segment_length: 8192,
            max_burst_length: 262_144,
            first_burst_length: 65_536,
            default_time2wait: 2,
            default_time2retain: 20,
            max_outstanding_r2t: 1,
            data_pdu_in_order: true,
            data_sequence_in_order: true,
            error_recovery_level: 0,
        }
    }
}

impl SessionParams {
    /// The digests in force after login.
    ///
    /// ```
    /// use iscsi_pdu::Digests;
    /// use iscsi_target::SessionParams;
    /// assert_eq!(SessionParams::default().digests(), Digests::NONE);
    /// ```
    pub fn digests(&self) -> Digests {
        Digests {
            header: self.header_digest,
            data: self.data_digest,
        }
    }
}

/// Keys whose negotiation is "Irrelevant" in a Discovery session (RFC 7143 §13).
const IRRELEVANT_FOR_DISCOVERY: [&str; 7] = [
    "InitialR2T",
    "ImmediateData",
    "MaxBurstLength",
    "FirstBurstLength",
    "MaxOutstandingR2T",
    "DataPDUInOrder",
    "DataSequenceInOrder",
];

/// Operational keys this module negotiates.
const OPERATIONAL: [&str; 19] = [
    "HeaderDigest",
    "DataDigest",
    "MaxConnections",
    "InitialR2T",
    "ImmediateData",
    "MaxRecvDataSegmentLength",
    "MaxBurstLength",
    "FirstBurstLength",
    "DefaultTime2Wait",
    "DefaultTime2Retain",
    "MaxOutstandingR2T",
    "DataPDUInOrder",
    "DataSequenceInOrder",
    "ErrorRecoveryLevel",
    "IFMarker",
    "OFMarker",
    "IFMarkInt",
    "OFMarkInt",
    "TaskReporting",
];

/// Whether `key` is one of the operational keys [`Negotiation::offer`] handles.
pub(crate) fn is_operational(key: &str) -> bool {
    OPERATIONAL.contains(&key)
}

/// A repeated negotiation of a key within one login (RFC 7143 §6.2: "If detected by the target,
/// this MUST result in a Login reject (initiator error)").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Repeated;

/// Negotiation state across the PDUs of one login.
#[derive(Debug, Clone)]
pub(crate) struct Negotiation {
    pub(crate) params: SessionParams,
    seen: Vec<&'static str>,
}

impl Negotiation {
    pub(crate) fn new(limits: &Limits) -> Self {
        let params = SessionParams {
            target_max_recv_data_segment_length: limits.max_recv_data_segment_length,
            ..SessionParams::default()
        };
        Negotiation {
            params,
            seen: Vec::new(),
        }
    }

    /// Applies the initiator's `key=value` and appends the answer (if the key needs one) to
    /// `answer`.
    pub(crate) fn offer(
        &mut self,
        key: &str,
        value: &str,
        limits: &Limits,
        kind: SessionKind,
        answer: &mut TextPairs,
    ) -> Result<(), Repeated> {
        let Some(&key) = OPERATIONAL.iter().find(|k| **k == key) else {
            return Ok(());
        };
        if self.seen.contains(&key) {
            return Err(Repeated);
        }
        self.seen.push(key);
        let reply = if kind == SessionKind::Discovery && IRRELEVANT_FOR_DISCOVERY.contains(&key) {
            Some("Irrelevant".to_owned())
        } else {
            self.result(key, value, limits)
        };
        if let Some(reply) = reply {
            // Keys and values here are always valid text, so this cannot fail.
            let _ = answer.push(key, reply);
        }
        Ok(())
    }

    /// The answer to one operational key (`None` for declaratives), updating the parameters.
    fn result(&mut self, key: &'static str, value: &str, limits: &Limits) -> Option<String> {
        let p = &mut self.params;
        let reject = || Some("Reject".to_owned());
        let number = |range: core::ops::RangeInclusive<u64>| {
            parse_number(key, value).ok().filter(|v| range.contains(v))
        };
        let as_u32 = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        let as_u16 = |v: u64| u16::try_from(v).unwrap_or(u16::MAX);
        match key {
            "HeaderDigest" | "DataDigest" => {
                let allow = if key == "HeaderDigest" {
                    limits.allow_header_digest
                } else {
                    limits.allow_data_digest
                };
                let Ok(list) = parse_list(key, value) else {
                    return reject();
                };
                let Some(choice) = list
                    .iter()
                    .find(|v| **v == "None" || (allow && **v == "CRC32C"))
                else {
                    return reject();
                };
                let crc = *choice == "CRC32C";
                if key == "HeaderDigest" {
                    p.header_digest = crc;
                } else {
                    p.data_digest = crc;
                }
                Some((*choice).to_owned())
            }
            "MaxConnections" => match number(1..=65535) {
                Some(_) => {
                    p.max_connections = 1;
                    Some("1".to_owned())
                }
                None => reject(),
            },
            "InitialR2T"
            | "ImmediateData"
            | "DataPDUInOrder"
            | "DataSequenceInOrder"
            | "IFMarker"
            | "OFMarker" => {
                let Ok(offered) = parse_bool(key, value) else {
                    return reject();
                };
                let result = match key {
                    // OR: Yes if either side wants R2Ts first.
                    "InitialR2T" => offered || limits.initial_r2t,
                    // AND.
                    "ImmediateData" => offered && limits.immediate_data,
                    // OR with the target's Yes.
                    "DataPDUInOrder" | "DataSequenceInOrder" => true,
                    // AND with the target's No: markers are not implemented.
                    _ => false,
                };
                match key {
                    "InitialR2T" => p.initial_r2t = result,
                    "ImmediateData" => p.immediate_data = result,
                    "DataPDUInOrder" => p.data_pdu_in_order = result,
                    "DataSequenceInOrder" => p.data_sequence_in_order = result,
                    _ => {}
                }
                Some(format_bool(result).to_owned())
            }
            "MaxRecvDataSegmentLength" => {
                // Declarative: the initiator says what it can receive; no answer.
                match number(LENGTH_RANGE) {
                    Some(v) => {
                        p.initiator_max_recv_data_segment_length = as_u32(v);
                        None
                    }
                    None => reject(),
                }
            }
            "MaxBurstLength" | "FirstBurstLength" => match number(LENGTH_RANGE) {
                Some(v) => {
                    let ours = if key == "MaxBurstLength" {
                        limits.max_burst_length
                    } else {
                        limits.first_burst_length
                    };
                    let result = as_u32(v).min(ours);
                    if key == "MaxBurstLength" {
                        p.max_burst_length = result;
                    } else {
                        p.first_burst_length = result;
                    }
                    Some(result.to_string())
                }
                None => reject(),
            },
            "DefaultTime2Wait" | "DefaultTime2Retain" => match number(0..=3600) {
                Some(v) => {
                    let v = as_u16(v);
                    let result = if key == "DefaultTime2Wait" {
                        p.default_time2wait = v.max(limits.default_time2wait);
                        p.default_time2wait
                    } else {
                        p.default_time2retain = v.min(limits.default_time2retain);
                        p.default_time2retain
                    };
                    Some(result.to_string())
                }
                None => reject(),
            },
            "MaxOutstandingR2T" => match number(1..=65535) {
                Some(v) => {
                    p.max_outstanding_r2t = as_u16(v).min(limits.max_outstanding_r2t);
                    Some(p.max_outstanding_r2t.to_string())
                }
                None => reject(),
            },
            "ErrorRecoveryLevel" => match number(0..=2) {
                Some(_) => {
                    p.error_recovery_level = 0;
                    Some("0".to_owned())
                }
                None => reject(),
            },
            // RFC 3720 marker intervals: irrelevant once the markers are No.
            "IFMarkInt" | "OFMarkInt" => Some("Irrelevant".to_owned()),
            // RFC 7144 §13.23: the target reports tasks the RFC 3720 way.
            "TaskReporting" => Some("RFC3720".to_owned()),
            _ => Some("NotUnderstood".to_owned()),
        }
    }

    /// Fixes up combinations after the last offer: FirstBurstLength MUST NOT exceed
    /// MaxBurstLength (RFC 7143 §13.14).
    pub(crate) fn finish(&mut self) -> SessionParams {
        let p = &mut self.params;
        p.first_burst_length = p.first_burst_length.min(p.max_burst_length);
        *p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(offers: &[(&str, &str)], kind: SessionKind) -> (SessionParams, TextPairs) {
        let limits = Limits::default();
        let mut n = Negotiation::new(&limits);
        let mut answer = TextPairs::new();
        for (k, v) in offers {
            n.offer(k, v, &limits, kind, &mut answer).unwrap();
        }
        (n.finish(), answer)
    }

    #[test]
    fn ipxe_offer_is_accepted_without_reject() {
        let (p, answer) = run(
            &[
                ("HeaderDigest", "None"),
                ("DataDigest", "None"),
                ("MaxConnections", "1"),
                ("InitialR2T", "Yes"),
                ("ImmediateData", "No"),
                ("MaxRecvDataSegmentLength", "8192"),
                ("MaxBurstLength", "262144"),
                ("FirstBurstLength", "65536"),
                ("DefaultTime2Wait", "0"),
                ("DefaultTime2Retain", "0"),
                ("MaxOutstandingR2T", "1"),
                ("DataPDUInOrder", "Yes"),
                ("DataSequenceInOrder", "Yes"),
                ("ErrorRecoveryLevel", "0"),
            ],
            SessionKind::Normal,
        );
        assert!(answer.iter().all(|(_, v)| v != "Reject"));
        assert!(p.initial_r2t);
        assert!(!p.immediate_data);
        assert_eq!(p.initiator_max_recv_data_segment_length, 8192);
        assert_eq!(p.max_burst_length, 262_144);
        assert_eq!(p.first_burst_length, 65_536);
        assert_eq!(p.max_outstanding_r2t, 1);
        assert_eq!(answer.get("DefaultTime2Wait"), Some("2"));
        assert_eq!(answer.get("MaxRecvDataSegmentLength"), None);
    }

    #[test]
    fn digests_follow_the_initiators_order() {
        let (p, answer) = run(
            &[
                ("HeaderDigest", "CRC32C,None"),
                ("DataDigest", "None,CRC32C"),
            ],
            SessionKind::Normal,
        );
        assert!(p.header_digest && !p.data_digest);
        assert_eq!(answer.get("HeaderDigest"), Some("CRC32C"));
    }

    #[test]
    fn bad_values_are_rejected_and_repeats_refused() {
        let limits = Limits::default();
        let mut n = Negotiation::new(&limits);
        let mut answer = TextPairs::new();
        n.offer(
            "MaxBurstLength",
            "12",
            &limits,
            SessionKind::Normal,
            &mut answer,
        )
        .unwrap();
        assert_eq!(answer.get("MaxBurstLength"), Some("Reject"));
        assert_eq!(
            n.offer(
                "MaxBurstLength",
                "4096",
                &limits,
                SessionKind::Normal,
                &mut answer
            ),
            Err(Repeated)
        );
    }

    #[test]
    fn first_burst_never_exceeds_max_burst() {
        let (p, _) = run(
            &[("MaxBurstLength", "4096"), ("FirstBurstLength", "65536")],
            SessionKind::Normal,
        );
        assert_eq!(p.first_burst_length, 4096);
    }

    #[test]
    fn discovery_answers_irrelevant() {
        let (_, answer) = run(&[("InitialR2T", "No")], SessionKind::Discovery);
        assert_eq!(answer.get("InitialR2T"), Some("Irrelevant"));
    }
}
