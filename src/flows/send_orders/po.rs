//! The purchase-order contract: parsing a PO from JSON with one message per bad field
//! (`lines[1].sku`), the canonical form it is stored in (its SHA-256 tells a retry from a
//! changed body), and money as exact decimal strings (integer cents, never floats).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Messages per field, as a 422 lists them.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// Lines per PO at most.
pub const MAX_LINES: usize = 250;
/// Units per line at most.
pub const MAX_QUANTITY: i64 = 1_000_000;

/// An amount of money in cents, parsed exactly from a decimal string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money(pub i64);

impl Money {
    /// `"12.50"`, `"12.5"`, `"12"` → 1250 cents. Refuses signs, exponents, more than two
    /// decimals and amounts of a billion or more.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let (whole, frac) = raw.split_once('.').unwrap_or((raw, ""));
        let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty() || whole.len() > 9 || !digits(whole) || frac.len() > 2 || !digits(frac)
        {
            return None;
        }
        if raw.contains('.') && frac.is_empty() {
            return None;
        }
        let whole: i64 = whole.parse().ok()?;
        let frac: i64 = format!("{frac:0<2}").parse().ok()?;
        Some(Self(whole * 100 + frac))
    }

    /// `"12.50"`.
    pub fn to_decimal(self) -> String {
        format!("{}.{:02}", self.0 / 100, self.0 % 100)
    }

    /// The JSON number BigCommerce's v2 API takes, written from the exact decimal.
    pub fn to_json(self) -> Value {
        // A decimal with two places always reads back as the nearest double, which
        // serde_json prints as the same shortest decimal.
        self.to_decimal()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number)
    }
}

/// The buyer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub phone: String,
}

/// A billing or shipping address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub street_1: String,
    pub street_2: String,
    pub city: String,
    pub state: String,
    pub zip: String,
    pub country_iso2: String,
    pub phone: String,
    pub email: String,
    /// Shipping only.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub shipping_method: String,
}

/// A PO line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub sku: String,
    pub quantity: i64,
    /// Cents as a decimal string (`"12.50"`); none: the store prices the line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
}

/// A purchase order in its canonical form (what is stored and hashed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseOrder {
    pub po_number: String,
    pub customer: Customer,
    pub billing_address: Address,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Address>,
    pub lines: Vec<Line>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_cost: Option<String>,
    #[serde(default)]
    pub notes: String,
}

