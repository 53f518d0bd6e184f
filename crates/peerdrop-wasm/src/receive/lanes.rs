//! The receiver's side of extra lanes: it answers each lane the sender offers over the first
//! channel (a new peer connection configured as the first), and feeds the lane's block data to
//! the engine. A lane that closes after its channel opened may have lost block data in flight:
//! the connection counts as lost, and is restored as after any drop.

use super::{Shared, State};
use crate::channel;
use crate::clock::now_ms;
use crate::driver;
use crate::lane::{self, LaneConn};
use crate::rtc;
use peerdrop_core::Receiver;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{RtcDataChannelEvent, RtcDataChannelType, RtcPeerConnection};

/// Runs `f` on the engine if `pc` is still lane `lane` of the current connection, then drains.
fn on_engine(shared: &Shared, lane: usize, pc: &RtcPeerConnection, f: impl FnOnce(&mut Receiver)) {
    driver::on_lane(shared, lane, pc, |s: &mut State| {
        if let Some(engine) = s.engine.as_mut() {
            f(engine);
        }
    });
}

/// A lane closed or failed: lost block data if it had opened (the whole connection goes);
/// otherwise it is only released.
fn closed(shared: &Shared, lane: usize, pc: &RtcPeerConnection) {
    driver::on_lane(shared, lane, pc, |s: &mut State| {
        if driver::lane_was_opened(s, lane) {
            if let Some(engine) = s.engine.as_mut() {
                engine.handle_connection_lost(now_ms());
            }
        } else if let Some(c) = s.page.conn.as_mut() {
            c.remove_lane(lane);
        }
    });
}

/// Answers the sender's offer of lane `lane` (`ReceiverOutput::LaneOffer`); a lane that cannot
/// be made is declined.
pub fn answer(shared: &Shared, lane: usize, offer: String) {
    let first = shared.borrow().page.conn.as_ref().map(|c| c.pc.clone());
    let Some(pc) = first.and_then(|first| lane::peer_connection_like(&first).ok()) else {
        if let Some(engine) = shared.borrow_mut().engine.as_mut() {
            engine.lane_description(now_ms(), lane, "");
        }
        driver::pump(shared);
        return;
    };
    let weak = Rc::downgrade(shared);
    let w1 = weak.clone();
    let p1 = pc.clone();
    let ice_hook = rtc::on_ice_failed(&pc, move || {
        if let Some(shared) = w1.upgrade() {
            closed(&shared, lane, &p1);
        }
    });
    let p2 = pc.clone();
    let channel_hook = Closure::<dyn FnMut(RtcDataChannelEvent)>::new(move |event: RtcDataChannelEvent| {
        let Some(shared) = weak.upgrade() else { return };
        let dc = event.channel();
        dc.set_binary_type(RtcDataChannelType::Arraybuffer);
        let (w_open, w_msg, w_close) =
            (Rc::downgrade(&shared), Rc::downgrade(&shared), Rc::downgrade(&shared));
        let (p_open, p_msg, p_close) = (p2.clone(), p2.clone(), p2.clone());
        let hooks = channel::attach(
            &dc,
            move || {
                if let Some(shared) = w_open.upgrade() {
                    driver::on_lane(&shared, lane, &p_open, |s: &mut State| driver::lane_opened(s, lane));
                }
            },
            move |bytes| {
                if let Some(shared) = w_msg.upgrade() {
                    on_engine(&shared, lane, &p_msg, |engine| {
                        engine.handle_lane_frame(now_ms(), lane, bytes)
                    });
                }
            },
            || {},
            move || {
                if let Some(shared) = w_close.upgrade() {
                    closed(&shared, lane, &p_close);
                }
            },
        );
        let mut s = shared.borrow_mut();
        if let Some(l) = s.page.conn.as_mut().and_then(|c| c.lane_mut(lane)) {
            l.set_channel(dc, hooks);
        }
    });
    let mut conn = LaneConn::new(pc.clone(), ice_hook);
    conn.set_channel_hook(channel_hook);
    match shared.borrow_mut().page.conn.as_mut() {
        Some(c) => c.set_lane(lane, conn),
        None => return,
    }
    let shared = shared.clone();
    spawn_local(async move {
        let answer = rtc::make_answer(&pc, &offer).await;
        driver::on_lane(&shared, lane, &pc, |s: &mut State| {
            // An answer that could not be made (or sent) declines the lane, and it is released.
            let sdp = answer.as_deref().unwrap_or("");
            let answered = s.engine.as_mut().is_some_and(|e| e.lane_description(now_ms(), lane, sdp));
            if !answered {
                if let Some(c) = s.page.conn.as_mut() {
                    c.remove_lane(lane);
                }
            }
        });
    });
}
