//! Deciding whether a relative path from a peer is safe to create on the receiver's disk.
//!
//! The sender chooses the names, so the receiver must refuse anything that could escape the
//! chosen folder or that some operating system cannot store: one bad name in a manifest
//! rejects the whole offer before any byte is written.

use std::fmt;

/// Longest path accepted, in bytes of UTF-8.
pub const MAX_PATH_BYTES: usize = 4096;
/// Longest single component accepted (the usual file-system limit).
pub const MAX_COMPONENT_BYTES: usize = 255;

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnsafePath {
    Empty,
    TooLong,
    Absolute,
    ParentComponent,
    EmptyComponent,
    ControlCharacter,
    Backslash,
    WindowsReserved(String),
    ForbiddenCharacter(char),
    TrailingDotOrSpace,
}

impl fmt::Display for UnsafePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnsafePath::Empty => write!(f, "the path is empty"),
            UnsafePath::TooLong => write!(f, "the path or one of its names is too long"),
            UnsafePath::Absolute => write!(f, "the path is absolute"),
            UnsafePath::ParentComponent => write!(f, "the path climbs out of its folder with '..'"),
            UnsafePath::EmptyComponent => write!(f, "the path has an empty or '.' name"),
            UnsafePath::ControlCharacter => write!(f, "the path contains a control character"),
            UnsafePath::Backslash => write!(f, "the path contains a backslash"),
            UnsafePath::WindowsReserved(name) => write!(f, "'{name}' is a name Windows reserves"),
            UnsafePath::ForbiddenCharacter(c) => write!(f, "the path contains the character '{c}'"),
            UnsafePath::TrailingDotOrSpace => write!(f, "a name ends with a dot or a space"),
        }
    }
}

const WINDOWS_RESERVED: [&str; 26] = [
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "COM0", "LPT0", "COM1", "COM2", "COM3", "COM4", "COM5",
    "COM6", "COM7", "COM8", "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Checks a `/`-separated relative path; `Ok` means every component may be created as is.
pub fn check_relative_path(path: &str) -> Result<(), UnsafePath> {
    if path.is_empty() {
        return Err(UnsafePath::Empty);
    }
    if path.len() > MAX_PATH_BYTES {
        return Err(UnsafePath::TooLong);
    }
    if path.starts_with('/') || has_drive_prefix(path) {
        return Err(UnsafePath::Absolute);
    }
    if path.contains('\\') {
        return Err(UnsafePath::Backslash);
    }
    for component in path.split('/') {
        check_component(component)?;
    }
    Ok(())
}

fn has_drive_prefix(path: &str) -> bool {
    let b = path.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

fn check_component(name: &str) -> Result<(), UnsafePath> {
    match name {
        "" | "." => return Err(UnsafePath::EmptyComponent),
        ".." => return Err(UnsafePath::ParentComponent),
        _ => {}
    }
    if name.len() > MAX_COMPONENT_BYTES {
        return Err(UnsafePath::TooLong);
    }
    if name.chars().any(char::is_control) {
        return Err(UnsafePath::ControlCharacter);
    }
    if let Some(c) = name.chars().find(|c| matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*')) {
        return Err(UnsafePath::ForbiddenCharacter(c));
    }
    if name.ends_with('.') || name.ends_with(' ') {
        return Err(UnsafePath::TrailingDotOrSpace);
    }
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    if WINDOWS_RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
        return Err(UnsafePath::WindowsReserved(name.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_nested_paths() {
        for ok in ["a.txt", "photos/2024/IMG 001.jpg", "über/naïve.md", ".hidden", "a..b"] {
            assert_eq!(check_relative_path(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refuses_escapes_and_unportable_names() {
        let cases = [
            ("", UnsafePath::Empty),
            ("/etc/passwd", UnsafePath::Absolute),
            ("C:/x", UnsafePath::Absolute),
            ("a/../../b", UnsafePath::ParentComponent),
            ("..", UnsafePath::ParentComponent),
            ("a//b", UnsafePath::EmptyComponent),
            ("a/./b", UnsafePath::EmptyComponent),
            ("a/", UnsafePath::EmptyComponent),
            ("a\0b", UnsafePath::ControlCharacter),
            ("a\nb", UnsafePath::ControlCharacter),
            ("a\\b", UnsafePath::Backslash),
            ("dir/CON", UnsafePath::WindowsReserved("CON".into())),
            ("nul.txt", UnsafePath::WindowsReserved("nul.txt".into())),
            ("a?b", UnsafePath::ForbiddenCharacter('?')),
            ("name.", UnsafePath::TrailingDotOrSpace),
            ("name ", UnsafePath::TrailingDotOrSpace),
        ];
        for (path, want) in cases {
            assert_eq!(check_relative_path(path), Err(want), "{path:?}");
        }
        assert_eq!(check_relative_path(&"a".repeat(300)), Err(UnsafePath::TooLong));
    }
}
