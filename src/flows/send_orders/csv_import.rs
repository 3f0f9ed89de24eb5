//! Purchase orders from a CSV file: one row per PO line, the PO's own columns repeated on
//! each of its rows (rows of one `po_number` are one PO, in file order). Every row is
//! checked before anything is stored: a file with any bad row imports nothing, and each bad
//! row is reported by its line number (the header is line 1). Re-uploading the same file
//! creates nothing new (`po_number` is the idempotency key).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::po::{self, PurchaseOrder};

/// The columns, in template order.
pub const COLUMNS: &[&str] = &[
    "po_number",
    "customer_email",
    "customer_first_name",
    "customer_last_name",
    "customer_company",
    "customer_phone",
    "billing_first_name",
    "billing_last_name",
    "billing_company",
    "billing_street_1",
    "billing_street_2",
    "billing_city",
    "billing_state",
    "billing_zip",
    "billing_country_iso2",
    "billing_phone",
    "billing_email",
    "shipping_first_name",
    "shipping_last_name",
    "shipping_company",
    "shipping_street_1",
    "shipping_street_2",
    "shipping_city",
    "shipping_state",
    "shipping_zip",
    "shipping_country_iso2",
    "shipping_phone",
    "shipping_email",
    "shipping_method",
    "sku",
    "quantity",
    "price",
    "shipping_cost",
    "notes",
];

const ADDRESS: &[&str] = &[
    "first_name",
    "last_name",
    "company",
    "street_1",
    "street_2",
    "city",
    "state",
    "zip",
    "country_iso2",
    "phone",
    "email",
];

/// The downloadable template: the header and one example PO of two lines.
pub fn template() -> String {
    let mut out = COLUMNS.join(",");
    out.push('\n');
    let row = |sku: &str, qty: &str, price: &str| {
        [
            "PO-1001",
            "buyer@example.com",
            "Jane",
            "Doe",
            "Retail Co",
            "+1 512 555 0100",
            "Jane",
            "Doe",
            "Retail Co",
            "123 Main St",
            "",
            "Austin",
            "Texas",
            "78751",
            "US",
            "",
            "ap@retail.example",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "UPS Ground",
            sku,
            qty,
            price,
            "5.00",
            "Dock 4",
        ]
        .join(",")
    };
    out.push_str(&row("SKU-100-1", "2", "12.50"));
    out.push('\n');
    out.push_str(&row("SKU-200", "1", ""));
    out.push('\n');
    out
}

/// A problem with one line of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// The file's line number (the header is 1).
    pub line: u64,
    pub reason: String,
}

