//! Seeded fuzz run of `StoreHash::parse`: random bytes, random ASCII,
//! random concatenations of address pieces, and mutations of valid forms.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::tests::ACCEPTED;
use super::*;

fn is_hash(s: &str) -> bool {
    (1..=MAX_HASH_LEN).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// `parse` never panics; whatever it accepts is a valid hash, reparses to
/// itself and was present in the input.
fn check(input: &str) {
    if let Ok(hash) = StoreHash::parse(input) {
        let s = hash.as_str();
        assert!(is_hash(s), "{input:?} -> {s:?}");
        assert_eq!(StoreHash::parse(s).as_ref(), Ok(&hash), "{input:?}");
        if !input.contains('%') {
            assert!(input.to_ascii_lowercase().contains(s), "{input:?} -> {s:?}");
        }
    }
}

const PIECES: &[&str] = &[
    "https://",
    "http://",
    "ftp://",
    "HTTPS:",
    "api.bigcommerce.com",
    "/stores/",
    "stores/",
    "store-",
    ".mybigcommerce.com",
    "abc123",
    "ABC",
    "/v3",
    "/v2",
    "/",
    ":",
    ":8443",
    ":443",
    "@",
    "user",
    "?",
    "#",
    ".",
    "evil.com",
    "%",
    "%2e",
    "-",
    "_",
    " ",
    "\0",
    "\u{430}",
    "\\",
    "[::1]",
    "..",
    "xn--",
    "127.0.0.1",
    "//",
    "manage",
    "a",
    "0",
];
const CHARS: &[char] = &[
    'a', 'z', '0', '9', 'A', 'Z', '/', ':', '.', '@', '%', '?', '#', '-', '_', ' ', '\t', '\0',
    '\\', '\u{430}', '\u{e9}', '\u{200b}', '[', ']', '~', '+', '=', '&', '\n',
];

#[test]
fn fuzz_parse_never_misbehaves() {
    let mut rng = StdRng::seed_from_u64(0x0ca7_b71d_6e00_5eed);
    let mut accepted = 0usize;
    const ROUNDS: usize = 60_000;
    for round in 0..ROUNDS * 4 {
        let input = match round % 4 {
            0 => {
                let mut bytes = vec![0u8; rng.random_range(0..48)];
                rng.fill(&mut bytes[..]);
                String::from_utf8_lossy(&bytes).into_owned()
            }
            1 => (0..rng.random_range(0..48))
                .map(|_| char::from(rng.random_range(0u8..128)))
                .collect(),
            2 => (0..rng.random_range(1..8))
                .map(|_| PIECES[rng.random_range(0..PIECES.len())])
                .collect(),
            _ => {
                let base = ACCEPTED[rng.random_range(0..ACCEPTED.len())];
                let mut chars: Vec<char> = base.chars().collect();
                for _ in 0..rng.random_range(1..5) {
                    let c = if rng.random_bool(0.5) {
                        CHARS[rng.random_range(0..CHARS.len())]
                    } else {
                        char::from(rng.random_range(b' '..b'\x7f'))
                    };
                    let at = rng.random_range(0..=chars.len());
                    match rng.random_range(0..3) {
                        0 => chars.insert(at, c),
                        1 if at < chars.len() => {
                            chars.remove(at);
                        }
                        _ if at < chars.len() => chars[at] = c,
                        _ => chars.push(c),
                    }
                }
                chars.into_iter().collect()
            }
        };
        check(&input);
        accepted += usize::from(StoreHash::parse(&input).is_ok());
    }
    // The mutations keep a fair share of the inputs valid, so the Ok-branch
    // properties were exercised, not just the error paths.
    assert!(accepted > ROUNDS / 10, "only {accepted} accepted");
}
