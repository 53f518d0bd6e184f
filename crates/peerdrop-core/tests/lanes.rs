//! Transfers spread over several peer connections (lanes), through the simulated network:
//! every block still verified once, content digests still checked, memory still bounded, and a
//! lost lane resumed like any lost connection.

mod sim;

use peerdrop_core::config::MAX_LANES;
use peerdrop_core::frame::{Frame, Role};
use peerdrop_core::{
    BlockHashing, Config, ErrorCode, Receiver, ReceiverEvent, ReceiverOutput, Sender, SenderEvent,
    SenderOutput,
};
use sim::{content_digest_of_file, manifest, run, sha256_of_file, NetParams};

fn config() -> Config {
    Config { block_size: 64 * 1024, window: 1024 * 1024, max_message_size: 16 * 1024, ..Config::default() }
}

/// A long path whose lanes differ, so blocks on different lanes finish out of order.
fn long_path() -> NetParams {
    NetParams { latency_ms: 25, round_trip_ms: Some(50), lane_skew_ms: 3, ..NetParams::default() }
}

fn digests_reported(out: &sim::Outcome) -> Vec<(u32, Option<[u8; 32]>)> {
    out.receiver_events
        .iter()
        .filter_map(|e| match e {
            ReceiverEvent::FileComplete { file, digest } => Some((*file, *digest)),
            _ => None,
        })
        .collect()
}

fn spread_transfer_is_exact(config: Config) {
    let bs = u64::from(config.block_size);
    let sizes = [40 * bs + 7, 0, 3 * bs, 1, 25 * bs - 1];
    let m = manifest(&sizes);
    let out = run(21, &config, &m, &long_path(), None);
    assert!(out.receiver_complete(), "{:?}", out.receiver_failure());
    assert!(out.sender_complete(), "{:?}", out.sender_failure());
    let used = out.blocks_per_lane.iter().filter(|&&n| n > 0).count();
    assert!(used >= MAX_LANES / 2, "a 50 ms path spreads blocks: {:?}", out.blocks_per_lane);
    let mut sent = out.blocks_sent.clone();
    sent.sort_unstable();
    sent.dedup();
    assert_eq!(sent.len(), out.blocks_sent.len(), "no block is sent twice");
    for (i, &size) in sizes.iter().enumerate() {
        assert_eq!(out.stored_sha256[i], sha256_of_file(21, i as u32, size), "file {i}");
    }
    // Blocks finished out of order, and still every file's content digest was checked.
    let reported = digests_reported(&out);
    assert_eq!(reported.len(), sizes.len());
    for (file, digest) in reported {
        let want = content_digest_of_file(21, file, sizes[file as usize], bs);
        assert_eq!(digest, Some(want), "file {file}");
    }
    // Memory: the receiver within its window, the sender within its read-ahead plus one block
    // per lane.
    assert!(out.max_receiver_held <= config.window, "{}", out.max_receiver_held);
    let blocks = (config.read_ahead_blocks.max(MAX_LANES) + MAX_LANES) as u64;
    assert!(out.max_sender_held as u64 <= blocks * bs, "{}", out.max_sender_held);
}

#[test]
fn blocks_spread_over_lanes_arrive_exact_and_digested() {
    spread_transfer_is_exact(config());
}

#[test]
fn blocks_spread_over_lanes_arrive_exact_when_the_host_hashes() {
    spread_transfer_is_exact(Config { block_hashing: BlockHashing::Host, ..config() });
}

#[test]
fn flipped_bits_on_lanes_are_caught_and_fetched_again() {
    let m = manifest(&[3 << 20]);
    let params = NetParams { flip_ppm: 20_000, ..long_path() };
    let out = run(23, &config(), &m, &params, None);
    assert!(out.flips > 0);
    assert!(out.receiver_events.iter().any(|e| matches!(e, ReceiverEvent::BlockRejected { .. })));
    assert!(out.receiver_complete(), "{:?}", out.receiver_failure());
    assert_eq!(out.stored_sha256[0], sha256_of_file(23, 0, 3 << 20));
    assert!(out.blocks_per_lane[1..].iter().any(|&n| n > 0));
}

