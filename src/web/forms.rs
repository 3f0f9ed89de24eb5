//! Form plumbing: per-field error messages for forms sent back to the user.

use std::collections::BTreeMap;

/// Messages to show beside fields, plus one for the form as a whole.
#[derive(Debug, Default, Clone)]
pub struct FormErrors {
    fields: BTreeMap<&'static str, String>,
    pub general: Option<String>,
}

impl FormErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.fields.entry(field).or_insert_with(|| message.into());
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_none()
    }

    /// Records the error of a parse under `field` and returns the value if it parsed.
    pub fn check<T, E: ToString>(
        &mut self,
        field: &'static str,
        parsed: Result<T, E>,
    ) -> Option<T> {
        parsed.map_err(|e| self.add(field, e.to_string())).ok()
    }
}
