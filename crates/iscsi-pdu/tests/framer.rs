//! The streaming framer at every split point, one byte at a time, and against hostile lengths.

#![allow(clippy::unwrap_used)] // tests may unwrap, as unit tests do

use bytes::{Bytes, BytesMut};
use iscsi_pdu::arbitrary::{any_digests, any_pdu};
use iscsi_pdu::*;
use proptest::prelude::*;

fn config(digests: Digests) -> FramerConfig {
    FramerConfig {
        max_recv_data_segment_length: 1 << 20,
        digests,
        ..FramerConfig::default()
    }
}

/// Feeds `stream` in the given chunk sizes (cycled) and collects what the framer returns.
fn decode_in_chunks(stream: &[u8], chunks: &[usize], digests: Digests) -> Vec<Pdu> {
    let mut framer = Framer::new(config(digests));
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut pos = 0;
    let mut i = 0;
    while pos < stream.len() {
        let n = chunks[i % chunks.len()].max(1).min(stream.len() - pos);
        i += 1;
        buf.extend_from_slice(&stream[pos..pos + n]);
        pos += n;
        loop {
            match framer.decode(&mut buf).unwrap() {
                Framed::Pdu(pdu) => out.push(pdu),
                Framed::NeedMore(more) => {
                    assert!(more > 0);
                    break;
                }
                Framed::Malformed(m) => panic!("malformed: {m:?}"),
            }
        }
    }
    assert!(buf.is_empty(), "{} bytes left over", buf.len());
    out
}

fn encode_all(pdus: &[Pdu], digests: Digests) -> Vec<u8> {
    pdus.iter()
        .flat_map(|p| p.to_bytes(digests).unwrap())
        .collect()
}

proptest! {
    #[test]
    fn framer_reassembles_any_chunking(
        pdus in proptest::collection::vec(any_pdu(), 1..8),
        chunks in proptest::collection::vec(1usize..200, 1..10),
        digests in any_digests(),
    ) {
        let stream = encode_all(&pdus, digests);
        prop_assert_eq!(decode_in_chunks(&stream, &chunks, digests), pdus);
    }

    #[test]
    fn framer_never_panics_on_garbage(
        stream in proptest::collection::vec(any::<u8>(), 0..2000),
        digests in any_digests(),
    ) {
        let mut framer = Framer::new(FramerConfig { digests, ..FramerConfig::default() });
        let mut buf = BytesMut::from(&stream[..]);
        while let Ok(Framed::Pdu(_) | Framed::Malformed(_)) = framer.decode(&mut buf) {}
    }
}

#[test]
fn framer_at_every_split_point_and_byte_by_byte() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let pdus: Vec<Pdu> = (0..6)
        .map(|_| any_pdu().new_tree(&mut runner).unwrap().current())
        .collect();
    for digests in [Digests::NONE, Digests::ALL] {
        let stream = encode_all(&pdus, digests);
        assert_eq!(decode_in_chunks(&stream, &[1], digests), pdus);
        for split in 1..stream.len() {
            assert_eq!(
                decode_in_chunks(&stream, &[split, stream.len()], digests),
                pdus
            );
        }
    }
}

fn bhs_with(opcode: u8, ahs_words: u8, data_len: u32) -> BytesMut {
    let mut raw = [0u8; 48];
    let mut bhs = Bhs::new_unchecked(&mut raw[..]);
    bhs.set_opcode(Opcode::from(opcode), false);
    bhs.set_total_ahs_len(usize::from(ahs_words) * 4);
    bhs.set_data_segment_len(data_len);
    BytesMut::from(&raw[..])
}

#[test]
fn refuses_oversized_data_segment_before_buffering_it() {
    let mut framer = Framer::new(FramerConfig::default());
    let mut buf = bhs_with(0x05, 0, 0x00ff_ffff);
    assert_eq!(
        framer.decode(&mut buf).unwrap_err(),
        Error::DataSegmentTooLong {
            length: 0x00ff_ffff,
            max: 8192
        }
    );
    // At the limit it asks for exactly the data segment and no more.
    let mut buf = bhs_with(0x05, 0, 8192);
    assert_eq!(framer.decode(&mut buf).unwrap(), Framed::NeedMore(8192));
}

#[test]
fn refuses_ahs_over_the_configured_bound() {
    let mut framer = Framer::new(FramerConfig {
        max_ahs_length: 64,
        ..FramerConfig::default()
    });
    let mut buf = bhs_with(0x01, 17, 0);
    assert_eq!(
        framer.decode(&mut buf).unwrap_err(),
        Error::AhsTooLong {
            length: 68,
            max: 64
        }
    );
}

