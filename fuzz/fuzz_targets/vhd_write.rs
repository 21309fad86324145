//! Fuzz target `vhd_write`: see `vhd::fuzzing::vhd_write`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vhd::fuzzing::vhd_write(data));
