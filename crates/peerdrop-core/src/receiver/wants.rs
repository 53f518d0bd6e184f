//! The receiver's copy of the sender's queue of `WANT` ranges, so that it never asks for more
//! at once than a sender keeps ([`MAX_QUEUED_WANTS`]): an offer of 100 000 files, or a resume
//! from a have-map with many gaps, needs more ranges than that. The rest wait here and go out
//! as the sender starts sending the blocks of earlier ones.
//!
//! The sender serves its ranges in the order they came, and starts a range's last block only
//! after dropping the range from its queue, so a range counted here is still queued there or
//! already gone: the count here is never below the sender's. Blocks on different lanes arrive
//! out of order, so a block of a later range means every range before it is gone there too.

use crate::config::MAX_QUEUED_WANTS;
use crate::frame::Frame;
use std::collections::VecDeque;

/// Blocks `first..end` of `file`.
type Range = (u32, u64, u64);

#[derive(Debug)]
pub struct Wants {
    limit: usize,
    /// Asked for, in the order sent, trimmed as their blocks start arriving.
    sent: VecDeque<Range>,
    /// Not asked for yet.
    waiting: VecDeque<Range>,
}

impl Default for Wants {
    fn default() -> Self {
        Wants::with_limit(MAX_QUEUED_WANTS)
    }
}

impl Wants {
    pub fn with_limit(limit: usize) -> Self {
        Wants { limit: limit.max(1), sent: VecDeque::new(), waiting: VecDeque::new() }
    }

    /// Blocks `first..end` of `file` are to be asked for.
    pub fn push(&mut self, file: u32, first: u64, end: u64) {
        if first < end {
            self.waiting.push_back((file, first, end));
        }
    }

    /// The sender started sending block `index` of `file`: the ranges before the one that holds
    /// it are gone from the sender's queue, and so is the part of it up to this block.
    pub fn arrived(&mut self, file: u32, index: u64) {
        let Some(at) =
            self.sent.iter().position(|&(f, first, end)| f == file && (first..end).contains(&index))
        else {
            return;
        };
        self.sent.drain(..at);
        let (_, first, end) = self.sent.front_mut().expect("found above");
        *first = index + 1;
        if first == end {
            self.sent.pop_front();
        }
    }

    /// The next `WANT` that fits in the sender's queue.
    pub fn next_frame(&mut self) -> Option<Frame<'static>> {
        if self.sent.len() >= self.limit {
            return None;
        }
        let range = self.waiting.pop_front()?;
        self.sent.push_back(range);
        let (file, first, end) = range;
        Some(Frame::Want { file, first, count: end - first })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(wants: &mut Wants) -> Vec<(u32, u64, u64)> {
        std::iter::from_fn(|| wants.next_frame())
            .map(|f| match f {
                Frame::Want { file, first, count } => (file, first, count),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn no_more_than_the_limit_is_outstanding_and_arrivals_make_room() {
        let mut wants = Wants::with_limit(2);
        wants.push(0, 0, 3);
        wants.push(1, 0, 1);
        wants.push(2, 5, 7);
        assert_eq!(drain(&mut wants), vec![(0, 0, 3), (1, 0, 1)]);
        wants.arrived(0, 0);
        wants.arrived(0, 1);
        assert!(drain(&mut wants).is_empty(), "file 0's range is still queued at the sender");
        wants.arrived(0, 2);
        assert_eq!(drain(&mut wants), vec![(2, 5, 2)]);
    }

    #[test]
    fn a_block_not_asked_for_frees_nothing() {
        let mut wants = Wants::with_limit(1);
        wants.push(0, 0, 1);
        wants.push(1, 0, 1);
        drain(&mut wants);
        wants.arrived(1, 0);
        assert!(drain(&mut wants).is_empty());
        wants.arrived(0, 0);
        assert_eq!(drain(&mut wants).len(), 1);
    }

    #[test]
    fn blocks_arriving_out_of_order_on_lanes_free_every_range_before_theirs() {
        let mut wants = Wants::with_limit(2);
        for file in 0..4 {
            wants.push(file, 0, 1);
        }
        assert_eq!(drain(&mut wants).len(), 2);
        // File 1's block overtakes file 0's on another lane: the sender is past file 0's range.
        wants.arrived(1, 0);
        wants.arrived(0, 0);
        assert_eq!(drain(&mut wants), vec![(2, 0, 1), (3, 0, 1)]);
        // Within a range too: block 4 before block 3.
        let mut wants = Wants::with_limit(1);
        wants.push(0, 0, 5);
        wants.push(1, 0, 1);
        drain(&mut wants);
        wants.arrived(0, 4);
        wants.arrived(0, 3);
        assert_eq!(drain(&mut wants), vec![(1, 0, 1)]);
    }
}