#[test]
fn a_local_link_a_small_transfer_or_a_receiver_that_declines_keeps_one_lane() {
    let m = manifest(&[2 << 20]);
    let local = NetParams { round_trip_ms: Some(2), ..NetParams::default() };
    let small = manifest(&[64 * 1024]);
    let declining = Config { max_lanes: 1, ..config() };
    for (what, out) in [
        ("local", run(3, &config(), &m, &local, None)),
        ("small", run(3, &config(), &small, &long_path(), None)),
        ("declined", sim::run_with(3, &config(), &declining, &m, &long_path(), None)),
    ] {
        assert!(out.receiver_complete(), "{what}: {:?}", out.receiver_failure());
        assert_eq!(out.blocks_per_lane[1..].iter().sum::<u64>(), 0, "{what}: {:?}", out.blocks_per_lane);
        if what == "declined" {
            assert_eq!(
                out.lanes_declined,
                (1..MAX_LANES).collect::<Vec<_>>(),
                "every declined lane is released"
            );
        }
    }
}

#[test]
fn a_lost_lane_loses_the_connection_and_the_resume_sends_no_verified_block_twice() {
    let config = config();
    let m = manifest(&[6 << 20]);
    let params = NetParams { lane_lost_after: Some(120), ..long_path() };
    let first = run(31, &config, &m, &params, None);
    let err = first.receiver_failure().expect("losing a lane that carried data loses the connection");
    assert_eq!(err.code, ErrorCode::ConnectionLost);
    assert_eq!(first.sender_failure().map(|e| e.code), Some(ErrorCode::ConnectionLost));
    let verified = first.have_map.files[0].len();
    assert!(verified > 0, "some blocks were verified before the loss");
    let second = run(31, &config, &m, &long_path(), Some(first.have_map.clone()));
    assert!(second.receiver_complete(), "{:?}", second.receiver_failure());
    for (file, index) in &second.blocks_sent {
        assert!(!first.have_map.files[*file as usize].contains(*index), "block {index} was verified already");
    }
    assert!(second.blocks_per_lane[1..].iter().any(|&n| n > 0), "the resumed connection spreads again");
    // Every block stored by one run or the other (the sink checks each stored byte).
    let blocks = (6 << 20) / u64::from(config.block_size);
    for b in 0..blocks {
        assert!(first.have_map.files[0].contains(b) || second.stored[0].contains(b), "block {b} missing");
    }
}

#[test]
fn the_window_follows_the_bandwidth_delay_product() {
    // A fast link with a long round trip: 8 MiB of window cover 80 ms at 100 MB/s, the round
    // trip is 200 ms. Told the round trip, the receiver opens its window to match (and the
    // sender, holding what is in the network to the product it measures plus a quarter, fills
    // the path in about three seconds: hence a transfer long enough to outlast that).
    let fast = Config { window: 8 << 20, max_lanes: 1, ..Config::default() };
    let m = manifest(&[512 << 20]);
    let path = |rtt| NetParams {
        latency_ms: 100,
        bytes_per_ms: 100_000,
        write_ms_per_mib: 0,
        round_trip_ms: rtt,
        ..NetParams::default()
    };
    let fixed = run(41, &fast, &m, &path(None), None);
    let measured = run(41, &fast, &m, &path(Some(200)), None);
    assert!(fixed.receiver_complete() && measured.receiver_complete());
    assert!(
        measured.end_ms * 10 < fixed.end_ms * 9,
        "simulated time, not wall time: {} ms with the measured window against {} ms",
        measured.end_ms,
        fixed.end_ms
    );
    assert!(measured.max_receiver_held <= peerdrop_core::config::MAX_WINDOW);
}

