//! The blocks a sender with several receivers shares between their engines: each block is
//! read and hashed once, whatever the number of receivers asking for it, and kept for the
//! others within a byte bound.
//!
//! Every receiver has its own [`Sender`](crate::Sender) (its own window, resume and pace);
//! their [`ReadRequest`]s go to the cache instead of the host. The cache asks the host to read
//! a block only when no read of it is under way and no copy is kept, then hands the bytes and
//! digest to every engine that asked (`Sender::handle_hashed_read`). Kept blocks past the bound
//! are dropped least recently used first: a receiver that fell that far behind the others has
//! its blocks read again, and never holds the others back.

use crate::digest::Hasher;
use crate::sender::ReadRequest;
use std::collections::HashMap;

/// Who asked for a block: the host's number for one receiver's engine.
pub type Asker = usize;

/// What the cache asks its host to do, drained with [`BlockCache::poll_output`].
#[derive(Debug, Clone, PartialEq)]
pub enum CacheOutput {
    /// Read this slice and hand it back with [`BlockCache::handle_read`] (or
    /// [`BlockCache::handle_read_error`]).
    Read(ReadRequest),
    /// Give engine `to` this block: `Sender::handle_hashed_read(now, file, offset, data, sha256)`.
    Deliver { to: Asker, file: u32, offset: u64, data: Vec<u8>, sha256: [u8; 32] },
    /// Engine `to` asked for a block that could not be read: `Sender::handle_read_error`.
    Failed { to: Asker, message: String },
}

/// Counts for benchmarks and tests: how much reading and hashing the receivers shared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Reads the host was asked for (each one hashed once).
    pub reads: u64,
    pub bytes_read: u64,
    /// Blocks handed to engines, from a read or from a kept copy.
    pub deliveries: u64,
    pub bytes_delivered: u64,
    /// Bytes of kept blocks now, and the most ever kept.
    pub held_bytes: u64,
    pub max_held_bytes: u64,
}

#[derive(Debug)]
enum Entry {
    /// Asked of the host; these engines wait for it.
    Reading { waiting: Vec<Asker> },
    /// Read and hashed; `used` orders eviction (least recently used first).
    Kept { data: Vec<u8>, sha256: [u8; 32], used: u64 },
}

/// One bounded set of read and hashed blocks for all the receivers of one sender.
#[derive(Debug)]
pub struct BlockCache {
    capacity: u64,
    entries: HashMap<ReadRequest, Entry>,
    /// Ticks on every use, for least-recently-used eviction.
    clock: u64,
    out: std::collections::VecDeque<CacheOutput>,
    stats: CacheStats,
}

impl BlockCache {
    /// A cache that keeps at most `capacity` bytes of blocks once read (blocks being read, and
    /// the one just read while it is handed out, come on top).
    pub fn new(capacity: u64) -> Self {
        BlockCache {
            capacity,
            entries: HashMap::new(),
            clock: 0,
            out: Default::default(),
            stats: CacheStats::default(),
        }
    }

    /// Engine `to` asked for `request` (its `SenderOutput::Read`).
    pub fn request(&mut self, to: Asker, request: ReadRequest) {
        self.clock += 1;
        match self.entries.get_mut(&request) {
            Some(Entry::Kept { data, sha256, used }) => {
                *used = self.clock;
                let (data, sha256) = (data.clone(), *sha256);
                self.deliver(to, request, data, sha256);
            }
            Some(Entry::Reading { waiting }) => waiting.push(to),
            None => {
                self.entries.insert(request, Entry::Reading { waiting: vec![to] });
                self.stats.reads += 1;
                self.stats.bytes_read += u64::from(request.len);
                self.out.push_back(CacheOutput::Read(request));
            }
        }
    }

    /// The bytes of a [`CacheOutput::Read`], with their SHA-256 when the host hashed them
    /// (else the cache hashes them, once). A read nobody asked for is ignored.
    pub fn handle_read(&mut self, request: ReadRequest, data: Vec<u8>, sha256: Option<[u8; 32]>) {
        let Some(waiting) = self.take_waiting(request) else { return };
        let sha256 = sha256.unwrap_or_else(|| Hasher::digest(&data));
        for &to in &waiting {
            self.deliver(to, request, data.clone(), sha256);
        }
        // A block whose length is not what was asked is handed on as it is (the engine fails
        // the transfer with a clear error) but not kept; nor is one larger than the bound,
        // which would only push the kept ones out.
        let len = data.len() as u64;
        if len == u64::from(request.len) && len <= self.capacity {
            self.clock += 1;
            self.stats.held_bytes += len;
            self.entries.insert(request, Entry::Kept { data, sha256, used: self.clock });
            self.evict(request);
            self.stats.max_held_bytes = self.stats.max_held_bytes.max(self.stats.held_bytes);
        }
    }

