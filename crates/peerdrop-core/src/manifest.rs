//! The list of files a sender offers, and its wire encoding.
//!
//! The manifest travels only over the data channel (never through signaling). It may be
//! larger than one message, so it is sent in `MANIFEST` pieces and reassembled here under a
//! hard size cap: a peer cannot make the receiver allocate more than [`MAX_MANIFEST_BYTES`].

use crate::error::ErrorCode;
use crate::path::{check_relative_path, UnsafePath};
use std::fmt;

/// Largest encoded manifest a receiver accepts.
pub const MAX_MANIFEST_BYTES: usize = 8 * 1024 * 1024;
/// Most files one transfer may carry.
pub const MAX_FILES: usize = 100_000;
/// Longest MIME type accepted.
pub const MAX_MIME_BYTES: usize = 255;

/// Cuts a MIME type to [`MAX_MIME_BYTES`] on a character boundary.
pub fn clip_mime(mime: &str) -> &str {
    crate::text::clip(mime, MAX_MIME_BYTES)
}

/// One file offered for transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Relative, `/`-separated path (a folder structure is expressed by its paths).
    pub path: String,
    pub size: u64,
    /// Last modification, milliseconds since the Unix epoch (0 when unknown).
    pub modified_ms: i64,
    /// MIME type as the sender's browser reported it; may be empty.
    pub mime: String,
}

/// The files offered by a sender, in transfer order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    pub files: Vec<FileEntry>,
}

/// Why a manifest was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestError {
    TooLarge,
    TooManyFiles(usize),
    Truncated,
    TrailingBytes,
    BadUtf8,
    UnsafePath { index: usize, path: String, reason: UnsafePath },
    DuplicatePath(String),
    MimeTooLong(usize),
}

impl ManifestError {
    /// The protocol error code this refusal is reported with (docs/protocol.md §4.3).
    pub fn code(&self) -> ErrorCode {
        match self {
            ManifestError::UnsafePath { .. } | ManifestError::DuplicatePath(_) => ErrorCode::UnsafePath,
            ManifestError::TooLarge | ManifestError::TooManyFiles(_) => ErrorCode::LimitExceeded,
            ManifestError::Truncated
            | ManifestError::TrailingBytes
            | ManifestError::BadUtf8
            | ManifestError::MimeTooLong(_) => ErrorCode::ProtocolViolation,
        }
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManifestError::TooLarge => write!(f, "the file list is larger than {MAX_MANIFEST_BYTES} bytes"),
            ManifestError::TooManyFiles(n) => write!(f, "{n} files offered; at most {MAX_FILES} are allowed"),
            ManifestError::Truncated => write!(f, "the file list is cut short"),
            ManifestError::TrailingBytes => write!(f, "the file list has trailing bytes"),
            ManifestError::BadUtf8 => write!(f, "a file name is not valid UTF-8"),
            ManifestError::UnsafePath { path, reason, .. } => {
                write!(f, "refused to save {path:?}: {reason}")
            }
            ManifestError::DuplicatePath(p) => write!(f, "the path {p:?} is offered twice"),
            ManifestError::MimeTooLong(i) => {
                write!(f, "file {i} has a MIME type longer than {MAX_MIME_BYTES} bytes")
            }
        }
    }
}

impl Manifest {
    pub fn total_size(&self) -> u64 {
        self.files.iter().map(|f| f.size).fold(0u64, u64::saturating_add)
    }

