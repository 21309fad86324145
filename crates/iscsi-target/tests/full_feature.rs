//! The full feature phase end to end: READ with Data-In splitting and residuals, WRITE with
//! immediate, unsolicited and solicited data, the CmdSN window, task management, NOP, logout.
#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

mod common;

use bytes::Bytes;
use common::*;
use iscsi_pdu::*;
use iscsi_target::*;

fn logged_in(keys: &str) -> Pair {
    let mut pair = Pair::new(config(None, None));
    pair.login_normal(CLIENT, TARGET, keys);
    pair
}

fn data_ins(answers: &[Pdu]) -> Vec<&DataIn> {
    answers
        .iter()
        .map(|p| match p {
            Pdu::DataIn(d) => d,
            other => panic!("expected Data-In, got {other:?}"),
        })
        .collect()
}

#[test]
fn read_is_split_at_the_initiators_segment_length_with_status_in_the_last_data_in() {
    let mut pair = logged_in("MaxRecvDataSegmentLength=1024|MaxBurstLength=2048|");
    let cmd = pair.command(&read10(8), 4096, true, false, Bytes::new(), true);
    let itt = cmd.itt;
    let answers = pair.send(Pdu::ScsiCommand(cmd));
    let task = pair.expect_task(&answers);
    assert_eq!(
        (task.lun, task.cdb[0], task.expected_length),
        (0, 0x28, 4096)
    );
    assert!(task.read && !task.write);

    let data: Vec<u8> = (0..4096u32).map(|i| i as u8).collect();
    pair.target
        .complete_task(task.id, TaskOutcome::good(Bytes::from(data.clone())))
        .unwrap();
    let answers = pair.drain();
    let pdus = data_ins(&answers);
    assert_eq!(pdus.len(), 4);
    let mut got = Vec::new();
    for (i, d) in pdus.iter().enumerate() {
        assert_eq!(d.itt, itt);
        assert_eq!(d.data_sn, SerialNumber(i as u32));
        assert_eq!(d.buffer_offset, 1024 * i as u32);
        assert_eq!(d.data.len(), 1024);
        // F ends each MaxBurstLength sequence.
        assert_eq!(d.final_bit, i % 2 == 1);
        got.extend_from_slice(&d.data);
    }
    assert_eq!(got, data);
    assert!(pdus[..3].iter().all(|d| d.status.is_none()));
    assert_eq!(pdus[3].status, Some(ScsiStatus::GOOD));
    assert_eq!(pdus[3].residual, Residual::None);
    assert_eq!(pdus[3].exp_cmd_sn, pair.cmd_sn);
}

#[test]
fn short_and_long_reads_report_residuals() {
    let mut pair = logged_in("");
    // The device produced less than the initiator expected: underflow.
    let cmd = pair.command(&read10(8), 4096, true, false, Bytes::new(), true);
    let answers = pair.send(Pdu::ScsiCommand(cmd));
    let task = pair.expect_task(&answers);
    pair.target
        .complete_task(task.id, TaskOutcome::good(Bytes::from(vec![1; 512])))
        .unwrap();
    let answers = pair.drain();
    let pdus = data_ins(&answers);
    assert_eq!(pdus.len(), 1);
    assert_eq!(pdus[0].residual, Residual::Underflow(3584));

    // The CDB asked for more than the initiator expects: overflow, only EDTL bytes sent.
    let cmd = pair.command(&read10(8), 1000, true, false, Bytes::new(), true);
    let answers = pair.send(Pdu::ScsiCommand(cmd));
    let task = pair.expect_task(&answers);
    pair.target
        .complete_task(task.id, TaskOutcome::good(Bytes::from(vec![1; 4096])))
        .unwrap();
    let answers = pair.drain();
    let pdus = data_ins(&answers);
    assert_eq!(pdus.iter().map(|d| d.data.len()).sum::<usize>(), 1000);
    assert_eq!(pdus.last().unwrap().residual, Residual::Overflow(3096));

    // No data phase at all (EDTL 0): a SCSI Response with the overflow.
    let cmd = pair.command(&read10(1), 0, false, false, Bytes::new(), true);
    let answers = pair.send(Pdu::ScsiCommand(cmd));
    let task = pair.expect_task(&answers);
    pair.target
        .complete_task(task.id, TaskOutcome::good(Bytes::from(vec![1; 512])))
        .unwrap();
    let answers = pair.drain();
    let [Pdu::ScsiResponse(r)] = answers.as_slice() else {
        panic!("{answers:?}")
    };
    assert_eq!(r.residual, Residual::Overflow(512));
}

