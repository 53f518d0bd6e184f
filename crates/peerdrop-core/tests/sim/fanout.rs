//! One sender with several receivers, as the browser runtime runs it: one [`Link`] per receiver
//! (its own `Sender` engine, `Receiver`, path and faults) and one `BlockCache` between those
//! engines and the sender's one disk. The disk reads (and hashes) one block at a time at
//! `read_ms_per_mib`, so reading a block once or once per receiver shows in the time.

use super::link::{Advance, Link, Pump};
use super::{content, NetParams, Outcome};
use peerdrop_core::{
    BlockCache, BlockHashing, CacheOutput, CacheStats, Config, HaveMap, Manifest, ReadRequest,
};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;

/// One receiver: its path, and what it brings.
#[derive(Clone, Debug, Default)]
pub struct Seat {
    pub net: NetParams,
    /// Its own configuration (the sender's when `None`).
    pub config: Option<Config>,
    /// The have-map it resumes from.
    pub resume: Option<HaveMap>,
}

/// The sending host.
#[derive(Clone, Debug)]
pub struct Host {
    /// The shared cache's bound (`flow.sharedCache`).
    pub cache_bytes: u64,
    /// Milliseconds the disk needs to read and hash a MiB (at least 1 ms a block).
    pub read_ms_per_mib: u64,
    /// Simulated time after which the run stops, whatever is left (a receiver the cache
    /// starved would otherwise keep its engines alive on keepalives forever).
    pub deadline_ms: u64,
}

impl Default for Host {
    fn default() -> Self {
        Host { cache_bytes: 32 << 20, read_ms_per_mib: 16, deadline_ms: 600_000 }
    }
}

/// What a run with several receivers ended with.
#[derive(Debug)]
pub struct FanOutcome {
    /// Each receiver's connection, in seat order; `end_ms` is when that connection ended.
    pub receivers: Vec<Outcome>,
    pub cache: CacheStats,
    /// Most bytes the sender's host held at once beside its engines: blocks kept by the cache,
    /// being read, and handed out but not yet taken by an engine.
    pub max_host_held: u64,
    /// Most bytes the sender's engines held at once, all together.
    pub max_engines_held: u64,
    /// Receivers whose engine ended and was forgotten by the cache, in order.
    pub forgotten: Vec<usize>,
    pub end_ms: u64,
}

