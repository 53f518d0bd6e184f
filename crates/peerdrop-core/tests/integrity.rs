//! Nothing in the library may turn block hashing or verification off.
//!
//! Cargo turns a feature on in every build of a crate once anything in that build asks for it
//! (a dependant, `--all-features`), so a feature like the former `bench-unhashed`, which
//! replaced SHA-256 with a no-op for a benchmark, could silently reach a shipped build. The
//! engine bench measures without hashing through the host-hashing API instead
//! (`benches/engine.rs`), and `make test-rust` runs the tests with `--all-features`, so the
//! corrupted-block tests of `tests/transfer.rs` also run with every feature on.

use peerdrop_core::{ContentDigest, Hasher};

/// Features (and optional dependencies, which are features too) checked to leave hashing and
/// verification as they are. A new one is added here only after that review.
const REVIEWED_FEATURES: &[&str] = &[];

/// The feature names `Cargo.toml` declares: the keys of `[features]` and the optional
/// dependencies.
fn features_of(manifest: &str) -> Vec<String> {
    let mut section = "";
    let mut found = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        if line.starts_with('#') {
            continue;
        }
        let key = key.trim().trim_matches('"').to_string();
        let optional_dependency = section.ends_with("dependencies]")
            && !section.contains("dev-dependencies")
            && value.replace(' ', "").contains("optional=true");
        if section == "[features]" || optional_dependency {
            found.push(key);
        }
    }
    found
}

#[test]
fn the_library_has_no_feature_that_could_turn_hashing_off() {
    let features = features_of(include_str!("../Cargo.toml"));
    let unreviewed: Vec<&String> =
        features.iter().filter(|f| !REVIEWED_FEATURES.contains(&f.as_str())).collect();
    assert!(
        unreviewed.is_empty(),
        "peerdrop-core declares the features {unreviewed:?}. Any build that unifies a feature gets it, so \
         one must never weaken hashing or verification (benchmarks switch hashing off through \
         BlockHashing::Host, not a feature); after checking that, list it in REVIEWED_FEATURES"
    );
}

#[test]
fn the_feature_scan_sees_features_and_optional_dependencies() {
    let manifest = "[dependencies]\nsha2 = { version = \"0.10\", optional = true }\nhkdf = \"0.12\"\n\
                    [dev-dependencies]\nproptest = { version = \"1\", optional = true }\n\
                    [features]\n# a comment = here\nbench-unhashed = []\n\"quoted\" = [\"sha2\"]\n";
    assert_eq!(features_of(manifest), ["sha2", "bench-unhashed", "quoted"]);
}

fn hex(bytes: [u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn blocks_are_hashed_with_sha256_whatever_the_features() {
    // FIPS 180-2, appendix B.1 and B.2.
    assert_eq!(
        hex(Hasher::digest(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let two_blocks = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    let mut h = Hasher::new();
    h.update(&two_blocks[..20]);
    h.update(&two_blocks[20..]);
    assert_eq!(hex(h.finish()), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    // A file's content digest is SHA-256 over its block digests.
    let mut content = ContentDigest::new();
    content.push(&Hasher::digest(b"abc"));
    assert_eq!(content.finish(), Hasher::digest(&Hasher::digest(b"abc")));
    assert_ne!(hex(content.finish()), hex([0; 32]));
}