#[test]
fn check_condition_goes_in_a_scsi_response_with_sense() {
    let mut pair = logged_in("");
    let cmd = pair.command(&read10(1), 512, true, false, Bytes::new(), true);
    let itt = cmd.itt;
    let answers = pair.send(Pdu::ScsiCommand(cmd));
    let task = pair.expect_task(&answers);
    let sense = Bytes::from_static(&[0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x21, 0, 0, 0, 0, 0]);
    pair.target
        .complete_task(
            task.id,
            TaskOutcome {
                status: ScsiStatus::CHECK_CONDITION.0,
                sense: Some(sense.clone()),
                data_in: Bytes::new(),
                transfer_length: 512,
            },
        )
        .unwrap();
    let answers = pair.drain();
    let [Pdu::ScsiResponse(r)] = answers.as_slice() else {
        panic!("{answers:?}")
    };
    assert_eq!(r.itt, itt);
    assert_eq!(r.status, ScsiStatus::CHECK_CONDITION);
    assert_eq!(r.sense(), Some(sense));
    assert_eq!(r.response, ServiceResponse::CommandCompleted);
    // A second completion is a driver error.
    assert_eq!(
        pair.target.complete_task(task.id, TaskOutcome::default()),
        Err(iscsi_target::Error::UnknownTask { id: task.id })
    );
}

