//! A hostile sender: after a valid HELLO, the receiver is fed arbitrary messages. It must end
//! in a typed error or keep going, never panic, and never hold more than its window.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peerdrop_core::frame::{Frame, Role};
use peerdrop_core::{Config, Receiver};

fuzz_target!(|data: &[u8]| {
    let config = Config { window: 256 * 1024, block_size: 16 * 1024, ..Config::default() };
    let id = [7u8; 16];
    let mut receiver = Receiver::new(config.clone(), id, 0);
    let hello = Frame::Hello { version: 1, role: Role::Sender, max_message_size: 65536, block_size: 16384, transfer_id: id };
    receiver.handle_frame(0, &hello.to_vec());
    let mut now = 0;
    // Messages are length-prefixed in the fuzz input: u16 length, then that many bytes.
    let mut rest = data;
    while rest.len() >= 2 {
        let len = (u16::from_be_bytes([rest[0], rest[1]]) as usize).min(rest.len() - 2);
        let (msg, tail) = rest[2..].split_at(len);
        rest = tail;
        now += 10;
        receiver.handle_frame(now, msg);
        if receiver.manifest().is_some() {
            receiver.accept(now, None);
        }
        while let Some(w) = receiver.poll_write() {
            receiver.handle_write_done(now, w.file, w.offset);
        }
        while receiver.poll_transmit().is_some() {}
        while receiver.poll_event().is_some() {}
        assert!(receiver.held_bytes() <= config.window);
    }
});
