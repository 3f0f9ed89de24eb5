//! A flow's settings, declared once and handled generically: each flow lists its fields
//! ([`Field`]), and this module parses a submitted form against them (one message per bad
//! field), stores them as JSON, and hands the settings form what it needs to render. A flow
//! reads its typed settings back with [`FlowConfig::decode`]. `enabled` and the schedule's
//! interval are common to every flow and live in columns the scheduler reads.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A scheduled flow's interval bounds, in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub default_minutes: u32,
    pub min_minutes: u32,
    pub max_minutes: u32,
}

/// One setting of a flow, as the form shows it.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The form field and JSON key.
    pub name: &'static str,
    pub label: &'static str,
    /// One or two sentences under the field.
    pub help: &'static str,
    pub kind: FieldKind,
}

#[derive(Debug, Clone, Copy)]
pub enum FieldKind {
    /// A checkbox; ticked means true.
    Checkbox { default: bool },
    /// A whole number within `min..=max`; `message` is shown when it is not.
    Number {
        min: i64,
        max: i64,
        default: i64,
        message: &'static str,
    },
    /// One of `options` (value, label).
    Choice {
        options: &'static [(&'static str, &'static str)],
        default: &'static str,
    },
    /// Free text, normalised (or refused with a message) by `check`; empty is allowed when
    /// `check` allows it.
    Text {
        default: &'static str,
        check: fn(&str) -> Result<String, String>,
    },
    /// One of the options the flow loads when the form is shown or saved
    /// ([`super::Flow::field_choices`], e.g. the store's order statuses); the stored value
    /// is the option's value (an id), checked against the loaded options on save.
    LoadedChoice { default: &'static str },
    /// Any number of the options the flow loads (checkboxes; none ticked is allowed), stored
    /// as their values joined by “, ”. Each value is checked against the loaded options on
    /// save ([`super::check_loaded_choices`]), where a stored entry that names an option
    /// another way (an alias, e.g. a channel's name saved by an older version) is accepted.
    LoadedMultiChoice,
}

/// One option a flow loads for a [`FieldKind::LoadedChoice`] or
/// [`FieldKind::LoadedMultiChoice`] field ([`super::Flow::field_choices`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedOption {
    /// What is stored when it is chosen (e.g. a channel id).
    pub value: String,
    /// What the form shows.
    pub label: String,
    /// Another spelling a stored entry may use for this option, compared ignoring ASCII
    /// case (a channel's name, which older settings stored instead of its id).
    pub alias: Option<String>,
}

impl LoadedOption {
    pub fn new(value: impl Into<String>, label: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            label: label.into(),
            alias: None,
        }
    }

    /// This option, also matching stored entries spelled `alias`.
    pub fn also_matching(mut self, alias: impl Into<String>) -> Self {
        self.alias = Some(alias.into()).filter(|a: &String| !a.trim().is_empty());
        self
    }

    /// Whether a stored entry names this option (its value, or its alias in any case).
    pub fn matches(&self, entry: &str) -> bool {
        self.value == entry
            || self
                .alias
                .as_deref()
                .is_some_and(|a| a.trim().eq_ignore_ascii_case(entry))
    }
}

/// The option among `options` that a stored entry names (by value first, then by alias).
pub fn find_option<'a>(options: &'a [LoadedOption], entry: &str) -> Option<&'a LoadedOption> {
    options
        .iter()
        .find(|o| o.value == entry)
        .or_else(|| options.iter().find(|o| o.matches(entry)))
}

/// Most entries a [`FieldKind::LoadedMultiChoice`] value holds, and their longest length.
const MAX_ENTRIES: usize = 1000;
const MAX_ENTRY_CHARS: usize = 100;

/// The entries of a [`FieldKind::LoadedMultiChoice`] value: split at commas, trimmed,
/// empty ones and repeats dropped.
pub fn multi_entries(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        if !out.iter().any(|o| o == entry) {
            out.push(entry.to_owned());
        }
    }
    out
}

impl Field {
    fn default_value(&self) -> Value {
        match self.kind {
            FieldKind::Checkbox { default } => Value::Bool(default),
            FieldKind::Number { default, .. } => Value::from(default),
            FieldKind::Choice { default, .. }
            | FieldKind::Text { default, .. }
            | FieldKind::LoadedChoice { default } => Value::from(default),
            FieldKind::LoadedMultiChoice => Value::from(""),
        }
    }

