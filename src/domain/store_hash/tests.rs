//! Tests for `StoreHash::parse`: every accepted form and a list of junk.

use super::*;
use StoreHashError as E;

/// Every accepted form of the hash `abc123`.
pub(super) const ACCEPTED: &[&str] = &[
    "abc123",
    "stores/abc123",
    "stores/abc123/",
    "https://api.bigcommerce.com/stores/abc123/v3/",
    "https://api.bigcommerce.com/stores/abc123/v3",
    "https://api.bigcommerce.com/stores/abc123/v2/",
    "https://api.bigcommerce.com/stores/abc123/v2",
    "https://api.bigcommerce.com/stores/abc123/",
    "https://api.bigcommerce.com/stores/abc123",
    "https://api.bigcommerce.com/stores/abc123/v3/catalog/products?limit=5",
    "http://api.bigcommerce.com/stores/abc123/v3/",
    "http://api.bigcommerce.com/stores/abc123",
    "api.bigcommerce.com/stores/abc123/v3",
    "api.bigcommerce.com/stores/abc123/v3/",
    "api.bigcommerce.com/stores/abc123/v2",
    "api.bigcommerce.com/stores/abc123",
    "https://store-abc123.mybigcommerce.com/",
    "https://store-abc123.mybigcommerce.com",
    "https://store-abc123.mybigcommerce.com/manage",
    "https://store-abc123.mybigcommerce.com/manage/dashboard",
    "https://store-abc123.mybigcommerce.com/manage/dashboard?from=login#orders",
    "https://store-abc123.mybigcommerce.com/?utm_source=x",
    "http://store-abc123.mybigcommerce.com/",
    "store-abc123.mybigcommerce.com",
    "store-abc123.mybigcommerce.com/manage/dashboard",
    // Mixed case.
    "ABC123",
    "AbC123",
    "STORES/ABC123",
    "Stores/abc123/",
    "HTTPS://API.BIGCOMMERCE.COM/STORES/ABC123/V3/",
    "Api.BigCommerce.com/Stores/AbC123/V3",
    "https://Store-ABC123.MyBigCommerce.com/manage",
    // Surrounding whitespace.
    "  abc123  ",
    "\tabc123\n",
    "\r\n https://api.bigcommerce.com/stores/abc123/v3/ \r\n",
    "\u{a0}store-abc123.mybigcommerce.com\u{3000}",
];

#[test]
fn accepts_every_form() {
    for input in ACCEPTED {
        let hash = StoreHash::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(hash.as_str(), "abc123", "{input:?}");
        assert_eq!(hash.to_string(), "abc123");
    }
}

#[test]
fn real_hashes_parse_to_themselves() {
    for real in [
        "abc123",
        "g5cd38",
        "z4zn3wo",
        "sftg45fsd",
        "a",
        "0",
        &"z9".repeat(16),
    ] {
        assert_eq!(StoreHash::parse(real).unwrap().as_str(), real);
        assert_eq!(real.parse::<StoreHash>().unwrap().as_str(), real);
    }
}

