//! A receiver fed a hostile sender's messages (see `peerdrop_core_fuzz::hostile_sender`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    peerdrop_core_fuzz::hostile_sender(data);
});
