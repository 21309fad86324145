//! Fuzz target `vhd_footer`: see `vhd::fuzzing::vhd_footer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vhd::fuzzing::vhd_footer(data));