#[test]
fn rejects_junk() {
    let long_hash = "a".repeat(33);
    let long_api = format!("https://api.bigcommerce.com/stores/{long_hash}/v3");
    let huge = "x".repeat(100_000);
    let huge_url = format!("https://api.bigcommerce.com/stores/abc123/v3/?{huge}");
    let junk: &[(&str, Option<StoreHashError>)] = &[
        ("", Some(E::Empty)),
        ("   ", Some(E::Empty)),
        ("\n\t\r", Some(E::Empty)),
        ("abc 123", Some(E::InvisibleCharacters)),
        ("abc\t123", Some(E::InvisibleCharacters)),
        ("abc\u{0}123", Some(E::InvisibleCharacters)),
        ("\u{0}", Some(E::InvisibleCharacters)),
        ("abc123\u{7f}", Some(E::InvisibleCharacters)),
        ("abc-123", Some(E::InvalidCharacter('-'))),
        ("ABC_123", Some(E::InvalidCharacter('_'))),
        ("abc123:", Some(E::InvalidCharacter(':'))),
        ("%61bc123", Some(E::InvalidCharacter('%'))),
        ("<script>", Some(E::InvalidCharacter('<'))),
        ("store-abc123", Some(E::InvalidCharacter('-'))),
        (&long_hash, Some(E::HashTooLong(33))),
        (&long_api, Some(E::HashTooLong(33))),
        ("\u{430}bc123", Some(E::NonAscii)),   // Cyrillic a
        ("abc\u{ff11}23", Some(E::NonAscii)),  // fullwidth 1
        ("abc123\u{200b}", Some(E::NonAscii)), // zero-width space
        (
            "https://store-\u{430}bc123.mybigcommerce.com/",
            Some(E::NonAscii),
        ),
        (&huge, Some(E::InputTooLong)),
        (&huge_url, Some(E::InputTooLong)),
        ("https://api.bigcommerce.com/", Some(E::MissingHash)),
        ("https://api.bigcommerce.com", Some(E::MissingHash)),
        ("https://api.bigcommerce.com/stores/", Some(E::MissingHash)),
        (
            "https://api.bigcommerce.com/stores//v3",
            Some(E::MissingHash),
        ),
        (
            "https://api.bigcommerce.com/v3/abc123",
            Some(E::MissingHash),
        ),
        (
            "https://api.bigcommerce.com/stores/abc-123/v3",
            Some(E::InvalidCharacter('-')),
        ),
        (
            "https://api.bigcommerce.com/stores/abc%31/v3",
            Some(E::InvalidCharacter('%')),
        ),
        ("stores/", Some(E::MissingHash)),
        ("stores//", Some(E::MissingHash)),
        ("stores/abc/def", Some(E::ExtraAfterHash)),
        ("stores/abc123/v3", Some(E::ExtraAfterHash)),
        ("/stores/abc123", Some(E::Unreadable)),
        ("abc123/", Some(E::Unreadable)),
        ("https://", Some(E::Unreadable)),
        ("https://evil.com/stores/abc123/v3", Some(E::NoHashInHost)),
        (
            "https://api.bigcommerce.com.evil.com/stores/abc123",
            Some(E::NoHashInHost),
        ),
        (
            "https://store-abc123.mybigcommerce.com.evil.com/",
            Some(E::NoHashInHost),
        ),
        (
            "https://evil.com/store-abc123.mybigcommerce.com",
            Some(E::NoHashInHost),
        ),
        (
            "https://store-abc123.mybigcommerce.co/",
            Some(E::NoHashInHost),
        ),
        (
            "https://api.bigcommerce.com./stores/abc123",
            Some(E::NoHashInHost),
        ),
        ("https://shop.example.com", Some(E::NoHashInHost)),
        ("shop.example.com/stores/abc123", Some(E::NoHashInHost)),
        ("https://192.168.1.1/stores/abc123", Some(E::NoHashInHost)),
        ("https://[::1]/stores/abc123", Some(E::NoHashInHost)),
        (
            "https://store-.mybigcommerce.com/",
            Some(E::NoHashInSubdomain),
        ),
        (
            "https://abc123.mybigcommerce.com/",
            Some(E::NoHashInSubdomain),
        ),
        (
            "https://mybigcommerce.com/stores/abc123",
            Some(E::NoHashInSubdomain),
        ),
        (
            "https://store-abc.123.mybigcommerce.com/",
            Some(E::InvalidCharacter('.')),
        ),
        (
            "ftp://api.bigcommerce.com/stores/abc123",
            Some(E::UnsupportedScheme("ftp".into())),
        ),
        (
            "javascript:alert(1)",
            Some(E::UnsupportedScheme("javascript".into())),
        ),
        (
            "JavaScript:alert(1)",
            Some(E::UnsupportedScheme("javascript".into())),
        ),
        (
            "file:///stores/abc123",
            Some(E::UnsupportedScheme("file".into())),
        ),
        (
            "data:text/plain,abc123",
            Some(E::UnsupportedScheme("data".into())),
        ),
        (
            "https://api.bigcommerce.com:8443/stores/abc123/v3",
            Some(E::Port(8443)),
        ),
        (
            "api.bigcommerce.com:8443/stores/abc123",
            Some(E::Port(8443)),
        ),
        (
            "https://store-abc123.mybigcommerce.com:8080/",
            Some(E::Port(8080)),
        ),
        (
            "https://user@api.bigcommerce.com/stores/abc123/v3",
            Some(E::Credentials),
        ),
        (
            "https://u:pw@api.bigcommerce.com/stores/abc123/v3",
            Some(E::Credentials),
        ),
        (
            "https://api.bigcommerce.com@evil.com/stores/abc123",
            Some(E::Credentials),
        ),
        ("https:///stores/abc123", None),
        ("abc.123", None),
        ("https://store-abc_123.mybigcommerce.com/", None),
        (".", None),
        ("...", None),
        (":", None),
        ("//", None),
    ];
    assert!(junk.len() >= 25);
    for (input, expected) in junk {
        let err = StoreHash::parse(input).expect_err(&input.chars().take(80).collect::<String>());
        if let Some(expected) = expected {
            assert_eq!(
                &err,
                expected,
                "{:?}",
                input.chars().take(80).collect::<String>()
            );
        }
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn messages_are_specific() {
    assert_eq!(
        StoreHash::parse("https://shop.example.com")
            .unwrap_err()
            .to_string(),
        "That address holds no store hash (custom domains don't). Paste the API path \
         (https://api.bigcommerce.com/stores/HASH/v3/), the control-panel URL \
         (https://store-HASH.mybigcommerce.com/manage) or the bare hash."
    );
    assert_eq!(
        StoreHash::parse(" ").unwrap_err().to_string(),
        "Enter the store hash or the API path."
    );
    let dash = StoreHash::parse("abc-123").unwrap_err().to_string();
    assert!(dash.contains("'-'"), "{dash}");
    let port = StoreHash::parse("api.bigcommerce.com:8443/stores/x").unwrap_err();
    assert!(port.to_string().contains(":8443"));
}
