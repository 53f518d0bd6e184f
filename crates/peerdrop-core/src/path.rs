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
    /// An invisible character, or one that changes how text is shown (see [`is_invisible`]).
    InvisibleCharacter(char),
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
            UnsafePath::InvisibleCharacter(c) => write!(
                f,
                "the path contains U+{:04X}, an invisible character or one that changes how the name is shown",
                *c as u32
            ),
            UnsafePath::Backslash => write!(f, "the path contains a backslash"),
            UnsafePath::WindowsReserved(name) => write!(f, "'{name}' is a name Windows reserves"),
            UnsafePath::ForbiddenCharacter(c) => write!(f, "the path contains the character '{c}'"),
            UnsafePath::TrailingDotOrSpace => write!(f, "a name ends with a dot or a space"),
        }
    }
}

// Windows also reserves COM and LPT followed by a superscript one, two or three (U+00B9, U+00B2,
// U+00B3): it reads them as the digits.
#[rustfmt::skip]
const WINDOWS_RESERVED: [&str; 32] = [
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "COM0", "LPT0", "COM1", "COM2", "COM3", "COM4", "COM5",
    "COM6", "COM7", "COM8", "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    "COM\u{b9}", "COM\u{b2}", "COM\u{b3}", "LPT\u{b9}", "LPT\u{b2}", "LPT\u{b3}",
];

/// Unicode general category Cf (format), Unicode 17.0, as inclusive ranges: characters that
/// show nothing or change how the text around them is shown (U+202E RIGHT-TO-LEFT OVERRIDE
/// turns `photo\u{202e}gpj.exe` into what reads as `photoexe.jpg`). Written out instead of taken
/// from a Unicode crate, because a general-category table (some 2,700 ranges) costs about 30 KiB
/// of wasm and these are 21 ranges; a test checks them against `unicode-properties`.
const FORMAT: [(char, char); 21] = [
    ('\u{ad}', '\u{ad}'),
    ('\u{600}', '\u{605}'),
    ('\u{61c}', '\u{61c}'),
    ('\u{6dd}', '\u{6dd}'),
    ('\u{70f}', '\u{70f}'),
    ('\u{890}', '\u{891}'),
    ('\u{8e2}', '\u{8e2}'),
    ('\u{180e}', '\u{180e}'),
    ('\u{200b}', '\u{200f}'),
    ('\u{202a}', '\u{202e}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206f}'),
    ('\u{feff}', '\u{feff}'),
    ('\u{fff9}', '\u{fffb}'),
    ('\u{110bd}', '\u{110bd}'),
    ('\u{110cd}', '\u{110cd}'),
    ('\u{13430}', '\u{1343f}'),
    ('\u{1bca0}', '\u{1bca3}'),
    ('\u{1d173}', '\u{1d17a}'),
    ('\u{e0001}', '\u{e0001}'),
    ('\u{e0020}', '\u{e007f}'),
];

/// Other characters that show nothing, beyond category Cf: the line and paragraph separators
/// (U+2028, U+2029; they break a name like a newline), and the rest of Default_Ignorable_Code_Point
/// (fillers that are letters but blank, the combining grapheme joiner, the Khmer inherent vowels,
/// and the code points Unicode keeps for future format characters) except the variation
/// selectors (U+180B-U+180D, U+180F, U+FE00-U+FE0F, U+E0100-U+E01EF), which emoji such as
/// U+2764 U+FE0F and ideographic variants need.
const OTHER_INVISIBLE: [(char, char); 12] = [
    ('\u{34f}', '\u{34f}'),
    ('\u{115f}', '\u{1160}'),
    ('\u{17b4}', '\u{17b5}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{2065}', '\u{2065}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{ffa0}', '\u{ffa0}'),
    ('\u{fff0}', '\u{fff8}'),
    ('\u{e0000}', '\u{e0000}'),
    ('\u{e0002}', '\u{e001f}'),
    ('\u{e0080}', '\u{e00ff}'),
    ('\u{e01f0}', '\u{e0fff}'),
];

