//! Criterion benches of the `iscsi-pdu` hot paths: parse and encode of a SCSI Command and of a
//! Data-In (8 KiB and 256 KiB, with and without a data digest), the [`Framer`] over a stream of
//! commands and over a mixed stream, and CRC32C.
//!
//! PDU rates are reported as elements (PDUs) per second, payload and CRC rates as bytes per
//! second. Run with `cargo bench -p benches`, or filter: `cargo bench -p benches -- data_in/`.
//! The figures of the reference machine, and what bounds them, are in `benches/README.md`.

use std::hint::black_box;
use std::io::IoSlice;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use iscsi_pdu::{
    DataIn, DataOut, Digests, Framed, Framer, FramerConfig, Itt, Lun, NopOut, Pdu, Residual,
    ScsiCommand, ScsiStatus, SerialNumber, TextRequest, Ttt,
};

/// Commands in the buffer of `scsi_command/frame_and_decode`.
const STREAM_COMMANDS: usize = 4096;
/// Repetitions of the five-PDU pattern in `framer/mixed_stream`.
const MIXED_CYCLES: usize = 128;
/// PDUs per repetition of the mixed pattern.
const MIXED_PATTERN: usize = 5;
/// Data-Out payload in the mixed stream.
const DATA_OUT_LEN: usize = 8 * 1024;

/// Only a data digest, as the `data_in` cases compare.
const DATA_DIGEST: Digests = Digests {
    header: false,
    data: true,
};

/// The framer limits of a full-feature connection that negotiated 256 KiB segments.
fn framer_config(digests: Digests) -> FramerConfig {
    FramerConfig {
        max_recv_data_segment_length: 256 * 1024,
        digests,
        ..FramerConfig::default()
    }
}

/// READ(10) of 8 blocks at `lba`, as an initiator sends it (no AHS, no immediate data).
fn read10(itt: u32, lba: u32) -> Pdu {
    let mut cdb = [0u8; 16];
    cdb[0] = 0x28;
    cdb[2..6].copy_from_slice(&lba.to_be_bytes());
    cdb[8] = 8;
    Pdu::ScsiCommand(ScsiCommand {
        read: true,
        expected_data_length: 4096,
        lun: Lun::ZERO,
        itt: Itt(itt),
        cmd_sn: SerialNumber(itt),
        exp_stat_sn: SerialNumber(itt / 2),
        cdb,
        ..ScsiCommand::default()
    })
}

/// WRITE(10) of 16 blocks (8 KiB) at `lba`; the data follows in a Data-Out.
fn write10(itt: u32, lba: u32) -> Pdu {
    let mut cdb = [0u8; 16];
    cdb[0] = 0x2a;
    cdb[2..6].copy_from_slice(&lba.to_be_bytes());
    cdb[8] = 16;
    Pdu::ScsiCommand(ScsiCommand {
        write: true,
        expected_data_length: DATA_OUT_LEN as u32,
        itt: Itt(itt),
        cmd_sn: SerialNumber(itt),
        exp_stat_sn: SerialNumber(itt / 2),
        cdb,
        ..ScsiCommand::default()
    })
}

/// The last Data-In of a read, carrying GOOD status (phase collapse).
fn data_in(payload: Bytes) -> Pdu {
    Pdu::DataIn(DataIn {
        final_bit: true,
        acknowledge: false,
        status: Some(ScsiStatus::GOOD),
        residual: Residual::None,
        lun: Lun::ZERO,
        itt: Itt(0x1234),
        ttt: Ttt::RESERVED,
        stat_sn: SerialNumber(7),
        exp_cmd_sn: SerialNumber(8),
        max_cmd_sn: SerialNumber(40),
        data_sn: SerialNumber(0),
        buffer_offset: 0,
        data: payload,
    })
}

/// `pdu` on the wire, as one contiguous buffer.
fn wire(pdu: &Pdu, digests: Digests) -> Bytes {
    Bytes::from(pdu.to_bytes(digests).expect("bench PDUs encode"))
}