    /// The typed value of the submitted text, or the field's message.
    fn parse(&self, raw: Option<&str>) -> Result<Value, String> {
        match self.kind {
            FieldKind::Checkbox { .. } => Ok(Value::Bool(raw.is_some())),
            FieldKind::Number {
                min, max, message, ..
            } => raw
                .unwrap_or_default()
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .map(Value::from)
                .ok_or_else(|| message.to_owned()),
            FieldKind::Choice { options, .. } => {
                let raw = raw.unwrap_or_default().trim();
                options
                    .iter()
                    .find(|(value, _)| *value == raw)
                    .map(|(value, _)| Value::from(*value))
                    .ok_or_else(|| format!("Choose one of the options for “{}”.", self.label))
            }
            FieldKind::Text { check, .. } => check(raw.unwrap_or_default().trim()).map(Value::from),
            FieldKind::LoadedChoice { .. } => {
                let raw = raw.unwrap_or_default().trim();
                if raw.is_empty() || raw.len() > 64 || raw.chars().any(char::is_control) {
                    Err(format!("Choose one of the options for “{}”.", self.label))
                } else {
                    Ok(Value::from(raw))
                }
            }
            FieldKind::LoadedMultiChoice => {
                let entries = multi_entries(raw.unwrap_or_default());
                let bad = entries.len() > MAX_ENTRIES
                    || entries.iter().any(|e| {
                        e.chars().count() > MAX_ENTRY_CHARS || e.chars().any(char::is_control)
                    });
                if bad {
                    Err(format!("Choose from the options for “{}”.", self.label))
                } else {
                    Ok(Value::from(entries.join(", ")))
                }
            }
        }
    }

    /// A stored value, if it is still valid for the field (settings saved by an older
    /// version, or edited by hand, fall back to the default).
    fn accept(&self, stored: &Value) -> Option<Value> {
        let text = match stored {
            Value::Bool(true) => Some("on".to_owned()),
            Value::Bool(false) => None,
            Value::Number(n) => Some(n.to_string()),
            Value::String(s) => Some(s.clone()),
            _ => return None,
        };
        if matches!(self.kind, FieldKind::Checkbox { .. }) && !stored.is_boolean() {
            return None;
        }
        self.parse(text.as_deref()).ok()
    }
}

/// A connection's settings of one flow.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowConfig {
    pub enabled: bool,
    /// Minutes between scheduled runs (`None` for a flow without a schedule).
    pub interval_minutes: Option<u32>,
    /// Every declared field, by name.
    pub values: Map<String, Value>,
}

impl FlowConfig {
    /// The defaults: disabled, the default interval, every field's default.
    pub fn defaults(schedule: Option<Schedule>, fields: &[Field]) -> Self {
        Self {
            enabled: false,
            interval_minutes: schedule.map(|s| s.default_minutes),
            values: fields
                .iter()
                .map(|f| (f.name.to_owned(), f.default_value()))
                .collect(),
        }
    }

    /// Settings as stored: valid values kept, anything else replaced by its default.
    pub fn from_stored(
        schedule: Option<Schedule>,
        fields: &[Field],
        enabled: bool,
        interval_secs: i64,
        json: &str,
    ) -> Self {
        let stored: Map<String, Value> = serde_json::from_str(json).unwrap_or_default();
        let mut config = Self::defaults(schedule, fields);
        config.enabled = enabled;
        config.interval_minutes = schedule.map(|s| {
            u32::try_from(interval_secs / 60)
                .unwrap_or(u32::MAX)
                .clamp(s.min_minutes, s.max_minutes)
        });
        for field in fields {
            if let Some(value) = stored.get(field.name).and_then(|v| field.accept(v)) {
                config.values.insert(field.name.to_owned(), value);
            }
        }
        config
    }

