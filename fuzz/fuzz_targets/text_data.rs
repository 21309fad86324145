//! Fuzz target `text_data`: see `iscsi_pdu::fuzzing::text_data`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| iscsi_pdu::fuzzing::text_data(data));
