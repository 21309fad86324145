//! Fuzz target `vhd_header`: see `vhd::fuzzing::vhd_header`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vhd::fuzzing::vhd_header(data));
