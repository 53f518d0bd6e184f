//! Short codes a person can read aloud ("7-guitar-orbit"), turned into a [`LinkSecret`] by a
//! password-authenticated key exchange.
//!
//! The number names the signaling room (it is public: the relay picks it, among those no open
//! room holds, and sees it). The two words are the password: 16 bits, far too few to
//! use as a key directly, since anyone who saw one sealed message could try all 65 536 codes
//! offline in milliseconds. SPAKE2 prevents exactly that: a transcript reveals nothing that
//! lets an observer or the relay test a guess, and an active attacker who joins the room
//! learns whether one guessed code was right, per attempt. How many attempts a room allows is
//! up to the signaling endpoint (see `docs/security.md`).
//!
//! After the exchange, each side sends an HMAC of the transcript ([`PakeKeys::confirmation`])
//! so a wrong code is reported explicitly instead of surfacing as undecryptable signaling. The
//! [`LinkSecret`] it yields feeds the unchanged link machinery (sealing keys, transfer id),
//! so everything after the exchange is the same as for a share link.
//!
//! # Crate choice
//!
//! `spake2` 0.4 (RustCrypto PAKEs), Ed25519 group via `curve25519-dalek` 4: pure Rust,
//! `no_std`, `forbid(unsafe_code)`, builds for wasm32 without a system RNG when its default
//! `getrandom` feature is off. It implements the SPAKE2 of python-spake2/magic-wormhole, not
//! the exact RFC 9382 transcript, so RFC 9382's vectors do not apply; see the pinned test.
//! No maintained Rust CPace crate exists in RustCrypto, so CPace was not an option.

use crate::frame::Role;
use crate::link::SALT;
use crate::link::{LinkSecret, SECRET_BYTES};
use crate::wordlist::{index_of, WORDS};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};
use spake2::{Ed25519Group, Identity, Password, Spake2};
use std::fmt;
use std::str::FromStr;

/// Room numbers the signaling endpoint hands out while any is free: three digits at most, quick
/// to say. It carries no secret.
pub const SHORT_NUMBERS: u16 = 999;
/// Largest room number in a code: the endpoint gives four digits once every three-digit number
/// is held by an open room (`docs/signaling.md` section 2.1).
pub const MAX_NUMBER: u16 = 9999;
/// Words in a short code: 2 × 8 bits of password.
pub const CODE_WORDS: usize = 2;
/// Words in [`verification_words`]: 24 bits.
pub const VERIFICATION_WORDS: usize = 3;
/// Bytes of a [`PakeKeys::confirmation`].
pub const CONFIRMATION_BYTES: usize = 32;

/// A parsed short code: room number and two word indices.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShortCode {
    number: u16,
    words: [u8; CODE_WORDS],
}

/// Why typed text is not a short code. The messages tell the person what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeError {
    Empty,
    /// Not one number followed by two words.
    WrongShape,
    /// The first part is not a number from 1 to [`MAX_NUMBER`].
    BadNumber,
    /// A word that is not in the list (truncated to 32 characters).
    UnknownWord(String),
}

impl fmt::Display for CodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodeError::Empty => {
                write!(f, "enter the code the sender gave you, like 7-guitar-orbit")
            }
            CodeError::WrongShape => {
                f.write_str("a code is a number and two words, like 7-guitar-orbit: ")?;
                f.write_str("check that nothing is missing")
            }
            CodeError::BadNumber => {
                write!(f, "a code starts with a number from 1 to {MAX_NUMBER}, ")?;
                f.write_str("like the 7 in 7-guitar-orbit")
            }
            CodeError::UnknownWord(w) => {
                write!(f, "\"{w}\" is not one of PeerDrop's code words: ")?;
                f.write_str("check its spelling with the sender")
            }
        }
    }
}

impl std::error::Error for CodeError {}

impl fmt::Debug for ShortCode {
    /// The words are a password: keep them out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShortCode({}-..)", self.number)
    }
}

impl fmt::Display for ShortCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.number, self.password())
    }
}

impl FromStr for ShortCode {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, CodeError> {
        ShortCode::parse(s)
    }
}

