//! The control language, one command a line on stdin (and `--set` at start):
//!
//! ```text
//! down | up                        take the link down both ways / bring it back
//! set [dir=up|down|both] [delay_ms=F] [loss=F] [rate_mbit=F] [queue_bytes=N]
//! stats                            print the stats line
//! quit                             print the stats line and exit (as EOF does)
//! ```
//!
//! `up` is the direction from interface A to B (the router's side to the internet's), `down`
//! the other. `set` changes only the keys it names; `rate_mbit=0` means unlimited. Giving a rate
//! without `queue_bytes` sets the queue to `link::default_queue_bytes` of that rate.

use crate::link::{default_queue_bytes, Config};
use std::fmt;

/// Which directions a `set` applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    Up,
    Down,
    Both,
}

impl Dir {
    pub fn includes_up(self) -> bool {
        matches!(self, Dir::Up | Dir::Both)
    }
    pub fn includes_down(self) -> bool {
        matches!(self, Dir::Down | Dir::Both)
    }
}

/// Changes a `set` makes; `None` keeps the current value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings {
    pub delay_ms: Option<f64>,
    pub loss: Option<f64>,
    /// `Some(None)`: unlimited.
    pub rate_bps: Option<Option<u64>>,
    pub queue_bytes: Option<usize>,
}

impl Settings {
    /// `config` with these changes applied.
    pub fn apply(&self, config: &Config) -> Config {
        let mut c = config.clone();
        if let Some(ms) = self.delay_ms {
            c.delay_ns = (ms * 1e6).round() as u64;
        }
        if let Some(loss) = self.loss {
            c.loss = loss;
        }
        if let Some(rate) = self.rate_bps {
            c.rate_bps = rate;
            if self.queue_bytes.is_none() {
                c.queue_bytes = rate.map(default_queue_bytes).unwrap_or(0);
            }
        }
        if let Some(q) = self.queue_bytes {
            c.queue_bytes = q;
        }
        c
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Down,
    Up,
    Set(Dir, Settings),
    Stats,
    Quit,
}

/// Why a line is not a command; the message says what would be.
#[derive(Clone, Debug, PartialEq)]
pub enum ParseError {
    Empty,
    UnknownCommand(String),
    NotKeyValue(String),
    UnknownKey(String),
    BadValue { key: String, value: String, want: &'static str },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Empty => write!(f, "empty command: use down, up, set, stats or quit"),
            ParseError::UnknownCommand(c) => {
                write!(f, "unknown command {c:?}: use down, up, set, stats or quit")
            }
            ParseError::NotKeyValue(w) => write!(f, "{w:?} is not key=value (e.g. delay_ms=25)"),
            ParseError::UnknownKey(k) => {
                write!(f, "unknown setting {k:?}: use dir, delay_ms, loss, rate_mbit or queue_bytes")
            }
            ParseError::BadValue { key, value, want } => {
                write!(f, "{key}={value}: {key} must be {want}")
            }
        }
    }
}

impl std::error::Error for ParseError {}

pub fn parse(line: &str) -> Result<Command, ParseError> {
    let mut words = line.split_whitespace();
    let command = words.next().ok_or(ParseError::Empty)?;
    match command {
        "down" | "up" | "stats" | "quit" => {
            if let Some(extra) = words.next() {
                return Err(ParseError::NotKeyValue(format!("{command} {extra}")));
            }
            Ok(match command {
                "down" => Command::Down,
                "up" => Command::Up,
                "stats" => Command::Stats,
                _ => Command::Quit,
            })
        }
        "set" => parse_set(words),
        other => Err(ParseError::UnknownCommand(other.to_string())),
    }
}