/// The seed of seat `i`'s faults: seat 0 draws the same as a lone [`super::run`].
fn seat_seed(seed: u64, i: usize) -> u64 {
    seed.wrapping_add((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Runs one sender with `seats.len()` receivers until every connection ended (or the deadline).
pub fn run(seed: u64, config: &Config, manifest: &Manifest, seats: &[Seat], host: &Host) -> FanOutcome {
    let n = seats.len();
    let mut links: Vec<Option<Link>> = seats
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let rconfig = s.config.as_ref().unwrap_or(config);
            Some(Link::new(seed, seat_seed(seed, i), 0, config, rconfig, manifest, &s.net, s.resume.clone()))
        })
        .collect();
    let mut outcomes: Vec<Option<Outcome>> = (0..n).map(|_| None).collect();
    let mut disk = Disk { host: host.clone(), free_at: 0, reading: VecDeque::new() };
    let mut cache = BlockCache::new(host.cache_bytes);
    let host_hashes = config.block_hashing == BlockHashing::Host;
    // Blocks (or failures) the cache handed out, for the engines at the next step.
    let mut handoffs: VecDeque<CacheOutput> = VecDeque::new();
    let mut forgotten = Vec::new();
    let (mut max_host_held, mut max_engines_held) = (0, 0);
    let mut now = 0u64;
    for _step in 0..50_000_000u64 {
        let mut again = false;
        for (i, link) in links.iter_mut().enumerate() {
            let Some(link) = link else { continue };
            again |= link.pump(now) == Pump::Again;
            for r in link.reads.drain(..) {
                cache.request(i, r);
            }
            // The runtime forgets an engine once it ended (its Complete or Failed event).
            if link.sender.is_closed() && !forgotten.contains(&i) {
                forget(&mut cache, &mut handoffs, &mut forgotten, i);
            }
        }
        disk.take(now, &mut cache, &mut handoffs);
        let handed: u64 = handoffs
            .iter()
            .map(|h| if let CacheOutput::Deliver { data, .. } = h { data.len() as u64 } else { 0 })
            .sum();
        max_host_held = max_host_held.max(cache.stats().held_bytes + disk.held() + handed);
        let engines: usize = links.iter().flatten().map(|l| l.sender.held_bytes()).sum();
        max_engines_held = max_engines_held.max(engines as u64);
        if again {
            continue;
        }
        for (i, slot) in links.iter_mut().enumerate() {
            if slot.as_ref().is_some_and(Link::is_done) {
                outcomes[i] = Some(slot.take().unwrap().finish(now));
            }
        }
        let next = links
            .iter()
            .flatten()
            .filter_map(|l| l.next_time(now))
            .chain(disk.reading.front().map(|r| r.0))
            .chain((!handoffs.is_empty()).then_some(now))
            .min();
        let Some(next) = next.filter(|&t| t <= host.deadline_ms) else { break };
        now = now.max(next);
        let mut go = vec![false; n];
        for (i, slot) in links.iter_mut().enumerate() {
            let Some(link) = slot else { continue };
            match link.advance_network(now) {
                Advance::Go => go[i] = true,
                Advance::Skip => {}
                Advance::Cut => {
                    outcomes[i] = Some(slot.take().unwrap().finish(now));
                    if !forgotten.contains(&i) {
                        forget(&mut cache, &mut handoffs, &mut forgotten, i);
                    }
                }
            }
        }
        // Reads the disk finished go to the cache, and what it hands out to the engines.
        while disk.reading.front().is_some_and(|r| r.0 <= now) {
            let (_, r) = disk.reading.pop_front().unwrap();
            let data = content(seed, r.file, r.offset, r.len as usize);
            let sha256 = host_hashes.then(|| Sha256::digest(&data).into());
            cache.handle_read(r, data, sha256);
        }
        disk.take(now, &mut cache, &mut handoffs);
        for h in handoffs.drain(..) {
            let (CacheOutput::Deliver { to, .. } | CacheOutput::Failed { to, .. }) = h else {
                unreachable!("reads go to the disk")
            };
            assert!(!forgotten.contains(&to), "the cache handed something to engine {to} after forget({to})");
            let link = links[to].as_mut().expect("a live engine");
            match h {
                CacheOutput::Deliver { file, offset, data, sha256, .. } => {
                    link.sender.handle_hashed_read(now, file, offset, data, sha256);
                }
                CacheOutput::Failed { message, .. } => link.sender.handle_read_error(now, &message),
                CacheOutput::Read(_) => unreachable!(),
            }
        }
        for (i, link) in links.iter_mut().enumerate() {
            if let (true, Some(link)) = (go[i], link) {
                link.advance_host(now);
            }
        }
    }
    for (i, slot) in links.iter_mut().enumerate() {
        if let Some(link) = slot.take() {
            outcomes[i] = Some(link.finish(now));
        }
    }
    FanOutcome {
        receivers: outcomes.into_iter().map(Option::unwrap).collect(),
        cache: cache.stats(),
        max_host_held,
        max_engines_held,
        forgotten,
        end_ms: now,
    }
}

fn forget(
    cache: &mut BlockCache,
    handoffs: &mut VecDeque<CacheOutput>,
    forgotten: &mut Vec<usize>,
    i: usize,
) {
    cache.forget(i);
    handoffs.retain(
        |h| !matches!(h, CacheOutput::Deliver { to, .. } | CacheOutput::Failed { to, .. } if *to == i),
    );
    forgotten.push(i);
}

/// The sender's disk: one read at a time.
struct Disk {
    host: Host,
    free_at: u64,
    /// Reads under way: (done time, request), in order.
    reading: VecDeque<(u64, ReadRequest)>,
}

impl Disk {
    /// Drains the cache: reads start on the disk, blocks and failures wait for the engines.
    fn take(&mut self, now: u64, cache: &mut BlockCache, handoffs: &mut VecDeque<CacheOutput>) {
        while let Some(o) = cache.poll_output() {
            match o {
                CacheOutput::Read(r) => {
                    let cost = (u64::from(r.len) * self.host.read_ms_per_mib).div_ceil(1 << 20).max(1);
                    self.free_at = self.free_at.max(now) + cost;
                    self.reading.push_back((self.free_at, r));
                }
                other => handoffs.push_back(other),
            }
        }
    }

    fn held(&self) -> u64 {
        self.reading.iter().map(|(_, r)| u64::from(r.len)).sum()
    }
}