#[test]
fn header_digest_error_is_fatal_and_distinct() {
    let mut framer = Framer::new(FramerConfig {
        digests: Digests::ALL,
        ..FramerConfig::default()
    });
    let mut wire = BytesMut::from(&bhs_with(0x00, 0, 0)[..]);
    wire.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    assert!(matches!(
        framer.decode(&mut wire),
        Err(Error::HeaderDigest {
            got: 0xefbe_adde,
            ..
        })
    ));
}

#[test]
fn data_digest_error_is_rejectable_and_stream_continues() {
    let nop = Pdu::NopOut(NopOut {
        immediate: true,
        lun: Lun::ZERO,
        itt: Itt(1),
        ttt: Ttt::RESERVED,
        cmd_sn: SerialNumber(1),
        exp_stat_sn: SerialNumber(1),
        data: Bytes::from_static(b"hello"),
    });
    let mut bad = nop.to_bytes(Digests::ALL).unwrap();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    let mut buf = BytesMut::from(&bad[..]);
    buf.extend_from_slice(&nop.to_bytes(Digests::ALL).unwrap());
    let mut framer = Framer::new(FramerConfig {
        digests: Digests::ALL,
        ..FramerConfig::default()
    });
    let Framed::Malformed(m) = framer.decode(&mut buf).unwrap() else {
        panic!("not malformed")
    };
    assert!(matches!(m.error, Error::DataDigest { .. }));
    assert_eq!(m.error.reject_reason(), Some(RejectReason::DataDigestError));
    assert_eq!(m.opcode(), Opcode::NopOut);
    assert_eq!(m.itt(), Itt(1));
    assert_eq!(&m.header[..], &bad[..48]);
    assert_eq!(framer.decode(&mut buf).unwrap(), Framed::Pdu(nop));
}

#[test]
fn content_error_names_field_and_offset() {
    // A Task Management request must not carry data (RFC 7143 §11.5).
    let mut buf = bhs_with(0x02, 0, 4);
    buf.extend_from_slice(b"oops");
    let mut framer = Framer::new(FramerConfig::default());
    let Framed::Malformed(m) = framer.decode(&mut buf).unwrap() else {
        panic!("not malformed")
    };
    assert_eq!(
        m.error,
        Error::UnexpectedSegment {
            opcode: Opcode::TaskMgmtRequest,
            what: "a data segment",
            length: 4
        }
    );
    // Login with both T and C set (§11.12.2).
    let mut buf = bhs_with(0x03, 0, 0);
    buf[1] = 0xc0;
    let Framed::Malformed(m) = framer.decode(&mut buf).unwrap() else {
        panic!("not malformed")
    };
    assert_eq!(
        m.error,
        Error::InvalidField {
            opcode: Opcode::LoginRequest,
            field: "flags (both T and C)",
            offset: 1
        }
    );
}

#[test]
fn unknown_opcode_is_kept_for_a_reject() {
    let mut buf = bhs_with(0x1d, 0, 3);
    buf.extend_from_slice(&[1, 2, 3, 0]);
    let mut framer = Framer::new(FramerConfig::default());
    let Framed::Pdu(Pdu::Unknown(u)) = framer.decode(&mut buf).unwrap() else {
        panic!()
    };
    assert_eq!(u.opcode(), Opcode::Unknown(0x1d));
    assert_eq!(&u.data[..], &[1, 2, 3]);
}

#[test]
fn decoding_does_not_copy_the_data_segment() {
    let out = Pdu::DataOut(DataOut {
        final_bit: true,
        lun: Lun::ZERO,
        itt: Itt(9),
        ttt: Ttt(3),
        exp_stat_sn: SerialNumber(1),
        data_sn: SerialNumber(0),
        buffer_offset: 0,
        data: Bytes::from(vec![0x5a; 4096]),
    });
    let mut buf = BytesMut::new();
    out.encode_into(Digests::NONE, &mut buf).unwrap();
    let payload_addr = buf[48..].as_ptr();
    let mut framer = Framer::new(FramerConfig::default());
    let Framed::Pdu(Pdu::DataOut(d)) = framer.decode(&mut buf).unwrap() else {
        panic!()
    };
    assert_eq!(d.data.as_ptr(), payload_addr);
}
