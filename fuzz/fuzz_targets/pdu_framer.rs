//! Fuzz target `pdu_framer`: see `iscsi_pdu::fuzzing::pdu_framer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| iscsi_pdu::fuzzing::pdu_framer(data));
