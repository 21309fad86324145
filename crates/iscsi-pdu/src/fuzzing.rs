//! Entry points of the cargo-fuzz targets in `fuzz/` (rustls's `internal::fuzzing` idea): each
//! takes arbitrary bytes and asserts the crate's invariants. They panic only when an invariant
//! is broken, which is what the fuzzer looks for. `tests/fuzz_corpus.rs` replays the committed
//! seeds through them in `cargo test`.

use bytes::{Bytes, BytesMut};

use crate::ahs::MAX_AHS_LEN;
use crate::bhs::BHS_LEN;
use crate::text_data::{TextAssembler, TextPairs, split_for_pdus};
use crate::{Digests, Framed, Framer, FramerConfig, Pdu};

fn digests(selector: u8) -> Digests {
    Digests {
        header: selector & 1 != 0,
        data: selector & 2 != 0,
    }
}

/// Asserts that `pdu` encodes, and that the encoding parses back to `pdu` and re-encodes to the
/// same bytes. Returns the encoding.
fn assert_round_trip(pdu: &Pdu, digests: Digests) -> Vec<u8> {
    let wire = match pdu.to_bytes(digests) {
        Ok(wire) => wire,
        Err(e) => panic!("a parsed PDU failed to encode: {e}"),
    };
    let again = match Pdu::parse(Bytes::from(wire.clone()), digests) {
        Ok(again) => again,
        Err(e) => panic!("an encoded PDU failed to parse: {e}"),
    };
    assert_eq!(&again, pdu, "parse(encode(pdu)) != pdu");
    assert_eq!(
        again.to_bytes(digests).ok().as_ref(),
        Some(&wire),
        "encoding is not stable"
    );
    wire
}

/// `pdu_framer`: byte 0 picks digests and MaxRecvDataSegmentLength, byte 1 the chunk size;
/// the rest is a byte stream fed to a [`Framer`] in those chunks. Every PDU it yields must
/// round-trip, every malformed one must be rejectable, and it must never ask for more bytes
/// than the negotiated limits allow.
pub fn pdu_framer(data: &[u8]) {
    let [selector, chunk, stream @ ..] = data else {
        return;
    };
    let max = [512u32, 8192, 65536, 262_144][usize::from(selector >> 2 & 3)];
    let config = FramerConfig {
        max_recv_data_segment_length: max,
        digests: digests(*selector),
        ..FramerConfig::default()
    };
    let bound = BHS_LEN + MAX_AHS_LEN + 4 + max as usize + 3 + 4;
    let chunk = usize::from(*chunk).max(1);
    let mut framer = Framer::new(config);
    let mut buf = BytesMut::new();
    for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match framer.decode(&mut buf) {
                Ok(Framed::Pdu(pdu)) => {
                    assert_round_trip(&pdu, config.digests);
                }
                Ok(Framed::Malformed(m)) => {
                    assert!(
                        m.error.reject_reason().is_some(),
                        "unrejectable: {:?}",
                        m.error
                    );
                }
                Ok(Framed::NeedMore(n)) => {
                    assert!(n > 0, "NeedMore(0)");
                    assert!(
                        buf.len() + n <= bound,
                        "asked to buffer {} bytes",
                        buf.len() + n
                    );
                    break;
                }
                Err(_) => return,
            }
        }
    }
}

/// `pdu_round_trip`: byte 0 picks digests; the rest is parsed as one PDU. When it parses, it
/// must encode, parse back equal, and re-encode identically.
pub fn pdu_round_trip(data: &[u8]) {
    let [selector, pdu @ ..] = data else { return };
    let digests = digests(*selector);
    if let Ok(pdu) = Pdu::parse(Bytes::copy_from_slice(pdu), digests) {
        assert_round_trip(&pdu, digests);
    }
}

/// `text_data`: byte 0 picks a PDU segment size, the rest is `key=value\0` text. Reassembling it
/// from segments of that size must give what parsing it whole gives; and when it parses, the
/// pairs must emit and parse back equal.
pub fn text_data(data: &[u8]) {
    let [segment, text @ ..] = data else { return };
    let whole = TextPairs::parse(text);
    let mut assembler = TextAssembler::new();
    let mut reassembled = None;
    for (chunk, more) in split_for_pdus(text, usize::from(*segment).max(1)) {
        match assembler.push(chunk, more) {
            Ok(Some(pairs)) => reassembled = Some(Ok(pairs)),
            Ok(None) => {}
            Err(e) => {
                reassembled = Some(Err(e));
                break;
            }
        }
    }
    assert_eq!(
        reassembled.map(|r| r.ok()),
        Some(whole.clone().ok()),
        "reassembly differs"
    );
    if let Ok(pairs) = whole {
        let wire = pairs.to_bytes();
        match TextPairs::parse(&wire) {
            Ok(again) => assert_eq!(again, pairs, "parse(emit(pairs)) != pairs"),
            Err(e) => panic!("emitted text failed to parse: {e}"),
        }
    }
}
