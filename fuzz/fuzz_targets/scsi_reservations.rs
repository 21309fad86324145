//! Fuzz target `scsi_reservations`: see `scsi::fuzzing::reservations`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| scsi::fuzzing::reservations(data));
