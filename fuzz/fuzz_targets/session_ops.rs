//! Fuzz target `session_ops`: see `iscsi_target::fuzzing::session_ops`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| iscsi_target::fuzzing::session_ops(data));
