//! One direction of the emulated link, without I/O: frames go in with the time they arrived and
//! come out at the time the far end would see them. Time is a value (nanoseconds since the
//! emulator started), so the tests drive it by hand.
//!
//! The model is a router's egress port and the cable after it:
//! 1. While the link is down, every frame is dropped (and frames on the wire when it goes down
//!    are lost with it, as when a cable is pulled).
//! 2. With a rate limit, a frame waits in a drop-tail queue until the frames ahead of it have been
//!    serialized; if the bytes still waiting plus its own would exceed `queue_bytes`, it is
//!    dropped. It then takes `len * 8 / rate` to serialize. Without a rate limit it leaves at once.
//! 3. Random loss happens on the wire, after serialization: a lost frame used its share of the
//!    link, as on a real lossy cable.
//! 4. It reaches the far end `delay` after its last bit left. Frames never overtake each other,
//!    even when the delay is lowered at run time.
//!
//! Departures are thus spaced by their serialization time at the configured rate, never released
//! in bursts: a receiver's 128 KiB socket buffer sees what a real link of that rate would hand it.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// Frames held in the delay line with no rate limit (no queue to bound them) are capped at this
/// many bytes, so a misconfigured delay cannot eat the machine's memory: 1 Gbit/s for 500 ms.
pub const MAX_HELD_BYTES: usize = 64 * 1024 * 1024;

/// Bytes of queue for a rate limit given without `queue_bytes`: 50 ms at that rate, at least
/// 64 KiB (a modest home router's buffer).
pub fn default_queue_bytes(rate_bps: u64) -> usize {
    ((rate_bps / 8 / 20) as usize).max(64 * 1024)
}

/// What one direction does to the frames it carries.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// One-way propagation delay, nanoseconds.
    pub delay_ns: u64,
    /// Probability that a frame is lost on the wire, 0.0 to 1.0.
    pub loss: f64,
    /// Bits per second; `None` is unlimited (no serialization time, no queue).
    pub rate_bps: Option<u64>,
    /// Drop-tail queue size in bytes (only with a rate limit).
    pub queue_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { delay_ns: 0, loss: 0.0, rate_bps: None, queue_bytes: 0 }
    }
}

/// What happened to a frame offered to the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It will come out at `deliver_at` (`Link::pop_due`).
    Queued { deliver_at: u64 },
    /// Lost on the wire (random loss).
    Lost,
    /// The queue was full (or, without a rate limit, the delay line held `MAX_HELD_BYTES`).
    QueueFull,
    /// The link is down.
    Down,
}

/// Counters of one direction, as the stats line reports them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub forwarded_frames: u64,
    pub forwarded_bytes: u64,
    pub dropped_loss: u64,
    pub dropped_queue: u64,
    pub dropped_down: u64,
    /// The most bytes that ever waited in the queue.
    pub max_queue_bytes: usize,
}

struct Held {
    deliver_at: u64,
    frame: Vec<u8>,
}

/// One direction of the link (see the module docs for the model).
pub struct Link {
    config: Config,
    up: bool,
    rng: ChaCha8Rng,
    /// Frames on their way, in delivery order (delivery times never decrease).
    held: VecDeque<Held>,
    held_bytes: usize,
    /// (time its last bit leaves, length) of each frame not yet fully serialized, in order.
    serializing: VecDeque<(u64, usize)>,
    queued_bytes: usize,
    /// When the transmitter is free for the next frame.
    tx_free_at: u64,
    last_deliver_at: u64,
    stats: Stats,
}