/// Reads the file into POs; any bad line refuses the whole file, every bad line listed.
/// Each PO comes with the line number of its first row.
pub fn parse(text: &str) -> Result<Vec<(u64, PurchaseOrder)>, Vec<BadLine>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return Err(vec![BadLine {
                line: 1,
                reason: format!("The header row cannot be read: {e}"),
            }]);
        }
    };
    let index: BTreeMap<&str, usize> = headers.iter().enumerate().map(|(i, h)| (h, i)).collect();
    let missing: Vec<&str> = ["po_number", "customer_email", "sku", "quantity"]
        .into_iter()
        .filter(|c| !index.contains_key(c))
        .collect();
    let unknown: Vec<&str> = headers.iter().filter(|h| !COLUMNS.contains(h)).collect();
    if !missing.is_empty() || !unknown.is_empty() {
        let mut reason = String::new();
        if !missing.is_empty() {
            reason.push_str(&format!("Missing columns: {}. ", missing.join(", ")));
        }
        if !unknown.is_empty() {
            reason.push_str(&format!("Unknown columns: {}. ", unknown.join(", ")));
        }
        reason.push_str("Download the template for the expected header.");
        return Err(vec![BadLine { line: 1, reason }]);
    }
    // po_number → (its rows' line numbers, its JSON).
    let mut order: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, (Vec<u64>, Value)> = BTreeMap::new();
    let mut bad = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let line = u64::try_from(n).unwrap_or(u64::MAX) + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                bad.push(BadLine {
                    line,
                    reason: format!("This line cannot be read: {e}"),
                });
                continue;
            }
        };
        let get = |c: &str| {
            index
                .get(c)
                .and_then(|i| record.get(*i))
                .unwrap_or_default()
                .to_owned()
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        let number = get("po_number");
        let quantity = match get("quantity").parse::<i64>() {
            Ok(q) => json!(q),
            Err(_) => json!(get("quantity")),
        };
        let mut line_json = json!({"sku": get("sku"), "quantity": quantity});
        if !get("price").is_empty() {
            line_json["price"] = json!(get("price"));
        }
        let entry = groups.entry(number.clone()).or_insert_with(|| {
            order.push(number.clone());
            let address = |prefix: &str| {
                let mut m = Map::new();
                for f in ADDRESS {
                    m.insert((*f).into(), json!(get(&format!("{prefix}_{f}"))));
                }
                m
            };
            let mut shipping = address("shipping");
            let has_shipping = shipping
                .values()
                .any(|v| v.as_str().is_some_and(|s| !s.is_empty()));
            shipping.insert("shipping_method".into(), json!(get("shipping_method")));
            let mut po = json!({
                "po_number": number,
                "customer": {"email": get("customer_email"), "first_name": get("customer_first_name"),
                    "last_name": get("customer_last_name"), "company": get("customer_company"),
                    "phone": get("customer_phone")},
                "billing_address": Value::Object(address("billing")),
                "lines": [],
                "notes": get("notes"),
            });
            if has_shipping {
                po["shipping_address"] = Value::Object(shipping);
            } else if !get("shipping_method").is_empty() {
                // The method alone: ship to the billing address by that method.
                let mut b = address("billing");
                b.insert("shipping_method".into(), json!(get("shipping_method")));
                po["shipping_address"] = Value::Object(b);
            }
            if !get("shipping_cost").is_empty() {
                po["shipping_cost"] = json!(get("shipping_cost"));
            }
            (Vec::new(), po)
        });
        entry.0.push(line);
        if let Some(lines) = entry.1["lines"].as_array_mut() {
            lines.push(line_json);
        }
    }
    let mut pos = Vec::new();
    for number in &order {
        let (lines, value) = &groups[number];
        match po::parse(value) {
            Ok(po) => pos.push((lines[0], po)),
            Err(errors) => {
                for (field, messages) in errors {
                    // `lines[i].x` is row i of this PO; anything else its first row.
                    let row = field
                        .strip_prefix("lines[")
                        .and_then(|rest| rest.split(']').next())
                        .and_then(|i| i.parse::<usize>().ok())
                        .and_then(|i| lines.get(i))
                        .unwrap_or(&lines[0]);
                    let column = csv_column(&field);
                    for m in messages {
                        bad.push(BadLine {
                            line: *row,
                            reason: format!("{column}: {m}"),
                        });
                    }
                }
            }
        }
    }
    if bad.is_empty() {
        Ok(pos)
    } else {
        bad.sort_by_key(|b| b.line);
        Err(bad)
    }
}

/// The CSV column a contract field comes from (`billing_address.zip` → `billing_zip`).
fn csv_column(field: &str) -> String {
    if let Some(rest) = field.strip_prefix("billing_address.") {
        return format!("billing_{rest}");
    }
    if let Some(rest) = field.strip_prefix("shipping_address.") {
        return if rest == "shipping_method" {
            rest.to_owned()
        } else {
            format!("shipping_{rest}")
        };
    }
    if let Some(rest) = field.strip_prefix("customer.") {
        return format!("customer_{rest}");
    }
    if let Some((_, rest)) = field.split_once("].") {
        return rest.to_owned();
    }
    field.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_reads_as_one_po_of_two_lines() {
        let pos: Vec<_> = parse(&template())
            .expect("template is valid")
            .into_iter()
            .map(|(_, po)| po)
            .collect();
        assert_eq!(pos.len(), 1);
        assert_eq!(pos[0].lines.len(), 2);
        assert_eq!(pos[0].lines[0].price.as_deref(), Some("12.50"));
        assert_eq!(
            pos[0].shipping_address.as_ref().unwrap().shipping_method,
            "UPS Ground"
        );
    }

    #[test]
    fn every_bad_line_is_listed_by_number() {
        let mut text = template();
        text.push_str(
            &template()
                .lines()
                .nth(1)
                .unwrap()
                .replace("PO-1001", "PO-2")
                .replace(",2,12.50,", ",x,12.50,"),
        );
        text.push('\n');
        text.push_str(
            &template()
                .lines()
                .nth(1)
                .unwrap()
                .replace("PO-1001", "PO-3")
                .replace("78751", ""),
        );
        text.push('\n');
        let bad = parse(&text).expect_err("bad rows");
        let lines: Vec<u64> = bad.iter().map(|b| b.line).collect();
        // Line 5 lost the zip of both its addresses: each bad field is listed.
        assert_eq!(lines, [4, 5, 5], "{bad:?}");
        assert!(bad[0].reason.starts_with("quantity:"), "{bad:?}");
        assert!(bad[1].reason.starts_with("billing_zip:"), "{bad:?}");
        assert!(bad[2].reason.starts_with("shipping_zip:"), "{bad:?}");
    }
}
