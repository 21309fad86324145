//! State-machine tests of [`Transfer`] with a fake clock and an in-memory file.

use super::*;

fn rrq(mode: Mode, options: &[(&str, &str)]) -> Request {
    Request {
        filename: "f".into(),
        mode,
        options: options
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn ack(block: u16) -> Vec<u8> {
    Packet::Ack { block }.to_vec()
}

/// Serves every read from `file` until none is wanted.
fn feed(t: &mut Transfer, now: Instant, file: &[u8]) {
    while let Some(r) = t.poll_read() {
        let start = usize::try_from(r.offset)
            .unwrap_or(usize::MAX)
            .min(file.len());
        let end = start.saturating_add(r.len).min(file.len());
        t.supply(now, &file[start..end]);
    }
}

/// The single datagram queued, parsed.
fn sent(t: &mut Transfer) -> Vec<u8> {
    let p = t.poll_transmit().expect("a datagram to send");
    assert!(t.poll_transmit().is_none(), "one datagram at a time");
    p
}

fn data_of(bytes: &[u8]) -> (u16, Vec<u8>) {
    match Packet::parse(bytes) {
        Ok(Packet::Data { block, data }) => (block, data.to_vec()),
        other => panic!("expected DATA, got {other:?}"),
    }
}

/// Runs a whole transfer with a perfect client; returns the bytes received and the DATA count.
fn download(request: &Request, file: &[u8], config: &Config) -> (Vec<u8>, u64) {
    let now = Instant::now();
    let mut t = Transfer::start(request, file.len() as u64, config, now).expect("starts");
    let mut got = Vec::new();
    let mut blocks = 0u64;
    feed(&mut t, now, file);
    let first = sent(&mut t);
    let mut packet = if let Ok(Packet::Oack { .. }) = Packet::parse(&first) {
        t.handle_datagram(now, &ack(0));
        feed(&mut t, now, file);
        sent(&mut t)
    } else {
        first
    };
    loop {
        let (block, data) = data_of(&packet);
        blocks += 1;
        assert_eq!(block, blocks as u16, "block numbers count up and wrap to 0");
        got.extend_from_slice(&data);
        t.handle_datagram(now, &ack(block));
        if data.len() < t.blksize() {
            assert_eq!(
                t.outcome(),
                Some(&Outcome::Complete {
                    bytes: got.len() as u64
                })
            );
            assert!(t.poll_transmit().is_none());
            return (got, blocks);
        }
        feed(&mut t, now, file);
        packet = sent(&mut t);
    }
}

#[test]
fn plain_rrq_sends_512_byte_blocks_and_ends_with_short_block() {
    let file: Vec<u8> = (0..1300u32).map(|i| i as u8).collect();
    let (got, blocks) = download(&rrq(Mode::Octet, &[]), &file, &Config::default());
    assert_eq!(got, file);
    assert_eq!(blocks, 3);
}

#[test]
fn exact_multiple_of_block_size_ends_with_empty_block() {
    let file = vec![7u8; 1024];
    let (got, blocks) = download(&rrq(Mode::Octet, &[]), &file, &Config::default());
    assert_eq!(got, file);
    assert_eq!(blocks, 3, "512 + 512 + 0");
    let (got, blocks) = download(&rrq(Mode::Octet, &[]), &[], &Config::default());
    assert!(got.is_empty());
    assert_eq!(blocks, 1);
}

#[test]
fn negotiates_blksize_tsize_and_timeout_in_oack() {
    let now = Instant::now();
    let request = rrq(
        Mode::Octet,
        &[
            ("BLKSIZE", "1432"),
            ("tsize", "0"),
            ("timeout", "3"),
            ("windowsize", "4"),
        ],
    );
    let mut t = Transfer::start(&request, 5000, &Config::default(), now).expect("starts");
    assert_eq!(
        Packet::parse(&sent(&mut t)),
        Ok(Packet::Oack {
            options: vec![
                ("blksize".into(), "1432".into()),
                ("tsize".into(), "5000".into()),
                ("timeout".into(), "3".into()),
            ]
        })
    );
    assert_eq!(t.blksize(), 1432);
    assert_eq!(t.timeout(), Duration::from_secs(3));
    assert_eq!(t.poll_timeout(), Some(now + Duration::from_secs(3)));
    assert_eq!(t.poll_read(), None, "no data before ACK 0");
    t.handle_datagram(now, &ack(0));
    assert_eq!(
        t.poll_read(),
        Some(ReadRequest {
            offset: 0,
            len: 1432
        })
    );
}

#[test]
fn clamps_large_blksize_and_ignores_invalid_options() {
    let config = Config {
        max_blksize: 1468,
        ..Config::default()
    };
    let now = Instant::now();
    let t = |opts: &[(&str, &str)]| {
        let mut t = Transfer::start(&rrq(Mode::Octet, opts), 10, &config, now).expect("starts");
        let first = sent(&mut t);
        (
            t.blksize(),
            t.timeout(),
            Packet::parse(&first).map(|p| p.to_vec()),
        )
    };
    let (blksize, _, oack) = t(&[("blksize", "65464")]);
    assert_eq!(blksize, 1468);
    assert_eq!(
        oack,
        Ok(Packet::Oack {
            options: vec![("blksize".into(), "1468".into())]
        }
        .to_vec())
    );
    // Invalid values: no OACK at all, the transfer starts with DATA 1 of 512 bytes.
    for opts in [
        &[("blksize", "7")][..],
        &[("blksize", "big")],
        &[("timeout", "0")],
        &[("timeout", "256")],
        &[("multicast", "")],
    ] {
        let now = Instant::now();
        let mut t = Transfer::start(&rrq(Mode::Octet, opts), 10, &config, now).expect("starts");
        assert_eq!(t.blksize(), DEFAULT_BLKSIZE, "{opts:?}");
        assert_eq!(t.timeout(), config.timeout, "{opts:?}");
        assert!(t.poll_transmit().is_none(), "{opts:?}: waits for the file");
        feed(&mut t, now, b"0123456789");
        assert_eq!(data_of(&sent(&mut t)), (1, b"0123456789".to_vec()));
    }
    // A repeated option: the first counts.
    let (blksize, _, _) = t(&[("blksize", "100"), ("BlkSize", "200")]);
    assert_eq!(blksize, 100);
}

#[test]
fn client_refusing_oack_ends_transfer_silently() {
    let now = Instant::now();
    let mut t = Transfer::start(
        &rrq(Mode::Octet, &[("blksize", "1024")]),
        10,
        &Config::default(),
        now,
    )
    .expect("starts");
    let _ = sent(&mut t);
    t.handle_datagram(now, &error_packet(ErrorCode::OPTION_REFUSED, "no thanks"));
    assert_eq!(
        t.outcome(),
        Some(&Outcome::ClientError {
            code: ErrorCode::OPTION_REFUSED,
            message: "no thanks".into()
        })
    );
    assert!(t.poll_transmit().is_none(), "never answer an ERROR");
}

#[test]
fn retransmits_on_timeout_then_gives_up() {
    let config = Config {
        max_retries: 3,
        ..Config::default()
    };
    let start = Instant::now();
    let mut t = Transfer::start(&rrq(Mode::Octet, &[]), 600, &config, start).expect("starts");
    feed(&mut t, start, &[1u8; 600]);
    let first = sent(&mut t);
    let mut now = start;
    // Before the deadline nothing happens.
    t.handle_timeout(now + config.timeout / 2);
    assert!(t.poll_transmit().is_none());
    for _ in 0..3 {
        now = t.poll_timeout().expect("a deadline");
        t.handle_timeout(now);
        assert_eq!(sent(&mut t), first, "the same block again");
        assert!(t.outcome().is_none());
    }
    now = t.poll_timeout().expect("a deadline");
    t.handle_timeout(now);
    assert_eq!(t.outcome(), Some(&Outcome::TimedOut));
    assert!(matches!(
        Packet::parse(&sent(&mut t)),
        Ok(Packet::Error {
            code: ErrorCode::NOT_DEFINED,
            ..
        })
    ));
    assert_eq!(t.poll_timeout(), None);
}

#[test]
fn an_ack_resets_the_retry_count() {
    let config = Config {
        max_retries: 1,
        ..Config::default()
    };
    let now = Instant::now();
    let file = vec![0u8; 2000];
    let mut t = Transfer::start(&rrq(Mode::Octet, &[]), 2000, &config, now).expect("starts");
    for block in 1..=3u16 {
        feed(&mut t, now, &file);
        let _ = sent(&mut t);
        let deadline = t.poll_timeout().expect("deadline");
        t.handle_timeout(deadline);
        let _ = sent(&mut t);
        t.handle_datagram(deadline, &ack(block));
        assert!(t.outcome().is_none(), "block {block}");
    }
}

#[test]
fn duplicate_acks_do_not_trigger_retransmission() {
    let now = Instant::now();
    let file = vec![9u8; 2000];
    let mut t =
        Transfer::start(&rrq(Mode::Octet, &[]), 2000, &Config::default(), now).expect("starts");
    feed(&mut t, now, &file);
    assert_eq!(data_of(&sent(&mut t)).0, 1);
    t.handle_datagram(now, &ack(1));
    feed(&mut t, now, &file);
    assert_eq!(data_of(&sent(&mut t)).0, 2);
    // The Sorcerer's Apprentice: a delayed duplicate ACK 1 must not resend block 2...
    t.handle_datagram(now, &ack(1));
    assert!(t.poll_transmit().is_none());
    assert!(t.poll_read().is_none());
    // ...nor must an ACK from the future move anything.
    t.handle_datagram(now, &ack(9));
    assert!(t.poll_transmit().is_none());
    t.handle_datagram(now, &ack(2));
    feed(&mut t, now, &file);
    assert_eq!(data_of(&sent(&mut t)).0, 3);
    // A duplicate ACK 2 after ACK 2 is ignored too.
    t.handle_datagram(now, &ack(2));
    assert!(t.poll_transmit().is_none());
    assert!(t.outcome().is_none());
}

#[test]
fn block_numbers_wrap_around_after_65535() {
    // blksize 8 keeps the file small: 70000 blocks of 8 bytes.
    let file: Vec<u8> = (0..70_000u32 * 8 + 3).map(|i| (i % 251) as u8).collect();
    let (got, blocks) = download(
        &rrq(Mode::Octet, &[("blksize", "8")]),
        &file,
        &Config::default(),
    );
    assert_eq!(got, file);
    assert_eq!(blocks, 70_001);
}

#[test]
fn netascii_converts_lf_and_bare_cr() {
    let file = b"line1\nline2\r\nbare\rend";
    let (got, _) = download(
        &rrq(Mode::Netascii, &[("blksize", "8"), ("tsize", "0")]),
        file,
        &Config::default(),
    );
    assert_eq!(got, b"line1\r\nline2\r\0\r\nbare\r\0end");
}

#[test]
fn netascii_does_not_acknowledge_tsize() {
    let now = Instant::now();
    let mut t = Transfer::start(
        &rrq(Mode::Netascii, &[("tsize", "0")]),
        3,
        &Config::default(),
        now,
    )
    .expect("starts");
    assert!(
        t.poll_transmit().is_none(),
        "no OACK: the only option is not acknowledged"
    );
    feed(&mut t, now, b"a\nb");
    assert_eq!(data_of(&sent(&mut t)), (1, b"a\r\nb".to_vec()));
}

#[test]
fn refuses_mail_mode_and_files_over_the_limit() {
    let now = Instant::now();
    let err = Transfer::start(&rrq(Mode::Mail, &[]), 1, &Config::default(), now)
        .expect_err("mail refused");
    assert_eq!(err.code, ErrorCode::ILLEGAL_OPERATION);
    let config = Config {
        max_file_size: 100,
        ..Config::default()
    };
    let err = Transfer::start(&rrq(Mode::Octet, &[]), 101, &config, now).expect_err("too big");
    assert_eq!(err.code, ErrorCode::DISK_FULL);
    assert!(Transfer::start(&rrq(Mode::Octet, &[]), 100, &config, now).is_ok());
}

#[test]
fn illegal_and_malformed_packets_end_the_transfer_with_error_4() {
    for bad in [
        Packet::Data {
            block: 1,
            data: b"x",
        }
        .to_vec(),
        Packet::Rrq(rrq(Mode::Octet, &[])).to_vec(),
        b"\x00\x04\x00".to_vec(),
        b"\x00\x63".to_vec(),
    ] {
        let now = Instant::now();
        let mut t =
            Transfer::start(&rrq(Mode::Octet, &[]), 3, &Config::default(), now).expect("starts");
        feed(&mut t, now, b"abc");
        let _ = sent(&mut t);
        t.handle_datagram(now, &bad);
        assert!(matches!(t.outcome(), Some(Outcome::Protocol(_))), "{bad:?}");
        assert!(matches!(
            Packet::parse(&sent(&mut t)),
            Ok(Packet::Error {
                code: ErrorCode::ILLEGAL_OPERATION,
                ..
            })
        ));
        // Afterwards everything is ignored.
        t.handle_datagram(now, &ack(1));
        t.handle_timeout(now + Duration::from_secs(100));
        assert!(t.poll_transmit().is_none());
    }
}

#[test]
fn short_read_ends_the_file_early_and_growth_is_not_sent() {
    let now = Instant::now();
    // The file shrank to 100 bytes after its size (1000) was taken.
    let (got, _) = {
        let mut t =
            Transfer::start(&rrq(Mode::Octet, &[]), 1000, &Config::default(), now).expect("starts");
        feed(&mut t, now, &[1u8; 100]);
        let (_, data) = data_of(&sent(&mut t));
        t.handle_datagram(now, &ack(1));
        (data, t.outcome().cloned())
    };
    assert_eq!(got.len(), 100);
    // The file grew to 2000 bytes: only the 600 announced are sent.
    let (got, _) = download(&rrq(Mode::Octet, &[]), &[2u8; 600], &Config::default());
    assert_eq!(got.len(), 600);
    let mut t =
        Transfer::start(&rrq(Mode::Octet, &[]), 600, &Config::default(), now).expect("starts");
    let mut total = 0;
    loop {
        feed(&mut t, now, &[2u8; 2000]);
        let (block, data) = data_of(&sent(&mut t));
        total += data.len();
        t.handle_datagram(now, &ack(block));
        if t.outcome().is_some() {
            break;
        }
    }
    assert_eq!(total, 600);
}

#[test]
fn read_failure_sends_an_error() {
    let now = Instant::now();
    let mut t =
        Transfer::start(&rrq(Mode::Octet, &[]), 10, &Config::default(), now).expect("starts");
    assert!(t.poll_read().is_some());
    t.read_failed();
    assert_eq!(t.outcome(), Some(&Outcome::ReadFailed));
    assert!(matches!(
        Packet::parse(&sent(&mut t)),
        Ok(Packet::Error { .. })
    ));
}

#[test]
fn lost_oack_is_retransmitted() {
    let now = Instant::now();
    let mut t = Transfer::start(
        &rrq(Mode::Octet, &[("tsize", "0")]),
        10,
        &Config::default(),
        now,
    )
    .expect("starts");
    let oack = sent(&mut t);
    let deadline = t.poll_timeout().expect("deadline");
    t.handle_timeout(deadline);
    assert_eq!(sent(&mut t), oack);
    t.handle_datagram(deadline, &ack(0));
    feed(&mut t, deadline, b"0123456789");
    assert_eq!(data_of(&sent(&mut t)), (1, b"0123456789".to_vec()));
}
