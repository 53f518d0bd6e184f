//! link-emulator: a userspace network link between two interfaces, for the test lab
//! (docs/netlab.md), where the kernel has no netem.
//!
//! ```text
//! link-emulator A B [--seed N] [--set 'delay_ms=25 loss=0.01 rate_mbit=100'] ...
//! ```
//!
//! Every frame arriving on A goes out of B ("up") and every frame arriving on B out of A
//! ("down"), through one `link::Link` per direction: delay, random loss, a rate limit with a
//! drop-tail queue, and down/up. `--set` takes the arguments of the `set` command (several
//! `--set` apply in order). Commands on stdin (`command` module) change it at run time; each gets
//! one JSON line back on stdout, and the stats line is printed again at exit (EOF, `quit`,
//! SIGTERM, SIGINT).
//!
//! One thread per direction reads frames as they come (ppoll, nanosecond timeouts) and sends
//! each when the model says it is due, so output is paced like a real link. The model is
//! behind a mutex the control thread shares; a direction thread never sleeps longer than
//! `MAX_SLEEP_NS`, so a change applies within that.

mod command;
mod link;
mod wire;

use command::Command;
use link::{Config, Link};
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use wire::{Port, MAX_FRAME};

/// The longest a direction thread sleeps before looking at the model again.
const MAX_SLEEP_NS: u64 = 2_000_000;
/// Frames read per wake-up before due frames are sent: reading never starves sending.
const READ_BATCH: usize = 64;

/// One direction: the model plus what only the I/O sees.
struct Direction {
    name: &'static str,
    link: Mutex<Link>,
    send_errors: AtomicU64,
    oversize: AtomicU64,
    socket_drops: AtomicU64,
}

struct Emulator {
    start: Instant,
    seed: u64,
    up: Direction,
    down: Direction,
    stop: AtomicBool,
}

impl Emulator {
    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    fn directions(&self) -> [&Direction; 2] {
        [&self.up, &self.down]
    }

    fn stats(&self, last: bool) -> Value {
        let dir = |d: &Direction| {
            let l = d.link.lock().unwrap();
            let (s, c) = (l.stats(), l.config());
            json!({
                "forwarded_frames": s.forwarded_frames,
                "forwarded_bytes": s.forwarded_bytes,
                "dropped_loss": s.dropped_loss,
                "dropped_queue": s.dropped_queue,
                "dropped_down": s.dropped_down,
                "max_queue_bytes": s.max_queue_bytes,
                "socket_drops": d.socket_drops.load(Ordering::Relaxed),
                "send_errors": d.send_errors.load(Ordering::Relaxed),
                "oversize": d.oversize.load(Ordering::Relaxed),
                "config": {
                    "delay_ms": c.delay_ns as f64 / 1e6,
                    "loss": c.loss,
                    "rate_mbit": c.rate_bps.map(|b| b as f64 / 1e6),
                    "queue_bytes": c.queue_bytes,
                },
            })
        };
        json!({
            "stats": true,
            "final": last,
            "state": if self.up.link.lock().unwrap().is_up() { "up" } else { "down" },
            "seed": self.seed,
            "up": dir(&self.up),
            "down": dir(&self.down),
        })
    }

    /// Carries out one command; the reply line.
    fn run(&self, command: Command) -> Value {
        match command {
            Command::Down | Command::Up => {
                let up = command == Command::Up;
                let now = self.now();
                for d in self.directions() {
                    d.link.lock().unwrap().set_up(up, now);
                }
                json!({ "ok": if up { "up" } else { "down" } })
            }
            Command::Set(dir, settings) => {
                for (d, on) in [(&self.up, dir.includes_up()), (&self.down, dir.includes_down())] {
                    if on {
                        let mut l = d.link.lock().unwrap();
                        let c = settings.apply(l.config());
                        l.configure(c);
                    }
                }
                json!({ "ok": "set" })
            }
            Command::Stats | Command::Quit => self.stats(false),
        }
    }
}

