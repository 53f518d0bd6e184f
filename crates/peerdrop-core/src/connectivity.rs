//! Why two browsers could not connect, worked out from what ICE knew when it gave up: which
//! STUN and TURN servers were configured, and which kinds of candidate each side gathered.
//!
//! "Connection failed" helps nobody: the person needs to know whether another network will
//! do, and the operator whether a TURN relay is missing or unreachable. The runtime reads the
//! facts from the two session descriptions and its configuration; the judgement lives here,
//! free of I/O, so every case is tested natively.

use std::fmt;

/// How many candidates of each kind one side offered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Candidates {
    /// The device's own addresses.
    pub host: u32,
    /// Public addresses a STUN server saw (server-reflexive).
    pub srflx: u32,
    /// Addresses learnt from the other side's checks (peer-reflexive).
    pub prflx: u32,
    /// Addresses on a TURN relay.
    pub relay: u32,
    /// Server-reflexive candidates whose public port differs from the local port they came
    /// from: a NAT that rewrites ports (often a symmetric one, which defeats hole punching).
    pub srflx_port_changed: u32,
}

impl Candidates {
    /// Counts the `a=candidate:` lines of a session description (RFC 8839 syntax:
    /// `foundation component transport priority address port typ TYPE [raddr A rport P]`).
    pub fn from_sdp(sdp: &str) -> Candidates {
        let mut c = Candidates::default();
        for line in sdp.lines() {
            let Some(rest) = line.trim().strip_prefix("a=candidate:") else { continue };
            let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
            let after =
                |key: &str| fields.iter().position(|f| *f == key).and_then(|i| fields.get(i + 1)).copied();
            match after("typ") {
                Some("host") => c.host += 1,
                Some("srflx") => {
                    c.srflx += 1;
                    let port = fields.get(5).copied();
                    let rport = after("rport");
                    // Browsers may hide the related address (rport 0): then nothing is known.
                    if let (Some(p), Some(r)) = (port, rport) {
                        if r != "0" && p != r {
                            c.srflx_port_changed += 1;
                        }
                    }
                }
                Some("prflx") => c.prflx += 1,
                Some("relay") => c.relay += 1,
                _ => {}
            }
        }
        c
    }
}

/// What a connection attempt knew when it failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IceFacts {
    /// STUN URLs configured (a TURN server answers STUN too, but is counted as TURN).
    pub stun_urls: u32,
    /// TURN URLs configured.
    pub turn_urls: u32,
    pub local: Candidates,
    pub remote: Candidates,
}

/// What the NAT in front of this side looks like from its candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatHint {
    /// No STUN answer: nothing is known about the path to the internet.
    Unknown,
    /// The public port is the local one: an endpoint-independent ("cone") NAT is likely, and
    /// hole punching usually works.
    PortPreserving,
    /// The public port differs from the local one: perhaps a symmetric NAT, which gives every
    /// destination a new port, so that only a relay can connect it to another such NAT.
    PortChanging,
}

impl NatHint {
    pub fn of(c: &Candidates) -> NatHint {
        if c.srflx == 0 {
            NatHint::Unknown
        } else if c.srflx_port_changed > 0 {
            NatHint::PortChanging
        } else {
            NatHint::PortPreserving
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            NatHint::Unknown => "unknown",
            NatHint::PortPreserving => "port_preserving",
            NatHint::PortChanging => "port_changing",
        }
    }
}

/// Why no connection could be made, most specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceFailure {
    /// Neither the page nor the signaling endpoint configured STUN or TURN: each browser knows
    /// only its local addresses, so only devices on one network can connect.
    NoIceServers,
    /// TURN is configured but this side gathered no relay address: the relay is unreachable
    /// from here (UDP and TCP blocked) or refused the credentials.
    RelayUnreachable,
    /// Only STUN is configured, and this side got no answer from it: UDP to the internet is
    /// blocked here, and without a relay nothing else can work.
    StunUnreachable,
    /// Only STUN is configured; this side got its public address, the other side did not: the
    /// other network blocks UDP to the internet, and without a relay nothing else can work.
    PeerStunUnreachable,
    /// Both sides know their public addresses, but no direct path exists between them (a
    /// symmetric NAT or a firewall), and no TURN relay is configured.
    NoRelayConfigured,
    /// A relay address was gathered, and still no pair of addresses worked.
    RelayFailed,
}

impl IceFailure {
    pub fn classify(f: &IceFacts) -> IceFailure {
        if f.stun_urls == 0 && f.turn_urls == 0 {
            IceFailure::NoIceServers
        } else if f.turn_urls > 0 && f.local.relay == 0 {
            IceFailure::RelayUnreachable
        } else if f.turn_urls > 0 {
            IceFailure::RelayFailed
        } else if f.local.srflx == 0 {
            IceFailure::StunUnreachable
        } else if f.remote.srflx == 0 {
            IceFailure::PeerStunUnreachable
        } else {
            IceFailure::NoRelayConfigured
        }
    }

    /// A stable name for programs (the `reason` of an `ice_failed` error).
    pub fn name(self) -> &'static str {
        match self {
            IceFailure::NoIceServers => "no_ice_servers",
            IceFailure::RelayUnreachable => "relay_unreachable",
            IceFailure::StunUnreachable => "stun_unreachable",
            IceFailure::PeerStunUnreachable => "peer_stun_unreachable",
            IceFailure::NoRelayConfigured => "no_relay_configured",
            IceFailure::RelayFailed => "relay_failed",
        }
    }
}

