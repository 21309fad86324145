//! Fuzz target `pdu_round_trip`: see `iscsi_pdu::fuzzing::pdu_round_trip`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| iscsi_pdu::fuzzing::pdu_round_trip(data));
