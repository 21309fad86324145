//! Tests across the text-data layers: the login texts real initiators send, and the round-trip
//! and reassembly properties.

use proptest::prelude::*;

use super::*;
use crate::{Error, TextProblem};

/// iPXE's first login request (src/net/tcp/iscsi.c, `iscsi_build_login_request_strings`, with a
/// CHAP credential configured).
const IPXE_SECURITY: &[u8] = b"InitiatorName=iqn.2010-04.org.ipxe:52540012345\0\
TargetName=iqn.2001-04.com.example:boot\0\
SessionType=Normal\0\
AuthMethod=CHAP,None\0";

/// iPXE's CHAP answer: the algorithm, then name and response (16 bytes of MD5, lower-case hex).
const IPXE_CHAP: &[u8] = b"CHAP_N=ipxe\0CHAP_R=0x0f1e2d3c4b5a69788796a5b4c3d2e1f0\0";

/// iPXE's operational keys, verbatim.
const IPXE_OPERATIONAL: &[u8] = b"HeaderDigest=None\0\
DataDigest=None\0\
MaxConnections=1\0\
InitialR2T=Yes\0\
ImmediateData=No\0\
MaxRecvDataSegmentLength=8192\0\
MaxBurstLength=262144\0\
FirstBurstLength=65536\0\
DefaultTime2Wait=0\0\
DefaultTime2Retain=0\0\
MaxOutstandingR2T=1\0\
DataPDUInOrder=Yes\0\
DataSequenceInOrder=Yes\0\
ErrorRecoveryLevel=0\0";

/// A Windows initiator booting with iPXE's `sanboot` handing over: the Microsoft name format.
const WINDOWS_SECURITY: &[u8] =
    b"InitiatorName=iqn.1991-05.com.microsoft:iscsiboot-52-54-00-12-34-56\0\
InitiatorAlias=iscsiboot\0\
TargetName=iqn.2001-04.com.example:boot\0\
SessionType=Normal\0\
AuthMethod=None\0";

/// libiscsi's login (lib/login.c), as its iscsi-test suite sends it.
const LIBISCSI_LOGIN: &[u8] =
    b"InitiatorName=iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test\0\
TargetName=iqn.2001-04.com.example:boot\0\
SessionType=Normal\0\
HeaderDigest=None,CRC32C\0\
DataDigest=None\0\
DefaultTime2Wait=2\0\
DefaultTime2Retain=0\0\
IFMarker=No\0\
OFMarker=No\0\
ErrorRecoveryLevel=0\0\
InitialR2T=No\0\
ImmediateData=Yes\0\
MaxBurstLength=262144\0\
FirstBurstLength=262144\0\
MaxRecvDataSegmentLength=262144\0\
DataPDUInOrder=Yes\0\
DataSequenceInOrder=Yes\0\
AuthMethod=None\0";

/// A discovery answer: the keys repeat once per target, and `TargetAddress` carries a comma.
const SEND_TARGETS_RESPONSE: &[u8] = b"TargetName=iqn.2001-04.com.example:boot\0\
TargetAddress=192.168.1.10:3260,1\0\
TargetAddress=[fe80::5054:ff:fe12:3456]:3260,1\0\
TargetName=eui.02004567A425678D\0\
TargetAddress=192.168.1.10:3260,1\0";

#[test]
fn parses_and_re_emits_real_login_texts_byte_for_byte() {
    for text in [
        IPXE_SECURITY,
        IPXE_CHAP,
        IPXE_OPERATIONAL,
        WINDOWS_SECURITY,
        LIBISCSI_LOGIN,
        SEND_TARGETS_RESPONSE,
    ] {
        let pairs = TextPairs::parse(text).unwrap();
        assert_eq!(pairs.to_bytes(), text);
        assert_eq!(pairs.encoded_len(), text.len());
    }
}

#[test]
fn ipxe_security_keys_have_the_expected_types() {
    let pairs = TextPairs::parse(IPXE_SECURITY).unwrap();
    pairs.check_unique().unwrap();
    let initiator = IscsiName::parse(pairs.get("InitiatorName").unwrap()).unwrap();
    assert_eq!(initiator.kind(), IscsiNameKind::Iqn);
    IscsiName::parse(pairs.get("TargetName").unwrap()).unwrap();
    assert_eq!(
        parse_standard_label("SessionType", pairs.get("SessionType").unwrap()),
        Ok("Normal")
    );
    assert_eq!(
        parse_list("AuthMethod", pairs.get("AuthMethod").unwrap()),
        Ok(vec!["CHAP", "None"])
    );
}

