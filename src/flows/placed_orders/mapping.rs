//! `order_source` → sales channel: the default table, and a connection's overrides of
//! single entries.

/// The sales channels an order can map to.
pub const SALES_CHANNELS: &[&str] = &["web", "offline", "marketplace", "facebook_shop", "none"];

/// The default table (anything else is `web`).
pub const DEFAULTS: &[(&str, &str)] = &[
    ("www", "web"),
    ("iphone", "web"),
    ("ipad", "web"),
    ("android", "web"),
    ("mobile", "web"),
    ("checkout_api", "web"),
    ("buybutton", "web"),
    ("manual", "offline"),
    ("amazon", "marketplace"),
    ("ebay", "marketplace"),
    ("socialshop", "marketplace"),
    ("facebookcheckout", "facebook_shop"),
    ("facebookshop", "facebook_shop"),
    ("facebookmarketplace", "facebook_shop"),
    // It depends on the third party that created the order.
    ("external", "none"),
];

/// The channel of a source with no entry.
pub const FALLBACK: &str = "web";

/// The sales channel of `order_source`: the connection's override if any, else the default.
pub fn sales_channel<'a>(order_source: &str, overrides: &'a [(String, String)]) -> &'a str
where
    'static: 'a,
{
    let source = order_source.trim().to_ascii_lowercase();
    if let Some((_, channel)) = overrides.iter().find(|(s, _)| *s == source) {
        return channel;
    }
    DEFAULTS
        .iter()
        .find(|(s, _)| *s == source)
        .map_or(FALLBACK, |(_, c)| c)
}

/// Parses the overrides form: one `source = channel` per line (blank lines ignored).
pub fn parse_overrides(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((source, channel)) = line.split_once('=') else {
            return Err(format!(
                "Line {}: write it as “order_source = sales channel”, e.g. “external = web”.",
                n + 1
            ));
        };
        let source = source.trim().to_ascii_lowercase();
        let channel = channel.trim().to_ascii_lowercase();
        if source.is_empty()
            || source.len() > 64
            || !source
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "Line {}: “{source}” is not an order source (letters, digits, _ and -).",
                n + 1
            ));
        }
        if !SALES_CHANNELS.contains(&channel.as_str()) {
            return Err(format!(
                "Line {}: “{channel}” is not a sales channel; use one of {}.",
                n + 1,
                SALES_CHANNELS.join(", ")
            ));
        }
        if out.iter().any(|(s, _)| *s == source) {
            return Err(format!("Line {}: “{source}” is listed twice.", n + 1));
        }
        out.push((source, channel));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(sales_channel("www", &[]), "web");
        assert_eq!(sales_channel("manual", &[]), "offline");
        assert_eq!(sales_channel("external", &[]), "none");
        assert_eq!(sales_channel("pinterest", &[]), "web");
        let o = parse_overrides("external = marketplace\n\n").unwrap();
        assert_eq!(sales_channel("external", &o), "marketplace");
        assert!(parse_overrides("external = tv").is_err());
        assert!(parse_overrides("external").is_err());
        assert!(parse_overrides("a=web\na=web").is_err());
    }
}
