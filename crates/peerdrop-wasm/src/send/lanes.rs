//! The sender's side of extra lanes: it opens each one the engine asks for (a new peer
//! connection and channel, offered through the engine over the first channel), applies the
//! receiver's answer, and reports the lane's opening or failure back to the engine.

use super::{Shared, State};
use crate::channel;
use crate::clock::now_ms;
use crate::driver;
use crate::lane::{self, LaneConn, LANE_LABEL};
use crate::rtc;
use std::rc::Rc;
use wasm_bindgen_futures::spawn_local;
use web_sys::{RtcPeerConnection, RtcSdpType};

/// Lane `lane` (if `pc` is still it) failed or closed: the engine learns it; one that never
/// opened is released at once (one that did loses the whole connection, and goes with it).
fn lane_lost(shared: &Shared, lane: usize, pc: &RtcPeerConnection) {
    driver::on_lane(shared, lane, pc, |s: &mut State| {
        let opened = driver::lane_was_opened(s, lane);
        if let Some(engine) = s.engine.as_mut() {
            engine.handle_lane_lost(now_ms(), lane);
        }
        if !opened {
            release(s, lane);
        }
    });
}

/// Releases lane `lane`'s connection (declined, or never opened).
pub fn release(s: &mut State, lane: usize) {
    if let Some(c) = s.page.conn.as_mut() {
        c.remove_lane(lane);
    }
}

/// Opens lane `lane` (`SenderOutput::OpenLane`).
pub fn open(shared: &Shared, lane: usize) {
    let first = shared.borrow().page.conn.as_ref().map(|c| c.pc.clone());
    let Some(pc) = first.and_then(|first| lane::peer_connection_like(&first).ok()) else {
        lost(shared, lane);
        return;
    };
    let dc = rtc::open_labelled_channel(&pc, LANE_LABEL);
    let weak = Rc::downgrade(shared);
    let (w1, w2, w3) = (weak.clone(), weak.clone(), weak.clone());
    let (p1, p2, p3) = (pc.clone(), pc.clone(), pc.clone());
    let hooks = channel::attach(
        &dc,
        move || {
            if let Some(shared) = w1.upgrade() {
                driver::on_lane(&shared, lane, &p1, |s: &mut State| {
                    if let Some(engine) = s.engine.as_mut() {
                        engine.handle_lane_open(now_ms(), lane);
                    }
                    driver::lane_opened(s, lane);
                });
            }
        },
        // The receiver sends nothing on a lane.
        |_| {},
        move || {
            if let Some(shared) = w2.upgrade() {
                driver::on_lane(&shared, lane, &p2, |_: &mut State| {});
            }
        },
        move || {
            if let Some(shared) = w3.upgrade() {
                lane_lost(&shared, lane, &p3);
            }
        },
    );
    let p4 = pc.clone();
    let ice_hook = rtc::on_ice_failed(&pc, move || {
        if let Some(shared) = weak.upgrade() {
            lane_lost(&shared, lane, &p4);
        }
    });
    let mut conn = LaneConn::new(pc.clone(), ice_hook);
    conn.set_channel(dc, hooks);
    match shared.borrow_mut().page.conn.as_mut() {
        Some(c) => c.set_lane(lane, conn),
        None => return,
    }
    let shared = shared.clone();
    spawn_local(async move {
        match rtc::make_offer(&pc).await {
            Ok(sdp) => driver::on_lane(&shared, lane, &pc, |s: &mut State| {
                let offered = s.engine.as_mut().is_some_and(|e| e.lane_description(now_ms(), lane, &sdp));
                if !offered {
                    release(s, lane);
                }
            }),
            Err(_) => lane_lost(&shared, lane, &pc),
        }
    });
}

/// Applies the receiver's answer for lane `lane` (`SenderOutput::LaneAnswer`).
pub fn answer(shared: &Shared, lane: usize, sdp: String) {
    let pc = shared.borrow().page.conn.as_ref().and_then(|c| c.lane(lane)).map(|l| l.pc.clone());
    let Some(pc) = pc else { return };
    let shared = shared.clone();
    spawn_local(async move {
        if rtc::set_remote(&pc, RtcSdpType::Answer, &sdp).await.is_err() {
            lane_lost(&shared, lane, &pc);
        }
    });
}

/// A lane that could not even be created.
fn lost(shared: &Shared, lane: usize) {
    if let Some(engine) = shared.borrow_mut().engine.as_mut() {
        engine.handle_lane_lost(now_ms(), lane);
    }
    driver::pump(shared);
}

/// Feeds every channel's `bufferedAmount` to the engine (before it is drained).
pub fn report_buffered(s: &mut State) {
    let now = now_ms();
    let Some(conn) = s.page.conn.as_ref() else { return };
    let Some(engine) = s.engine.as_mut() else { return };
    for (lane, dc) in conn.channels() {
        engine.handle_lane_buffered_amount(now, lane, u64::from(dc.buffered_amount()));
    }
}

/// Moves every channel's low-water mark with its lane's ramp (after the engine was drained).
/// The marks as last set are kept: reading one back is a call into JS on every pump.
pub fn set_low_thresholds(s: &mut State) {
    let Some(engine) = s.engine.as_ref() else { return };
    let Some(conn) = s.page.conn.as_ref() else { return };
    for (lane, dc) in conn.channels() {
        let low = engine.lane_buffered_low(lane).min(u64::from(u32::MAX)) as u32;
        if s.low_thresholds.len() <= lane {
            s.low_thresholds.resize(lane + 1, u32::MAX);
        }
        if low != s.low_thresholds[lane] {
            s.low_thresholds[lane] = low;
            dc.set_buffered_amount_low_threshold(low);
        }
    }
}