#[test]
fn ipxe_chap_response_decodes_to_16_bytes() {
    let pairs = TextPairs::parse(IPXE_CHAP).unwrap();
    let response = parse_binary("CHAP_R", pairs.get("CHAP_R").unwrap()).unwrap();
    assert_eq!(response.len(), 16);
    assert_eq!(format_hex(&response), pairs.get("CHAP_R").unwrap());
}

#[test]
fn ipxe_operational_keys_have_the_expected_types() {
    let pairs = TextPairs::parse(IPXE_OPERATIONAL).unwrap();
    pairs.check_unique().unwrap();
    assert_eq!(pairs.len(), 14);
    for key in ["HeaderDigest", "DataDigest"] {
        assert_eq!(parse_list("K", pairs.get(key).unwrap()), Ok(vec!["None"]));
    }
    for (key, expected) in [
        ("MaxConnections", 1),
        ("MaxRecvDataSegmentLength", 8192),
        ("MaxBurstLength", 262_144),
        ("FirstBurstLength", 65_536),
        ("DefaultTime2Wait", 0),
        ("DefaultTime2Retain", 0),
        ("MaxOutstandingR2T", 1),
        ("ErrorRecoveryLevel", 0),
    ] {
        assert_eq!(
            parse_number("K", pairs.get(key).unwrap()),
            Ok(expected),
            "{key}"
        );
    }
    for (key, expected) in [
        ("InitialR2T", true),
        ("ImmediateData", false),
        ("DataPDUInOrder", true),
        ("DataSequenceInOrder", true),
    ] {
        assert_eq!(
            parse_bool("K", pairs.get(key).unwrap()),
            Ok(expected),
            "{key}"
        );
    }
}

#[test]
fn libiscsi_login_keys_have_the_expected_types() {
    let pairs = TextPairs::parse(LIBISCSI_LOGIN).unwrap();
    pairs.check_unique().unwrap();
    let name = IscsiName::parse(pairs.get("InitiatorName").unwrap()).unwrap();
    assert_eq!(
        name.as_str(),
        "iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test"
    );
    assert_eq!(
        parse_list("HeaderDigest", pairs.get("HeaderDigest").unwrap()),
        Ok(vec!["None", "CRC32C"])
    );
    assert_eq!(
        parse_number("K", pairs.get("MaxRecvDataSegmentLength").unwrap()),
        Ok(262_144)
    );
    assert_eq!(
        parse_bool("IFMarker", pairs.get("IFMarker").unwrap()),
        Ok(false)
    );
}

#[test]
fn windows_initiator_name_is_valid() {
    let pairs = TextPairs::parse(WINDOWS_SECURITY).unwrap();
    let name = IscsiName::parse(pairs.get("InitiatorName").unwrap()).unwrap();
    assert_eq!(
        name.as_str(),
        "iqn.1991-05.com.microsoft:iscsiboot-52-54-00-12-34-56"
    );
}

#[test]
fn send_targets_response_repeats_keys_but_fails_the_uniqueness_check() {
    let pairs = TextPairs::parse(SEND_TARGETS_RESPONSE).unwrap();
    assert_eq!(pairs.get_all("TargetAddress").count(), 3);
    assert_eq!(
        pairs.check_unique(),
        Err(Error::Text {
            problem: TextProblem::DuplicateKey,
            offset: 74
        })
    );
    let names: Vec<_> = pairs
        .get_all("TargetName")
        .map(|n| IscsiName::parse(n).unwrap().kind())
        .collect();
    assert_eq!(names, [IscsiNameKind::Iqn, IscsiNameKind::Eui]);
}

#[test]
fn reassembles_every_real_text_split_at_every_byte() {
    for text in [
        IPXE_SECURITY,
        IPXE_OPERATIONAL,
        LIBISCSI_LOGIN,
        SEND_TARGETS_RESPONSE,
    ] {
        let whole = TextPairs::parse(text).unwrap();
        for at in 0..=text.len() {
            let (a, b) = text.split_at(at);
            let mut asm = TextAssembler::new();
            assert_eq!(asm.push(a, true), Ok(None));
            assert_eq!(asm.push(b, false), Ok(Some(whole.clone())), "split at {at}");
        }
        let mut asm = TextAssembler::new();
        for &byte in text {
            assert_eq!(asm.push(&[byte], true), Ok(None));
        }
        assert_eq!(asm.push(&[], false), Ok(Some(whole)));
    }
}

