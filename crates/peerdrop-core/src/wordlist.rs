//! The 256 words of short codes and verification words.
//!
//! Written for PeerDrop: common, concrete English nouns of 3 to 8 letters that are easy to say
//! and spell, in alphabetical order, with no two words one letter apart (a test checks) so a
//! misheard word is more likely to be unknown than to be another valid word. One word is
//! exactly 8 bits. The order is part of the protocol: changing it changes every code.

pub(crate) const WORDS: [&str; 256] = [
    "acorn", "actor", "alarm", "album", "almond", "anchor", "angle", "anvil", "apple", "apron", "arrow",
    "atlas", "attic", "autumn", "badge", "bagel", "bamboo", "banjo", "basket", "beacon", "beetle", "berry",
    "biscuit", "blanket", "blossom", "bottle", "bridge", "bucket", "button", "cabin", "cactus", "camel",
    "candle", "canoe", "canyon", "carpet", "castle", "cello", "cherry", "circus", "clover", "cobalt",
    "comet", "compass", "copper", "coral", "cotton", "crayon", "cricket", "daisy", "dancer", "delta",
    "denim", "desert", "dinner", "dolphin", "domino", "donut", "dragon", "drum", "dune", "eagle", "easel",
    "echo", "eclipse", "elbow", "ember", "emerald", "engine", "fabric", "falcon", "feather", "fiddle", "fig",
    "flute", "forest", "fossil", "fountain", "fox", "frost", "furnace", "galaxy", "garden", "garlic",
    "gecko", "ginger", "glacier", "globe", "goblet", "goose", "granite", "gravel", "guitar", "hammer",
    "harbor", "harp", "hazel", "hedgehog", "helmet", "hickory", "hilltop", "honey", "hornet", "husky",
    "icicle", "igloo", "indigo", "iris", "island", "ivory", "ivy", "jacket", "jaguar", "jasmine", "jelly",
    "jigsaw", "jungle", "juniper", "kangaroo", "kayak", "kernel", "kettle", "kingdom", "kite", "kiwi",
    "koala", "ladder", "lagoon", "lantern", "lemon", "lemur", "lentil", "lettuce", "lily", "llama",
    "lobster", "lotus", "lumber", "magnet", "mammoth", "maple", "marble", "meadow", "melon", "meteor",
    "mirror", "mitten", "monkey", "mosaic", "muffin", "mural", "mustard", "napkin", "nectar", "needle",
    "nickel", "noodle", "nugget", "nutmeg", "oasis", "oatmeal", "ocean", "olive", "onion", "orange", "orbit",
    "orchid", "otter", "owl", "panda", "parrot", "peanut", "pebble", "pepper", "piano", "pickle", "pigeon",
    "pirate", "planet", "plum", "potato", "pretzel", "pudding", "pumpkin", "puzzle", "quail", "quartz",
    "quilt", "rabbit", "radar", "radish", "raisin", "raven", "ribbon", "river", "robot", "rocket", "ruby",
    "rudder", "saddle", "salmon", "sandal", "satin", "scarf", "shovel", "silver", "sketch", "sparrow",
    "spider", "spinach", "spruce", "squid", "statue", "sugar", "summit", "sunset", "tablet", "tango",
    "teapot", "thistle", "tiger", "timber", "toast", "tomato", "topaz", "tractor", "trumpet", "tulip",
    "tundra", "tunnel", "turtle", "umbrella", "unicorn", "urchin", "valley", "vanilla", "velvet", "viking",
    "violin", "volcano", "voyage", "waffle", "wagon", "walnut", "walrus", "wheat", "willow", "window",
    "winter", "wizard", "wombat", "yacht", "yogurt", "zebra", "zinc", "zipper",
];

/// The index of `word` (already lowercase), if it is in the list.
pub(crate) fn index_of(word: &str) -> Option<u8> {
    WORDS.binary_search(&word).ok().map(|i| i as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_edit_apart(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() == b.len() {
            return a.iter().zip(b).filter(|(x, y)| x != y).count() <= 1;
        }
        let (short, long) = if a.len() < b.len() { (a, b) } else { (b, a) };
        long.len() == short.len() + 1
            && (0..long.len()).any(|i| long[..i] == short[..i] && long[i + 1..] == short[i..])
    }

    #[test]
    fn list_is_sorted_unique_plain_and_far_apart() {
        assert!(WORDS.windows(2).all(|w| w[0] < w[1]), "sorted and unique (binary search)");
        for (i, w) in WORDS.iter().enumerate() {
            assert!((3..=8).contains(&w.len()) && w.bytes().all(|c| c.is_ascii_lowercase()), "{w}");
            assert_eq!(index_of(w), Some(i as u8));
            for other in &WORDS[i + 1..] {
                assert!(!one_edit_apart(w, other), "{w} and {other} are one letter apart");
            }
        }
        assert_eq!(index_of("notaword"), None);
    }
}
