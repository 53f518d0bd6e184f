//! One sender, several receivers (issue #21): one engine per receiver, one shared block cache.
//! Each receiver must get exact files whatever its path does, each block must be read once
//! while the receivers keep within the cache's bound, and no receiver may hold the others back.

mod sim;

use peerdrop_core::{Config, ErrorCode, HaveMap, ReceiverEvent};
use proptest::prelude::*;
use sim::fanout::{self, FanOutcome, Host, Seat};
use sim::{manifest, sha256_of_file, NetParams, Outcome};

fn config() -> Config {
    Config { block_size: 64 * 1024, window: 256 * 1024, max_message_size: 16 * 1024, ..Config::default() }
}

/// A folder of several files, about 3 MiB: 50 blocks of 64 KiB.
const SIZES: [u64; 4] = [(1 << 20) + 3, 64 * 1024, 0, (2 << 20) - 7];

fn blocks(sizes: &[u64], block_size: u32) -> u64 {
    sizes.iter().map(|s| s.div_ceil(u64::from(block_size))).sum()
}

fn seats(n: usize) -> Vec<Seat> {
    vec![Seat::default(); n]
}

fn run(seed: u64, seats: &[Seat], host: &Host) -> FanOutcome {
    fanout::run(seed, &config(), &manifest(&SIZES), seats, host)
}

/// Complete on both sides, every file as the source has it.
fn assert_exact(seed: u64, sizes: &[u64], seat: usize, out: &Outcome) {
    assert!(out.receiver_complete(), "receiver {seat}: {:?}", out.receiver_failure());
    assert!(out.sender_complete(), "receiver {seat}'s engine: {:?}", out.sender_failure());
    for (i, &size) in sizes.iter().enumerate() {
        assert_eq!(out.stored_sha256[i], sha256_of_file(seed, i as u32, size), "receiver {seat} file {i}");
    }
}

/// What the sender holds beside its engines stays within the cache's bound plus one block per
/// read an engine may have out: however far a receiver lags, the sender's memory does not grow.
fn assert_memory_bound(out: &FanOutcome, host: &Host, receivers: usize) {
    let config = config();
    let block = u64::from(config.block_size);
    let reads_out = receivers as u64 * config.read_ahead_blocks as u64 * block;
    assert!(out.cache.max_held_bytes <= host.cache_bytes, "{:?}", out.cache);
    assert!(
        out.max_host_held <= host.cache_bytes + reads_out,
        "{} > {}",
        out.max_host_held,
        host.cache_bytes
    );
    let engines = receivers as u64 * (config.read_ahead_blocks as u64 + 1) * block;
    assert!(out.max_engines_held <= engines, "{}", out.max_engines_held);
}

fn rejected(out: &Outcome) -> usize {
    out.receiver_events.iter().filter(|e| matches!(e, ReceiverEvent::BlockRejected { .. })).count()
}

#[test]
fn four_receivers_get_exact_files_from_one_read_of_each_block() {
    let out = run(1, &seats(4), &Host::default());
    for (seat, r) in out.receivers.iter().enumerate() {
        assert_exact(1, &SIZES, seat, r);
    }
    let n = blocks(&SIZES, config().block_size);
    assert_eq!(out.cache.reads, n, "each block read once");
    assert_eq!(out.cache.bytes_read, SIZES.iter().sum::<u64>());
    assert_eq!(out.cache.deliveries, 4 * n, "and handed to every engine");
    assert_eq!(out.forgotten.len(), 4, "each engine forgotten once it ended");
}

#[test]
fn corruption_on_one_path_is_fetched_again_from_the_cache_not_the_disk() {
    let mut seats = seats(4);
    seats[1].net.flip_ppm = 30_000;
    // The receiver asks again for a damaged block behind the blocks it asked for first: the
    // default bound (32 MiB) still holds it by then; a bound smaller than the files would not.
    let out = run(2, &seats, &Host::default());
    for (seat, r) in out.receivers.iter().enumerate() {
        assert_exact(2, &SIZES, seat, r);
    }
    let n = blocks(&SIZES, config().block_size);
    assert!(rejected(&out.receivers[1]) > 0, "no block was damaged on the way");
    assert!(out.receivers[1].blocks_sent.len() as u64 > n, "receiver 1 got blocks again");
    assert!(out.receivers.iter().enumerate().all(|(i, r)| i == 1 || rejected(r) == 0));
    assert_eq!(out.cache.reads, n, "the blocks sent again came from the cache");
    assert!(out.cache.deliveries > 4 * n);
}