    /// A [`CacheOutput::Read`] failed: every engine waiting for it hears `message`.
    pub fn handle_read_error(&mut self, request: ReadRequest, message: &str) {
        let Some(waiting) = self.take_waiting(request) else { return };
        for to in waiting {
            self.out.push_back(CacheOutput::Failed { to, message: message.to_string() });
        }
    }

    /// Engine `to` is gone (its receiver ended or was dropped): nothing more is handed to it.
    /// A read under way for it alone still lands and is kept for the others.
    pub fn forget(&mut self, to: Asker) {
        for entry in self.entries.values_mut() {
            if let Entry::Reading { waiting } = entry {
                waiting.retain(|&w| w != to);
            }
        }
        self.out.retain(|o| match o {
            CacheOutput::Deliver { to: t, .. } | CacheOutput::Failed { to: t, .. } => *t != to,
            CacheOutput::Read(_) => true,
        });
    }

    pub fn poll_output(&mut self) -> Option<CacheOutput> {
        self.out.pop_front()
    }

    pub fn stats(&self) -> CacheStats {
        self.stats
    }

    fn deliver(&mut self, to: Asker, r: ReadRequest, data: Vec<u8>, sha256: [u8; 32]) {
        self.stats.deliveries += 1;
        self.stats.bytes_delivered += data.len() as u64;
        self.out.push_back(CacheOutput::Deliver { to, file: r.file, offset: r.offset, data, sha256 });
    }

    /// The engines waiting for `request`, ending its read; `None` when no read of it is under
    /// way (a read handed back twice, or late, leaves a kept copy alone).
    fn take_waiting(&mut self, request: ReadRequest) -> Option<Vec<Asker>> {
        if !matches!(self.entries.get(&request), Some(Entry::Reading { .. })) {
            return None;
        }
        match self.entries.remove(&request) {
            Some(Entry::Reading { waiting }) => Some(waiting),
            _ => None,
        }
    }

