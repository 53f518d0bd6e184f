//! A set of block indices kept as sorted, disjoint ranges.
//!
//! Block numbers of a many-GiB file run into the millions; a transfer that goes well is one
//! contiguous run, so ranges keep the have-map tiny and its size independent of file size.

/// Sorted, disjoint, non-adjacent half-open ranges `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RangeSet {
    ranges: Vec<(u64, u64)>,
}

impl RangeSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds from ranges that are already sorted, disjoint and non-adjacent; `None` otherwise.
    pub fn from_sorted(ranges: Vec<(u64, u64)>) -> Option<Self> {
        let ordered = ranges.iter().all(|&(s, e)| s < e) && ranges.windows(2).all(|w| w[0].1 < w[1].0);
        ordered.then_some(RangeSet { ranges })
    }

    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.ranges
    }

    pub fn contains(&self, value: u64) -> bool {
        let i = self.ranges.partition_point(|&(_, end)| end <= value);
        self.ranges.get(i).is_some_and(|&(start, _)| start <= value)
    }

    /// Adds one value, merging with neighbours.
    pub fn insert(&mut self, value: u64) {
        let i = self.ranges.partition_point(|&(_, end)| end < value);
        match self.ranges.get(i).copied() {
            Some((start, end)) if start <= value && value < end => {}
            Some((start, end)) if end == value => {
                self.ranges[i].1 = value + 1;
                if let Some(&(next_start, next_end)) = self.ranges.get(i + 1) {
                    if next_start == value + 1 {
                        self.ranges[i] = (start, next_end);
                        self.ranges.remove(i + 1);
                    }
                }
            }
            Some((start, _)) if start == value + 1 => self.ranges[i].0 = value,
            _ => self.ranges.insert(i, (value, value + 1)),
        }
    }

    /// How many values the set holds.
    pub fn len(&self) -> u64 {
        self.ranges.iter().map(|&(s, e)| e - s).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The ranges of `[0, total)` that are not in the set.
    pub fn gaps(&self, total: u64) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut next = 0;
        for &(s, e) in &self.ranges {
            if s >= total {
                break;
            }
            if s > next {
                out.push((next, s));
            }
            next = e;
        }
        if next < total {
            out.push((next, total));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn behaves_like_a_plain_set(values in proptest::collection::vec(0u64..200, 0..300)) {
            let mut set = RangeSet::new();
            let mut plain = std::collections::BTreeSet::new();
            for v in values {
                set.insert(v);
                plain.insert(v);
            }
            prop_assert_eq!(set.len(), plain.len() as u64);
            for v in 0..210 {
                prop_assert_eq!(set.contains(v), plain.contains(&v));
            }
            prop_assert!(RangeSet::from_sorted(set.ranges().to_vec()).is_some());
            let gap_count: u64 = set.gaps(200).iter().map(|&(s, e)| e - s).sum();
            prop_assert_eq!(gap_count, 200 - plain.len() as u64);
        }
    }

    #[test]
    fn rejects_unsorted_input() {
        assert!(RangeSet::from_sorted(vec![(5, 6), (1, 2)]).is_none());
        assert!(RangeSet::from_sorted(vec![(1, 2), (2, 3)]).is_none());
        assert!(RangeSet::from_sorted(vec![(3, 3)]).is_none());
    }
}