    /// Parses a submitted settings form; on error, one message per bad field, in form order.
    pub fn parse_form(
        schedule: Option<Schedule>,
        fields: &[Field],
        form: &HashMap<String, String>,
    ) -> Result<Self, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let mut config = Self::defaults(schedule, fields);
        config.enabled = form.contains_key("enabled");
        if let Some(s) = schedule {
            let minutes = form
                .get("interval_minutes")
                .and_then(|raw| raw.trim().parse::<u32>().ok())
                .filter(|m| (s.min_minutes..=s.max_minutes).contains(m));
            match minutes {
                Some(m) => config.interval_minutes = Some(m),
                None => errors.push(("interval_minutes", interval_message(s))),
            }
        }
        for field in fields {
            match field.parse(form.get(field.name).map(String::as_str)) {
                Ok(value) => {
                    config.values.insert(field.name.to_owned(), value);
                }
                Err(message) => errors.push((field.name, message)),
            }
        }
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(errors)
        }
    }

    /// The settings as a form would submit them (for re-showing the saved values).
    pub fn to_form(&self) -> HashMap<String, String> {
        let mut form = HashMap::new();
        if self.enabled {
            form.insert("enabled".to_owned(), "on".to_owned());
        }
        if let Some(m) = self.interval_minutes {
            form.insert("interval_minutes".to_owned(), m.to_string());
        }
        for (name, value) in &self.values {
            match value {
                Value::Bool(true) => {
                    form.insert(name.clone(), "on".to_owned());
                }
                Value::Bool(false) => {}
                Value::String(s) => {
                    form.insert(name.clone(), s.clone());
                }
                other => {
                    form.insert(name.clone(), other.to_string());
                }
            }
        }
        form
    }

    /// The field values as stored in `flow_settings.settings`.
    pub fn values_json(&self) -> String {
        Value::Object(self.values.clone()).to_string()
    }

    /// Seconds between scheduled runs (0 for a flow without a schedule).
    pub fn interval_secs(&self) -> i64 {
        self.interval_minutes.map_or(0, |m| i64::from(m) * 60)
    }

    /// The flow's typed view of its fields.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_value(Value::Object(self.values.clone()))
    }
}

/// A submitted form as name → value. A checkbox group of a [`FieldKind::LoadedMultiChoice`]
/// field sends its name once per ticked box: those values are joined by “, ” (the stored
/// form); for any other name the last value counts.
pub fn form_values(fields: &[Field], pairs: Vec<(String, String)>) -> HashMap<String, String> {
    let mut form: HashMap<String, String> = HashMap::new();
    for (name, value) in pairs {
        let multi = fields
            .iter()
            .any(|f| f.name == name && matches!(f.kind, FieldKind::LoadedMultiChoice));
        match form.get_mut(&name) {
            Some(joined) if multi => {
                joined.push_str(", ");
                joined.push_str(&value);
            }
            _ => {
                form.insert(name, value);
            }
        }
    }
    form
}

fn interval_message(s: Schedule) -> String {
    let week = if s.max_minutes == 10_080 {
        " (one week)"
    } else {
        ""
    };
    format!(
        "Interval must be a whole number of minutes from {} to {}{week}.",
        thousands(s.min_minutes),
        thousands(s.max_minutes)
    )
}

