//! Native engine throughput: a `Sender` and a `Receiver` wired back to back in memory, with
//! reads and writes completing at once, so the figure is the engine's own cost per byte.
//!
//! `cargo bench -p peerdrop-core --bench engine` (hashing on) and the same with
//! `--features bench-unhashed` (hashing off). Prints one JSON object per run for `make bench`.
//! Set `PEERDROP_BENCH_MIB` to change the size (default 256).

use peerdrop_core::{
    Config, FileEntry, Manifest, Receiver, ReceiverEvent, ReceiverOutput, Sender, SenderOutput,
};
use std::time::Instant;

fn transfer(total: u64, config: &Config) -> f64 {
    let manifest = Manifest {
        files: vec![FileEntry { path: "bench.bin".into(), size: total, modified_ms: 0, mime: String::new() }],
    };
    let id = [3u8; 16];
    let mut sender = Sender::new(config.clone(), manifest, id, 0);
    let mut receiver = Receiver::new(config.clone(), id, 0);
    let block: Vec<u8> = (0..config.block_size).map(|i| (i * 31 % 251) as u8).collect();
    let start = Instant::now();
    let mut done = false;
    while !done {
        let mut moved = false;
        sender.handle_buffered_amount(0, 0);
        while let Some(output) = sender.poll_output() {
            moved = true;
            match output {
                SenderOutput::Read(r) => {
                    sender.handle_read(0, r.file, r.offset, block[..r.len as usize].to_vec())
                }
                SenderOutput::Transmit(frame) => receiver.handle_frame(0, &frame),
                SenderOutput::Event(_) => {}
            }
        }
        while let Some(output) = receiver.poll_output() {
            moved = true;
            match output {
                ReceiverOutput::Transmit(frame) => sender.handle_frame(0, &frame),
                ReceiverOutput::Write(w) => receiver.handle_write_done(0, w.file, w.offset),
                ReceiverOutput::Digest(_) => unreachable!("the engine hashes (BlockHashing::Engine)"),
                ReceiverOutput::Event(ReceiverEvent::Offer(_)) => receiver.accept(0, None),
                ReceiverOutput::Event(ReceiverEvent::Complete) => done = true,
                ReceiverOutput::Event(ReceiverEvent::Failed(e)) => panic!("bench transfer failed: {e}"),
                ReceiverOutput::Event(_) => {}
            }
        }
        assert!(moved || done, "bench transfer stalled");
    }
    total as f64 / (1024.0 * 1024.0) / start.elapsed().as_secs_f64()
}

fn main() {
    let mib: u64 = std::env::var("PEERDROP_BENCH_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    let config = Config::default();
    let mut runs: Vec<f64> = (0..5).map(|_| transfer(mib << 20, &config)).collect();
    runs.sort_by(f64::total_cmp);
    let hashing = !cfg!(feature = "bench-unhashed");
    println!(
        "{{\"bench\":\"engine\",\"hashing\":{hashing},\"mib\":{mib},\"block_size\":{},\"runs_mib_per_s\":{:?},\"median_mib_per_s\":{:.1}}}",
        config.block_size, runs, runs[2]
    );
}
