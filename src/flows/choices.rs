//! The settings fields whose options a flow loads from the store
//! ([`super::FieldKind::LoadedChoice`], [`super::FieldKind::LoadedMultiChoice`]): a saved
//! form's values checked against those options, and names replaced by the options' values.
//! It only checks: `settings` parses the form and `save_config` saves it.

use serde_json::Value;

use super::{Field, FieldKind, Flow, FlowConfig, settings, stored_config};
use crate::context::AppContext;

/// Checks every [`FieldKind::LoadedChoice`] and [`FieldKind::LoadedMultiChoice`] value of
/// `config` against the options the flow loads for the connection; one message per field
/// that is not among them. A multi-choice entry that names an option by its alias is
/// replaced by the option's value. An empty multi-choice needs no loading, and one left
/// as it was saved is kept when the options cannot be loaded (so the flow can still be
/// turned off while the store is unreachable).
pub async fn check_loaded_choices(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
    flow: &dyn Flow,
    config: &mut FlowConfig,
) -> Result<(), Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    for field in flow.fields() {
        let chosen = config.values.get(field.name).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let result = match field.kind {
            FieldKind::LoadedChoice { .. } => {
                check_choice(ctx, tenant_id, connection_id, flow, field, chosen).await
            }
            FieldKind::LoadedMultiChoice => {
                check_multi_choice(ctx, tenant_id, connection_id, flow, field, chosen).await
            }
            _ => continue,
        };
        match result {
            Ok(Some(value)) => {
                config
                    .values
                    .insert(field.name.to_owned(), Value::from(value));
            }
            Ok(None) => {}
            Err(message) => errors.push((field.name, message)),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

async fn check_choice(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
    flow: &dyn Flow,
    field: &Field,
    chosen: Option<String>,
) -> Result<Option<String>, String> {
    match flow
        .field_choices(ctx, tenant_id, connection_id, field.name)
        .await
    {
        Ok(options) if options.iter().any(|o| Some(&o.value) == chosen.as_ref()) => Ok(None),
        Ok(_) => Err(format!("Choose one of the options for “{}”.", field.label)),
        Err(why) => Err(format!(
            "The options for “{}” could not be loaded: {why}",
            field.label
        )),
    }
}

/// The multi-choice value to store (`None`: as submitted), or the field's message.
async fn check_multi_choice(
    ctx: &AppContext,
    tenant_id: i64,
    connection_id: i64,
    flow: &dyn Flow,
    field: &Field,
    chosen: Option<String>,
) -> Result<Option<String>, String> {
    let entries = settings::multi_entries(chosen.as_deref().unwrap_or_default());
    if entries.is_empty() {
        return Ok(None);
    }
    let options = match flow
        .field_choices(ctx, tenant_id, connection_id, field.name)
        .await
    {
        Ok(options) => options,
        Err(why) => {
            let saved = stored_config(ctx, tenant_id, connection_id, flow)
                .await
                .ok()
                .and_then(|(config, _)| config.values.get(field.name).cloned())
                .and_then(|v| v.as_str().map(settings::multi_entries));
            if saved.is_some_and(|mut saved| {
                let mut entries = entries.clone();
                saved.sort();
                entries.sort();
                saved == entries
            }) {
                return Ok(None);
            }
            return Err(format!(
                "The options for “{}” could not be loaded, so the choice cannot be checked: {why}",
                field.label
            ));
        }
    };
    let mut values: Vec<String> = Vec::new();
    let mut unknown = Vec::new();
    for entry in &entries {
        match settings::find_option(&options, entry) {
            Some(option) if !values.contains(&option.value) => values.push(option.value.clone()),
            Some(_) => {}
            None => unknown.push(format!("“{entry}”")),
        }
    }
    if unknown.is_empty() {
        Ok(Some(values.join(", ")))
    } else {
        Err(format!(
            "{} {} not among the options for “{}”: untick {} and choose from the list.",
            unknown.join(", "),
            if unknown.len() == 1 { "is" } else { "are" },
            field.label,
            if unknown.len() == 1 { "it" } else { "them" },
        ))
    }
}