impl Link {
    pub fn new(config: Config, seed: u64) -> Self {
        Link {
            config,
            up: true,
            rng: ChaCha8Rng::seed_from_u64(seed),
            held: VecDeque::new(),
            held_bytes: 0,
            serializing: VecDeque::new(),
            queued_bytes: 0,
            tx_free_at: 0,
            last_deliver_at: 0,
            stats: Stats::default(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// New settings apply to frames offered from now on; frames already queued keep their times.
    pub fn configure(&mut self, config: Config) {
        self.config = config;
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Takes the link down (everything on it is lost) or brings it back.
    pub fn set_up(&mut self, up: bool, now: u64) {
        if self.up && !up {
            self.stats.dropped_down += self.held.len() as u64;
            self.held.clear();
            self.held_bytes = 0;
            self.serializing.clear();
            self.queued_bytes = 0;
            self.tx_free_at = now;
        }
        self.up = up;
    }

    /// A frame arrived at `now`.
    pub fn offer(&mut self, now: u64, frame: Vec<u8>) -> Verdict {
        if !self.up {
            self.stats.dropped_down += 1;
            return Verdict::Down;
        }
        self.finish_serialized(now);
        let len = frame.len();
        let sent_at = match self.config.rate_bps {
            Some(rate) => {
                if self.queued_bytes + len > self.config.queue_bytes {
                    self.stats.dropped_queue += 1;
                    return Verdict::QueueFull;
                }
                let start = self.tx_free_at.max(now);
                let end = start + serialization_ns(len, rate);
                self.tx_free_at = end;
                self.serializing.push_back((end, len));
                self.queued_bytes += len;
                self.stats.max_queue_bytes = self.stats.max_queue_bytes.max(self.queued_bytes);
                end
            }
            None => {
                if self.held_bytes + len > MAX_HELD_BYTES {
                    self.stats.dropped_queue += 1;
                    return Verdict::QueueFull;
                }
                now
            }
        };
        if self.lost() {
            self.stats.dropped_loss += 1;
            return Verdict::Lost;
        }
        let deliver_at = (sent_at + self.config.delay_ns).max(self.last_deliver_at);
        self.last_deliver_at = deliver_at;
        self.held_bytes += len;
        self.held.push_back(Held { deliver_at, frame });
        Verdict::Queued { deliver_at }
    }

    /// When the next frame is due at the far end, if any is on its way.
    pub fn next_due(&self) -> Option<u64> {
        self.held.front().map(|h| h.deliver_at)
    }

    /// The next frame due by `now`, if any: call until `None` and send each.
    pub fn pop_due(&mut self, now: u64) -> Option<Vec<u8>> {
        if self.held.front()?.deliver_at > now {
            return None;
        }
        let held = self.held.pop_front()?;
        self.held_bytes -= held.frame.len();
        self.stats.forwarded_frames += 1;
        self.stats.forwarded_bytes += held.frame.len() as u64;
        Some(held.frame)
    }

    /// Frames whose last bit has left by `now` no longer count against the queue.
    fn finish_serialized(&mut self, now: u64) {
        while let Some(&(end, len)) = self.serializing.front() {
            if end > now {
                break;
            }
            self.serializing.pop_front();
            self.queued_bytes -= len;
        }
    }

    fn lost(&mut self) -> bool {
        // 53 random bits give a uniform f64 in [0, 1).
        self.config.loss > 0.0
            && ((self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < self.config.loss
    }
}

/// Nanoseconds to put `len` bytes on a wire of `rate_bps`, rounded up.
pub fn serialization_ns(len: usize, rate_bps: u64) -> u64 {
    ((len as u128 * 8 * 1_000_000_000).div_ceil(rate_bps as u128)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn link(config: Config) -> Link {
        Link::new(config, 7)
    }

    fn drain(l: &mut Link, now: u64) -> Vec<usize> {
        std::iter::from_fn(|| l.pop_due(now)).map(|f| f.len()).collect()
    }

    #[test]
    fn delay_holds_each_frame_exactly_that_long() {
        let mut l = link(Config { delay_ns: 25 * MS, ..Config::default() });
        assert_eq!(l.offer(3 * MS, vec![0; 100]), Verdict::Queued { deliver_at: 28 * MS });
        assert_eq!(l.next_due(), Some(28 * MS));
        assert!(l.pop_due(28 * MS - 1).is_none());
        assert_eq!(drain(&mut l, 28 * MS), vec![100]);
        assert_eq!(l.stats().forwarded_frames, 1);
        assert_eq!(l.stats().forwarded_bytes, 100);
    }

    #[test]
    fn a_rate_limit_spaces_departures_by_serialization_time() {
        // 1500 bytes at 12 Mbit/s take exactly 1 ms.
        let mut l = link(Config {
            delay_ns: 10 * MS,
            rate_bps: Some(12_000_000),
            queue_bytes: 100_000,
            ..Config::default()
        });
        let times: Vec<u64> = (0..5)
            .map(|_| match l.offer(0, vec![0; 1500]) {
                Verdict::Queued { deliver_at } => deliver_at,
                v => panic!("{v:?}"),
            })
            .collect();
        assert_eq!(times, vec![11 * MS, 12 * MS, 13 * MS, 14 * MS, 15 * MS]);
        // Released one by one as time passes, not in a burst.
        assert_eq!(drain(&mut l, 12 * MS).len(), 2);
        assert_eq!(drain(&mut l, 12 * MS + MS / 2).len(), 0);
        assert_eq!(drain(&mut l, 13 * MS).len(), 1);
    }

    #[test]
    fn the_queue_drops_tail_when_full_and_frees_as_frames_leave() {
        let mut l = link(Config { rate_bps: Some(12_000_000), queue_bytes: 3000, ..Config::default() });
        assert!(matches!(l.offer(0, vec![0; 1500]), Verdict::Queued { .. }));
        assert!(matches!(l.offer(0, vec![0; 1500]), Verdict::Queued { .. }));
        assert_eq!(l.offer(0, vec![0; 1500]), Verdict::QueueFull);
        assert_eq!(l.stats().dropped_queue, 1);
        assert_eq!(l.stats().max_queue_bytes, 3000);
        // The first frame has left the transmitter after 1 ms: room for one more.
        assert!(matches!(l.offer(MS, vec![0; 1500]), Verdict::Queued { .. }));
        assert_eq!(l.offer(MS, vec![0; 1500]), Verdict::QueueFull);
    }

    #[test]
    fn an_idle_link_sends_at_once_after_a_busy_spell() {
        let mut l = link(Config { rate_bps: Some(12_000_000), queue_bytes: 10_000, ..Config::default() });
        l.offer(0, vec![0; 1500]);
        assert_eq!(l.offer(50 * MS, vec![0; 1500]), Verdict::Queued { deliver_at: 51 * MS });
    }

    #[test]
    fn loss_matches_its_probability_and_a_seed_repeats_it() {
        let config = Config { loss: 0.01, ..Config::default() };
        let run = |seed| {
            let mut l = Link::new(config.clone(), seed);
            (0..100_000).map(|i| l.offer(i, vec![0; 10]) == Verdict::Lost).collect::<Vec<_>>()
        };
        let a = run(1);
        let lost = a.iter().filter(|x| **x).count();
        assert!((800..1200).contains(&lost), "lost {lost} of 100000 at 1 %");
        assert_eq!(a, run(1), "the same seed loses the same frames");
        assert_ne!(a, run(2));
    }

    #[test]
    fn no_loss_configured_loses_nothing() {
        let mut l = link(Config::default());
        for i in 0..10_000 {
            assert!(matches!(l.offer(i, vec![0; 10]), Verdict::Queued { .. }));
        }
        assert_eq!(l.stats().dropped_loss, 0);
    }

    #[test]
    fn down_drops_what_arrives_and_what_was_on_the_wire() {
        let mut l = link(Config { delay_ns: 10 * MS, ..Config::default() });
        l.offer(0, vec![0; 100]);
        l.offer(0, vec![0; 100]);
        l.set_up(false, MS);
        assert!(!l.is_up());
        assert_eq!(l.offer(2 * MS, vec![0; 100]), Verdict::Down);
        assert_eq!(l.next_due(), None);
        assert_eq!(l.stats().dropped_down, 3);
        l.set_up(true, 3 * MS);
        assert_eq!(l.offer(3 * MS, vec![0; 100]), Verdict::Queued { deliver_at: 13 * MS });
        assert_eq!(drain(&mut l, 20 * MS).len(), 1);
    }

    #[test]
    fn lowering_the_delay_never_reorders() {
        let mut l = link(Config { delay_ns: 50 * MS, ..Config::default() });
        l.offer(0, vec![1]);
        l.configure(Config { delay_ns: 5 * MS, ..Config::default() });
        assert_eq!(l.offer(MS, vec![2]), Verdict::Queued { deliver_at: 50 * MS });
        let order: Vec<u8> = std::iter::from_fn(|| l.pop_due(60 * MS)).map(|f| f[0]).collect();
        assert_eq!(order, vec![1, 2]);
    }

    #[test]
    fn unlimited_rate_caps_the_delay_line() {
        let mut l = link(Config { delay_ns: 1_000 * MS, ..Config::default() });
        let frame = 1 << 20;
        for _ in 0..MAX_HELD_BYTES / frame {
            assert!(matches!(l.offer(0, vec![0; frame]), Verdict::Queued { .. }));
        }
        assert_eq!(l.offer(0, vec![0; frame]), Verdict::QueueFull);
    }

    #[test]
    fn serialization_time_rounds_up() {
        assert_eq!(serialization_ns(1500, 12_000_000), 1_000_000);
        assert_eq!(serialization_ns(1, 3), 2_666_666_667);
        assert_eq!(default_queue_bytes(100_000_000), 625_000);
        assert_eq!(default_queue_bytes(1_000_000), 64 * 1024);
    }
}