    /// Encodes as: `count u32`, then per file `path_len u16, path, size u64, modified i64,
    /// mime_len u8, mime`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(self.files.len() as u32).to_be_bytes());
        for f in &self.files {
            out.extend_from_slice(&(f.path.len() as u16).to_be_bytes());
            out.extend_from_slice(f.path.as_bytes());
            out.extend_from_slice(&f.size.to_be_bytes());
            out.extend_from_slice(&f.modified_ms.to_be_bytes());
            out.push(f.mime.len() as u8);
            out.extend_from_slice(f.mime.as_bytes());
        }
        out
    }

    /// Decodes and validates a manifest from an untrusted peer.
    pub fn decode(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge);
        }
        let mut r = bytes;
        let count = u32::from_be_bytes(take::<4>(&mut r)?) as usize;
        if count > MAX_FILES {
            return Err(ManifestError::TooManyFiles(count));
        }
        // Each entry needs at least 19 bytes, so a lying count cannot force a large allocation.
        let mut files = Vec::with_capacity(count.min(r.len() / 19));
        for _ in 0..count {
            let path_len = u16::from_be_bytes(take::<2>(&mut r)?) as usize;
            let path = text(take_slice(&mut r, path_len)?)?;
            let size = u64::from_be_bytes(take::<8>(&mut r)?);
            let modified_ms = i64::from_be_bytes(take::<8>(&mut r)?);
            let mime_len = take::<1>(&mut r)?[0] as usize;
            let mime = text(take_slice(&mut r, mime_len)?)?;
            files.push(FileEntry { path, size, modified_ms, mime });
        }
        if !r.is_empty() {
            return Err(ManifestError::TrailingBytes);
        }
        let manifest = Manifest { files };
        manifest.validate()?;
        Ok(manifest)
    }

    /// Refuses unsafe or duplicate paths; the receiver calls this before writing anything.
    pub fn validate(&self) -> Result<(), ManifestError> {
        if self.files.len() > MAX_FILES {
            return Err(ManifestError::TooManyFiles(self.files.len()));
        }
        let mut seen = std::collections::HashSet::with_capacity(self.files.len());
        for (index, f) in self.files.iter().enumerate() {
            check_relative_path(&f.path).map_err(|reason| ManifestError::UnsafePath {
                index,
                path: f.path.clone(),
                reason,
            })?;
            if f.mime.len() > MAX_MIME_BYTES {
                return Err(ManifestError::MimeTooLong(index));
            }
            if !seen.insert(f.path.to_lowercase()) {
                return Err(ManifestError::DuplicatePath(f.path.clone()));
            }
        }
        Ok(())
    }
}

fn take<const N: usize>(r: &mut &[u8]) -> Result<[u8; N], ManifestError> {
    let mut out = [0u8; N];
    out.copy_from_slice(take_slice(r, N)?);
    Ok(out)
}

fn take_slice<'a>(r: &mut &'a [u8], n: usize) -> Result<&'a [u8], ManifestError> {
    if r.len() < n {
        return Err(ManifestError::Truncated);
    }
    let (head, tail) = r.split_at(n);
    *r = tail;
    Ok(head)
}

fn text(bytes: &[u8]) -> Result<String, ManifestError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| ManifestError::BadUtf8)
}

/// Reassembles `MANIFEST` pieces, refusing to hold more than [`MAX_MANIFEST_BYTES`].
#[derive(Debug, Default)]
pub struct ManifestAssembler {
    buf: Vec<u8>,
}

impl ManifestAssembler {
    /// Adds a piece; returns the decoded manifest after the last one.
    pub fn push(&mut self, part: &[u8], last: bool) -> Result<Option<Manifest>, ManifestError> {
        if self.buf.len() + part.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge);
        }
        self.buf.extend_from_slice(part);
        if !last {
            return Ok(None);
        }
        let bytes = std::mem::take(&mut self.buf);
        Manifest::decode(&bytes).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, size: u64) -> FileEntry {
        FileEntry { path: path.into(), size, modified_ms: 1_700_000_000_000, mime: "text/plain".into() }
    }

    #[test]
    fn round_trips() {
        let m = Manifest { files: vec![entry("a.txt", 0), entry("dir/sub/b.bin", u64::MAX / 2)] };
        assert_eq!(Manifest::decode(&m.encode()), Ok(m));
    }

    #[test]
    fn refuses_unsafe_and_duplicate_paths() {
        let m = Manifest { files: vec![entry("../x", 1)] };
        assert!(matches!(Manifest::decode(&m.encode()), Err(ManifestError::UnsafePath { index: 0, .. })));
        let m = Manifest { files: vec![entry("A.txt", 1), entry("a.TXT", 1)] };
        assert!(matches!(Manifest::decode(&m.encode()), Err(ManifestError::DuplicatePath(_))));
    }

    #[test]
    fn lying_count_does_not_allocate() {
        let bytes = (MAX_FILES as u32).to_be_bytes();
        assert_eq!(Manifest::decode(&bytes), Err(ManifestError::Truncated));
        let bytes = u32::MAX.to_be_bytes();
        assert_eq!(Manifest::decode(&bytes), Err(ManifestError::TooManyFiles(u32::MAX as usize)));
    }

    #[test]
    fn assembler_caps_size() {
        let mut a = ManifestAssembler::default();
        let big = vec![0u8; MAX_MANIFEST_BYTES];
        assert_eq!(a.push(&big, false), Ok(None));
        assert_eq!(a.push(&[0], false), Err(ManifestError::TooLarge));
    }
}
