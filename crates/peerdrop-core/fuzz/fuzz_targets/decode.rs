//! Every decoder that reads peer bytes (see `peerdrop_core_fuzz::decode`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    peerdrop_core_fuzz::decode(data);
});