/// Moves frames from `rx` through `d`'s model to `tx` until the emulator stops.
fn forward(em: &Emulator, d: &Direction, rx: &Port, tx: &Port) {
    // Timer slack defaults to 50 µs; at 100 Mbit/s a full frame takes 120 µs.
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1u64, 0, 0, 0) };
    let mut buf = vec![0u8; MAX_FRAME];
    let mut due = Vec::new();
    let mut last_arrival = 0;
    while !em.stop.load(Ordering::Relaxed) {
        let now = em.now();
        let next = d.link.lock().unwrap().next_due();
        let sleep = next.map_or(MAX_SLEEP_NS, |t| t.saturating_sub(now).min(MAX_SLEEP_NS));
        let readable = sleep == 0 || wire::wait_readable(rx, sleep).unwrap_or(false);
        if readable {
            let mut frames = Vec::new();
            while frames.len() < READ_BATCH {
                match rx.try_recv(&mut buf) {
                    Ok(Some((n, _))) if n > buf.len() => {
                        d.oversize.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Some((n, at))) => frames.push((buf[..n].to_vec(), at)),
                    Ok(None) | Err(_) => break,
                }
            }
            if !frames.is_empty() {
                // Each frame enters the model when the kernel received it, on the model's clock.
                let (now, real) = (em.now(), wire::realtime_ns());
                let mut l = d.link.lock().unwrap();
                for (f, at) in frames {
                    let arrived = at.map_or(now, |t| now.saturating_sub(real.saturating_sub(t)));
                    last_arrival = arrived.clamp(last_arrival, now);
                    l.offer(last_arrival, f);
                }
            }
        }
        let now = em.now();
        {
            let mut l = d.link.lock().unwrap();
            while let Some(f) = l.pop_due(now) {
                due.push(f);
            }
        }
        for f in due.drain(..) {
            if tx.send(&f).is_err() {
                d.send_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        let dropped = rx.kernel_drops();
        if dropped > 0 {
            d.socket_drops.fetch_add(dropped, Ordering::Relaxed);
        }
    }
}

/// Why the emulator could not start; each says what to do.
#[derive(Debug)]
enum StartError {
    Usage(String),
    Setting(command::ParseError),
    Wire(wire::WireError),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Usage(m) => write!(
                f,
                "{m}\nusage: link-emulator IF_A IF_B [--seed N] [--set 'delay_ms=25 loss=0.01 rate_mbit=100 queue_bytes=N'] ..."
            ),
            StartError::Setting(e) => write!(f, "--set: {e}"),
            StartError::Wire(e) => write!(f, "{e}"),
        }
    }
}

struct Args {
    a: String,
    b: String,
    seed: Option<u64>,
    sets: Vec<Command>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, StartError> {
    let mut ifaces = Vec::new();
    let mut seed = None;
    let mut sets = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seed" => {
                let v = args.next().ok_or_else(|| StartError::Usage("--seed needs a number".into()))?;
                seed = Some(
                    v.parse().map_err(|_| StartError::Usage(format!("--seed {v}: not a whole number")))?,
                );
            }
            "--set" => {
                let v = args.next().ok_or_else(|| StartError::Usage("--set needs settings".into()))?;
                sets.push(command::parse(&format!("set {v}")).map_err(StartError::Setting)?);
            }
            flag if flag.starts_with("--") => {
                return Err(StartError::Usage(format!("unknown option {flag}")))
            }
            _ => ifaces.push(arg),
        }
    }
    let [a, b]: [String; 2] =
        ifaces.try_into().map_err(|_| StartError::Usage("give exactly two interfaces".into()))?;
    Ok(Args { a, b, seed, sets })
}

/// SIGTERM, SIGINT and SIGHUP are blocked in every thread and taken by one that prints the
/// final stats line: a signal handler could not safely lock or print.
fn block_signals() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data initialised by sigemptyset before use.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