#[test]
fn a_block_retried_before_the_round_trip_was_known_does_not_stay_in_flight() {
    // A slow long path (about 200 KiB per 100 ms round trip, less than half a block): ICE's
    // first measurement comes after the first blocks left, and one of them is damaged and
    // asked for again. Its first copy must leave the sender's count of bytes in the network
    // (the receiver reports every byte it took, verified or not): counted there for good, it
    // alone would fill the path's limit (the product plus half a megabyte) and nothing more
    // could be sent.
    let slow = Config { max_lanes: 1, ..Config::default() };
    let m = manifest(&[12 << 20]);
    let path = NetParams {
        latency_ms: 50,
        bytes_per_ms: 2_000,
        write_ms_per_mib: 0,
        round_trip_ms: Some(100),
        round_trip_after_ms: 1_500,
        flip_ppm: 1_000_000,
        flip_first: 1,
        ..NetParams::default()
    };
    let out = run(43, &slow, &m, &path, None);
    assert_eq!(out.flips, 1);
    assert!(out.receiver_complete(), "{:?}", out.receiver_failure().or(out.sender_failure()));
    assert_eq!(out.files[0], sim::content(43, 0, 0, 12 << 20));
}

#[test]
fn with_two_lanes_a_block_starts_only_when_the_credit_can_finish_it() {
    // A receiver that grants credit for one and a half blocks and no more until a block is
    // whole (as a receiver holding partial blocks must). A block the credit cannot finish
    // would wait half way on its lane; two such blocks, one per lane, could never be finished
    // (the property test `lanes_never_wait_on_each_other` runs whole transfers; this is the
    // rule itself, which fails without the reserve: blocks 0 whole and 1 half started).
    let block = 64 * 1024u64;
    let id = [7; 16];
    let m = manifest(&[16 * block]);
    let config =
        Config { block_size: block as u32, max_message_size: 16 * 1024, max_lanes: 2, ..Config::default() };
    let mut sender = peerdrop_core::Sender::new(config, m.clone(), id, 0);
    let hello = Frame::Hello {
        version: peerdrop_core::config::PROTOCOL_VERSION,
        role: Role::Receiver,
        max_message_size: 16 * 1024,
        block_size: block as u32,
        transfer_id: id,
    };
    let mut now = 0;
    sender.handle_frame(now, &hello.to_vec());
    sender.handle_frame(now, &Frame::Accept { have_bytes: 0 }.to_vec());
    sender.handle_frame(now, &Frame::Want { file: 0, first: 0, count: 16 }.to_vec());
    sender.handle_frame(now, &Frame::Credit { limit: block * 3 / 2 }.to_vec());
    sender.handle_round_trip(now, 100);
    // Per block: bytes sent, and whether all of it went out.
    let mut sent: std::collections::BTreeMap<u64, u64> = Default::default();
    let mut current: [Option<u64>; 2] = [None, None];
    for _ in 0..200 {
        now += 10;
        for lane in 0..2 {
            sender.handle_lane_buffered_amount(now, lane, 0);
        }
        while let Some(output) = sender.poll_output() {
            match output {
                peerdrop_core::SenderOutput::OpenLane(lane) => {
                    assert!(sender.lane_description(now, lane, "sim offer"));
                    sender.handle_frame(
                        now,
                        &Frame::LaneAnswer { lane: lane as u8, sdp: "sim answer" }.to_vec(),
                    );
                }
                peerdrop_core::SenderOutput::LaneAnswer { lane, .. } => sender.handle_lane_open(now, lane),
                peerdrop_core::SenderOutput::Read(r) => sender.handle_read(
                    now,
                    r.file,
                    r.offset,
                    sim::content(1, r.file, r.offset, r.len as usize),
                ),
                peerdrop_core::SenderOutput::Transmit { lane, frame } => match Frame::decode(&frame) {
                    Ok(Frame::Block { index, .. }) => current[lane] = Some(index),
                    Ok(Frame::Data { payload }) => {
                        *sent.entry(current[lane].expect("data after its block")).or_default() +=
                            payload.len() as u64
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
    assert_eq!(sender.open_lanes(), 2, "the second lane opened");
    // The credit covers one block and a half: one block goes out whole, and no other starts
    // until an acknowledgement brings more credit.
    assert_eq!(sent.len(), 1, "blocks started: {sent:?}");
    assert!(sent.values().all(|&n| n == block), "a block was left half way: {sent:?}");
}

/// Drives a receiver by hand into the transferring phase, answering its frames as a sender.
fn transferring_receiver(config: Config) -> Receiver {
    transferring_receiver_of(config, 1 << 20)
}

/// A receiver transferring one file of `size` bytes in 64 KiB blocks.
fn transferring_receiver_of(config: Config, size: u64) -> Receiver {
    let id = [9; 16];
    let mut receiver = Receiver::new(config.clone(), id, 0);
    let hello = Frame::Hello {
        version: peerdrop_core::config::PROTOCOL_VERSION,
        role: Role::Sender,
        max_message_size: 16 * 1024,
        block_size: 64 * 1024,
        transfer_id: id,
    };
    receiver.handle_frame(0, &hello.to_vec());
    let encoded = manifest(&[size]).encode();
    receiver.handle_frame(0, &Frame::Manifest { last: true, part: &encoded }.to_vec());
    receiver.accept(0, None);
    while receiver.poll_output().is_some() {}
    receiver
}

fn failure(receiver: &mut Receiver) -> Option<peerdrop_core::TransferError> {
    std::iter::from_fn(|| receiver.poll_output()).find_map(|o| match o {
        ReceiverOutput::Event(ReceiverEvent::Failed(e)) => Some(e),
        _ => None,
    })
}

/// One way a sender may misuse lanes, played against a receiver.
type Misuse = Box<dyn Fn(&mut Receiver)>;

#[test]
fn a_sender_that_misuses_lanes_is_refused() {
    let block = Frame::Block { file: 0, index: 0, len: 64 * 1024, offset: 0, sha256: [0; 32] }.to_vec();
    let cases: [(&str, Misuse); 6] = [
        (
            "data on a lane this side declined",
            Box::new(|r| {
                r.handle_frame(1, &Frame::LaneOffer { lane: 1, sdp: "" }.to_vec());
                let block =
                    Frame::Block { file: 0, index: 0, len: 64 * 1024, offset: 0, sha256: [0; 32] }.to_vec();
                r.handle_lane_frame(1, 1, &block);
            }),
        ),
        (
            "a lane number beyond the protocol's",
            Box::new(|r| r.handle_frame(1, &Frame::LaneOffer { lane: MAX_LANES as u8, sdp: "x" }.to_vec())),
        ),
        ("lane 0 offered", Box::new(|r| r.handle_frame(1, &Frame::LaneOffer { lane: 0, sdp: "x" }.to_vec()))),
        ("data on a lane never offered", Box::new(move |r| r.handle_lane_frame(1, 2, &block))),
        (
            "a lane offered twice",
            Box::new(|r| {
                r.handle_frame(1, &Frame::LaneOffer { lane: 1, sdp: "x" }.to_vec());
                r.handle_frame(1, &Frame::LaneOffer { lane: 1, sdp: "x" }.to_vec());
            }),
        ),
        (
            "control frames on a lane",
            Box::new(|r| {
                r.handle_frame(1, &Frame::LaneOffer { lane: 1, sdp: "x" }.to_vec());
                r.lane_description(1, 1, "y");
                r.handle_lane_frame(1, 1, &Frame::FileDigest { file: 0, digest: None }.to_vec());
            }),
        ),
    ];
    for (what, misuse) in cases {
        let mut receiver = transferring_receiver(config());
        misuse(&mut receiver);
        let err = failure(&mut receiver).unwrap_or_else(|| panic!("{what}: accepted"));
        assert_eq!(err.code, ErrorCode::ProtocolViolation, "{what}: {}", err.message);
    }
}

#[test]
fn a_lane_beyond_the_receivers_limit_is_declined_not_failed() {
    let mut receiver = transferring_receiver(Config { max_lanes: 3, ..config() });
    let beyond = 3;
    receiver.handle_frame(1, &Frame::LaneOffer { lane: beyond, sdp: "x" }.to_vec());
    let answer = std::iter::from_fn(|| receiver.poll_output()).find_map(|o| match o {
        ReceiverOutput::Transmit(bytes) => Some(bytes),
        _ => None,
    });
    let answer = answer.expect("an answer");
    assert_eq!(Frame::decode(&answer), Ok(Frame::LaneAnswer { lane: beyond, sdp: "" }));
    assert!(!receiver.is_closed());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Any mix of lanes, round trips, windows, messages and slow disks ends complete and exact:
    /// no two lanes each holding part of a block ever wait on each other, whatever the window.
    #[test]
    fn lanes_never_wait_on_each_other(
        seed in 0u64..1000,
        sizes in proptest::collection::vec(0u64..600_000, 1..4),
        rtt in 10u64..200,
        skew in 0u64..20,
        window_blocks in 1u64..6,
        max_lanes in 1usize..=MAX_LANES,
        write_ms_per_mib in 0u64..200,
        bytes_per_ms in 100u64..20_000,
        flip_ppm in proptest::prop_oneof![proptest::strategy::Just(0u64), 0u64..20_000],
    ) {
        let config = Config {
            block_size: 16 * 1024,
            window: window_blocks * 16 * 1024,
            max_message_size: 4 * 1024,
            max_lanes,
            // Small channel buffers: a lane's channel is often full, so others take blocks.
            buffered_start: 4 * 1024,
            buffered_high: 8 * 1024,
            buffered_low: 2 * 1024,
            ..Config::default()
        };
        let m = manifest(&sizes);
        let params = NetParams {
            latency_ms: rtt / 2,
            round_trip_ms: Some(rtt),
            lane_skew_ms: skew,
            write_ms_per_mib,
            bytes_per_ms,
            flip_ppm,
            ..NetParams::default()
        };
        let out = run(seed, &config, &m, &params, None);
        proptest::prop_assert!(out.receiver_complete(), "{:?}", out.receiver_failure());
        for (i, &size) in sizes.iter().enumerate() {
            proptest::prop_assert_eq!(out.stored_sha256[i], sha256_of_file(seed, i as u32, size));
        }
    }
}

#[test]
fn what_is_in_the_network_stays_near_one_product_however_many_lanes_hold_blocks() {
    // 150 ms at 100 Mbit/s (12.5 MB/s), on one lane or spread over eight lanes' links: every
    // lane in the middle of a block, most of it still to leave. What is on the path (queued to
    // leave or travelling) must stay near one bandwidth-delay product plus the sender's half
    // megabyte of headroom: blocks several lanes let go at once overflowed a router's queue
    // and cost the connections most of their speed (docs/performance.md, "Real links").
    let product: u64 = 12_500 * 150;
    // A tenth more for a peak rate measured a report late.
    let bound = product * 11 / 10 + (512 << 10);
    for lanes in [8usize, 1] {
        let cfg = Config { max_lanes: lanes, ..Config::default() };
        let m = manifest(&[32 << 20]);
        let path = NetParams {
            latency_ms: 75,
            bytes_per_ms: 12_500 / lanes as u64,
            write_ms_per_mib: 0,
            round_trip_ms: Some(150),
            ..NetParams::default()
        };
        let out = run(51, &cfg, &m, &path, None);
        assert!(out.receiver_complete(), "{:?}", out.receiver_failure().or(out.sender_failure()));
        assert_eq!(out.blocks_per_lane.iter().filter(|&&n| n > 0).count(), lanes);
        assert!(
            out.max_in_network <= bound,
            "{lanes} lane(s): {} bytes on the path at once, above {bound}",
            out.max_in_network
        );
    }
}

#[test]
fn the_receiver_reports_the_data_it_took_every_128_kib() {
    let mut receiver = transferring_receiver(config());
    let payload = vec![0u8; 8 * 1024];
    let mut reports = Vec::new();
    for index in 0..3 {
        receiver.handle_frame(
            1,
            &Frame::Block { file: 0, index, len: 64 * 1024, offset: 0, sha256: [0; 32] }.to_vec(),
        );
        for _ in 0..8 {
            receiver.handle_frame(1, &Frame::Data { payload: &payload }.to_vec());
            while let Some(output) = receiver.poll_output() {
                if let ReceiverOutput::Transmit(bytes) = output {
                    if let Ok(Frame::Received { bytes }) = Frame::decode(&bytes) {
                        reports.push(bytes);
                    }
                }
            }
        }
    }
    assert_eq!(reports, [peerdrop_core::config::RECEIVED_REPORT_BYTES]);
}

#[test]
fn a_receiver_that_reports_more_than_was_sent_is_refused() {
    let id = [7; 16];
    let m = manifest(&[1 << 20]);
    let mut sender = Sender::new(config(), m, id, 0);
    let hello = Frame::Hello {
        version: peerdrop_core::config::PROTOCOL_VERSION,
        role: Role::Receiver,
        max_message_size: 16 * 1024,
        block_size: 64 * 1024,
        transfer_id: id,
    };
    sender.handle_frame(0, &hello.to_vec());
    sender.handle_frame(1, &Frame::Accept { have_bytes: 0 }.to_vec());
    while sender.poll_output().is_some() {}
    sender.handle_frame(2, &Frame::Received { bytes: 1 }.to_vec());
    let failed = std::iter::from_fn(|| sender.poll_output()).find_map(|o| match o {
        SenderOutput::Event(SenderEvent::Failed(e)) => Some(e),
        _ => None,
    });
    assert_eq!(failed.map(|e| e.code), Some(ErrorCode::ProtocolViolation));
}

/// A lossy long path as each lane sees it: 150 ms, and each connection held to 200 kB/s by
/// its congestion window (1 % loss at 150 ms allows about 100 kB/s to one SCTP association).
fn slow_lanes() -> NetParams {
    NetParams {
        latency_ms: 75,
        bytes_per_ms: 200,
        write_ms_per_mib: 0,
        round_trip_ms: Some(150),
        ..NetParams::default()
    }
}

#[test]
fn a_few_blocks_are_shared_among_more_lanes_than_blocks_every_byte_sent_once() {
    // Four 1 MiB blocks, eight lanes: an idle lane takes half of what another has yet to send,
    // so all eight carry data and the transfer ends well before one lane could move one
    // block (about 5.2 s here). Whole blocks per lane used four lanes and took that long.
    let m = manifest(&[4 << 20]);
    for hashing in [BlockHashing::Engine, BlockHashing::Host] {
        let cfg = Config { block_hashing: hashing, ..Config::default() };
        let out = run(61, &cfg, &m, &slow_lanes(), None);
        assert!(
            out.receiver_complete(),
            "{hashing:?}: {:?}",
            out.receiver_failure().or(out.sender_failure())
        );
        assert!(out.sender_complete(), "{hashing:?}: {:?}", out.sender_failure());
        assert_eq!(out.stored_sha256[0], sha256_of_file(61, 0, 4 << 20));
        let digest = content_digest_of_file(61, 0, 4 << 20, 1 << 20);
        assert_eq!(digests_reported(&out), vec![(0, Some(digest))], "{hashing:?}");
        assert!(!out.split_parts.is_empty(), "{hashing:?}: no part was split off");
        assert!(
            out.blocks_per_lane.iter().all(|&n| n > 0),
            "{hashing:?}: every lane carries data: {:?}",
            out.blocks_per_lane
        );
        assert_eq!(out.data_bytes_sent, 4 << 20, "{hashing:?}: no byte is sent twice");
        assert_eq!(out.blocks_sent.len(), 4, "{hashing:?}: each block is started once");
        let one_block_on_one_lane = (1 << 20) / 200;
        assert!(
            out.end_ms < one_block_on_one_lane * 3 / 4,
            "{hashing:?}: {} ms, one lane's block takes {one_block_on_one_lane} ms",
            out.end_ms
        );
        // Parts of one block share its bytes: the sender never holds the file's bytes twice.
        assert!(out.max_sender_held as u64 <= 4 << 20, "{hashing:?}: {}", out.max_sender_held);
    }
}

#[test]
fn a_shared_block_that_arrives_damaged_is_fetched_again_and_a_resume_skips_verified_ones() {
    // Parts of a block on several lanes: a flipped bit in any of them fails the whole block,
    // which is asked for again; a connection lost mid-way resumes from the verified blocks.
    let m = manifest(&[6 << 20]);
    let flipped = NetParams { flip_ppm: 30_000, ..slow_lanes() };
    for hashing in [BlockHashing::Engine, BlockHashing::Host] {
        let cfg = Config { block_hashing: hashing, ..Config::default() };
        let out = run(62, &cfg, &m, &flipped, None);
        assert!(out.receiver_complete(), "{hashing:?}: {:?}", out.receiver_failure());
        assert_eq!(out.stored_sha256[0], sha256_of_file(62, 0, 6 << 20));
        let rejected_split = out.receiver_events.iter().any(|e| {
            matches!(e, ReceiverEvent::BlockRejected { file, index, .. } if out.split_parts.contains(&(*file, *index)))
        });
        assert!(rejected_split, "{hashing:?}: no block sent in parts was damaged: {:?}", out.split_parts);
    }

    // Twelve blocks on eight lanes: the first ones are verified before the last are split.
    let m = manifest(&[12 << 20]);
    let cut = NetParams { lane_lost_after: Some(260), ..slow_lanes() };
    let first = run(63, &Config::default(), &m, &cut, None);
    assert_eq!(first.receiver_failure().map(|e| e.code), Some(ErrorCode::ConnectionLost));
    let verified = first.have_map.files[0].len();
    assert!(
        !first.split_parts.is_empty() && verified > 0,
        "{verified} verified, split {:?}",
        first.split_parts
    );
    let second = run(63, &Config::default(), &m, &slow_lanes(), Some(first.have_map.clone()));
    assert!(second.receiver_complete(), "{:?}", second.receiver_failure());
    assert!(!second.split_parts.is_empty(), "the resumed connection shares blocks again");
    for (file, index) in &second.blocks_sent {
        assert!(!first.have_map.files[*file as usize].contains(*index), "block {index} was verified already");
    }
    for b in 0..12 {
        assert!(first.have_map.files[0].contains(b) || second.stored[0].contains(b), "block {b} missing");
    }
}

#[test]
fn a_sender_that_starts_blocks_without_end_is_refused_before_the_receiver_keeps_too_many() {
    // Headers and no data: a correct sender never has more blocks partly sent than the data it
    // may send over the smallest part, plus two per lane; more is refused, not kept.
    let mut receiver = transferring_receiver_of(config(), 1 << 30);
    let limit = (64 << 20) / peerdrop_core::config::MIN_BLOCK_PART as u64 + 2 * MAX_LANES as u64;
    for index in 0..limit {
        receiver.handle_frame(
            1,
            &Frame::Block { file: 0, index, len: 64 * 1024, offset: 0, sha256: [0; 32] }.to_vec(),
        );
    }
    assert_eq!(failure(&mut receiver), None, "up to the limit is kept");
    let one_more = Frame::Block { file: 0, index: limit, len: 64 * 1024, offset: 0, sha256: [0; 32] };
    receiver.handle_frame(1, &one_more.to_vec());
    assert_eq!(failure(&mut receiver).map(|e| e.code), Some(ErrorCode::ProtocolViolation));
}