fn parse_set<'a>(words: impl Iterator<Item = &'a str>) -> Result<Command, ParseError> {
    let mut dir = Dir::Both;
    let mut s = Settings::default();
    for word in words {
        let (key, value) = word.split_once('=').ok_or_else(|| ParseError::NotKeyValue(word.to_string()))?;
        let bad = |want| ParseError::BadValue { key: key.to_string(), value: value.to_string(), want };
        let number =
            |want| value.parse::<f64>().ok().filter(|x| x.is_finite() && *x >= 0.0).ok_or_else(|| bad(want));
        match key {
            "dir" => {
                dir = match value {
                    "up" => Dir::Up,
                    "down" => Dir::Down,
                    "both" => Dir::Both,
                    _ => return Err(bad("up, down or both")),
                }
            }
            "delay_ms" => s.delay_ms = Some(number("a number of milliseconds, 0 or more")?),
            "loss" => {
                let want = "a fraction from 0 to 1 (0.01 is 1 %)";
                s.loss = Some(Some(number(want)?).filter(|x| *x <= 1.0).ok_or_else(|| bad(want))?);
            }
            "rate_mbit" => {
                let mbit = number("Mbit/s, 0 for unlimited")?;
                let bps = (mbit * 1e6).round() as u64;
                s.rate_bps = Some((bps > 0).then_some(bps));
            }
            "queue_bytes" => s.queue_bytes = Some(value.parse().map_err(|_| bad("a whole number of bytes"))?),
            _ => return Err(ParseError::UnknownKey(key.to_string())),
        }
    }
    Ok(Command::Set(dir, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_command() {
        assert_eq!(parse("down"), Ok(Command::Down));
        assert_eq!(parse(" up "), Ok(Command::Up));
        assert_eq!(parse("stats"), Ok(Command::Stats));
        assert_eq!(parse("quit"), Ok(Command::Quit));
        assert_eq!(
            parse("set dir=up delay_ms=25 loss=0.01 rate_mbit=100 queue_bytes=200000"),
            Ok(Command::Set(
                Dir::Up,
                Settings {
                    delay_ms: Some(25.0),
                    loss: Some(0.01),
                    rate_bps: Some(Some(100_000_000)),
                    queue_bytes: Some(200_000),
                }
            ))
        );
        assert_eq!(
            parse("set rate_mbit=0"),
            Ok(Command::Set(Dir::Both, Settings { rate_bps: Some(None), ..Settings::default() }))
        );
    }

    #[test]
    fn rejects_with_a_message_that_says_what_would_do() {
        assert_eq!(parse(""), Err(ParseError::Empty));
        assert!(matches!(parse("flap"), Err(ParseError::UnknownCommand(_))));
        assert!(matches!(parse("set delay=5"), Err(ParseError::UnknownKey(_))));
        assert!(matches!(parse("set delay_ms"), Err(ParseError::NotKeyValue(_))));
        assert!(matches!(parse("down now"), Err(ParseError::NotKeyValue(_))));
        for bad in [
            "set loss=1.5",
            "set loss=-0.1",
            "set delay_ms=abc",
            "set dir=sideways",
            "set queue_bytes=1.5",
            "set delay_ms=inf",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(matches!(e, ParseError::BadValue { .. }), "{bad}: {e:?}");
            assert!(e.to_string().contains("must be"), "{e}");
        }
    }

    #[test]
    fn set_changes_only_what_it_names_and_sizes_the_queue_for_a_rate() {
        let base = Config { delay_ns: 5_000_000, loss: 0.02, rate_bps: None, queue_bytes: 0 };
        let Ok(Command::Set(_, s)) = parse("set rate_mbit=100") else { panic!() };
        let c = s.apply(&base);
        assert_eq!(c.delay_ns, 5_000_000);
        assert_eq!(c.loss, 0.02);
        assert_eq!(c.rate_bps, Some(100_000_000));
        assert_eq!(c.queue_bytes, default_queue_bytes(100_000_000));
        let Ok(Command::Set(_, s)) = parse("set delay_ms=12.5 queue_bytes=9000") else { panic!() };
        let c = s.apply(&c);
        assert_eq!(c.delay_ns, 12_500_000);
        assert_eq!(c.queue_bytes, 9000);
        assert_eq!(c.rate_bps, Some(100_000_000));
    }
}
