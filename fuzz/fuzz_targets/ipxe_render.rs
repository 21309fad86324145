//! Fuzz target `ipxe_render`: see `ipxe_script::fuzzing::ipxe_render`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ipxe_script::fuzzing::ipxe_render(data));
