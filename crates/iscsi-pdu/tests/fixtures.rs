//! Real traffic between libiscsi's tools (and qemu-io) and the tgt target, captured with tshark
//! by `cargo xtask capture-fixtures` (see `tests/data/README.md`).
//!
//! Each connection's byte streams are framed with negotiated limits and digests, every PDU's
//! typed fields are compared with what Wireshark's iSCSI dissector decoded from the same bytes
//! (`<scenario>.fields.tsv`, an independent implementation), and the PDUs re-encode to the
//! captured bytes byte for byte.
//!
//! `ISCSI_PDU_FIXTURES=DIR` points the test at another capture (the `interop-pdu-live` step of
//! `cargo xtask test` makes a fresh one from the tgt and libiscsi installed on the machine).

#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use bytes::BytesMut;
use iscsi_pdu::text_data::{TextAssembler, TextPairs};
use iscsi_pdu::*;

fn fixture_dir() -> PathBuf {
    std::env::var_os("ISCSI_PDU_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data"))
}

type Row = BTreeMap<String, String>;

fn read_tsv(path: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    lines
        .map(|line| {
            header
                .iter()
                .zip(line.split('\t'))
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// A Wireshark number cell: decimal, or hexadecimal with `0x`.
fn number(cell: &str) -> u64 {
    match cell.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
        None => cell.parse().unwrap(),
    }
}

/// What the login phase of one connection negotiated, read from the PDUs themselves.
#[derive(Default)]
struct Negotiated {
    header_digest: bool,
    data_digest: bool,
    /// MaxRecvDataSegmentLength declared by the initiator (limits what the target sends).
    initiator_mrdsl: Option<u32>,
    /// MaxRecvDataSegmentLength declared by the target (limits what the initiator sends).
    target_mrdsl: Option<u32>,
}

fn mrdsl(keys: &TextPairs) -> Option<u32> {
    keys.get("MaxRecvDataSegmentLength")
        .map(|v| v.parse().unwrap())
}

/// The PDU that ends the login phase of its direction: after it, digests apply.
fn ends_login(pdu: &Pdu) -> bool {
    match pdu {
        Pdu::LoginRequest(r) => r.transit && r.nsg == Stage::FullFeaturePhase,
        Pdu::LoginResponse(r) => {
            r.transit && r.nsg == Stage::FullFeaturePhase && r.status.is_success()
        }
        _ => false,
    }
}

/// Frames one direction of a connection. During login the limit is 8192 bytes and there are
/// no digests; afterwards, `after_login` applies.
fn frame(stream: &[u8], after_login: FramerConfig) -> Vec<Pdu> {
    let mut framer = Framer::new(FramerConfig::default());
    let mut buf = BytesMut::from(stream);
    let mut pdus = Vec::new();
    loop {
        match framer.decode(&mut buf).unwrap() {
            Framed::Pdu(pdu) => {
                if ends_login(&pdu) {
                    framer.set_config(after_login);
                }
                pdus.push(pdu);
            }
            Framed::Malformed(m) => panic!("malformed PDU in a real capture: {m:?}"),
            Framed::NeedMore(n) => {
                assert!(
                    buf.is_empty(),
                    "stream ends inside a PDU ({n} bytes missing)"
                );
                return pdus;
            }
        }
    }
}

/// Reads the negotiated keys from the login PDUs of both directions (reassembled across
/// Continue PDUs), framing each with the login-phase defaults.
fn negotiate(initiator: &[u8], target: &[u8]) -> Negotiated {
    let mut n = Negotiated::default();
    for (stream, from_target) in [(initiator, false), (target, true)] {
        let mut framer = Framer::new(FramerConfig::default());
        let mut buf = BytesMut::from(stream);
        let mut text = TextAssembler::new();
        while let Ok(Framed::Pdu(pdu)) = framer.decode(&mut buf) {
            let (data, more) = match &pdu {
                Pdu::LoginRequest(r) => (&r.data, r.continue_bit),
                Pdu::LoginResponse(r) => (&r.data, r.continue_bit),
                _ => break,
            };
            if let Some(keys) = text.push(data, more).unwrap() {
                if from_target {
                    n.target_mrdsl = mrdsl(&keys).or(n.target_mrdsl);
                    // The target's answer is the negotiated outcome.
                    if let Some(v) = keys.get("HeaderDigest") {
                        n.header_digest = v == "CRC32C";
                    }
                    if let Some(v) = keys.get("DataDigest") {
                        n.data_digest = v == "CRC32C";
                    }
                } else {
                    n.initiator_mrdsl = mrdsl(&keys).or(n.initiator_mrdsl);
                }
            }
            if ends_login(&pdu) {
                break;
            }
        }
    }
    n
}

fn flags_byte(pdu: &Pdu) -> Option<u64> {
    let wire = pdu.to_bytes(Digests::NONE).unwrap();
    Some(u64::from(wire[1]))
}

fn residual_count(r: Residual) -> u64 {
    u64::from(r.count())
}

/// Our typed value for a Wireshark field, or `None` if this PDU kind has no such field.
fn our_value(pdu: &Pdu, field: &str, digests: Digests) -> Option<String> {
    use Pdu::*;
    let n = |v: u64| Some(v.to_string());
    let sn = |s: SerialNumber| n(u64::from(s.0));
    match (field, pdu) {
        ("iscsi.opcode", p) => n(u64::from(u8::from(p.opcode()))),
        ("iscsi.I", NopOut(p)) => n(p.immediate.into()),
        ("iscsi.I", ScsiCommand(p)) => n(p.immediate.into()),
        ("iscsi.I", TaskMgmtRequest(p)) => n(p.immediate.into()),
        ("iscsi.I", TextRequest(p)) => n(p.immediate.into()),
        ("iscsi.I", LogoutRequest(p)) => n(p.immediate.into()),
        // Byte 1 as our encoder writes it from the typed flags.
        ("iscsi.flags", p) => flags_byte(p).and_then(n),
        ("iscsi.login.T", LoginRequest(p)) => n(p.transit.into()),
        ("iscsi.login.T", LoginResponse(p)) => n(p.transit.into()),
        ("iscsi.login.C", LoginRequest(p)) => n(p.continue_bit.into()),
        ("iscsi.login.C", LoginResponse(p)) => n(p.continue_bit.into()),
        ("iscsi.login.csg", LoginRequest(p)) => n(u8::from(p.csg).into()),
        ("iscsi.login.csg", LoginResponse(p)) => n(u8::from(p.csg).into()),
        ("iscsi.login.nsg", LoginRequest(p)) => n(u8::from(p.nsg).into()),
        ("iscsi.login.nsg", LoginResponse(p)) => n(u8::from(p.nsg).into()),
        ("iscsi.versionmax", LoginRequest(p)) => n(p.version_max.into()),
        ("iscsi.versionmax", LoginResponse(p)) => n(p.version_max.into()),
        ("iscsi.versionmin", LoginRequest(p)) => n(p.version_min.into()),
        ("iscsi.versionactive", LoginResponse(p)) => n(p.version_active.into()),
        ("iscsi.isid", LoginRequest(p)) => Some(hex(&p.isid.0)),
        ("iscsi.isid", LoginResponse(p)) => Some(hex(&p.isid.0)),
        ("iscsi.tsih", LoginRequest(p)) => n(p.tsih.0.into()),
        ("iscsi.tsih", LoginResponse(p)) => n(p.tsih.0.into()),
        ("iscsi.cid", LoginRequest(p)) => n(p.cid.0.into()),
        ("iscsi.cid", LogoutRequest(p)) => n(p.cid.0.into()),
        ("iscsi.login.status", LoginResponse(p)) => n(p.status.0.into()),
        ("iscsi.totalahslength", ScsiCommand(p)) => {
            n(p.ahs.iter().map(|a| a.buffer_len() as u64 / 4).sum())
        }
        ("iscsi.totalahslength", p) => (!matches!(p, Unknown(_))).then(|| "0".into()),
        ("iscsi.datasegmentlength", p) => n(p.data().map_or(0, |d| d.len() as u64)),
        ("scsi.lun", NopOut(p)) => lun(p.lun),
        ("scsi.lun", NopIn(p)) => lun(p.lun),
        ("scsi.lun", ScsiCommand(p)) => lun(p.lun),
        ("scsi.lun", TaskMgmtRequest(p)) => lun(p.lun),
        ("scsi.lun", DataOut(p)) => lun(p.lun),
        ("scsi.lun", DataIn(p)) => lun(p.lun),
        ("scsi.lun", ReadyToTransfer(p)) => lun(p.lun),
        ("scsi.lun", TextRequest(p)) => lun(p.lun),
        ("scsi.lun", TextResponse(p)) => lun(p.lun),
        ("iscsi.initiatortasktag", p) => n(p.itt().0.into()),
        ("iscsi.targettransfertag", NopOut(p)) => n(p.ttt.0.into()),
        ("iscsi.targettransfertag", NopIn(p)) => n(p.ttt.0.into()),
        ("iscsi.targettransfertag", TextRequest(p)) => n(p.ttt.0.into()),
        ("iscsi.targettransfertag", TextResponse(p)) => n(p.ttt.0.into()),
        ("iscsi.targettransfertag", DataOut(p)) => n(p.ttt.0.into()),
        ("iscsi.targettransfertag", DataIn(p)) => n(p.ttt.0.into()),
        ("iscsi.targettransfertag", ReadyToTransfer(p)) => n(p.ttt.0.into()),
        ("iscsi.cmdsn", NopOut(p)) => sn(p.cmd_sn),
        ("iscsi.cmdsn", ScsiCommand(p)) => sn(p.cmd_sn),
        ("iscsi.cmdsn", TaskMgmtRequest(p)) => sn(p.cmd_sn),
        ("iscsi.cmdsn", LoginRequest(p)) => sn(p.cmd_sn),
        ("iscsi.cmdsn", TextRequest(p)) => sn(p.cmd_sn),
        ("iscsi.cmdsn", LogoutRequest(p)) => sn(p.cmd_sn),
        ("iscsi.expstatsn", NopOut(p)) => sn(p.exp_stat_sn),
        ("iscsi.expstatsn", ScsiCommand(p)) => sn(p.exp_stat_sn),
        ("iscsi.expstatsn", TaskMgmtRequest(p)) => sn(p.exp_stat_sn),
        ("iscsi.expstatsn", LoginRequest(p)) => sn(p.exp_stat_sn),
        ("iscsi.expstatsn", TextRequest(p)) => sn(p.exp_stat_sn),
        ("iscsi.expstatsn", DataOut(p)) => sn(p.exp_stat_sn),
        ("iscsi.expstatsn", LogoutRequest(p)) => sn(p.exp_stat_sn),
        ("iscsi.expstatsn", SnackRequest(p)) => sn(p.exp_stat_sn),
        (f @ ("iscsi.statsn" | "iscsi.expcmdsn" | "iscsi.maxcmdsn"), p) => {
            let (stat, exp, max) = target_sns(p)?;
            sn(match f {
                "iscsi.statsn" => stat,
                "iscsi.expcmdsn" => exp,
                _ => max,
            })
        }
        ("iscsi.datasn", DataOut(p)) => sn(p.data_sn),
        ("iscsi.datasn", DataIn(p)) => sn(p.data_sn),
        ("iscsi.r2tsn", ReadyToTransfer(p)) => sn(p.r2t_sn),
        ("iscsi.expdatasn", ScsiResponse(p)) => n(p.exp_data_sn.into()),
        ("iscsi.expdatasn", TaskMgmtRequest(p)) => sn(p.exp_data_sn),
        ("iscsi.bufferOffset", DataOut(p)) => n(p.buffer_offset.into()),
        ("iscsi.bufferOffset", DataIn(p)) => n(p.buffer_offset.into()),
        ("iscsi.bufferOffset", ReadyToTransfer(p)) => n(p.buffer_offset.into()),
        ("iscsi.desireddatalength", ReadyToTransfer(p)) => n(p.desired_length.into()),
        ("iscsi.scsicommand.expecteddatatransferlength", ScsiCommand(p)) => {
            n(p.expected_data_length.into())
        }
        ("scsi_*.opcode", ScsiCommand(p)) => n(p.cdb[0].into()),
        ("iscsi.scsiresponse.response", ScsiResponse(p)) => n(u8::from(p.response).into()),
        ("iscsi.scsiresponse.status", ScsiResponse(p)) => n(p.status.0.into()),
        ("iscsi.scsiresponse.status", DataIn(p)) => n(p.status?.0.into()),
        ("iscsi.scsiresponse.residualcount", ScsiResponse(p)) => n(residual_count(p.residual)),
        ("iscsi.scsiresponse.bidireadresidualcount", ScsiResponse(p)) => {
            n(residual_count(p.bidi_residual))
        }
        ("iscsi.scsidata.readresidualcount", DataIn(p)) => n(residual_count(p.residual)),
        ("iscsi.scsiresponse.senselength", ScsiResponse(p)) => n(p.sense()?.len() as u64),
        ("iscsi.taskmanfun.function", TaskMgmtRequest(p)) => n(u8::from(p.function).into()),
        ("iscsi.taskmanfun.referencedtasktag", TaskMgmtRequest(p)) => {
            n(p.referenced_task_tag.0.into())
        }
        ("iscsi.refcmdsn", TaskMgmtRequest(p)) => sn(p.ref_cmd_sn),
        ("iscsi.taskmanfun.response", TaskMgmtResponse(p)) => n(u8::from(p.response).into()),
        ("iscsi.logout.reason", LogoutRequest(p)) => n(u8::from(p.reason).into()),
        ("iscsi.logout.response", LogoutResponse(p)) => n(u8::from(p.response).into()),
        ("iscsi.time2wait", LogoutResponse(p)) => n(p.time2wait.into()),
        ("iscsi.time2retain", LogoutResponse(p)) => n(p.time2retain.into()),
        ("iscsi.reject.reason", Reject(p)) => n(u8::from(p.reason).into()),
        ("iscsi.asyncevent", AsyncMessage(p)) => n(u8::from(p.event).into()),
        ("iscsi.headerdigest32", p) if digests.header => {
            let wire = p.to_bytes(digests).unwrap();
            let at = 48 + usize::from(wire[4]) * 4;
            // Wireshark prints the four digest bytes as a big-endian number; ours is CRC32C
            // sent least significant byte first.
            let ours = crc32c(&[&wire[..at]]);
            n(ours.swap_bytes().into())
        }
        ("iscsi.datadigest32", p) if digests.data => {
            let data = p.data()?;
            let pad = [0u8; 3];
            let ours = crc32c(&[data, &pad[..data.len().next_multiple_of(4) - data.len()]]);
            n(ours.swap_bytes().into())
        }
        ("iscsi.keyvalue", LoginRequest(p)) => keyvalues(&p.data),
        ("iscsi.keyvalue", LoginResponse(p)) => keyvalues(&p.data),
        ("iscsi.keyvalue", TextRequest(p)) => keyvalues(&p.data),
        ("iscsi.keyvalue", TextResponse(p)) => keyvalues(&p.data),
        _ => None,
    }
}

fn target_sns(pdu: &Pdu) -> Option<(SerialNumber, SerialNumber, SerialNumber)> {
    use Pdu::*;
    Some(match pdu {
        NopIn(p) => (p.stat_sn, p.exp_cmd_sn, p.max_cmd_sn),
        ScsiResponse(p) => (p.stat_sn, p.exp_cmd_sn, p.max_cmd_sn),
        TaskMgmtResponse(p) => (p.stat_sn, p.exp_cmd_sn, p.max_cmd_sn),
        LoginResponse(p) => (p.stat_sn, p.exp_cmd_sn, p.max_cmd_sn),
        TextResponse(p) => (p.stat_sn, p.exp_cmd_sn, p.max_cmd_sn),
        DataIn(p) => (p.stat_sn, p.exp_cmd_sn, p.max_cmd_sn),
        LogoutResponse(p) => (p.stat_sn, p.exp_cmd_sn, p.max_cmd_sn),
        ReadyToTransfer(p) => (p.stat_sn, p.exp_cmd_sn, p.max_cmd_sn),
        AsyncMessage(p) => (p.stat_sn, p.exp_cmd_sn, p.max_cmd_sn),
        Reject(p) => (p.stat_sn, p.exp_cmd_sn, p.max_cmd_sn),
        _ => return None,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn lun(l: Lun) -> Option<String> {
    l.index().map(|i| i.to_string())
}

fn keyvalues(data: &[u8]) -> Option<String> {
    let pairs = TextPairs::parse(data).ok()?;
    Some(
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(";"),
    )
}

/// Compares one PDU with its Wireshark row; returns the columns compared.
fn compare(pdu: &Pdu, row: &Row, digests: Digests, at: &str) -> usize {
    let mut compared = 0;
    for (field, cell) in row {
        if matches!(
            field.as_str(),
            "frame.number" | "tcp.stream" | "tcp.srcport"
        ) {
            continue;
        }
        let ours = our_value(pdu, field, digests)
            .unwrap_or_else(|| panic!("{at}: no typed value for {field} = {cell} in {pdu:?}"));
        let theirs = match field.as_str() {
            "iscsi.isid" | "iscsi.keyvalue" => cell.clone(),
            _ => number(cell).to_string(),
        };
        assert_eq!(
            ours, theirs,
            "{at}: {field} differs from Wireshark's in {pdu:#?}"
        );
        compared += 1;
    }
    compared
}

fn scenarios(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".fields.tsv").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

#[test]
fn real_traffic_decodes_as_wireshark_does_and_reencodes_byte_for_byte() {
    let dir = fixture_dir();
    let scenarios = scenarios(&dir);
    assert!(!scenarios.is_empty(), "no fixtures in {}", dir.display());
    let mut opcodes = BTreeSet::new();
    let (mut total_pdus, mut total_fields, mut digest_pdus) = (0, 0, 0);
    for scenario in &scenarios {
        let rows = read_tsv(&dir.join(format!("{scenario}.fields.tsv")));
        // The target's port is the source port of every target PDU (opcode with bit 5 set).
        let target_port = rows
            .iter()
            .find(|r| number(&r["iscsi.opcode"]) & 0x20 != 0)
            .map(|r| r["tcp.srcport"].clone())
            .unwrap();
        let streams: BTreeSet<u64> = rows.iter().map(|r| number(&r["tcp.stream"])).collect();
        for stream in streams {
            let read = |side: &str| {
                std::fs::read(dir.join(format!("{scenario}-{stream}.{side}.bin"))).unwrap()
            };
            let (initiator, target) = (read("initiator"), read("target"));
            let n = negotiate(&initiator, &target);
            let digests = Digests {
                header: n.header_digest,
                data: n.data_digest,
            };
            for (side, bytes, limit) in [
                ("initiator", &initiator, n.target_mrdsl),
                ("target", &target, n.initiator_mrdsl),
            ] {
                let after_login = FramerConfig {
                    max_recv_data_segment_length: limit.unwrap_or(8192),
                    digests,
                    ..FramerConfig::default()
                };
                let pdus = frame(bytes, after_login);
                let expected: Vec<&Row> = rows
                    .iter()
                    .filter(|r| number(&r["tcp.stream"]) == stream)
                    .filter(|r| (r["tcp.srcport"] == target_port) == (side == "target"))
                    .collect();
                let at = format!("{scenario}-{stream}.{side}");
                assert_eq!(
                    pdus.len(),
                    expected.len(),
                    "{at}: PDU count differs from Wireshark's"
                );

                let mut reencoded = Vec::new();
                let mut in_login = true;
                for (i, (pdu, row)) in pdus.iter().zip(&expected).enumerate() {
                    let d = if in_login { Digests::NONE } else { digests };
                    total_fields += compare(pdu, row, d, &format!("{at} PDU {i}"));
                    reencoded.extend(pdu.to_bytes(d).unwrap());
                    if d.header {
                        digest_pdus += 1;
                    }
                    in_login &= !ends_login(pdu);
                    opcodes.insert(u8::from(pdu.opcode()));
                }
                assert!(
                    reencoded == *bytes,
                    "{at}: re-encoding differs from the capture"
                );
                total_pdus += pdus.len();
            }
        }
    }
    // The capture must exercise what it claims to (see tests/data/README.md).
    for op in [
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x31,
    ] {
        assert!(
            opcodes.contains(&op),
            "no PDU with opcode {op:#04x} in {}",
            dir.display()
        );
    }
    assert!(
        digest_pdus > 0,
        "no PDU with a header digest in {}",
        dir.display()
    );
    eprintln!(
        "{total_pdus} PDUs in {} scenarios, {total_fields} fields matched Wireshark, {digest_pdus} with header digests",
        scenarios.len()
    );
}
