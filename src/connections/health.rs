//! A connection's health as people read it, decided once from its stored status, token and
//! last test, so that no page shows "untested" beside a last error; and the one action that
//! fixes an unhealthy connection. Reads only; it changes nothing.

use crate::db::connections::ConnectionRow;

/// What the pages say about a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Healthy,
    Failing,
    /// An OAuth 2.0 connection without a token: it has to be connected first.
    NotConnected,
    Untested,
    Disabled,
}

impl Health {
    pub fn of(c: &ConnectionRow) -> Self {
        match c.status.as_str() {
            "disabled" => Self::Disabled,
            _ if c.auth_type == "oauth" && !c.has_token => Self::NotConnected,
            "healthy" => Self::Healthy,
            "failing" => Self::Failing,
            // Tested, and the test found a problem: that is failing, whatever was stored.
            _ if c.last_tested_at.is_some() && c.last_error.is_some() => Self::Failing,
            _ => Self::Untested,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Failing => "failing",
            Self::NotConnected => "not connected",
            Self::Untested => "untested",
            Self::Disabled => "disabled",
        }
    }

    /// The CSS class suffix (`status-…`).
    pub fn css(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Failing => "failing",
            Self::NotConnected => "attention",
            Self::Untested => "untested",
            Self::Disabled => "disabled",
        }
    }

    pub fn needs_attention(self) -> bool {
        matches!(self, Self::Failing | Self::NotConnected | Self::Untested)
    }
}

/// The one thing to do about an unhealthy connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    /// The button's text: "Reconnect", "Replace the token", "Grant store_v2_orders", "Test".
    pub action: String,
    /// Where it goes, under the connection (`""`: its page, `/edit`, `/connect`).
    pub path: &'static str,
    /// Whether the action is a POST (the Test button) rather than a link.
    pub post: bool,
}

/// The fix for `c`, or `None` when it is healthy.
pub fn fix(c: &ConnectionRow) -> Option<Fix> {
    let health = Health::of(c);
    let error = c.last_error.as_deref().unwrap_or("");
    let fix = |action: String, path, post| Some(Fix { action, path, post });
    match health {
        Health::Healthy | Health::Disabled => None,
        Health::NotConnected => fix("Connect to BigCommerce".into(), "/connect", false),
        Health::Untested => fix("Test".into(), "/test", true),
        Health::Failing if c.auth_type == "oauth" && error.contains("401") => {
            fix("Reconnect".into(), "/connect", false)
        }
        Health::Failing if error.contains("401") || error.contains("cannot be opened") => {
            fix("Replace the token".into(), "/edit", false)
        }
        Health::Failing => match missing_scope(error) {
            Some(scope) if c.auth_type == "oauth" => fix(format!("Grant {scope}"), "/edit", false),
            Some(scope) => fix(format!("Grant {scope}"), "", false),
            None => fix("Test again".into(), "/test", true),
        },
    }
}

/// The first `store_…` scope name in an error message.
fn missing_scope(error: &str) -> Option<&str> {
    error
        .split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
        .find(|w| w.starts_with("store_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(auth: &str, status: &str, token: bool, error: Option<&str>) -> ConnectionRow {
        ConnectionRow {
            id: 1,
            tenant_id: 1,
            name: "Main".into(),
            auth_type: auth.into(),
            store_hash: "abc123".into(),
            oauth_client_id: None,
            oauth_client_name: None,
            api_client_id: None,
            has_token: token,
            scopes: String::new(),
            status: status.into(),
            last_tested_at: error.map(|_| 1),
            last_error: error.map(str::to_owned),
            store_name: None,
            store_domain: None,
            store_plan: None,
            store_currency: None,
            capabilities: String::new(),
            installed_by_app: false,
            created_at: 0,
        }
    }

    #[test]
    fn an_oauth_connection_without_a_token_is_not_connected_even_after_a_test() {
        let c = row("oauth", "untested", false, Some("Not connected yet"));
        assert_eq!(Health::of(&c), Health::NotConnected);
        assert_eq!(fix(&c).unwrap().path, "/connect");
    }

    #[test]
    fn a_rejected_token_is_replaced_and_a_missing_scope_is_named() {
        let c = row(
            "token",
            "failing",
            true,
            Some("BigCommerce rejected the access token (401)."),
        );
        assert_eq!(fix(&c).unwrap().action, "Replace the token");
        let c = row(
            "token",
            "failing",
            true,
            Some("The token lacks the scope store_v2_orders (403)."),
        );
        assert_eq!(fix(&c).unwrap().action, "Grant store_v2_orders");
        assert_eq!(fix(&row("token", "healthy", true, None)), None);
    }
}
