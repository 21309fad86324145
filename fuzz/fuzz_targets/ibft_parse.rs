//! Fuzz target `ibft_parse`: see `ibft::fuzzing::ibft_parse`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ibft::fuzzing::ibft_parse(data));