/// Where U+200C ZERO WIDTH NON-JOINER and U+200D ZERO WIDTH JOINER belong in ordinary text:
/// Persian and other Arabic-script names (the non-joiner is part of their spelling), the Indic
/// scripts (U+0900-U+0DFF), and emoji sequences (a family, a profession, skin tones; U+FE0F
/// may precede the joiner). A joiner between two such characters is kept; anywhere else it
/// only hides a difference between two names, and is refused.
const JOINER_NEIGHBOURS: [(char, char); 9] = [
    ('\u{620}', '\u{6ff}'),
    ('\u{750}', '\u{77f}'),
    ('\u{8a0}', '\u{8ff}'),
    ('\u{900}', '\u{dff}'),
    ('\u{2600}', '\u{27bf}'),
    ('\u{fb50}', '\u{fdff}'),
    ('\u{fe0f}', '\u{fe0f}'),
    ('\u{fe70}', '\u{fefc}'),
    ('\u{1f000}', '\u{1faff}'),
];

/// Whether the joiner at `at` sits between two characters of a script or symbol set that
/// uses it.
fn joiner_in_place(chars: &[char], at: usize) -> bool {
    let around = |c: Option<&char>| c.is_some_and(|&c| in_ranges(&JOINER_NEIGHBOURS, c));
    matches!(chars[at], '\u{200c}' | '\u{200d}')
        && at > 0
        && around(chars.get(at - 1))
        && around(chars.get(at + 1))
}