/// `10080` → `10,080`.
fn thousands(n: u32) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEDULE: Schedule = Schedule {
        default_minutes: 60,
        min_minutes: 5,
        max_minutes: 10_080,
    };
    const FIELDS: &[Field] = &[
        Field {
            name: "size",
            label: "Size",
            help: "",
            kind: FieldKind::Number {
                min: 1,
                max: 250,
                default: 250,
                message: "Size must be a whole number from 1 to 250.",
            },
        },
        Field {
            name: "hidden",
            label: "Hidden",
            help: "",
            kind: FieldKind::Checkbox { default: false },
        },
        Field {
            name: "who",
            label: "Who",
            help: "",
            kind: FieldKind::Choice {
                options: &[("sent", "Orders sent"), ("all", "Every order")],
                default: "sent",
            },
        },
    ];

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_valid_form_parses_and_round_trips() {
        let parsed = FlowConfig::parse_form(
            Some(SCHEDULE),
            FIELDS,
            &form(&[
                ("enabled", "on"),
                ("interval_minutes", " 15 "),
                ("size", "100"),
                ("hidden", ""),
                ("who", "all"),
            ]),
        )
        .expect("valid");
        assert!(parsed.enabled);
        assert_eq!(parsed.interval_minutes, Some(15));
        assert_eq!(parsed.values["size"], 100);
        assert_eq!(parsed.values["hidden"], true);
        assert_eq!(parsed.values["who"], "all");
        let again =
            FlowConfig::parse_form(Some(SCHEDULE), FIELDS, &parsed.to_form()).expect("again");
        assert_eq!(again, parsed);
        let stored =
            FlowConfig::from_stored(Some(SCHEDULE), FIELDS, true, 900, &parsed.values_json());
        assert_eq!(stored, parsed);
    }

    #[test]
    fn every_bad_field_gets_its_own_message_in_form_order() {
        let errors = FlowConfig::parse_form(
            Some(SCHEDULE),
            FIELDS,
            &form(&[("interval_minutes", "4"), ("size", "251"), ("who", "x")]),
        )
        .expect_err("all invalid");
        let names: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(names, ["interval_minutes", "size", "who"]);
        assert_eq!(
            errors[0].1,
            "Interval must be a whole number of minutes from 5 to 10,080 (one week)."
        );
        assert_eq!(errors[1].1, "Size must be a whole number from 1 to 250.");
        for bad in ["", "abc", "0", "-1", "2.5", "10081"] {
            let errors = FlowConfig::parse_form(
                Some(SCHEDULE),
                FIELDS,
                &form(&[("interval_minutes", bad), ("size", "5"), ("who", "all")]),
            )
            .expect_err(bad);
            assert_eq!(errors.len(), 1, "{bad:?}");
        }
    }

    const PICKS: &[Field] = &[Field {
        name: "shops",
        label: "Shops",
        help: "",
        kind: FieldKind::LoadedMultiChoice,
    }];

    #[test]
    fn a_multi_choice_joins_its_ticked_boxes_and_refuses_what_no_box_could_send() {
        let pairs = vec![
            ("shops".to_owned(), "1".to_owned()),
            ("who".to_owned(), "sent".to_owned()),
            ("shops".to_owned(), " 664001 ".to_owned()),
            ("who".to_owned(), "all".to_owned()),
            ("shops".to_owned(), "1".to_owned()),
        ];
        let submitted = form_values(PICKS, pairs);
        assert_eq!(submitted["shops"], "1,  664001 , 1");
        assert_eq!(submitted["who"], "all", "any other field: the last value");
        let parsed = FlowConfig::parse_form(None, PICKS, &submitted).expect("valid");
        assert_eq!(
            parsed.values["shops"], "1, 664001",
            "trimmed, repeats dropped"
        );
        let none = FlowConfig::parse_form(None, PICKS, &HashMap::new()).expect("none ticked");
        assert_eq!(none.values["shops"], "");
        for bad in ["a\u{0}b", &"9".repeat(101)] {
            let errors =
                FlowConfig::parse_form(None, PICKS, &form(&[("shops", bad)])).expect_err(bad);
            assert_eq!(
                errors,
                [("shops", "Choose from the options for “Shops”.".to_owned())]
            );
        }
        let stored = FlowConfig::from_stored(None, PICKS, true, 0, r#"{"shops": "1, Amazon EU"}"#);
        assert_eq!(
            stored.values["shops"], "1, Amazon EU",
            "names saved before stay"
        );
    }

    #[test]
    fn an_option_is_found_by_its_value_then_by_its_alias_in_any_case() {
        let options = [
            LoadedOption::new("1", "1 — Main").also_matching("Main"),
            LoadedOption::new("2", "2 — 1").also_matching("1"),
            LoadedOption::new("3", "3").also_matching("  "),
        ];
        assert_eq!(
            find_option(&options, "1").map(|o| o.value.as_str()),
            Some("1")
        );
        assert_eq!(
            find_option(&options, "main").map(|o| o.value.as_str()),
            Some("1")
        );
        assert_eq!(options[2].alias, None, "a blank name is no alias");
        assert!(find_option(&options, "Mai").is_none());
    }

    #[test]
    fn unreadable_or_out_of_range_stored_values_fall_back_to_defaults() {
        let config = FlowConfig::from_stored(
            Some(SCHEDULE),
            FIELDS,
            false,
            60,
            r#"{"size": 9999, "hidden": "yes", "who": "all", "extra": 1}"#,
        );
        assert_eq!(config.values["size"], 250);
        assert_eq!(config.values["hidden"], false);
        assert_eq!(config.values["who"], "all");
        assert!(!config.values.contains_key("extra"));
        assert_eq!(
            config.interval_minutes,
            Some(5),
            "clamped up to the minimum"
        );
        let broken = FlowConfig::from_stored(None, FIELDS, true, 0, "not json");
        assert_eq!(broken.values, FlowConfig::defaults(None, FIELDS).values);
        assert_eq!(broken.interval_minutes, None);
    }
}