impl ShortCode {
    /// Makes a code from 4 bytes of a cryptographically secure random source. The number's
    /// slight modulo bias does not matter (it is public); the words take one whole byte each.
    /// A sender keeps only the words: its number is the one the endpoint picks ([`with_number`]).
    ///
    /// [`with_number`]: ShortCode::with_number
    pub fn generate(random: [u8; 4]) -> ShortCode {
        let n = u16::from_be_bytes([random[0], random[1]]) % SHORT_NUMBERS + 1;
        ShortCode { number: n, words: [random[2], random[3]] }
    }

    /// The same words with the room number the signaling endpoint picked.
    pub fn with_number(self, number: u16) -> Result<ShortCode, CodeError> {
        if (1..=MAX_NUMBER).contains(&number) {
            Ok(ShortCode { number, ..self })
        } else {
            Err(CodeError::BadNumber)
        }
    }

    /// Reads what a person typed: any case, surrounding space, and dashes, spaces, dots,
    /// commas or underscores between the parts ("7 Guitar Orbit", "7-guitar_orbit").
    pub fn parse(text: &str) -> Result<ShortCode, CodeError> {
        let lower = text.trim().to_lowercase();
        if lower.is_empty() {
            return Err(CodeError::Empty);
        }
        let parts: Vec<&str> = lower
            .split(|c: char| c.is_whitespace() || matches!(c, '-' | '_' | '.' | ','))
            .filter(|p| !p.is_empty())
            .collect();
        let [number, first, second] = parts[..] else {
            return Err(CodeError::WrongShape);
        };
        let number: u16 = match number.parse() {
            Ok(n) if (1..=MAX_NUMBER).contains(&n) => n,
            _ => return Err(CodeError::BadNumber),
        };
        let word = |w: &str| index_of(w).ok_or_else(|| CodeError::UnknownWord(w.chars().take(32).collect()));
        Ok(ShortCode { number, words: [word(first)?, word(second)?] })
    }

    /// The room number (public).
    pub fn number(&self) -> u16 {
        self.number
    }

    /// A room id derived from the number alone (base64url, 22 characters), never from the words.
    /// Older runtimes sent it as the room; the endpoint now addresses short-code rooms by their
    /// number, so the runtime uses it only as a local name for the transfer.
    pub fn room_id(&self) -> String {
        let mut out = [0u8; 16];
        Hkdf::<Sha256>::new(Some(SALT), self.number.to_string().as_bytes())
            .expand(b"short code room id", &mut out)
            .expect("16 bytes is far below HKDF's output limit");
        URL_SAFE_NO_PAD.encode(out)
    }

    /// The secret words, the SPAKE2 password ("guitar-orbit").
    fn password(&self) -> String {
        let [a, b] = self.words;
        format!("{}-{}", WORDS[a as usize], WORDS[b as usize])
    }
}

/// Why the key exchange failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PakeError {
    /// The other side's message is not a valid SPAKE2 message or confirmation.
    Garbled,
    /// Both sides took the same role (both sending or both receiving).
    SameRole,
    /// The confirmation did not match: the two sides typed different codes (or someone
    /// guessed and got it wrong).
    WrongCode,
}

impl fmt::Display for PakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PakeError::Garbled => write!(
                f,
                "the connection setup message arrived damaged: the signaling server may be \
                 misbehaving; start again with a new code"
            ),
            PakeError::SameRole => write!(
                f,
                "both devices are trying to send (or both to receive): one must send and the \
                 other receive"
            ),
            PakeError::WrongCode => write!(
                f,
                "the code does not match the sender's; a code allows one try, so ask the sender \
                 for a new one"
            ),
        }
    }
}

impl std::error::Error for PakeError {}

/// One side of a SPAKE2 exchange in progress. Sans-IO: send the message [`start`](Self::start)
/// returns to the other side through the room, then call [`finish`](Self::finish) with theirs.
pub struct PakeSession {
    spake: Spake2<Ed25519Group>,
    role: Role,
    number: u16,
    message: Vec<u8>,
}

impl fmt::Debug for PakeSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PakeSession").field("role", &self.role).field("number", &self.number).finish()
    }
}

