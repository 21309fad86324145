//! Replays the committed `session_ops` seeds (`fuzz/corpus/session_ops/`) and fixed crash
//! inputs (`fuzz/regressions/session_ops/`, when present) through the fuzz target's entry
//! point, drives the engine with captured libiscsi streams, and runs the harness on random
//! operation lists with proptest, so `cargo test` covers what the fuzzer does on stable Rust.
#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

mod common;

use std::path::{Path, PathBuf};

use bytes::Bytes;
use iscsi_pdu::*;
use iscsi_target::fuzzing::{canned_login, session_ops, wrap_stream};
use proptest::prelude::*;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

#[test]
fn session_ops_seeds() {
    let mut count = 0;
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(kind).join("session_ops")) else {
            continue;
        };
        for entry in entries {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            session_ops(&data);
            count += 1;
        }
    }
    assert!(count > 0, "no seeds for session_ops");
}

/// The initiator side of `fuzz/corpus/pdu_framer/<name>-initiator` (libiscsi and qemu
/// talking to tgt; the first two bytes are that target's selector).
fn captured(name: &str) -> Option<Vec<u8>> {
    let data = std::fs::read(
        fuzz_dir()
            .join("corpus/pdu_framer")
            .join(format!("{name}-initiator")),
    )
    .ok()?;
    Some(data.get(2..)?.to_vec())
}

const CAPTURES: [&str; 8] = [
    "login-inquiry",
    "discovery",
    "read-write",
    "task-mgmt",
    "nop",
    "residuals",
    "unsolicited-write",
    "digests",
];

/// A session script: the canned login, then a read, a write with immediate data, an
/// unsolicited Data-Out, a NOP, an ABORT TASK and a Logout, with completions in between.
fn scripted_session() -> Vec<u8> {
    let mut stream = Vec::new();
    let mut cmd_sn = SerialNumber(1);
    let mut push = |pdu: Pdu| stream.extend(pdu.to_bytes(Digests::NONE).unwrap());
    let command =
        |itt: u32, sn: SerialNumber, cdb0: u8, edtl: u32, write: bool, data: Vec<u8>, fin: bool| {
            let mut cdb = [0u8; 16];
            cdb[0] = cdb0;
            Pdu::ScsiCommand(ScsiCommand {
                immediate: false,
                final_bit: fin,
                read: !write,
                write,
                attr: TaskAttribute::Simple,
                lun: Lun::ZERO,
                itt: Itt(itt),
                expected_data_length: edtl,
                cmd_sn: sn,
                exp_stat_sn: SerialNumber(0),
                cdb,
                ahs: Vec::new(),
                data: Bytes::from(data),
            })
        };
    push(command(1, cmd_sn, 0x28, 4096, false, Vec::new(), true));
    cmd_sn = cmd_sn.next();
    push(command(
        2,
        cmd_sn,
        0x2a,
        3072,
        true,
        vec![0xaa; 1024],
        false,
    ));
    cmd_sn = cmd_sn.next();
    push(Pdu::DataOut(DataOut {
        final_bit: true,
        lun: Lun::ZERO,
        itt: Itt(2),
        ttt: Ttt::RESERVED,
        exp_stat_sn: SerialNumber(0),
        data_sn: SerialNumber(0),
        buffer_offset: 1024,
        data: Bytes::from(vec![0xbb; 1024]),
    }));
    push(Pdu::NopOut(NopOut {
        immediate: false,
        lun: Lun::ZERO,
        itt: Itt(3),
        ttt: Ttt::RESERVED,
        cmd_sn,
        exp_stat_sn: SerialNumber(0),
        data: Bytes::from_static(b"ping"),
    }));
    cmd_sn = cmd_sn.next();
    push(Pdu::TaskMgmtRequest(TaskMgmtRequest {
        immediate: true,
        function: TmfFunction::AbortTask,
        lun: Lun::ZERO,
        itt: Itt(4),
        referenced_task_tag: Itt(1),
        cmd_sn,
        exp_stat_sn: SerialNumber(0),
        ref_cmd_sn: SerialNumber(1),
        exp_data_sn: SerialNumber(0),
    }));
    push(Pdu::LogoutRequest(LogoutRequest {
        immediate: true,
        reason: LogoutReason::CloseSession,
        itt: Itt(5),
        cid: Cid(0),
        cmd_sn,
        exp_stat_sn: SerialNumber(0),
    }));
    let mut ops = vec![3];
    ops.extend(wrap_stream(&stream));
    ops
}

#[test]
fn captured_libiscsi_streams_run_through_the_engine() {
    let mut found = 0;
    for name in CAPTURES {
        let Some(stream) = captured(name) else {
            continue;
        };
        found += 1;
        session_ops(&wrap_stream(&stream));
    }
    assert!(found > 0);
    session_ops(&scripted_session());
}

#[test]
fn a_captured_libiscsi_login_and_inquiry_succeeds() {
    let Some(stream) = captured("login-inquiry") else {
        return;
    };
    let mut pair = common::Pair::new(iscsi_target::fuzzing::fuzz_config());
    let answers = pair.send_raw(&stream);
    let login = answers.iter().find_map(|p| match p {
        Pdu::LoginResponse(r) if r.transit && r.nsg == Stage::FullFeaturePhase => Some(r),
        _ => None,
    });
    assert!(login.is_some_and(|r| r.status.is_success()), "{answers:?}");
    assert!(
        pair.events
            .iter()
            .any(|e| matches!(e, iscsi_target::Event::ScsiCommand(t) if t.cdb[0] == 0x12))
    );
}

/// Writes the seeds (run with `cargo test -p iscsi-target --test fuzz_corpus -- --ignored`).
#[test]
#[ignore = "writes fuzz/corpus/session_ops"]
fn write_seeds() {
    let dir = fuzz_dir().join("corpus/session_ops");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("canned-login"), [3u8, 4, 0, 5, 6, 10]).unwrap();
    std::fs::write(dir.join("scripted-session"), scripted_session()).unwrap();
    let mut login_twice = vec![3u8];
    login_twice.extend([7, 3, 3]);
    std::fs::write(dir.join("reconnect-reinstate"), login_twice).unwrap();
    for name in CAPTURES {
        if let Some(stream) = captured(name) {
            std::fs::write(dir.join(format!("libiscsi-{name}")), wrap_stream(&stream)).unwrap();
        }
    }
    let mut login = vec![0u8];
    let bytes = canned_login();
    login.push(bytes.len().min(255) as u8);
    login.extend(&bytes[..bytes.len().min(255)]);
    std::fs::write(dir.join("login-bytes"), login).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random operation lists never panic the engine (the fuzz target's check, on stable).
    #[test]
    fn random_operations_never_panic(ops in proptest::collection::vec(any::<u8>(), 0..2048)) {
        session_ops(&ops);
    }

    /// Random bytes after a valid login never panic it either.
    #[test]
    fn random_bytes_after_login_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096), chunk in 1usize..255) {
        let mut ops = vec![3u8];
        for piece in bytes.chunks(chunk) {
            ops.push(0);
            ops.push(piece.len() as u8);
            ops.extend_from_slice(piece);
            ops.extend_from_slice(&[4, 0x21]);
        }
        session_ops(&ops);
    }
}
