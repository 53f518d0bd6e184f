//! Every decoder that reads peer bytes: frames, manifests, saved have-maps. None may panic
//! or allocate more than the input justifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peerdrop_core::frame::Frame;
use peerdrop_core::{HaveMap, Manifest};

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = Frame::decode(data) {
        assert_eq!(frame.to_vec(), data, "a decoded frame re-encodes to the same bytes");
    }
    if let Ok(manifest) = Manifest::decode(data) {
        assert!(manifest.validate().is_ok());
    }
    if let Ok(map) = HaveMap::from_bytes(data) {
        assert_eq!(map.to_bytes(), data);
    }
});
