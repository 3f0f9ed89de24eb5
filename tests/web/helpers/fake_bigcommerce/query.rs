//! Query strings: decoding as BigCommerce does, and typed filter parameters (a bad value
//! is a 422 naming the filter).

use super::reply::{ApiErr, invalid_filter};
use super::values::parse_v3_date;
use chrono::{DateTime, Utc};
use std::collections::HashSet;

pub(super) fn q_i64(q: &Query, key: &str) -> Result<Option<i64>, ApiErr> {
    match q.get(key) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| invalid_filter(key)),
    }
}

pub(super) fn q_f64(q: &Query, key: &str) -> Result<Option<f64>, ApiErr> {
    match q.get(key) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<f64>()
            .map(Some)
            .map_err(|_| invalid_filter(key)),
    }
}

pub(super) fn q_i64_list(q: &Query, key: &str) -> Result<Option<HashSet<i64>>, ApiErr> {
    match q.list(key) {
        None => Ok(None),
        Some(l) => l
            .iter()
            .map(|x| x.parse::<i64>().map_err(|_| invalid_filter(key)))
            .collect::<Result<HashSet<i64>, ApiErr>>()
            .map(Some),
    }
}

pub(super) fn q_bool(q: &Query, key: &str) -> Result<Option<bool>, ApiErr> {
    match q.get(key).map(str::trim) {
        None => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(_) => Err(invalid_filter(key)),
    }
}

pub(super) fn q_date(q: &Query, key: &str) -> Result<Option<DateTime<Utc>>, ApiErr> {
    match q.get(key) {
        None => Ok(None),
        Some(v) => parse_v3_date(v)
            .map(Some)
            .ok_or_else(|| invalid_filter(key)),
    }
}

/// Form-style decoding: `%XX` escapes and `+` as space (so an unencoded `+00:00`
/// offset arrives as ` 00:00`, as it would at BigCommerce).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

/// Decoded query parameters (last value wins for repeated keys).
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: &str) -> Query {
        Query {
            pairs: parse_query(raw),
        }
    }
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// Comma-separated list, trimmed, empties dropped.
    pub fn list(&self, key: &str) -> Option<Vec<String>> {
        self.get(key).map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
    }
}
