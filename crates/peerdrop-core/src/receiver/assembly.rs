//! One block put together from its parts (protocol v5, docs/protocol.md §2.6): a block's bytes
//! may come on several lanes, each lane's part announced by a `BLOCK` with the offset its data
//! starts at. The parts are kept as they came and joined once every byte is there.

use crate::config::MAX_BLOCK_PARTS;
use crate::digest::Hasher;
use crate::error::TransferError;
use crate::session::violation;

/// One part's bytes so far, from `start` of the block on.
#[derive(Debug)]
struct Part {
    start: usize,
    data: Vec<u8>,
}

impl Part {
    fn end(&self) -> usize {
        self.start + self.data.len()
    }
}

/// A block whose bytes are arriving.
#[derive(Debug)]
pub struct Assembly {
    pub file: u32,
    pub index: u64,
    pub expected: [u8; 32],
    len: usize,
    parts: Vec<Part>,
    filled: usize,
    /// With the engine hashing: the digest of bytes `0..hashed`, fed as they arrive in order
    /// (on one lane, as they all do without splits), the rest once the block is whole.
    hasher: Option<Hasher>,
    hashed: usize,
}

impl Assembly {
    pub fn new(file: u32, index: u64, len: usize, expected: [u8; 32], engine_hashes: bool) -> Self {
        Assembly {
            file,
            index,
            expected,
            len,
            parts: Vec::new(),
            filled: 0,
            hasher: engine_hashes.then(Hasher::new),
            hashed: 0,
        }
    }

    /// A part announced at `offset` with the block digest `sha256`: its number, for
    /// [`Self::append`].
    pub fn add_part(&mut self, offset: usize, sha256: &[u8; 32]) -> Result<usize, TransferError> {
        if *sha256 != self.expected {
            return Err(violation("two parts of one block announce different digests"));
        }
        let taken = |p: &Part| p.start == offset || (p.start..p.end()).contains(&offset);
        if offset >= self.len || self.parts.iter().any(taken) {
            return Err(violation("a block part starts outside its block or where another part is"));
        }
        if self.parts.len() >= MAX_BLOCK_PARTS as usize {
            return Err(violation(format!("a block came in more than {MAX_BLOCK_PARTS} parts")));
        }
        self.parts.push(Part { start: offset, data: Vec::new() });
        Ok(self.parts.len() - 1)
    }

    /// Appends `payload` to part `part`: refused past the block's end or over bytes another
    /// part brought. With `reserve`, a part from the block's start makes room for the whole
    /// block with its first bytes (it is the whole block unless another lane takes some: one
    /// allocation, no copies as it grows); the caller allows that for a few blocks at once,
    /// so a hostile sender cannot make it reserve what it never sends.
    pub fn append(&mut self, part: usize, payload: &[u8], reserve: bool) -> Result<(), TransferError> {
        let at = self.parts[part].end();
        let end = at + payload.len();
        if end > self.len {
            return Err(violation("data runs past the end of its block"));
        }
        let overlaps = self.parts.iter().enumerate().any(|(i, p)| i != part && p.start < end && at < p.end());
        if overlaps {
            return Err(violation("two parts of one block carry the same bytes"));
        }
        if let Some(hasher) = self.hasher.as_mut().filter(|_| at == self.hashed) {
            hasher.update(payload);
            self.hashed = end;
        }
        let data = &mut self.parts[part].data;
        if reserve && at == 0 && data.capacity() == 0 {
            data.reserve_exact(self.len);
        }
        data.extend_from_slice(payload);
        self.filled += payload.len();
        Ok(())
    }

    pub fn is_complete(&self) -> bool {
        self.filled == self.len
    }

    /// The whole block in order, and its digest when the engine hashes. Only once complete:
    /// the parts then cover the block exactly (no overlap, all within it, lengths summing to
    /// it).
    pub fn finish(mut self) -> (Vec<u8>, Option<[u8; 32]>) {
        debug_assert!(self.is_complete());
        self.parts.sort_unstable_by_key(|p| p.start);
        let mut parts = self.parts.into_iter();
        let mut data = parts.next().map(|p| p.data).unwrap_or_default();
        for p in parts {
            data.extend_from_slice(&p.data);
        }
        let digest = self.hasher.map(|mut h| {
            h.update(&data[self.hashed..]);
            h.finish()
        });
        (data, digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn parts_in_any_order_make_the_block_and_its_digest() {
        let block = bytes(100_000);
        let sha = Hasher::digest(&block);
        for order in [[0usize, 1, 2], [2, 0, 1], [1, 2, 0]] {
            let mut a = Assembly::new(0, 0, block.len(), sha, true);
            let bounds = [(0, 30_000), (30_000, 70_001), (70_001, 100_000)];
            let mut ids = [0; 3];
            for &i in &order {
                ids[i] = a.add_part(bounds[i].0, &sha).unwrap();
            }
            for &i in &order {
                let (s, e) = bounds[i];
                a.append(ids[i], &block[s..(s + e) / 2], true).unwrap();
            }
            for &i in order.iter().rev() {
                let (s, e) = bounds[i];
                assert!(!a.is_complete());
                a.append(ids[i], &block[(s + e) / 2..e], false).unwrap();
            }
            assert!(a.is_complete());
            let (data, digest) = a.finish();
            assert_eq!(data, block, "{order:?}");
            assert_eq!(digest, Some(sha), "{order:?}");
        }
    }

    #[test]
    fn overlapping_stray_or_disagreeing_parts_are_refused() {
        let sha = [1; 32];
        let mut a = Assembly::new(0, 0, 1000, sha, false);
        let first = a.add_part(0, &sha).unwrap();
        assert!(a.add_part(0, &sha).is_err(), "where another part starts, even one still empty");
        a.append(first, &[0; 400], true).unwrap();
        assert!(a.add_part(399, &sha).is_err(), "inside bytes already sent");
        assert!(a.add_part(1000, &sha).is_err(), "past the end");
        assert!(a.add_part(600, &[2; 32]).is_err(), "another digest");
        let second = a.add_part(600, &sha).unwrap();
        a.append(second, &[0; 400], true).unwrap();
        assert!(a.append(second, &[0; 1], true).is_err(), "past the end");
        assert!(a.append(first, &[0; 201], true).is_err(), "into the second part's bytes");
        a.append(first, &[0; 200], true).unwrap();
        assert!(a.is_complete());
        assert_eq!(a.finish().1, None, "the host hashes");
    }

    #[test]
    fn a_block_in_too_many_parts_is_refused() {
        let sha = [0; 32];
        let mut a = Assembly::new(0, 0, 1 << 20, sha, false);
        for i in 0..MAX_BLOCK_PARTS as usize {
            a.add_part(i * 100, &sha).unwrap();
        }
        assert!(a.add_part(1 << 19, &sha).is_err());
    }
}