/// Whether `c` lies in one of `ranges` (sorted, inclusive, not overlapping).
fn in_ranges(ranges: &[(char, char)], c: char) -> bool {
    use std::cmp::Ordering;
    let place = |&(lo, hi): &(char, char)| {
        if hi < c {
            Ordering::Less
        } else if lo > c {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    };
    ranges.binary_search_by(place).is_ok()
}

/// Whether a path refuses `c` as invisible or display-changing: category Cf, the line and
/// paragraph separators, and the other default-ignorable code points except variation selectors.
pub fn is_invisible(c: char) -> bool {
    in_ranges(&FORMAT, c) || in_ranges(&OTHER_INVISIBLE, c)
}

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
    let chars: Vec<char> = name.chars().collect();
    let invisible = (0..chars.len()).find(|&i| is_invisible(chars[i]) && !joiner_in_place(&chars, i));
    if let Some(i) = invisible {
        return Err(UnsafePath::InvisibleCharacter(chars[i]));
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
        let ok = [
            "a.txt",
            "photos/2024/IMG 001.jpg",
            "über/naïve.md",
            ".hidden",
            "a..b",
            // Variation selectors stay: emoji and ideographic variants need them.
            "\u{2764}\u{fe0f} notes.txt",
            "\u{845b}\u{e0100}.txt",
            // Only superscript one to three make a device name; other superscripts do not.
            "COM\u{2074}.txt",
            "LPT\u{b9}0",
            "COM\u{b9}x.txt",
            "עברית/العربية.txt",
        ];
        for ok in ok {
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

    #[test]
    fn refuses_the_superscript_device_names_windows_reserves() {
        for name in ["COM\u{b9}", "com\u{b2}", "Com\u{b3}", "LPT\u{b9}", "lpt\u{b2}", "LPT\u{b3}"] {
            for path in [
                name.to_string(),
                format!("dir/{name}.txt"),
                format!("{name}.tar.gz"),
                format!("{name} .txt"),
            ] {
                let want = path.rsplit('/').next().unwrap().to_string();
                assert_eq!(check_relative_path(&path), Err(UnsafePath::WindowsReserved(want)), "{path:?}");
            }
        }
    }

    #[test]
    fn keeps_joiners_where_scripts_and_emoji_use_them() {
        // Persian "I want" (the non-joiner is part of the spelling), Malayalam with a joiner, a
        // family emoji, a woman technologist with a skin tone, a red heart joined to fire.
        for name in [
            "\u{645}\u{6cc}\u{200c}\u{62e}\u{648}\u{627}\u{647}\u{645}.txt",
            "\u{d28}\u{d4d}\u{200d}\u{d31}.txt",
            "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}.png",
            "\u{1f469}\u{1f3fd}\u{200d}\u{1f4bb}/notes.md",
            "\u{2764}\u{fe0f}\u{200d}\u{1f525}.jpg",
        ] {
            assert_eq!(check_relative_path(name), Ok(()), "{name:?}");
        }
        // Between Latin letters, at an end, or doubled, a joiner only hides a difference.
        for name in [
            "pho\u{200d}to.jpg",
            "\u{200c}\u{645}.txt",
            "\u{645}\u{200c}",
            "\u{1f468}\u{200d}\u{200d}\u{1f469}",
        ] {
            assert!(matches!(check_relative_path(name), Err(UnsafePath::InvisibleCharacter(_))), "{name:?}");
        }
    }

    #[test]
    fn refuses_invisible_and_display_changing_characters() {
        let groups = [
            // RIGHT-TO-LEFT OVERRIDE: "photo\u{202e}gpj.exe" reads as "photoexe.jpg".
            "\u{202e}",
            // The other bidi controls and marks.
            "\u{202a}\u{202b}\u{202c}\u{202d}\u{2066}\u{2067}\u{2068}\u{2069}\u{200e}\u{200f}\u{61c}",
            // Zero-width space, non-joiner, joiner, word joiner, byte order mark.
            "\u{200b}\u{200c}\u{200d}\u{2060}\u{feff}",
            // More of category Cf, from both ends of its ranges.
            "\u{ad}\u{180e}\u{2064}\u{206f}\u{fffb}\u{e0001}\u{e0041}\u{e007f}\u{1d173}\u{600}\u{13430}\u{1343f}",
            // Line and paragraph separators.
            "\u{2028}\u{2029}",
            // Blank but not Cf: Hangul fillers, combining grapheme joiner, Khmer inherent vowel.
            "\u{3164}\u{115f}\u{1160}\u{ffa0}\u{34f}\u{17b4}",
            // Kept by Unicode for future format characters.
            "\u{2065}\u{fff0}\u{e0000}\u{e0fff}",
        ];
        let chars = groups.iter().flat_map(|g| g.chars());
        for c in chars {
            for path in
                [format!("photo{c}gpj.exe"), format!("{c}"), format!("dir{c}/a.txt"), format!("a/{c}b")]
            {
                assert_eq!(check_relative_path(&path), Err(UnsafePath::InvisibleCharacter(c)), "{path:?}");
            }
        }
        let why = UnsafePath::InvisibleCharacter('\u{202e}').to_string();
        assert!(why.contains("U+202E"), "{why}");
    }

    #[test]
    fn the_format_table_is_unicode_category_cf() {
        use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
        let wrong: Vec<String> = (0..=char::MAX as u32)
            .filter_map(char::from_u32)
            .filter(|&c| in_ranges(&FORMAT, c) != (c.general_category() == GeneralCategory::Format))
            .map(|c| format!("U+{:04X}", c as u32))
            .collect();
        assert!(
            wrong.is_empty(),
            "FORMAT differs from Unicode {:?} at {wrong:?}",
            unicode_properties::UNICODE_VERSION
        );
    }

    #[test]
    fn the_invisible_tables_are_sorted_and_apart() {
        for table in [&FORMAT[..], &OTHER_INVISIBLE[..]] {
            assert!(table.iter().all(|(lo, hi)| lo <= hi));
            assert!(table.windows(2).all(|w| w[0].1 < w[1].0), "{table:?}");
        }
        assert!(FORMAT
            .iter()
            .all(|&(lo, hi)| !in_ranges(&OTHER_INVISIBLE, lo) && !in_ranges(&OTHER_INVISIBLE, hi)));
    }
}