#[test]
fn negotiation_answers_with_special_values_parse_as_text() {
    let pairs =
        TextPairs::parse(b"X-com.example.Foo=NotUnderstood\0HeaderDigest=Reject\0").unwrap();
    assert_eq!(
        SpecialValue::parse(pairs.get("X-com.example.Foo").unwrap()),
        Some(SpecialValue::NotUnderstood)
    );
    assert_eq!(
        SpecialValue::parse(pairs.get("HeaderDigest").unwrap()),
        Some(SpecialValue::Reject)
    );
}

/// Text made of valid pairs, then NUL padding: what a peer may legitimately send.
fn padded_text() -> impl Strategy<Value = (TextPairs, Vec<u8>)> {
    (any::<TextPairs>(), 0usize..8).prop_map(|(pairs, pad)| {
        let mut bytes = pairs.to_bytes();
        bytes.resize(bytes.len() + pad, 0);
        (pairs, bytes)
    })
}

proptest! {
    #[test]
    fn parse_inverts_emit(pairs: TextPairs) {
        prop_assert_eq!(TextPairs::parse(&pairs.to_bytes()), Ok(pairs.clone()));
        prop_assert_eq!(pairs.to_bytes().len(), pairs.encoded_len());
    }

    #[test]
    fn emit_inverts_parse_for_canonical_text(pairs: TextPairs) {
        let bytes = pairs.to_bytes();
        prop_assert_eq!(TextPairs::parse(&bytes).unwrap().to_bytes(), bytes);
    }

    #[test]
    fn padding_is_dropped_and_nothing_else((pairs, bytes) in padded_text()) {
        let parsed = TextPairs::parse(&bytes).unwrap();
        prop_assert_eq!(&parsed, &pairs);
        prop_assert!(bytes.starts_with(&parsed.to_bytes()));
    }

    #[test]
    fn reassembles_any_split_point(pairs: TextPairs, at in any::<prop::sample::Index>()) {
        let bytes = pairs.to_bytes();
        let at = at.index(bytes.len() + 1);
        let (a, b) = bytes.split_at(at);
        let mut asm = TextAssembler::new();
        prop_assert_eq!(asm.push(a, true), Ok(None));
        prop_assert_eq!(asm.push(b, false), Ok(Some(pairs)));
    }

    #[test]
    fn reassembles_what_split_for_pdus_produces(pairs: TextPairs, max in 1usize..300) {
        let bytes = pairs.to_bytes();
        let mut asm = TextAssembler::new();
        let mut result = None;
        let mut segments = 0;
        for (segment, more) in split_for_pdus(&bytes, max) {
            prop_assert!(segment.len() <= max);
            prop_assert!(result.is_none(), "a segment after the last");
            result = asm.push(segment, more).unwrap();
            segments += 1;
        }
        prop_assert_eq!(segments, bytes.len().div_ceil(max).max(1));
        prop_assert_eq!(result, Some(pairs));
    }

    #[test]
    fn reassembles_random_chunk_sizes(pairs: TextPairs, sizes in prop::collection::vec(0usize..40, 1..64)) {
        let bytes = pairs.to_bytes();
        let mut asm = TextAssembler::new();
        let mut rest = &bytes[..];
        for size in sizes {
            let (chunk, tail) = rest.split_at(size.min(rest.len()));
            prop_assert_eq!(asm.push(chunk, true), Ok(None));
            rest = tail;
        }
        prop_assert_eq!(asm.push(rest, false), Ok(Some(pairs)));
    }

    #[test]
    fn parse_never_panics_and_any_success_is_canonical_plus_padding(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(pairs) = TextPairs::parse(&bytes) {
            let emitted = pairs.to_bytes();
            prop_assert!(bytes.starts_with(&emitted));
            prop_assert!(bytes[emitted.len()..].iter().all(|&b| b == 0));
        }
    }

    #[test]
    fn near_valid_text_never_panics(text in "([A-Za-z#=,]{0,8}=?[ -~]{0,8}\\x00?){0,8}") {
        if let Ok(pairs) = TextPairs::parse(text.as_bytes()) {
            prop_assert!(text.as_bytes().starts_with(&pairs.to_bytes()));
        }
        let mut asm = TextAssembler::with_max_len(32);
        for (segment, more) in split_for_pdus(text.as_bytes(), 5) {
            if asm.push(segment, more).is_err() {
                prop_assert_eq!(asm.buffered(), 0);
                break;
            }
        }
    }
}