impl fmt::Display for IceFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IceFailure::NoIceServers => "No connection could be made: this site has no STUN or TURN server configured, so the two browsers can only reach each other on the same network. Connect both devices to one network, or ask the site's operator to configure STUN and TURN.",
            IceFailure::RelayUnreachable => "No connection could be made: this browser could not reach the site's TURN relay (this network may block it, or the relay refused its credentials). Try another network; the site's operator can check the relay and offer it over TCP.",
            IceFailure::StunUnreachable => "No connection could be made: this network blocks the UDP traffic a direct connection needs (the site's STUN server did not answer), and the site has no TURN relay configured. Try another network, or ask the site's operator to configure TURN.",
            IceFailure::PeerStunUnreachable => "No connection could be made: the other browser's network blocks the UDP traffic a direct connection needs (the site's STUN server did not answer it), and the site has no TURN relay configured. The other person can try another network, or ask the site's operator to configure TURN.",
            IceFailure::NoRelayConfigured => "No direct connection could be made: the routers or firewalls in front of the two browsers let no direct path through (a NAT that gives every destination a new port, or a firewall), and this site has no TURN relay configured. Try both devices on one network, or ask the site's operator to configure TURN.",
            IceFailure::RelayFailed => "No connection could be made, even through the site's TURN relay: the other browser may not reach the relay, or a firewall blocks the relayed traffic. Try another network.",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROMIUM_SDP: &str = "v=0\r\n\
        a=candidate:1 1 udp 2113937151 10.1.0.2 40000 typ host generation 0\r\n\
        a=candidate:2 1 udp 1677729535 203.0.113.21 40000 typ srflx raddr 10.1.0.2 rport 40000 generation 0\r\n\
        a=candidate:3 1 udp 1677729535 203.0.113.22 51515 typ srflx raddr 10.2.0.2 rport 40001 generation 0\r\n\
        a=candidate:4 1 udp 33562623 203.0.113.10 49160 typ relay raddr 203.0.113.22 rport 51515 generation 0\r\n\
        a=candidate:5 1 tcp 1518280447 10.1.0.2 9 typ host tcptype active generation 0\r\n\
        a=fingerprint:sha-256 AB:CD\r\n";

    #[test]
    fn candidates_are_counted_by_kind() {
        let c = Candidates::from_sdp(CHROMIUM_SDP);
        assert_eq!(c, Candidates { host: 2, srflx: 2, prflx: 0, relay: 1, srflx_port_changed: 1 });
        assert_eq!(NatHint::of(&c), NatHint::PortChanging);
    }

    #[test]
    fn hidden_related_ports_say_nothing_about_the_nat() {
        let sdp = "a=candidate:2 1 udp 1 203.0.113.21 40000 typ srflx raddr 0.0.0.0 rport 0\n";
        let c = Candidates::from_sdp(sdp);
        assert_eq!((c.srflx, c.srflx_port_changed), (1, 0));
        assert_eq!(NatHint::of(&c), NatHint::PortPreserving);
        assert_eq!(NatHint::of(&Candidates::default()), NatHint::Unknown);
    }

    #[test]
    fn malformed_candidate_lines_count_as_nothing() {
        let c = Candidates::from_sdp(
            "a=candidate:\na=candidate:1 1 udp\na=candidate:x typ\na=candidate:1 typ weird\n",
        );
        assert_eq!(c, Candidates::default());
    }

    fn facts(stun: u32, turn: u32, local: &str, remote: &str) -> IceFacts {
        IceFacts {
            stun_urls: stun,
            turn_urls: turn,
            local: Candidates::from_sdp(local),
            remote: Candidates::from_sdp(remote),
        }
    }

    const HOST: &str = "a=candidate:1 1 udp 1 10.1.0.2 4 typ host\n";
    const SRFLX: &str = "a=candidate:1 1 udp 1 10.1.0.2 4 typ host\na=candidate:2 1 udp 1 203.0.113.2 7 typ srflx raddr 10.1.0.2 rport 4\n";
    const RELAY: &str = "a=candidate:1 1 udp 1 10.1.0.2 4 typ host\na=candidate:3 1 udp 1 203.0.113.10 9 typ relay raddr 1.2.3.4 rport 7\n";

    #[test]
    fn each_failure_is_told_apart() {
        assert_eq!(IceFailure::classify(&facts(0, 0, HOST, HOST)), IceFailure::NoIceServers);
        assert_eq!(IceFailure::classify(&facts(1, 0, HOST, SRFLX)), IceFailure::StunUnreachable);
        assert_eq!(IceFailure::classify(&facts(1, 0, SRFLX, HOST)), IceFailure::PeerStunUnreachable);
        assert_eq!(IceFailure::classify(&facts(1, 0, SRFLX, SRFLX)), IceFailure::NoRelayConfigured);
        assert_eq!(IceFailure::classify(&facts(1, 2, SRFLX, SRFLX)), IceFailure::RelayUnreachable);
        assert_eq!(IceFailure::classify(&facts(0, 2, RELAY, HOST)), IceFailure::RelayFailed);
    }

    #[test]
    fn every_failure_names_what_to_do() {
        for f in [
            IceFailure::NoIceServers,
            IceFailure::RelayUnreachable,
            IceFailure::StunUnreachable,
            IceFailure::PeerStunUnreachable,
            IceFailure::NoRelayConfigured,
            IceFailure::RelayFailed,
        ] {
            let text = f.to_string();
            assert!(text.contains("network"), "{text}");
            assert!(f.name().chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        }
        assert!(IceFailure::NoIceServers.to_string().contains("STUN or TURN"));
        assert!(IceFailure::NoRelayConfigured.to_string().contains("TURN"));
    }
}