#[test]
fn a_slow_receiver_does_not_hold_back_the_fast_ones_and_the_sender_memory_stays_bounded() {
    // 512 KiB of cache for 3 MiB: the slow receiver falls further behind than that.
    let host = Host { cache_bytes: 512 * 1024, ..Host::default() };
    let fast = seats(3);
    let mut with_slow = fast.clone();
    with_slow
        .push(Seat { net: NetParams { bytes_per_ms: 5_000, ..NetParams::default() }, ..Seat::default() });
    let alone = run(3, &fast, &host);
    let out = run(3, &with_slow, &host);
    for (seat, r) in out.receivers.iter().enumerate() {
        assert_exact(3, &SIZES, seat, r);
    }
    let slow_end = out.receivers[3].end_ms;
    for seat in 0..3 {
        let (before, now) = (alone.receivers[seat].end_ms, out.receivers[seat].end_ms);
        assert!(
            now <= before + before / 20,
            "receiver {seat}: {now} ms beside a slow one, {before} ms without"
        );
        assert!(now * 2 < slow_end, "the slow receiver was not slow: {now} vs {slow_end} ms");
    }
    let n = blocks(&SIZES, config().block_size);
    assert_eq!(alone.cache.reads, n);
    assert!(out.cache.reads > n, "the slow receiver re-read nothing: the bound was not reached");
    assert_memory_bound(&out, &host, 4);
}

/// A receiver somewhat slower than the others, lagging by less than the cache holds, is served
/// from the cache: the least recently used blocks go first, which are the ones every receiver
/// has had.
#[test]
fn a_receiver_lagging_within_the_cache_bound_reads_nothing_again() {
    // Receiver 2 ends about 1.2 MiB behind the others (three quarters of their rate).
    let host = Host { cache_bytes: 2 << 20, ..Host::default() };
    let mut seats = seats(4);
    seats[2].net.bytes_per_ms = 15_000;
    let out = run(7, &seats, &host);
    for (seat, r) in out.receivers.iter().enumerate() {
        assert_exact(7, &SIZES, seat, r);
    }
    assert!(out.receivers[2].end_ms > out.receivers[0].end_ms + 50, "receiver 2 did not lag");
    assert_eq!(out.cache.reads, blocks(&SIZES, config().block_size));
    assert_memory_bound(&out, &host, 4);
}

#[test]
fn a_receiver_that_vanishes_is_forgotten_and_the_others_complete() {
    let mut seats = seats(4);
    // One whose connection closes, one that goes silent (the idle timeout ends it).
    seats[1].net.disconnect_after = Some(60);
    seats[2].net.blackhole_after = Some(60);
    let out = run(4, &seats, &Host::default());
    for seat in [0, 3] {
        assert_exact(4, &SIZES, seat, &out.receivers[seat]);
        // Long before the silent one timed out.
        assert!(out.receivers[seat].end_ms < 2_000, "{}", out.receivers[seat].end_ms);
    }
    assert_eq!(out.receivers[1].sender_failure().map(|e| e.code), Some(ErrorCode::ConnectionLost));
    assert_eq!(out.receivers[2].sender_failure().map(|e| e.code), Some(ErrorCode::Timeout));
    assert!(!out.receivers[1].receiver_complete() && !out.receivers[2].receiver_complete());
    assert_eq!(out.forgotten.len(), 4);
    assert_eq!(out.cache.reads, blocks(&SIZES, config().block_size));
}

#[test]
fn a_stalled_receiver_comes_back_and_completes() {
    let host = Host { cache_bytes: 512 * 1024, ..Host::default() };
    let mut seats = seats(3);
    // Longer than the stall watchdog (10 s), shorter than the idle timeout (30 s).
    seats[2].net.stall = Some((40, 12_000));
    let out = run(5, &seats, &host);
    for (seat, r) in out.receivers.iter().enumerate() {
        assert_exact(5, &SIZES, seat, r);
    }
    let stalled = &out.receivers[2];
    assert!(stalled.receiver_events.iter().any(|e| matches!(e, ReceiverEvent::Stalled { .. })));
    assert!(stalled.end_ms > 12_040);
    assert!(out.receivers[0].end_ms < 1_000 && out.receivers[1].end_ms < 1_000, "held back by the stall");
    // The others moved on past the cache's bound: the one that came back read again.
    assert!(out.cache.reads > blocks(&SIZES, config().block_size));
    assert_memory_bound(&out, &host, 3);
}

