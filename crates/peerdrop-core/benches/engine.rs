//! Native engine throughput: a `Sender` and a `Receiver` wired back to back in memory, with
//! reads and writes completing at once, so the figure is the engine's own cost per byte.
//!
//! `cargo bench -p peerdrop-core --bench engine` measures two ways and prints one JSON object
//! for each (`make bench-core`, `make bench`):
//! - `"hashing":true`: the engine hashes every block on both sides, as in a transfer with
//!   [`BlockHashing::Engine`];
//! - `"hashing":false`: the same transfer through the engine's host-hashing API
//!   ([`Sender::handle_hashed_read`], [`BlockHashing::Host`]), with the block digests computed
//!   once before the clock starts, so the difference is what hashing costs. The blocks are
//!   still verified (against the supplied digests), and the library has no way to turn that
//!   off: a Cargo feature for it would reach every build that unifies it (`tests/integrity.rs`).
//!
//! Set `PEERDROP_BENCH_MIB` to change the size (default 256).

use peerdrop_core::{
    BlockHashing, Config, FileEntry, Hasher, Manifest, Receiver, ReceiverEvent, ReceiverOutput, Sender,
    SenderOutput,
};
use std::time::Instant;

fn transfer(total: u64, config: &Config) -> f64 {
    let manifest = Manifest {
        files: vec![FileEntry { path: "bench.bin".into(), size: total, modified_ms: 0, mime: String::new() }],
    };
    let id = [3u8; 16];
    let host_hashes = config.block_hashing == BlockHashing::Host;
    let mut sender = Sender::new(config.clone(), manifest, id, 0);
    let mut receiver = Receiver::new(config.clone(), id, 0);
    let block: Vec<u8> = (0..config.block_size).map(|i| (i * 31 % 251) as u8).collect();
    // Every block is a prefix of `block`, so its digest depends on its length only: the full
    // blocks' and the last one's, hashed here, outside the timing.
    let tail = (total % u64::from(config.block_size)) as usize;
    let digests: Vec<(usize, [u8; 32])> =
        [block.len(), tail].into_iter().map(|len| (len, Hasher::digest(&block[..len]))).collect();
    let digest_of = |len: usize| digests.iter().find(|(l, _)| *l == len).expect("a block's length").1;
    let start = Instant::now();
    let mut done = false;
    while !done {
        let mut moved = false;
        sender.handle_lane_buffered_amount(0, 0, 0);
        while let Some(output) = sender.poll_output() {
            moved = true;
            match output {
                SenderOutput::Read(r) => {
                    let data = block[..r.len as usize].to_vec();
                    if host_hashes {
                        sender.handle_hashed_read(0, r.file, r.offset, data, digest_of(r.len as usize));
                    } else {
                        sender.handle_read(0, r.file, r.offset, data);
                    }
                }
                SenderOutput::Transmit { frame, .. } => receiver.handle_frame(0, &frame),
                // No round trip is reported: one lane.
                SenderOutput::OpenLane(_)
                | SenderOutput::LaneAnswer { .. }
                | SenderOutput::CloseLane(_)
                | SenderOutput::Event(_) => {}
            }
        }
        while let Some(output) = receiver.poll_output() {
            moved = true;
            match output {
                ReceiverOutput::Transmit(frame) => sender.handle_frame(0, &frame),
                ReceiverOutput::Write(w) => receiver.handle_write_done(0, w.file, w.offset),
                ReceiverOutput::Digest(d) => {
                    receiver.handle_block_digest(0, d.file, d.index, digest_of(d.data.len()), d.data)
                }
                ReceiverOutput::Event(ReceiverEvent::Offer(_)) => receiver.accept(0, None),
                ReceiverOutput::Event(ReceiverEvent::Complete) => done = true,
                ReceiverOutput::Event(ReceiverEvent::Failed(e)) => panic!("bench transfer failed: {e}"),
                ReceiverOutput::Event(_) | ReceiverOutput::LaneOffer { .. } => {}
            }
        }
        assert!(moved || done, "bench transfer stalled");
    }
    total as f64 / (1024.0 * 1024.0) / start.elapsed().as_secs_f64()
}

fn main() {
    let mib: u64 = std::env::var("PEERDROP_BENCH_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    for (hashing, block_hashing) in [(true, BlockHashing::Engine), (false, BlockHashing::Host)] {
        let config = Config { block_hashing, ..Config::default() };
        let mut runs: Vec<f64> = (0..5).map(|_| transfer(mib << 20, &config)).collect();
        runs.sort_by(f64::total_cmp);
        println!(
            "{{\"bench\":\"engine\",\"hashing\":{hashing},\"mib\":{mib},\"block_size\":{},\"runs_mib_per_s\":{:?},\"median_mib_per_s\":{:.1}}}",
            config.block_size, runs, runs[2]
        );
    }
}