/// Identities bind the exchange to the protocol, the room number and each side's role.
fn identity(number: u16, role: Role) -> Identity {
    let side = match role {
        Role::Sender => "sender",
        Role::Receiver => "receiver",
    };
    Identity::new(format!("peerdrop/v1 short code {number} {side}").as_bytes())
}

impl PakeSession {
    /// Starts the exchange. `random` must be 32 fresh bytes from a cryptographically secure
    /// source (e.g. `crypto.getRandomValues`); it seeds the SPAKE2 secret scalar. The sender
    /// (who made the code) plays SPAKE2 side A, the receiver side B.
    pub fn start(code: &ShortCode, role: Role, random: [u8; 32]) -> (PakeSession, Vec<u8>) {
        let password = Password::new(code.password().as_bytes());
        let (id_a, id_b) = (identity(code.number, Role::Sender), identity(code.number, Role::Receiver));
        let rng = ChaCha20Rng::from_seed(random);
        let (spake, message) = match role {
            Role::Sender => Spake2::<Ed25519Group>::start_a_with_rng(&password, &id_a, &id_b, rng),
            Role::Receiver => Spake2::<Ed25519Group>::start_b_with_rng(&password, &id_a, &id_b, rng),
        };
        (PakeSession { spake, role, number: code.number, message: message.clone() }, message)
    }

    /// Completes the exchange with the other side's message. A wrong code is *not* detected
    /// here (SPAKE2 just yields different keys); it shows in [`PakeKeys::verify_confirmation`].
    pub fn finish(self, peer_message: &[u8]) -> Result<PakeKeys, PakeError> {
        let key = self.spake.finish(peer_message).map_err(|e| match e {
            spake2::Error::BadSide => PakeError::SameRole,
            _ => PakeError::Garbled,
        })?;
        let hkdf = Hkdf::<Sha256>::new(Some(SALT), &key);
        let expand = |label: &str, out: &mut [u8]| {
            hkdf.expand(label.as_bytes(), out).expect("short outputs are within HKDF's limit")
        };
        let mut secret = [0u8; SECRET_BYTES];
        expand("short code link secret", &mut secret);
        let mut sender_key = [0u8; 32];
        expand("short code confirm sender", &mut sender_key);
        let mut receiver_key = [0u8; 32];
        expand("short code confirm receiver", &mut receiver_key);

        // Transcript: both SPAKE2 messages in role order, under the room number.
        let (msg_sender, msg_receiver) = match self.role {
            Role::Sender => (self.message.as_slice(), peer_message),
            Role::Receiver => (peer_message, self.message.as_slice()),
        };
        let mut transcript = format!("peerdrop/v1 short code confirm {}\0", self.number).into_bytes();
        transcript.extend_from_slice(msg_sender);
        transcript.extend_from_slice(msg_receiver);

        let (own_key, peer_key) = match self.role {
            Role::Sender => (sender_key, receiver_key),
            Role::Receiver => (receiver_key, sender_key),
        };
        Ok(PakeKeys { secret: LinkSecret::from_bytes(secret), own_key, peer_key, transcript })
    }
}

/// The result of a finished exchange, not yet confirmed. The [`LinkSecret`] comes out only
/// from [`verify_confirmation`](Self::verify_confirmation), so an unconfirmed key (which a
/// wrong code produces) cannot be used by mistake.
pub struct PakeKeys {
    secret: LinkSecret,
    own_key: [u8; 32],
    peer_key: [u8; 32],
    transcript: Vec<u8>,
}

impl fmt::Debug for PakeKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PakeKeys(..)")
    }
}

fn mac(key: &[u8; 32], transcript: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(transcript);
    mac
}

impl PakeKeys {
    /// This side's key confirmation, to send to the other side. Different keys per role, so
    /// the relay cannot reflect one side's confirmation back to it.
    pub fn confirmation(&self) -> [u8; CONFIRMATION_BYTES] {
        mac(&self.own_key, &self.transcript).finalize().into_bytes().into()
    }