fn say(line: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("link-emulator: {e}");
            return ExitCode::from(2);
        }
    };
    let ports = (|| -> Result<_, wire::WireError> {
        Ok([
            Port::receiver(&args.a)?,
            Port::sender(&args.b)?,
            Port::receiver(&args.b)?,
            Port::sender(&args.a)?,
        ])
    })();
    let [rx_a, tx_b, rx_b, tx_a] = match ports.map_err(StartError::Wire) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("link-emulator: {e}");
            return ExitCode::from(1);
        }
    };
    let start = Instant::now();
    // Without --seed the seed comes from the clock; the stats line reports it for a rerun.
    let seed = args.seed.unwrap_or_else(|| {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        t.as_nanos() as u64 ^ (std::process::id() as u64) << 32
    });
    let direction = |name, seed| Direction {
        name,
        link: Mutex::new(Link::new(Config::default(), seed)),
        send_errors: AtomicU64::new(0),
        oversize: AtomicU64::new(0),
        socket_drops: AtomicU64::new(0),
    };
    let em = Arc::new(Emulator {
        start,
        seed,
        up: direction("up", seed),
        down: direction("down", seed.wrapping_add(1)),
        stop: AtomicBool::new(false),
    });
    for set in args.sets {
        em.run(set);
    }
    let signals = block_signals();
    let mut threads = Vec::new();
    for (rx, tx, up) in [(rx_a, tx_b, true), (rx_b, tx_a, false)] {
        let em = em.clone();
        let spawned = std::thread::Builder::new()
            .name(if up { em.up.name } else { em.down.name }.into())
            .spawn(move || forward(&em, if up { &em.up } else { &em.down }, &rx, &tx));
        match spawned {
            Ok(t) => threads.push(t),
            Err(e) => {
                eprintln!("link-emulator: cannot start a forwarding thread: {e}");
                return ExitCode::from(1);
            }
        }
    }
    {
        let em = em.clone();
        std::thread::spawn(move || {
            let mut sig = 0;
            // SAFETY: signals is an initialised set; sig is a live int.
            unsafe { libc::sigwait(&signals, &mut sig) };
            em.stop.store(true, Ordering::Relaxed);
            say(&em.stats(true));
            std::process::exit(0);
        });
    }
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        match command::parse(&line) {
            Ok(Command::Quit) => break,
            Ok(c) => say(&em.run(c)),
            Err(e) => say(&json!({ "error": e.to_string() })),
        }
    }
    em.stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    say(&em.stats(true));
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Args, StartError> {
        parse_args(s.split(' ').map(String::from))
    }

    #[test]
    fn arguments_need_two_interfaces_and_valid_settings() {
        let a = args("a b --seed 9 --set delay_ms=25").unwrap();
        assert_eq!((a.a.as_str(), a.b.as_str(), a.seed, a.sets.len()), ("a", "b", Some(9), 1));
        assert!(matches!(args("a"), Err(StartError::Usage(_))));
        assert!(matches!(args("a b c"), Err(StartError::Usage(_))));
        assert!(matches!(args("a b --seed x"), Err(StartError::Usage(_))));
        assert!(matches!(args("a b --set loss=2"), Err(StartError::Setting(_))));
        assert!(matches!(args("a b --fast"), Err(StartError::Usage(_))));
    }

    #[test]
    fn commands_change_the_model_and_stats_report_it() {
        let em = Emulator {
            start: Instant::now(),
            seed: 3,
            up: Direction {
                name: "up",
                link: Mutex::new(Link::new(Config::default(), 3)),
                send_errors: AtomicU64::new(0),
                oversize: AtomicU64::new(0),
                socket_drops: AtomicU64::new(0),
            },
            down: Direction {
                name: "down",
                link: Mutex::new(Link::new(Config::default(), 4)),
                send_errors: AtomicU64::new(0),
                oversize: AtomicU64::new(0),
                socket_drops: AtomicU64::new(0),
            },
            stop: AtomicBool::new(false),
        };
        em.run(command::parse("set dir=up delay_ms=25 rate_mbit=100").unwrap());
        em.run(Command::Down);
        em.up.link.lock().unwrap().offer(0, vec![0; 60]);
        let s = em.stats(false);
        assert_eq!(s["state"], "down");
        assert_eq!(s["up"]["config"]["delay_ms"], 25.0);
        assert_eq!(s["up"]["config"]["rate_mbit"], 100.0);
        assert_eq!(s["down"]["config"]["delay_ms"], 0.0);
        assert_eq!(s["up"]["dropped_down"], 1);
        em.run(Command::Up);
        assert_eq!(em.stats(true)["state"], "up");
    }
}