#[test]
fn write_with_immediate_data_then_r2ts() {
    let mut pair = logged_in(
        "ImmediateData=Yes|InitialR2T=Yes|FirstBurstLength=1024|MaxBurstLength=4096|MaxOutstandingR2T=2|",
    );
    let payload: Vec<u8> = (0..10_240u32).map(|i| (i % 251) as u8).collect();
    let cmd = pair.command(
        &write10(20),
        10_240,
        false,
        true,
        Bytes::copy_from_slice(&payload[..1024]),
        true,
    );
    let itt = cmd.itt;
    let answers = pair.send(Pdu::ScsiCommand(cmd));
    let r2ts: Vec<ReadyToTransfer> = answers
        .iter()
        .map(|p| match p {
            Pdu::ReadyToTransfer(r) => r.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    // Two outstanding R2Ts of at most MaxBurstLength.
    assert_eq!(
        r2ts.iter()
            .map(|r| (r.r2t_sn.0, r.buffer_offset, r.desired_length))
            .collect::<Vec<_>>(),
        [(0, 1024, 4096), (1, 5120, 4096)]
    );
    assert!(pair.take_events().is_empty());

    let mut next = r2ts;
    let mut all_r2ts = 2;
    while let Some(r2t) = next.first().cloned() {
        next.remove(0);
        // Answer in Data-Out PDUs of 1 KiB (the initiator's choice, below our 256 KiB).
        let mut answers = Vec::new();
        let chunks = r2t.desired_length.div_ceil(1024);
        for i in 0..chunks {
            let offset = r2t.buffer_offset + i * 1024;
            let end = (offset + 1024).min(r2t.buffer_offset + r2t.desired_length);
            answers.extend(pair.send(Pdu::DataOut(DataOut {
                final_bit: i + 1 == chunks,
                lun: Lun::ZERO,
                itt,
                ttt: r2t.ttt,
                exp_stat_sn: SerialNumber(0),
                data_sn: SerialNumber(i),
                buffer_offset: offset,
                data: Bytes::copy_from_slice(&payload[offset as usize..end as usize]),
            })));
        }
        for p in answers {
            let Pdu::ReadyToTransfer(r) = p else {
                panic!("{p:?}")
            };
            assert_eq!(r.r2t_sn.0, all_r2ts);
            all_r2ts += 1;
            next.push(r);
        }
    }
    assert_eq!(all_r2ts, 3);
    let events = pair.take_events();
    let [Event::ScsiCommand(task)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(task.data_out.as_ref(), &payload[..]);
    pair.target
        .complete_task(
            task.id,
            TaskOutcome {
                transfer_length: 10_240,
                ..TaskOutcome::default()
            },
        )
        .unwrap();
    let answers = pair.drain();
    let [Pdu::ScsiResponse(r)] = answers.as_slice() else {
        panic!("{answers:?}")
    };
    assert_eq!(
        (r.status, r.residual, r.exp_data_sn),
        (ScsiStatus::GOOD, Residual::None, 3)
    );
}

#[test]
fn ipxe_style_write_is_all_r2t() {
    let mut pair = logged_in(
        "InitialR2T=Yes|ImmediateData=No|MaxOutstandingR2T=1|MaxRecvDataSegmentLength=8192|",
    );
    let cmd = pair.command(&write10(1), 512, false, true, Bytes::new(), true);
    let itt = cmd.itt;
    let answers = pair.send(Pdu::ScsiCommand(cmd));
    let [Pdu::ReadyToTransfer(r2t)] = answers.as_slice() else {
        panic!("{answers:?}")
    };
    assert_eq!((r2t.buffer_offset, r2t.desired_length), (0, 512));
    let ttt = r2t.ttt;
    // Immediate data is refused when ImmediateData=No.
    let bad = pair.command(
        &write10(1),
        512,
        false,
        true,
        Bytes::from(vec![0; 512]),
        true,
    );
    let answers = pair.send(Pdu::ScsiCommand(bad));
    assert!(
        matches!(answers.as_slice(), [Pdu::Reject(r)] if r.reason == RejectReason::ProtocolError)
    );
    let answers = pair.send(Pdu::DataOut(DataOut {
        final_bit: true,
        lun: Lun::ZERO,
        itt,
        ttt,
        exp_stat_sn: SerialNumber(0),
        data_sn: SerialNumber(0),
        buffer_offset: 0,
        data: Bytes::from(vec![7; 512]),
    }));
    let task = pair.expect_task(&answers);
    assert_eq!(task.data_out, Bytes::from(vec![7; 512]));
}

#[test]
fn unsolicited_data_out_up_to_first_burst() {
    let mut pair = logged_in("ImmediateData=Yes|InitialR2T=No|FirstBurstLength=2048|");
    let cmd = pair.command(
        &write10(4),
        2048,
        false,
        true,
        Bytes::from(vec![1; 512]),
        false,
    );
    let itt = cmd.itt;
    let answers = pair.send(Pdu::ScsiCommand(cmd));
    assert!(answers.is_empty() && pair.take_events().is_empty());
    let answers = pair.send(Pdu::DataOut(DataOut {
        final_bit: true,
        lun: Lun::ZERO,
        itt,
        ttt: Ttt::RESERVED,
        exp_stat_sn: SerialNumber(0),
        data_sn: SerialNumber(0),
        buffer_offset: 512,
        data: Bytes::from(vec![2; 1536]),
    }));
    let task = pair.expect_task(&answers);
    assert_eq!(task.data_out.len(), 2048);
    assert_eq!(&task.data_out[510..514], &[1, 1, 2, 2]);
}

#[test]
fn data_out_with_a_wrong_data_sn_or_offset_ends_the_command_not_the_connection() {
    for (data_sn, offset, ascq) in [(1, 0, 0x00), (0, 512, 0x05)] {
        let mut pair = logged_in("ImmediateData=No|");
        let cmd = pair.command(&write10(2), 1024, false, true, Bytes::new(), true);
        let itt = cmd.itt;
        let answers = pair.send(Pdu::ScsiCommand(cmd));
        let [Pdu::ReadyToTransfer(r2t)] = answers.as_slice() else {
            panic!()
        };
        let ttt = r2t.ttt;
        let bad = |sn: u32, offset: u32| {
            Pdu::DataOut(DataOut {
                final_bit: false,
                lun: Lun::ZERO,
                itt,
                ttt,
                exp_stat_sn: SerialNumber(0),
                data_sn: SerialNumber(sn),
                buffer_offset: offset,
                data: Bytes::from(vec![0; 512]),
            })
        };
        let answers = pair.send(bad(data_sn, offset));
        assert!(pair.closed.is_none(), "{:?}", pair.closed);
        assert!(
            pair.take_events().is_empty(),
            "the command never reaches the driver"
        );
        let [Pdu::ScsiResponse(r)] = answers.as_slice() else {
            panic!("{answers:?}")
        };
        assert_eq!((r.itt, r.status), (itt, ScsiStatus::CHECK_CONDITION));
        // SenseLength, then fixed sense: ABORTED COMMAND, ASC 4Bh.
        assert_eq!(
            (r.data[2 + 2], r.data[2 + 12], r.data[2 + 13]),
            (0x0b, 0x4b, ascq)
        );
        // The rest of the command's data is discarded; the session carries on.
        assert!(pair.send(bad(1, 512)).is_empty());
        assert!(pair.closed.is_none());
        let read = pair.command(&read10(1), 512, true, false, Bytes::new(), true);
        let answers = pair.send(Pdu::ScsiCommand(read));
        let task = pair.expect_task(&answers);
        assert_eq!(task.expected_length, 512);
    }
}

#[test]
fn commands_beyond_the_window_are_ignored_and_gaps_wait() {
    let mut pair = logged_in("");
    // CmdSN too high (beyond MaxCmdSN) and too low (already used): silently ignored.
    let mut high = pair.command(&read10(1), 512, true, false, Bytes::new(), true);
    high.cmd_sn = pair.cmd_sn + 1000;
    assert!(pair.send(Pdu::ScsiCommand(high)).is_empty());
    let mut low = pair.command(&read10(1), 512, true, false, Bytes::new(), true);
    low.cmd_sn = SerialNumber(0);
    assert!(pair.send(Pdu::ScsiCommand(low)).is_empty());
    assert!(pair.take_events().is_empty());

    // Take back the two CmdSNs those consumed on our side.
    pair.cmd_sn = SerialNumber(1);
    let first = pair.command(&read10(1), 512, true, false, Bytes::new(), true);
    let second = pair.command(&read10(2), 1024, true, false, Bytes::new(), true);
    // The second arrives first: it waits for the first.
    assert!(pair.send(Pdu::ScsiCommand(second)).is_empty());
    assert!(pair.take_events().is_empty());
    pair.send(Pdu::ScsiCommand(first));
    let events = pair.take_events();
    let lengths: Vec<u32> = events
        .iter()
        .map(|e| match e {
            Event::ScsiCommand(t) => t.expected_length,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(lengths, [512, 1024]);
}

#[test]
fn stat_sn_advances_once_per_status_and_max_cmd_sn_never_shrinks() {
    let mut pair = logged_in("");
    let mut last_stat: Option<SerialNumber> = None;
    let mut last_max = SerialNumber(0);
    for _ in 0..5 {
        let cmd = pair.command(&read10(1), 512, true, false, Bytes::new(), true);
        let answers = pair.send(Pdu::ScsiCommand(cmd));
        let task = pair.expect_task(&answers);
        pair.target
            .complete_task(task.id, TaskOutcome::good(Bytes::from(vec![0; 512])))
            .unwrap();
        let answers = pair.drain();
        let [Pdu::DataIn(d)] = answers.as_slice() else {
            panic!()
        };
        if let Some(prev) = last_stat {
            assert_eq!(d.stat_sn, prev.next());
        }
        assert!(d.max_cmd_sn >= last_max);
        assert_eq!(d.exp_cmd_sn, pair.cmd_sn);
        last_stat = Some(d.stat_sn);
        last_max = d.max_cmd_sn;
    }
}

#[test]
fn abort_task_stops_a_running_task() {
    let mut pair = logged_in("");
    let cmd = pair.command(&read10(1), 512, true, false, Bytes::new(), true);
    let victim_itt = cmd.itt;
    let victim_sn = cmd.cmd_sn;
    let answers = pair.send(Pdu::ScsiCommand(cmd));
    let task = pair.expect_task(&answers);

    let tmf_itt = pair.itt();
    let answers = pair.send(Pdu::TaskMgmtRequest(TaskMgmtRequest {
        immediate: true,
        function: TmfFunction::AbortTask,
        lun: Lun::ZERO,
        itt: tmf_itt,
        referenced_task_tag: victim_itt,
        cmd_sn: pair.cmd_sn,
        exp_stat_sn: SerialNumber(0),
        ref_cmd_sn: victim_sn,
        exp_data_sn: SerialNumber(0),
    }));
    assert!(answers.is_empty());
    let events = pair.take_events();
    let [Event::TaskManagement(tmf)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(tmf.function, TmfFunction::AbortTask);
    assert_eq!(tmf.referenced_task, Some(task.id));
    assert_eq!(tmf.aborted, [task.id]);
    assert_eq!(tmf.proposed, TmfResponse::Complete);
    pair.target
        .complete_task_management(tmf.id, tmf.proposed)
        .unwrap();
    let answers = pair.drain();
    assert!(
        matches!(answers.as_slice(), [Pdu::TaskMgmtResponse(r)] if r.itt == tmf_itt && r.response == TmfResponse::Complete)
    );
    // The aborted task's completion is accepted and dropped.
    pair.target
        .complete_task(task.id, TaskOutcome::good(Bytes::from(vec![0; 512])))
        .unwrap();
    assert!(pair.drain().is_empty());

    // Aborting a task that does not exist.
    let tmf_itt = pair.itt();
    pair.send(Pdu::TaskMgmtRequest(TaskMgmtRequest {
        immediate: true,
        function: TmfFunction::AbortTask,
        lun: Lun::ZERO,
        itt: tmf_itt,
        referenced_task_tag: Itt(0x999),
        cmd_sn: pair.cmd_sn,
        exp_stat_sn: SerialNumber(0),
        ref_cmd_sn: SerialNumber(0x7000_0000),
        exp_data_sn: SerialNumber(0),
    }));
    let events = pair.take_events();
    let [Event::TaskManagement(tmf)] = events.as_slice() else {
        panic!()
    };
    assert_eq!(tmf.proposed, TmfResponse::TaskDoesNotExist);
}

#[test]
fn lun_reset_and_target_warm_reset_abort_every_task_they_cover() {
    for function in [
        TmfFunction::LogicalUnitReset,
        TmfFunction::AbortTaskSet,
        TmfFunction::TargetWarmReset,
    ] {
        let mut pair = logged_in("ImmediateData=No|");
        let read = pair.command(&read10(1), 512, true, false, Bytes::new(), true);
        let answers = pair.send(Pdu::ScsiCommand(read));
        let running = pair.expect_task(&answers);
        // A write still waiting for its data is dropped too; its late Data-Out is ignored.
        let write = pair.command(&write10(1), 512, false, true, Bytes::new(), true);
        let write_itt = write.itt;
        let answers = pair.send(Pdu::ScsiCommand(write));
        let [Pdu::ReadyToTransfer(r2t)] = answers.as_slice() else {
            panic!()
        };
        let ttt = r2t.ttt;

        let itt = pair.itt();
        let tmf = TaskMgmtRequest {
            immediate: false,
            function,
            lun: Lun::ZERO,
            itt,
            referenced_task_tag: Itt::RESERVED,
            cmd_sn: pair.cmd_sn,
            exp_stat_sn: SerialNumber(0),
            ref_cmd_sn: SerialNumber(0),
            exp_data_sn: SerialNumber(0),
        };
        pair.cmd_sn = pair.cmd_sn.next();
        pair.send(Pdu::TaskMgmtRequest(tmf));
        let events = pair.take_events();
        let [Event::TaskManagement(tmf)] = events.as_slice() else {
            panic!("{events:?}")
        };
        assert_eq!(tmf.aborted.len(), 2, "{function:?}");
        assert!(tmf.aborted.contains(&running.id));
        pair.target
            .complete_task_management(tmf.id, TmfResponse::Complete)
            .unwrap();
        let answers = pair.send(Pdu::DataOut(DataOut {
            final_bit: true,
            lun: Lun::ZERO,
            itt: write_itt,
            ttt,
            exp_stat_sn: SerialNumber(0),
            data_sn: SerialNumber(0),
            buffer_offset: 0,
            data: Bytes::from(vec![0; 512]),
        }));
        assert!(
            matches!(answers.as_slice(), [Pdu::TaskMgmtResponse(_)]),
            "{answers:?}"
        );
        assert!(pair.take_events().is_empty());
        assert!(pair.closed.is_none());
    }
}

#[test]
fn nop_out_is_echoed_and_idle_connections_are_pinged() {
    let mut config = config(None, None);
    config.limits.nop_in_interval_secs = 5;
    config.limits.response_timeout_secs = 10;
    let mut pair = Pair::new(config);
    pair.target.handle_timeout(Instant::ZERO);
    pair.login_normal(CLIENT, TARGET, "");

    let itt = pair.itt();
    let answers = pair.send(Pdu::NopOut(NopOut {
        immediate: false,
        lun: Lun::ZERO,
        itt,
        ttt: Ttt::RESERVED,
        cmd_sn: pair.cmd_sn,
        exp_stat_sn: SerialNumber(0),
        data: Bytes::from_static(b"hello"),
    }));
    pair.cmd_sn = pair.cmd_sn.next();
    let [Pdu::NopIn(echo)] = answers.as_slice() else {
        panic!("{answers:?}")
    };
    assert_eq!(
        (echo.itt, echo.ttt, echo.data.as_ref()),
        (itt, Ttt::RESERVED, &b"hello"[..])
    );

    // Input was seen: the first timer run only restarts the interval.
    pair.target.handle_timeout(Instant::from_secs(1));
    assert_eq!(pair.target.poll_timeout(), Some(Instant::from_secs(6)));
    pair.target.handle_timeout(Instant::from_secs(6));
    let answers = pair.drain();
    let [Pdu::NopIn(ping)] = answers.as_slice() else {
        panic!("{answers:?}")
    };
    assert!(ping.itt.is_reserved() && !ping.ttt.is_reserved());
    // The answer clears the ping.
    let ttt = ping.ttt;
    assert!(
        pair.send(Pdu::NopOut(NopOut {
            immediate: true,
            lun: Lun::ZERO,
            itt: Itt::RESERVED,
            ttt,
            cmd_sn: pair.cmd_sn,
            exp_stat_sn: SerialNumber(0),
            data: Bytes::new(),
        }))
        .is_empty()
    );
    pair.target.handle_timeout(Instant::from_secs(7));
    assert_eq!(pair.target.poll_timeout(), Some(Instant::from_secs(12)));
    // Unanswered pings close the connection.
    pair.target.handle_timeout(Instant::from_secs(12));
    assert_eq!(pair.drain().len(), 1);
    let deadline = pair.target.poll_timeout().unwrap();
    pair.target.handle_timeout(deadline);
    pair.drain();
    assert_eq!(pair.closed, Some(CloseReason::Timeout));
}

#[test]
fn logout_answers_then_closes() {
    let mut pair = logged_in("");
    let answers = pair.logout();
    let [Pdu::LogoutResponse(r)] = answers.as_slice() else {
        panic!("{answers:?}")
    };
    assert_eq!(r.response, LogoutResult::Success);
    assert_eq!(pair.closed, Some(CloseReason::Logout));
    let events = pair.take_events();
    assert!(
        matches!(
            events.as_slice(),
            [
                Event::LoggedOut { .. },
                Event::Close {
                    reason: CloseReason::Logout
                }
            ]
        ),
        "{events:?}"
    );
    // Nothing more is consumed.
    let cmd = pair.command(&read10(1), 512, true, false, Bytes::new(), true);
    let bytes = Pdu::ScsiCommand(cmd).to_bytes(Digests::NONE).unwrap();
    let mut input = bytes::BytesMut::from(&bytes[..]);
    pair.target.handle_bytes(&mut input);
    assert_eq!(input.len(), bytes.len());
    assert!(pair.target.poll_event().is_none());
}

#[test]
fn the_logout_response_waits_until_the_driver_saw_the_nexus_end() {
    let mut pair = Pair::new(config(None, None));
    let session = pair.login_normal(CLIENT, TARGET, "").id;
    let itt = pair.itt();
    let logout = Pdu::LogoutRequest(LogoutRequest {
        immediate: true,
        reason: LogoutReason::CloseSession,
        itt,
        cid: Cid(1),
        cmd_sn: pair.cmd_sn,
        exp_stat_sn: SerialNumber(0),
    });
    let bytes = logout.to_bytes(Digests::NONE).unwrap();
    let mut input = bytes::BytesMut::from(&bytes[..]);
    pair.target.handle_bytes(&mut input);
    // The response is held back until the driver has polled the event that ends the nexus.
    assert!(pair.target.poll_transmit().is_none());
    assert_eq!(pair.target.poll_event(), Some(Event::LoggedOut { session }));
    let answers = pair.drain();
    let [Pdu::LogoutResponse(r)] = answers.as_slice() else {
        panic!("{answers:?}")
    };
    assert_eq!(r.response, LogoutResult::Success);
    assert_eq!(pair.closed, Some(CloseReason::Logout));
}

#[test]
fn request_logout_sends_an_async_message() {
    let mut pair = logged_in("");
    pair.target.request_logout(5).unwrap();
    let answers = pair.drain();
    let [Pdu::AsyncMessage(m)] = answers.as_slice() else {
        panic!("{answers:?}")
    };
    assert_eq!((m.event, m.parameter3), (AsyncEvent::LogoutRequest, 5));
    let mut fresh = Pair::new(config(None, None));
    assert_eq!(
        fresh.target.request_logout(5),
        Err(iscsi_target::Error::NotLoggedIn)
    );
    fresh.drain();
}

#[test]
fn large_writes_beyond_the_buffer_limit_get_check_condition() {
    let mut config = config(None, None);
    config.limits.max_write_length = 4096;
    let mut pair = Pair::new(config);
    pair.login_normal(CLIENT, TARGET, "");
    let cmd = pair.command(&write10(16), 8192, false, true, Bytes::new(), true);
    let answers = pair.send(Pdu::ScsiCommand(cmd));
    let [Pdu::ScsiResponse(r)] = answers.as_slice() else {
        panic!("{answers:?}")
    };
    assert_eq!(r.status, ScsiStatus::CHECK_CONDITION);
    assert!(pair.take_events().is_empty());
}

#[test]
fn abort_task_covers_a_command_that_has_not_arrived_yet() {
    let mut pair = logged_in("");
    let late = pair.command(&read10(1), 512, true, false, Bytes::new(), true);
    let after = pair.command(&read10(2), 1024, true, false, Bytes::new(), true);
    // The later command arrives first and waits behind the gap.
    assert!(pair.send(Pdu::ScsiCommand(after)).is_empty());
    let itt = pair.itt();
    pair.send(Pdu::TaskMgmtRequest(TaskMgmtRequest {
        immediate: true,
        function: TmfFunction::AbortTask,
        lun: Lun::ZERO,
        itt,
        referenced_task_tag: late.itt,
        cmd_sn: pair.cmd_sn,
        exp_stat_sn: SerialNumber(0),
        ref_cmd_sn: late.cmd_sn,
        exp_data_sn: SerialNumber(0),
    }));
    let events = pair.take_events();
    let [Event::TaskManagement(tmf)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(tmf.proposed, TmfResponse::Complete);
    pair.target
        .complete_task_management(tmf.id, tmf.proposed)
        .unwrap();
    pair.drain();
    // When the aborted command shows up it fills the gap but does not run.
    pair.send(Pdu::ScsiCommand(late));
    let events = pair.take_events();
    let [Event::ScsiCommand(task)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(task.expected_length, 1024);
}

/// The Data-Out that answers `r2t` in one PDU.
fn data_for(itt: Itt, r2t: &ReadyToTransfer) -> Pdu {
    Pdu::DataOut(DataOut {
        final_bit: true,
        lun: Lun::ZERO,
        itt,
        ttt: r2t.ttt,
        exp_stat_sn: SerialNumber(0),
        data_sn: SerialNumber(0),
        buffer_offset: r2t.buffer_offset,
        data: Bytes::from(vec![0x5a; r2t.desired_length as usize]),
    })
}

fn r2ts_by_itt(answers: &[Pdu]) -> Vec<(Itt, ReadyToTransfer)> {
    answers
        .iter()
        .map(|p| match p {
            Pdu::ReadyToTransfer(r) => (r.itt, r.clone()),
            other => panic!("expected R2Ts only, got {other:?}"),
        })
        .collect()
}

#[test]
fn writes_beyond_the_write_budget_wait_in_order_for_their_r2ts() {
    let mut config = config(None, None);
    config.limits.max_write_length = 16 * 1024;
    config.limits.write_budget = 16 * 1024;
    let mut pair = Pair::new(config);
    pair.login_normal(
        CLIENT,
        TARGET,
        "InitialR2T=Yes|ImmediateData=No|MaxRecvDataSegmentLength=65536|MaxBurstLength=65536|",
    );
    // A: 12 KiB fits and is asked for at once.
    let a = pair.command(&write10(24), 12 * 1024, false, true, Bytes::new(), true);
    let a_itt = a.itt;
    let a_r2ts = r2ts_by_itt(&pair.send(Pdu::ScsiCommand(a)));
    assert_eq!(a_r2ts.len(), 1);
    assert_eq!(a_r2ts[0].1.desired_length, 12 * 1024);
    // B: 8 KiB does not fit beside A (20 KiB > 16 KiB): no R2T yet.
    let b = pair.command(&write10(16), 8 * 1024, false, true, Bytes::new(), true);
    let b_itt = b.itt;
    assert_eq!(pair.send(Pdu::ScsiCommand(b)), []);
    // C: 4 KiB would fit, but does not overtake B.
    let c = pair.command(&write10(8), 4 * 1024, false, true, Bytes::new(), true);
    let c_itt = c.itt;
    assert_eq!(pair.send(Pdu::ScsiCommand(c)), []);
    // A's data arrives: A runs, and still holds its share until it completes.
    let answers = pair.send(data_for(a_itt, &a_r2ts[0].1));
    let task = pair.expect_task(&answers);
    assert_eq!(task.data_out.len(), 12 * 1024);
    assert!(pair.drain().is_empty());
    // A completes: B and C (8 + 4 KiB) are asked for their data, in order.
    pair.target
        .complete_task(task.id, TaskOutcome::default())
        .unwrap();
    let answers = pair.drain();
    let [Pdu::ScsiResponse(done), rest @ ..] = answers.as_slice() else {
        panic!("{answers:?}")
    };
    assert_eq!(done.itt, a_itt);
    let waiting = r2ts_by_itt(rest);
    assert_eq!(
        waiting
            .iter()
            .map(|(itt, r)| (*itt, r.desired_length))
            .collect::<Vec<_>>(),
        [(b_itt, 8 * 1024), (c_itt, 4 * 1024)]
    );
    for (itt, r2t) in &waiting {
        let answers = pair.send(data_for(*itt, r2t));
        let task = pair.expect_task(&answers);
        assert_eq!(task.data_out.len(), r2t.desired_length as usize);
    }
}

#[test]
fn an_aborted_waiting_write_lets_the_next_one_go() {
    let mut config = config(None, None);
    config.limits.max_write_length = 8 * 1024;
    config.limits.write_budget = 8 * 1024;
    let mut pair = Pair::new(config);
    pair.login_normal(CLIENT, TARGET, "InitialR2T=Yes|ImmediateData=No|");
    let a = pair.command(&write10(16), 8 * 1024, false, true, Bytes::new(), true);
    let a_itt = a.itt;
    assert_eq!(r2ts_by_itt(&pair.send(Pdu::ScsiCommand(a))).len(), 1);
    let b = pair.command(&write10(16), 8 * 1024, false, true, Bytes::new(), true);
    let b_itt = b.itt;
    assert_eq!(pair.send(Pdu::ScsiCommand(b)), []);
    // ABORT TASK of A, which waits for its data: its budget goes to B.
    let itt = pair.itt();
    let answers = pair.send(Pdu::TaskMgmtRequest(TaskMgmtRequest {
        immediate: true,
        function: TmfFunction::AbortTask,
        lun: Lun::ZERO,
        itt,
        referenced_task_tag: a_itt,
        cmd_sn: pair.cmd_sn,
        exp_stat_sn: SerialNumber(0),
        ref_cmd_sn: SerialNumber(1),
        exp_data_sn: SerialNumber(0),
    }));
    let r2ts = r2ts_by_itt(&answers);
    assert_eq!(r2ts.len(), 1, "{answers:?}");
    assert_eq!((r2ts[0].0, r2ts[0].1.desired_length), (b_itt, 8 * 1024));
}