#[test]
fn a_receiver_that_resumes_gets_no_verified_block_again() {
    let mut first = seats(3);
    first[1].net.disconnect_after = Some(120);
    let out = run(6, &first, &Host::default());
    let cut = &out.receivers[1];
    assert!(cut.disconnected && !cut.receiver_complete());
    let saved = HaveMap::from_bytes(&cut.have_map.to_bytes()).unwrap();
    let n = blocks(&SIZES, config().block_size);
    let verified: u64 = saved.files.iter().map(|f| f.len()).sum();
    assert!(verified > 0 && verified < n, "{verified} of {n} blocks verified before the cut");

    let mut second = seats(3);
    second[1].resume = Some(saved.clone());
    let out = run(6, &second, &Host::default());
    let resumed = &out.receivers[1];
    assert!(resumed.receiver_complete(), "{:?}", resumed.receiver_failure());
    for &(file, index) in &resumed.blocks_sent {
        assert!(!saved.files[file as usize].contains(index), "block {file}/{index} sent again");
    }
    assert_eq!(resumed.blocks_sent.len() as u64, n - verified);
    for (i, &size) in SIZES.iter().enumerate() {
        for b in 0..size.div_ceil(u64::from(config().block_size)) {
            assert!(
                saved.files[i].contains(b) || resumed.stored[i].contains(b),
                "file {i} block {b} missing"
            );
        }
    }
    for seat in [0, 2] {
        assert_exact(6, &SIZES, seat, &out.receivers[seat]);
    }
    assert_eq!(out.cache.reads, n);
}

/// One receiver's path in the property: rate, latency, damage, and whether it vanishes.
fn seat_strategy() -> impl Strategy<Value = Seat> {
    (500u64..40_000, 0u64..20, 0u64..15_000, prop::option::weighted(0.2, 0u64..300)).prop_map(
        |(bytes_per_ms, latency_ms, flip_ppm, disconnect_after)| Seat {
            net: NetParams { bytes_per_ms, latency_ms, flip_ppm, disconnect_after, ..NetParams::default() },
            ..Seat::default()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_receiver_that_stays_gets_exact_files_within_the_cache_bound(
        seed in any::<u64>(),
        sizes in prop::collection::vec(0u64..300_000, 1..4),
        seats in prop::collection::vec(seat_strategy(), 1..6),
        // From nothing kept (every block read once per receiver) to everything kept.
        cache_blocks in 0u64..24,
    ) {
        let config = Config { block_size: 16 * 1024, window: 64 * 1024, ..config() };
        let host = Host { cache_bytes: cache_blocks * 16 * 1024, ..Host::default() };
        let out = fanout::run(seed, &config, &manifest(&sizes), &seats, &host);
        for (seat, r) in out.receivers.iter().enumerate() {
            if r.disconnected {
                prop_assert_eq!(r.sender_failure().map(|e| e.code), Some(ErrorCode::ConnectionLost));
                continue;
            }
            if let Some(err) = r.receiver_failure() {
                // Damaged more times than a block is fetched again: a typed end, nothing wrong stored.
                prop_assert_eq!(err.code, ErrorCode::IntegrityFailed, "receiver {}", seat);
                prop_assert!(r.flips > u64::from(config.max_block_retries));
                continue;
            }
            prop_assert!(r.receiver_complete(), "receiver {} did not finish", seat);
            for (i, &size) in sizes.iter().enumerate() {
                prop_assert_eq!(r.stored_sha256[i], sha256_of_file(seed, i as u32, size));
            }
        }
        let block = u64::from(config.block_size);
        prop_assert!(out.cache.max_held_bytes <= host.cache_bytes);
        let reads_out = seats.len() as u64 * config.read_ahead_blocks as u64 * block;
        prop_assert!(out.max_host_held <= host.cache_bytes + reads_out);
        let n = blocks(&sizes, config.block_size);
        if host.cache_bytes >= sizes.iter().sum::<u64>() {
            prop_assert!(out.cache.reads <= n, "{} reads of {} blocks that all fit", out.cache.reads, n);
        }
    }
}
