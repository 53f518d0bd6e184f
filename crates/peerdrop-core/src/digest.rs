//! SHA-256 as the engine uses it, in one place.
//!
//! The `bench-unhashed` feature replaces it with a no-op so `make bench` can show what the
//! hashing costs. Both peers would have to be built that way to talk; never ship it.

#[cfg(not(feature = "bench-unhashed"))]
use sha2::{Digest, Sha256};

/// An incremental SHA-256.
#[derive(Debug, Clone, Default)]
pub struct Hasher {
    #[cfg(not(feature = "bench-unhashed"))]
    inner: Sha256,
}

impl Hasher {
    pub fn new() -> Self {
        Self::default()
    }

    #[cfg(not(feature = "bench-unhashed"))]
    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    #[cfg(feature = "bench-unhashed")]
    pub fn update(&mut self, _data: &[u8]) {}

    #[cfg(not(feature = "bench-unhashed"))]
    pub fn finish(self) -> [u8; 32] {
        self.inner.finalize().into()
    }

    #[cfg(feature = "bench-unhashed")]
    pub fn finish(self) -> [u8; 32] {
        [0; 32]
    }

    /// The digest of one buffer.
    pub fn digest(data: &[u8]) -> [u8; 32] {
        let mut h = Hasher::new();
        h.update(data);
        h.finish()
    }
}