/// A payload of `len` bytes that is not all one value.
fn payload(len: usize) -> Bytes {
    (0..len)
        .map(|i| (i * 31 + 7) as u8)
        .collect::<Vec<u8>>()
        .into()
}

/// Decodes every PDU of `buf` and returns how many there were.
fn drain(framer: &mut Framer, buf: &mut BytesMut) -> usize {
    let mut n = 0;
    while let Framed::Pdu(pdu) = framer.decode(buf).expect("bench stream frames") {
        black_box(&pdu);
        n += 1;
    }
    n
}

fn scsi_command(c: &mut Criterion) {
    let mut group = c.benchmark_group("scsi_command");
    group.throughput(Throughput::Elements(1));
    let cmd = read10(0x42, 0x0001_0000);

    for (name, digests) in [
        ("decode", Digests::NONE),
        ("decode_header_digest", Digests::ALL),
    ] {
        let bytes = wire(&cmd, digests);
        assert_eq!(Pdu::parse(bytes.clone(), digests).expect("parses"), cmd);
        group.bench_function(name, |b| {
            b.iter(|| Pdu::parse(black_box(&bytes).clone(), black_box(digests)));
        });
    }

    for (name, digests) in [
        ("frame_and_decode", Digests::NONE),
        ("frame_and_decode_header_digest", Digests::ALL),
    ] {
        let mut stream = Vec::new();
        for i in 0..STREAM_COMMANDS as u32 {
            stream.extend_from_slice(&wire(&read10(i, i * 8), digests));
        }
        let config = framer_config(digests);
        let mut check = BytesMut::from(&stream[..]);
        assert_eq!(drain(&mut Framer::new(config), &mut check), STREAM_COMMANDS);
        assert!(check.is_empty());

        group.throughput(Throughput::Elements(STREAM_COMMANDS as u64));
        group.bench_function(name, |b| {
            b.iter_batched(
                || BytesMut::from(&stream[..]),
                |mut buf| drain(&mut Framer::new(config), &mut buf),
                BatchSize::LargeInput,
            );
        });
        group.throughput(Throughput::Elements(1));
    }

    group.bench_function("encode", |b| {
        b.iter(|| black_box(&cmd).encode(black_box(Digests::NONE)));
    });
    let mut out = BytesMut::with_capacity(1024);
    group.bench_function("encode_into", |b| {
        b.iter(|| {
            out.clear();
            black_box(&cmd).encode_into(black_box(Digests::NONE), &mut out)
        });
    });
    group.finish();
}

fn data_in_pdus(c: &mut Criterion) {
    let mut group = c.benchmark_group("data_in");
    for (size, len) in [("8KiB", 8 * 1024), ("256KiB", 256 * 1024)] {
        let data = payload(len);
        let pdu = data_in(data.clone());
        group.throughput(Throughput::Bytes(len as u64));
        for (dname, digests) in [("none", Digests::NONE), ("data_digest", DATA_DIGEST)] {
            let param = format!("{size}/{dname}");

            let bytes = wire(&pdu, digests);
            assert_eq!(Pdu::parse(bytes.clone(), digests).expect("parses"), pdu);
            group.bench_with_input(BenchmarkId::new("decode", &param), &bytes, |b, bytes| {
                b.iter(|| Pdu::parse(black_box(bytes).clone(), black_box(digests)));
            });

            // The no-copy check: the encoder hands on the payload itself as the middle chunk.
            let encoded = pdu.encode(digests).expect("encodes");
            let mut slices = [IoSlice::new(&[]); 3];
            assert!(encoded.chunks_vectored(&mut slices) >= 2);
            assert_eq!(
                slices[1].as_ptr(),
                data.as_ptr(),
                "encode() copied the payload"
            );
            group.bench_with_input(BenchmarkId::new("encode", &param), &pdu, |b, pdu| {
                b.iter(|| black_box(pdu).encode(black_box(digests)));
            });

            let mut out = BytesMut::with_capacity(len + 64);
            pdu.encode_into(digests, &mut out).expect("encodes");
            assert_eq!(out, bytes);
            group.bench_with_input(BenchmarkId::new("encode_into", &param), &pdu, |b, pdu| {
                b.iter(|| {
                    out.clear();
                    black_box(pdu).encode_into(black_box(digests), &mut out)
                });
            });
        }
    }
    group.finish();
}