impl PurchaseOrder {
    /// The canonical JSON (fields in a fixed order, values normalised).
    pub fn canonical(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The hex SHA-256 of [`Self::canonical`].
    pub fn body_hash(&self) -> String {
        let digest = Sha256::digest(self.canonical().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The address goods go to: the shipping address, or the billing one.
    pub fn ship_to(&self) -> &Address {
        self.shipping_address
            .as_ref()
            .unwrap_or(&self.billing_address)
    }

    /// Reads a stored canonical PO.
    pub fn from_stored(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }
}

/// Reads field after field, collecting every problem.
struct Reader {
    errors: FieldErrors,
}

impl Reader {
    fn err(&mut self, field: &str, message: impl Into<String>) {
        self.errors
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    /// A string field: absent or null reads as empty; anything but a string is an error.
    fn text(&mut self, obj: &Map<String, Value>, path: &str, key: &str, max: usize) -> String {
        let field = format!("{path}{key}");
        match obj.get(key) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => {
                let s = s.trim();
                if s.chars().count() > max {
                    self.err(&field, format!("{field} must be at most {max} characters."));
                }
                if s.chars().any(char::is_control) {
                    self.err(
                        &field,
                        format!("{field} must not contain control characters."),
                    );
                }
                s.to_owned()
            }
            Some(_) => {
                self.err(&field, format!("{field} must be a string."));
                String::new()
            }
        }
    }

    fn required(&mut self, obj: &Map<String, Value>, path: &str, key: &str, max: usize) -> String {
        let value = self.text(obj, path, key, max);
        if value.is_empty() && !self.errors.contains_key(&format!("{path}{key}")) {
            self.err(&format!("{path}{key}"), format!("{path}{key} is required."));
        }
        value
    }

    fn object<'v>(
        &mut self,
        value: Option<&'v Value>,
        field: &str,
    ) -> Option<&'v Map<String, Value>> {
        match value {
            Some(Value::Object(m)) => Some(m),
            None | Some(Value::Null) => {
                self.err(field, format!("{field} is required."));
                None
            }
            Some(_) => {
                self.err(field, format!("{field} must be an object."));
                None
            }
        }
    }

    fn email(&mut self, field: &str, value: &str) {
        if !value.is_empty() && !looks_like_email(value) {
            self.err(field, format!("{field} must be an email address."));
        }
    }

    fn address(&mut self, obj: &Map<String, Value>, path: &str, shipping: bool) -> Address {
        let p = format!("{path}.");
        let address = Address {
            first_name: self.required(obj, &p, "first_name", 100),
            last_name: self.required(obj, &p, "last_name", 100),
            company: self.text(obj, &p, "company", 100),
            street_1: self.required(obj, &p, "street_1", 255),
            street_2: self.text(obj, &p, "street_2", 255),
            city: self.required(obj, &p, "city", 100),
            state: self.text(obj, &p, "state", 100),
            zip: self.required(obj, &p, "zip", 20),
            country_iso2: self
                .required(obj, &p, "country_iso2", 2)
                .to_ascii_uppercase(),
            phone: self.text(obj, &p, "phone", 50),
            email: self.text(obj, &p, "email", 255),
            shipping_method: if shipping {
                self.text(obj, &p, "shipping_method", 100)
            } else {
                String::new()
            },
        };
        if !address.zip.is_empty() && address.zip.chars().count() < 2 {
            self.err(
                &format!("{p}zip"),
                format!("{p}zip must be at least 2 characters."),
            );
        }
        let code = &address.country_iso2;
        if !code.is_empty() && (code.len() != 2 || !code.chars().all(|c| c.is_ascii_alphabetic())) {
            self.err(
                &format!("{p}country_iso2"),
                format!("{p}country_iso2 must be a two-letter country code (US)."),
            );
        }
        self.email(&format!("{p}email"), &address.email);
        address
    }

    fn money(&mut self, value: Option<&Value>, field: &str) -> Option<String> {
        match value {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => match Money::parse(s) {
                Some(m) => Some(m.to_decimal()),
                None => {
                    self.err(field, format!("{field} must be an amount like \"12.50\" (at most two decimals, not negative)."));
                    None
                }
            },
            Some(_) => {
                self.err(
                    field,
                    format!("{field} must be a decimal string such as \"12.50\", not a number."),
                );
                None
            }
        }
    }
}

fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
        && !domain.contains('@')
}