    /// Checks the other side's confirmation (in constant time) and, if it matches, hands out
    /// the shared [`LinkSecret`]. A mismatch means the two sides used different codes.
    pub fn verify_confirmation(&self, theirs: &[u8]) -> Result<LinkSecret, PakeError> {
        if theirs.len() != CONFIRMATION_BYTES {
            return Err(PakeError::Garbled);
        }
        mac(&self.peer_key, &self.transcript).verify_slice(theirs).map_err(|_| PakeError::WrongCode)?;
        Ok(self.secret.clone())
    }
}

/// A few words both people can compare after connecting, computed from the two DTLS
/// certificate fingerprints (as in the SDP `a=fingerprint` lines). Order-independent, and
/// tolerant of case and spacing, so each side can pass (local, remote) in its own order.
/// Matching words mean both ends share one DTLS connection, with nobody in between.
pub fn verification_words(fingerprint_a: &str, fingerprint_b: &str) -> String {
    let normalize = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_lowercase();
    let mut pair = [normalize(fingerprint_a), normalize(fingerprint_b)];
    pair.sort();
    let mut hash = Sha256::new();
    hash.update(b"peerdrop/v1 verification words\0");
    for fp in &pair {
        hash.update((fp.len() as u64).to_be_bytes());
        hash.update(fp.as_bytes());
    }
    let digest = hash.finalize();
    digest[..VERIFICATION_WORDS].iter().map(|&b| WORDS[b as usize]).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::SignalSeal;
    use proptest::prelude::*;

    fn code(s: &str) -> ShortCode {
        ShortCode::parse(s).unwrap()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Runs both sides; returns each side's outcome of verifying the other's confirmation.
    fn exchange(
        sender_code: &ShortCode,
        receiver_code: &ShortCode,
    ) -> (Result<LinkSecret, PakeError>, Result<LinkSecret, PakeError>) {
        let (s, s_msg) = PakeSession::start(sender_code, Role::Sender, [1; 32]);
        let (r, r_msg) = PakeSession::start(receiver_code, Role::Receiver, [2; 32]);
        let s = s.finish(&r_msg).unwrap();
        let r = r.finish(&s_msg).unwrap();
        (s.verify_confirmation(&r.confirmation()), r.verify_confirmation(&s.confirmation()))
    }

    #[test]
    fn right_code_gives_both_sides_the_same_secret() {
        let c = code("7-guitar-orbit");
        let (s, r) = exchange(&c, &c);
        let (s, r) = (s.unwrap(), r.unwrap());
        assert_eq!(s, r);
        // ... which then seals signaling like a share link's secret does.
        let mut tx = SignalSeal::new(&s, Role::Sender, [5; 16]);
        let mut rx = SignalSeal::new(&r, Role::Receiver, [6; 16]);
        assert_eq!(rx.open(&tx.seal("offer", b"sdp").unwrap()).unwrap().payload, b"sdp");
    }

    #[test]
    fn wrong_code_is_detected_on_both_sides() {
        for other in ["7-guitar-otter", "7-orbit-guitar", "7-acorn-acorn"] {
            let (s, r) = exchange(&code("7-guitar-orbit"), &code(other));
            assert_eq!(s, Err(PakeError::WrongCode), "{other}");
            assert_eq!(r, Err(PakeError::WrongCode), "{other}");
        }
        // Same words under another number: also a different exchange.
        let (s, r) = exchange(&code("7-guitar-orbit"), &code("8-guitar-orbit"));
        assert_eq!((s, r), (Err(PakeError::WrongCode), Err(PakeError::WrongCode)));
    }

    #[test]
    fn fresh_randomness_gives_fresh_secrets() {
        let c = code("7-guitar-orbit");
        let run = |seed: u8| {
            let (s, s_msg) = PakeSession::start(&c, Role::Sender, [seed; 32]);
            let (r, r_msg) = PakeSession::start(&c, Role::Receiver, [seed.wrapping_add(1); 32]);
            let (s, r) = (s.finish(&r_msg).unwrap(), r.finish(&s_msg).unwrap());
            s.verify_confirmation(&r.confirmation()).unwrap()
        };
        assert_ne!(run(10), run(20));
    }

    #[test]
    fn reflected_confirmation_and_same_role_are_refused() {
        let c = code("7-guitar-orbit");
        let (s, s_msg) = PakeSession::start(&c, Role::Sender, [1; 32]);
        let (r, r_msg) = PakeSession::start(&c, Role::Receiver, [2; 32]);
        let s = s.finish(&r_msg).unwrap();
        assert_eq!(s.verify_confirmation(&s.confirmation()), Err(PakeError::WrongCode));
        assert_eq!(s.verify_confirmation(&[0; 5]), Err(PakeError::Garbled));
        // A sender's message fed to another sender.
        let (s2, _) = PakeSession::start(&c, Role::Sender, [3; 32]);
        assert_eq!(s2.finish(&s_msg).unwrap_err(), PakeError::SameRole);
        // Truncated or corrupt peer messages.
        assert_eq!(r.finish(&s_msg[..10]).unwrap_err(), PakeError::Garbled);
    }

    #[test]
    fn pinned_exchange_for_fixed_inputs() {
        // spake2 0.4 follows python-spake2, not RFC 9382's transcript, so the RFC's vectors do
        // not apply. These are this implementation's own outputs for fixed inputs, pinned so a
        // change of crate version, identity, label or HKDF step (any of which would stop old
        // and new peers from agreeing) fails here. All values were recomputed independently
        // with python-spake2 0.9 and pyca/cryptography (script in `docs/security.md`).
        let c = code("7-guitar-orbit");
        let (s, s_msg) = PakeSession::start(&c, Role::Sender, [1; 32]);
        let (r, r_msg) = PakeSession::start(&c, Role::Receiver, [2; 32]);
        assert_eq!(hex(&s_msg), PINNED_SENDER_MSG);
        assert_eq!(hex(&r_msg), PINNED_RECEIVER_MSG);
        let (s, r) = (s.finish(&r_msg).unwrap(), r.finish(&s_msg).unwrap());
        assert_eq!(hex(&s.confirmation()), PINNED_SENDER_CONFIRM);
        assert_eq!(hex(&r.confirmation()), PINNED_RECEIVER_CONFIRM);
        assert_eq!(s.verify_confirmation(&r.confirmation()).unwrap().to_fragment(), PINNED_SECRET);
        assert_eq!(c.room_id(), PINNED_ROOM_7);
    }

    const PINNED_SENDER_MSG: &str = "41f2bd9bf67d8553b49cd91394ebd3c1282fa9214bd8c4bcf6405128b687f6e9c2";
    const PINNED_RECEIVER_MSG: &str = "423117def1ea8548b302e880a1a0701e07484ce97df24090095b8c1c6a706e7af5";
    const PINNED_SENDER_CONFIRM: &str = "b83095fa1b7c5b1abf25f9d15568dc8b9f35ec1738ca2dee76c7beb334704b8a";
    const PINNED_RECEIVER_CONFIRM: &str = "b6c2174619adf11d9380dd4b76152ea2842d289b870e3c534edb423ee488fdf9";
    const PINNED_SECRET: &str = "V8S-3YSvEIpVPcuACUzt1w";
    const PINNED_ROOM_7: &str = "JEM-a3Zy70TS0-LqiXOArQ";

    #[test]
    fn parse_is_lenient_and_round_trips() {
        let c = code("7-guitar-orbit");
        assert_eq!(c.to_string(), "7-guitar-orbit");
        assert_eq!(c.number(), 7);
        for typed in [
            "  7 Guitar ORBIT ",
            "7_guitar.orbit",
            "7 - guitar - orbit",
            "007-guitar-orbit",
            "7,guitar,orbit\n",
        ] {
            assert_eq!(ShortCode::parse(typed), Ok(c), "{typed:?}");
        }
        assert_eq!("7-guitar-orbit".parse::<ShortCode>(), Ok(c));
        assert_eq!(format!("{c:?}"), "ShortCode(7-..)");
    }

    #[test]
    fn parse_explains_what_is_wrong() {
        assert_eq!(ShortCode::parse("   "), Err(CodeError::Empty));
        assert_eq!(ShortCode::parse("7-guitar"), Err(CodeError::WrongShape));
        assert_eq!(ShortCode::parse("7-guitar-orbit-otter"), Err(CodeError::WrongShape));
        assert_eq!(ShortCode::parse("0-guitar-orbit"), Err(CodeError::BadNumber));
        assert_eq!(ShortCode::parse("10000-guitar-orbit"), Err(CodeError::BadNumber));
        assert_eq!(ShortCode::parse("guitar-7-orbit"), Err(CodeError::BadNumber));
        assert_eq!(ShortCode::parse("7-gitar-orbit"), Err(CodeError::UnknownWord("gitar".into())));
        assert!(CodeError::UnknownWord("gitar".into()).to_string().contains("\"gitar\""));
    }

    #[test]
    fn four_digit_numbers_and_the_endpoints_number() {
        let c = code("1234-guitar-orbit");
        assert_eq!(c.number(), 1234);
        assert_eq!(c.to_string(), "1234-guitar-orbit");
        let drawn = ShortCode::generate([0, 6, 7, 9]);
        let given = drawn.with_number(9999).unwrap();
        assert_eq!(given.number(), 9999);
        assert_eq!(given.password(), drawn.password(), "the words stay");
        assert_eq!(drawn.with_number(0), Err(CodeError::BadNumber));
        assert_eq!(drawn.with_number(10000), Err(CodeError::BadNumber));
    }

    #[test]
    fn room_id_depends_on_the_number_only() {
        assert_eq!(code("7-guitar-orbit").room_id(), code("7-acorn-zipper").room_id());
        assert_ne!(code("7-guitar-orbit").room_id(), code("8-guitar-orbit").room_id());
        assert_eq!(code("7-guitar-orbit").room_id().len(), 22);
    }

    #[test]
    fn verification_words_are_symmetric() {
        let a = "sha-256 AB:CD:EF:01";
        let b = "sha-256 12:34:56:78";
        let w = verification_words(a, b);
        assert_eq!(w, verification_words(b, a));
        assert_eq!(w, verification_words(" SHA-256  ab:cd:ef:01", "sha-256 12:34:56:78\n"));
        assert_eq!(w.split(' ').count(), VERIFICATION_WORDS);
        assert_ne!(w, verification_words(a, "sha-256 12:34:56:79"));
        assert_eq!(w, PINNED_WORDS); // recomputed with Python's hashlib, see docs/security.md
    }

    const PINNED_WORDS: &str = "blossom radar juniper";

    proptest! {
        #[test]
        fn generated_codes_round_trip(random in any::<[u8; 4]>()) {
            let c = ShortCode::generate(random);
            prop_assert!((1..=SHORT_NUMBERS).contains(&c.number()));
            prop_assert_eq!(ShortCode::parse(&c.to_string()), Ok(c));
            let shouted = c.to_string().to_uppercase().replace('-', " ");
            prop_assert_eq!(ShortCode::parse(&shouted), Ok(c));
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,40}") {
            let _ = ShortCode::parse(&text);
        }

        #[test]
        fn garbage_peer_messages_are_errors(
            bytes in proptest::collection::vec(any::<u8>(), 0..70),
            point in any::<[u8; 32]>(),
        ) {
            let code = ShortCode::generate([0, 6, 1, 2]);
            let (s, _) = PakeSession::start(&code, Role::Sender, [9; 32]);
            prop_assert!(s.finish(&bytes).is_err() || bytes.len() == 33);
            // Side byte right, point random: either not a point, or keys bound to that point.
            let (s, s_msg) = PakeSession::start(&code, Role::Sender, [9; 32]);
            let forged = [&[b'B'][..], &point].concat();
            if let Ok(keys) = s.finish(&forged) {
                // Even the confirmation of an honest receiver with the right code (over its
                // own message) does not verify: the keys and transcript follow the forged point.
                let (r, _) = PakeSession::start(&code, Role::Receiver, [8; 32]);
                let honest = r.finish(&s_msg).expect("an honest exchange");
                prop_assert!(keys.verify_confirmation(&honest.confirmation()).is_err());
            }
        }
    }
}