/// An initiator's stream: READ(10), WRITE(10) with its 8 KiB Data-Out, a NOP-Out ping and a
/// Text Request, repeated.
fn mixed_stream(digests: Digests) -> Vec<u8> {
    let data = payload(DATA_OUT_LEN);
    let mut stream = Vec::new();
    for i in 0..MIXED_CYCLES as u32 {
        let itt = i * 4;
        let pdus = [
            read10(itt, i * 64),
            write10(itt + 1, i * 64 + 32),
            Pdu::DataOut(DataOut {
                final_bit: true,
                lun: Lun::ZERO,
                itt: Itt(itt + 1),
                ttt: Ttt::RESERVED,
                exp_stat_sn: SerialNumber(i),
                data_sn: SerialNumber(0),
                buffer_offset: 0,
                data: data.clone(),
            }),
            Pdu::NopOut(NopOut {
                immediate: true,
                lun: Lun::ZERO,
                itt: Itt(itt + 2),
                ttt: Ttt::RESERVED,
                cmd_sn: SerialNumber(itt + 2),
                exp_stat_sn: SerialNumber(i),
                data: Bytes::new(),
            }),
            Pdu::TextRequest(TextRequest {
                immediate: true,
                final_bit: true,
                continue_bit: false,
                lun: Lun::ZERO,
                itt: Itt(itt + 3),
                ttt: Ttt::RESERVED,
                cmd_sn: SerialNumber(itt + 3),
                exp_stat_sn: SerialNumber(i),
                data: Bytes::from_static(b"SendTargets=All\0"),
            }),
        ];
        for pdu in &pdus {
            stream.extend_from_slice(&wire(pdu, digests));
        }
    }
    stream
}

fn framer(c: &mut Criterion) {
    let mut group = c.benchmark_group("framer");
    let pdus = MIXED_CYCLES * MIXED_PATTERN;
    group.throughput(Throughput::Elements(pdus as u64));
    for (name, digests) in [("none", Digests::NONE), ("digests", Digests::ALL)] {
        let stream = mixed_stream(digests);
        let config = framer_config(digests);
        let mut check = BytesMut::from(&stream[..]);
        assert_eq!(drain(&mut Framer::new(config), &mut check), pdus);
        assert!(check.is_empty());
        group.bench_with_input(
            BenchmarkId::new("mixed_stream", name),
            &stream,
            |b, stream| {
                b.iter_batched(
                    || BytesMut::from(&stream[..]),
                    |mut buf| drain(&mut Framer::new(config), &mut buf),
                    BatchSize::LargeInput,
                );
            },
        );
    }
    group.finish();
}

fn crc32c(c: &mut Criterion) {
    let mut group = c.benchmark_group("crc32c");
    for (name, len) in [
        ("4KiB", 4 * 1024),
        ("64KiB", 64 * 1024),
        ("1MiB", 1024 * 1024),
    ] {
        let data = payload(len);
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &data, |b, data| {
            b.iter(|| iscsi_pdu::crc32c(&[black_box(&data[..])]));
        });
    }
    group.finish();
}

/// Runs every group. Written out rather than with `criterion_group!`, whose `pub fn` cannot carry
/// the doc comment the workspace's `missing_docs` lint asks for. The short windows keep the whole
/// `cargo bench -p benches` within a few minutes on two cores.
fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .configure_from_args();
    scsi_command(&mut c);
    data_in_pdus(&mut c);
    framer(&mut c);
    crc32c(&mut c);
    c.final_summary();
}