    /// Drops kept blocks, least recently used first, until they fit the bound; `keep`, the
    /// block just read (and no larger than the bound), stays.
    fn evict(&mut self, keep: ReadRequest) {
        while self.stats.held_bytes > self.capacity {
            let oldest = self
                .entries
                .iter()
                .filter_map(|(r, e)| match e {
                    Entry::Kept { used, .. } if *r != keep => Some((*used, *r)),
                    _ => None,
                })
                .min();
            let Some((_, r)) = oldest else { return };
            if let Some(Entry::Kept { data, .. }) = self.entries.remove(&r) {
                self.stats.held_bytes -= data.len() as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(file: u32, index: u64) -> ReadRequest {
        ReadRequest { file, offset: index * 4, len: 4 }
    }

    fn drain(cache: &mut BlockCache) -> Vec<CacheOutput> {
        std::iter::from_fn(|| cache.poll_output()).collect()
    }

    fn delivered_to(out: &[CacheOutput]) -> Vec<Asker> {
        out.iter()
            .filter_map(|o| if let CacheOutput::Deliver { to, .. } = o { Some(*to) } else { None })
            .collect()
    }

    #[test]
    fn one_read_serves_every_receiver_that_asks() {
        let mut cache = BlockCache::new(64);
        cache.request(1, r(0, 0));
        cache.request(2, r(0, 0));
        assert_eq!(drain(&mut cache), vec![CacheOutput::Read(r(0, 0))]);
        cache.handle_read(r(0, 0), vec![1, 2, 3, 4], None);
        assert_eq!(delivered_to(&drain(&mut cache)), vec![1, 2]);
        // A latecomer gets the kept copy: no second read.
        cache.request(3, r(0, 0));
        let out = drain(&mut cache);
        assert_eq!(delivered_to(&out), vec![3]);
        let CacheOutput::Deliver { sha256, data, .. } = &out[0] else { panic!() };
        assert_eq!(*sha256, Hasher::digest(&[1, 2, 3, 4]));
        assert_eq!(data, &vec![1, 2, 3, 4]);
        assert_eq!(cache.stats().reads, 1);
        assert_eq!(cache.stats().deliveries, 3);
    }

    #[test]
    fn the_bound_drops_the_least_recently_used_block_and_a_laggard_reads_it_again() {
        let mut cache = BlockCache::new(8);
        for i in 0..3 {
            cache.request(1, r(0, i));
            cache.handle_read(r(0, i), vec![i as u8; 4], Some([i as u8; 32]));
            assert!(cache.stats().held_bytes <= 8);
        }
        drain(&mut cache);
        // Block 0 was dropped for block 2; blocks 1 and 2 are kept.
        cache.request(2, r(0, 1));
        cache.request(2, r(0, 2));
        assert_eq!(delivered_to(&drain(&mut cache)), vec![2, 2]);
        cache.request(2, r(0, 0));
        assert_eq!(drain(&mut cache), vec![CacheOutput::Read(r(0, 0))]);
        assert_eq!(cache.stats().reads, 4);
        assert_eq!(cache.stats().max_held_bytes, 8);
    }

    #[test]
    fn a_block_larger_than_the_bound_still_reaches_everyone_but_is_not_kept() {
        let mut cache = BlockCache::new(2);
        cache.request(1, r(0, 0));
        cache.request(2, r(0, 0));
        cache.handle_read(r(0, 0), vec![9; 4], None);
        assert_eq!(delivered_to(&drain(&mut cache)), vec![1, 2]);
        assert_eq!(cache.stats().held_bytes, 0);
    }

    #[test]
    fn a_failed_read_reaches_every_waiting_engine_and_a_forgotten_one_hears_nothing() {
        let mut cache = BlockCache::new(64);
        for to in [1, 2, 3] {
            cache.request(to, r(1, 0));
        }
        cache.forget(2);
        drain(&mut cache);
        cache.handle_read_error(r(1, 0), "gone");
        let failed: Vec<Asker> = drain(&mut cache)
            .into_iter()
            .filter_map(|o| if let CacheOutput::Failed { to, .. } = o { Some(to) } else { None })
            .collect();
        assert_eq!(failed, vec![1, 3]);
        // Nothing is kept of a failed read: the next ask reads again.
        cache.request(1, r(1, 0));
        assert_eq!(drain(&mut cache), vec![CacheOutput::Read(r(1, 0))]);
    }

    #[test]
    fn a_short_read_is_handed_on_for_the_engine_to_refuse_but_not_kept() {
        let mut cache = BlockCache::new(64);
        cache.request(1, r(0, 0));
        cache.handle_read(r(0, 0), vec![1, 2], None);
        assert_eq!(delivered_to(&drain(&mut cache)), vec![1]);
        cache.request(2, r(0, 0));
        assert_eq!(drain(&mut cache), vec![CacheOutput::Read(r(0, 0))]);
    }

    #[test]
    fn a_read_handed_back_twice_or_failing_late_leaves_the_kept_copy_alone() {
        let mut cache = BlockCache::new(8);
        cache.request(1, r(0, 0));
        cache.handle_read(r(0, 0), vec![1; 4], None);
        drain(&mut cache);
        // A host that answers twice, or reports a failure after the bytes: nobody waits.
        cache.handle_read(r(0, 0), vec![1; 4], None);
        cache.handle_read_error(r(0, 0), "late");
        assert!(drain(&mut cache).is_empty());
        assert_eq!(cache.stats().held_bytes, 4);
        // The kept copy still serves, and the bound still counts only what is kept.
        cache.request(2, r(0, 0));
        assert_eq!(delivered_to(&drain(&mut cache)), vec![2]);
        for i in 1..3 {
            cache.request(1, r(0, i));
            cache.handle_read(r(0, i), vec![i as u8; 4], None);
        }
        drain(&mut cache);
        assert_eq!(cache.stats().held_bytes, 8);
        cache.request(2, r(0, 2));
        assert_eq!(delivered_to(&drain(&mut cache)), vec![2]);
        assert_eq!(cache.stats().reads, 3);
    }

    #[test]
    fn a_block_larger_than_the_bound_drops_none_of_the_kept_ones() {
        let mut cache = BlockCache::new(6);
        cache.request(1, r(0, 0));
        cache.handle_read(r(0, 0), vec![1; 4], None);
        let big = ReadRequest { file: 1, offset: 0, len: 8 };
        cache.request(1, big);
        cache.handle_read(big, vec![2; 8], None);
        drain(&mut cache);
        assert_eq!(cache.stats().held_bytes, 4);
        cache.request(2, r(0, 0));
        assert_eq!(delivered_to(&drain(&mut cache)), vec![2], "block 0 was dropped for one never kept");
    }
}
