//! The receiver's record of verified blocks, saved so a transfer can resume later.
//!
//! A block enters the have-map only after its SHA-256 matched and the sink reported the
//! write done, so whatever the map lists is on disk and correct. The runtime stores the
//! serialized map beside the staged bytes and hands it back to [`crate::Receiver::accept`].

use crate::ranges::RangeSet;

const MAGIC: [u8; 4] = *b"PDHM";
const VERSION: u8 = 1;

/// Verified blocks per file of one transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaveMap {
    pub transfer_id: [u8; 16],
    pub block_size: u32,
    pub files: Vec<RangeSet>,
}

/// Why saved have-map bytes could not be read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HaveMapError {
    BadHeader,
    Truncated,
    Unordered,
}

impl std::fmt::Display for HaveMapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HaveMapError::BadHeader => "saved progress is not a PeerDrop have-map",
            HaveMapError::Truncated => "saved progress is cut short",
            HaveMapError::Unordered => "saved progress is corrupt",
        })
    }
}

impl HaveMap {
    pub fn new(transfer_id: [u8; 16], block_size: u32, file_count: usize) -> Self {
        HaveMap { transfer_id, block_size, files: vec![RangeSet::new(); file_count] }
    }

    /// Serializes as `"PDHM" 1 transfer_id block_size file_count {range_count {start end}*}*`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.files.len() * 20);
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&self.transfer_id);
        out.extend_from_slice(&self.block_size.to_be_bytes());
        out.extend_from_slice(&(self.files.len() as u32).to_be_bytes());
        for set in &self.files {
            out.extend_from_slice(&(set.ranges().len() as u32).to_be_bytes());
            for &(s, e) in set.ranges() {
                out.extend_from_slice(&s.to_be_bytes());
                out.extend_from_slice(&e.to_be_bytes());
            }
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<HaveMap, HaveMapError> {
        let mut r = bytes;
        if take(&mut r, 4)? != MAGIC || take(&mut r, 1)? != [VERSION] {
            return Err(HaveMapError::BadHeader);
        }
        let mut transfer_id = [0u8; 16];
        transfer_id.copy_from_slice(take(&mut r, 16)?);
        let block_size = u32::from_be_bytes(take(&mut r, 4)?.try_into().expect("4 bytes"));
        let file_count = u32::from_be_bytes(take(&mut r, 4)?.try_into().expect("4 bytes")) as usize;
        let mut files = Vec::with_capacity(file_count.min(r.len() / 4));
        for _ in 0..file_count {
            let n = u32::from_be_bytes(take(&mut r, 4)?.try_into().expect("4 bytes")) as usize;
            let mut ranges = Vec::with_capacity(n.min(r.len() / 16));
            for _ in 0..n {
                let s = u64::from_be_bytes(take(&mut r, 8)?.try_into().expect("8 bytes"));
                let e = u64::from_be_bytes(take(&mut r, 8)?.try_into().expect("8 bytes"));
                ranges.push((s, e));
            }
            files.push(RangeSet::from_sorted(ranges).ok_or(HaveMapError::Unordered)?);
        }
        if !r.is_empty() {
            return Err(HaveMapError::Truncated);
        }
        Ok(HaveMap { transfer_id, block_size, files })
    }
}

fn take<'a>(r: &mut &'a [u8], n: usize) -> Result<&'a [u8], HaveMapError> {
    if r.len() < n {
        return Err(HaveMapError::Truncated);
    }
    let (head, tail) = r.split_at(n);
    *r = tail;
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let mut map = HaveMap::new([7; 16], 1 << 20, 3);
        for i in [0, 1, 2, 9, 40] {
            map.files[1].insert(i);
        }
        let bytes = map.to_bytes();
        assert_eq!(HaveMap::from_bytes(&bytes), Ok(map));
        assert_eq!(HaveMap::from_bytes(&bytes[..bytes.len() - 1]), Err(HaveMapError::Truncated));
        assert_eq!(HaveMap::from_bytes(b"PDH"), Err(HaveMapError::Truncated));
        assert_eq!(HaveMap::from_bytes(b"XXXX\x01"), Err(HaveMapError::BadHeader));
    }
}