/// Parses a PO from the contract's JSON; on error, every bad field with its messages.
pub fn parse(value: &Value) -> Result<PurchaseOrder, FieldErrors> {
    let mut r = Reader {
        errors: FieldErrors::new(),
    };
    let Value::Object(root) = value else {
        r.err("body", "The body must be a JSON object (a purchase order).");
        return Err(r.errors);
    };
    let po_number = r.required(root, "", "po_number", 50);
    if po_number
        .chars()
        .any(|c| c.is_whitespace() || c == '/' || c == '?' || c == '#' || c == '%')
    {
        r.err(
            "po_number",
            "po_number must not contain spaces, /, ?, # or %.",
        );
    }
    let customer = match r.object(root.get("customer"), "customer") {
        Some(c) => {
            let customer = Customer {
                email: r.required(c, "customer.", "email", 255).to_lowercase(),
                first_name: r.required(c, "customer.", "first_name", 100),
                last_name: r.required(c, "customer.", "last_name", 100),
                company: r.text(c, "customer.", "company", 100),
                phone: r.text(c, "customer.", "phone", 50),
            };
            r.email("customer.email", &customer.email);
            customer
        }
        None => Customer {
            email: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            company: String::new(),
            phone: String::new(),
        },
    };
    let billing = r
        .object(root.get("billing_address"), "billing_address")
        .map(|b| r.address(b, "billing_address", false));
    let shipping = match root.get("shipping_address") {
        None | Some(Value::Null) => None,
        Some(Value::Object(s)) => Some(r.address(s, "shipping_address", true)),
        Some(_) => {
            r.err("shipping_address", "shipping_address must be an object.");
            None
        }
    };
    let mut lines = Vec::new();
    match root.get("lines") {
        Some(Value::Array(items)) if items.is_empty() => {
            r.err("lines", "lines must hold at least one line.");
        }
        Some(Value::Array(items)) if items.len() > MAX_LINES => {
            r.err(
                "lines",
                format!("lines must hold at most {MAX_LINES} lines."),
            );
        }
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let path = format!("lines[{i}]");
                let Value::Object(l) = item else {
                    r.err(&path, format!("{path} must be an object."));
                    continue;
                };
                let sku = r.required(l, &format!("{path}."), "sku", 255);
                let qfield = format!("{path}.quantity");
                let quantity = match l.get("quantity").and_then(Value::as_i64) {
                    Some(q) if (1..=MAX_QUANTITY).contains(&q) => q,
                    _ => {
                        r.err(
                            &qfield,
                            format!("{qfield} must be a whole number from 1 to {MAX_QUANTITY}."),
                        );
                        0
                    }
                };
                let price = r.money(l.get("price"), &format!("{path}.price"));
                lines.push(Line {
                    sku,
                    quantity,
                    price,
                });
            }
        }
        None | Some(Value::Null) => r.err("lines", "lines is required."),
        Some(_) => r.err("lines", "lines must be an array."),
    }
    let shipping_cost = r.money(root.get("shipping_cost"), "shipping_cost");
    let notes = r.text(root, "", "notes", 2000);
    match (r.errors.is_empty(), billing) {
        (true, Some(billing_address)) => Ok(PurchaseOrder {
            po_number,
            customer,
            billing_address,
            shipping_address: shipping,
            lines,
            shipping_cost,
            notes,
        }),
        _ => Err(r.errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({"po_number": "PO-1001",
            "customer": {"email": "Buyer@Example.com", "first_name": "Jane", "last_name": "Doe"},
            "billing_address": {"first_name": "Jane", "last_name": "Doe", "street_1": "123 Main St",
                "city": "Austin", "state": "Texas", "zip": "78751", "country_iso2": "us"},
            "lines": [{"sku": "SKU-1", "quantity": 2, "price": "12.5"}],
            "shipping_cost": "5"})
    }

    #[test]
    fn money_is_exact() {
        assert_eq!(Money::parse("12.50"), Some(Money(1250)));
        assert_eq!(Money::parse("12.5"), Some(Money(1250)));
        assert_eq!(Money::parse("0.01"), Some(Money(1)));
        assert_eq!(Money::parse("7"), Some(Money(700)));
        for bad in [
            "",
            "-1",
            "1.234",
            "1e3",
            "12.",
            ".5",
            "1,00",
            "abc",
            "1000000000",
        ] {
            assert_eq!(Money::parse(bad), None, "{bad}");
        }
        assert_eq!(Money(1250).to_json(), json!(12.5));
        assert_eq!(Money(19999).to_json().to_string(), "199.99");
    }

    #[test]
    fn a_valid_po_is_normalised_and_hashes_the_same_when_only_spacing_differs() {
        let po = parse(&valid()).expect("valid");
        assert_eq!(po.customer.email, "buyer@example.com");
        assert_eq!(po.billing_address.country_iso2, "US");
        assert_eq!(po.lines[0].price.as_deref(), Some("12.50"));
        assert_eq!(po.shipping_cost.as_deref(), Some("5.00"));
        let mut spaced = valid();
        spaced["po_number"] = json!("  PO-1001 ");
        assert_eq!(parse(&spaced).unwrap().body_hash(), po.body_hash());
        let mut changed = valid();
        changed["lines"][0]["quantity"] = json!(3);
        assert_ne!(parse(&changed).unwrap().body_hash(), po.body_hash());
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut bad = valid();
        bad["lines"] =
            json!([{"sku": "A", "quantity": 1}, {"sku": "", "quantity": 0, "price": 3.5}]);
        bad["billing_address"]["zip"] = json!("");
        bad["customer"]["email"] = json!("nope");
        let errors = parse(&bad).expect_err("invalid");
        let fields: Vec<_> = errors.keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            [
                "billing_address.zip",
                "customer.email",
                "lines[1].price",
                "lines[1].quantity",
                "lines[1].sku"
            ]
        );
    }
}
