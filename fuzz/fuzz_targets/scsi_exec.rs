//! Fuzz target `scsi_exec`: see `scsi::fuzzing::scsi_exec`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| scsi::fuzzing::scsi_exec(data));
