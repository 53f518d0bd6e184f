//! SHA-256 as the engine uses it, in one place, and the content digest built from it.
//!
//! There is no switch to turn it off: a Cargo feature would reach every build that unifies it
//! (a dependant, `--all-features`). The engine bench measures without hashing through the
//! host-hashing API instead (`benches/engine.rs`).

use sha2::{Digest, Sha256};

/// An incremental SHA-256.
#[derive(Debug, Clone, Default)]
pub struct Hasher {
    inner: Sha256,
}

impl Hasher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    pub fn finish(self) -> [u8; 32] {
        self.inner.finalize().into()
    }

    /// The digest of one buffer.
    pub fn digest(data: &[u8]) -> [u8; 32] {
        let mut h = Hasher::new();
        h.update(data);
        h.finish()
    }
}

/// A file's content digest: SHA-256 over its block digests, in block order.
///
/// Each block is hashed once anyway (it is the unit of verification), so the file's digest
/// costs 32 bytes of hashing per block instead of a second pass over every byte: that second
/// pass was a third of each side's main-thread time in `make bench`. The same construction as
/// Dropbox's `content_hash`; it depends on the block size, which both peers negotiate.
/// A file of size 0 has no blocks, so its digest is SHA-256 of nothing.
#[derive(Debug, Clone, Default)]
pub struct ContentDigest {
    hasher: Hasher,
    blocks: u64,
}

impl ContentDigest {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next block's SHA-256; the caller keeps blocks in order.
    pub fn push(&mut self, block_sha256: &[u8; 32]) {
        self.hasher.update(block_sha256);
        self.blocks += 1;
    }

    /// Blocks added so far, i.e. the index of the next block expected.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    pub fn finish(&self) -> [u8; 32] {
        self.hasher.clone().finish()
    }
}
