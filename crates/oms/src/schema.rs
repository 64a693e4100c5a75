//! Request bodies are checked against the served OpenAPI document itself,
//! so the document and the server cannot drift apart: what the document
//! refuses (an unknown field, a name too long, a control character, a 501st
//! line), the server refuses with 422 naming the field. Rules a schema
//! cannot state (totals that add up, tenders that fit the status) are
//! till-core's, checked after.

use crate::api::OPENAPI;
use crate::error::AppError;
use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use serde_json::{json, Value};

pub struct Schemas {
    order: Validator,
    payment: Validator,
    refund: Validator,
    shift: Validator,
}

impl Schemas {
    /// Compiles the document's schemas once, at start.
    pub fn load() -> Result<Schemas, String> {
        let doc: Value = serde_json::from_str(OPENAPI).map_err(|e| format!("openapi.json: {e}"))?;
        let compile = |name: &str| {
            let schema = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$ref": format!("#/components/schemas/{name}"),
                "components": doc["components"],
            });
            jsonschema::validator_for(&schema).map_err(|e| format!("openapi.json {name}: {e}"))
        };
        Ok(Schemas {
            order: compile("Order")?,
            payment: compile("PaymentReport")?,
            refund: compile("Refund")?,
            shift: compile("Shift")?,
        })
    }

    pub fn check_order(&self, value: &Value) -> Result<(), AppError> {
        check(&self.order, value, "invalid_order")
    }

    pub fn check_payment(&self, value: &Value) -> Result<(), AppError> {
        check(&self.payment, value, "invalid_payment")
    }

    pub fn check_refund(&self, value: &Value) -> Result<(), AppError> {
        check(&self.refund, value, "invalid_refund")
    }

    pub fn check_shift(&self, value: &Value) -> Result<(), AppError> {
        check(&self.shift, value, "invalid_shift")
    }
}

fn check(validator: &Validator, value: &Value, code: &str) -> Result<(), AppError> {
    // The valid record, the common case, takes the validator's fast path;
    // collecting errors (paths, messages) is for the one it refuses.
    if validator.is_valid(value) {
        return Ok(());
    }
    match validator.iter_errors(value).next() {
        None => Ok(()),
        Some(e) => {
            let e = innermost(e);
            let field = field_of(&e);
            let message = match &e.kind {
                ValidationErrorKind::AdditionalProperties { .. } => "unknown field".to_owned(),
                _ => e.to_string(),
            };
            let message = if field.is_empty() {
                message
            } else {
                format!("{field}: {message}")
            };
            let err = AppError::invalid(code, truncate(message));
            Err(if field.is_empty() {
                err
            } else {
                err.with_field(field)
            })
        }
    }
}

/// For a tagged union (`oneOf` whose branches differ by a constant tag,
/// like a tender's `method`), the error inside the branch the tag chose:
/// "tenders[0].last4: …", not "tenders[0] is not valid under any schema".
fn innermost(e: ValidationError<'_>) -> ValidationError<'_> {
    let ValidationError {
        instance,
        kind,
        instance_path,
        schema_path,
    } = e;
    let context = match kind {
        ValidationErrorKind::OneOfNotValid { context } => context,
        kind => {
            return ValidationError {
                instance,
                kind,
                instance_path,
                schema_path,
            }
        }
    };
    // The branches whose tag matched: they failed on something else.
    let matched: Vec<usize> = (0..context.len())
        .filter(|&i| {
            !context[i].is_empty()
                && !context[i]
                    .iter()
                    .any(|x| matches!(x.kind, ValidationErrorKind::Constant { .. }))
        })
        .collect();
    match matched[..] {
        [i] => {
            let mut context = context;
            innermost(context.swap_remove(i).remove(0))
        }
        _ => ValidationError {
            instance,
            kind: ValidationErrorKind::OneOfNotValid { context },
            instance_path,
            schema_path,
        },
    }
}

/// Long generated values make long messages; a client needs the start.
fn truncate(s: String) -> String {
    const MAX: usize = 300;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

/// The field an error is about, as `lines[0].name` (an unknown field names
/// itself: `lines[0].colour`).
fn field_of(e: &ValidationError<'_>) -> String {
    let mut field = String::new();
    for segment in e.instance_path.as_str().split('/').skip(1) {
        push_segment(&mut field, &segment.replace("~1", "/").replace("~0", "~"));
    }
    match &e.kind {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            if let Some(name) = unexpected.first() {
                push_segment(&mut field, name);
            }
        }
        // A missing field is named as the field, not as its object.
        ValidationErrorKind::Required { property } => {
            if let Some(name) = property.as_str() {
                push_segment(&mut field, name);
            }
        }
        _ => {}
    }
    field
}

fn push_segment(field: &mut String, segment: &str) {
    if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
        field.push_str(&format!("[{segment}]"));
    } else {
        if !field.is_empty() {
            field.push('.');
        }
        field.push_str(segment);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_field() {
        let s = Schemas::load().unwrap();
        let e = s.check_payment(&json!({"colour": "red"})).unwrap_err();
        assert_eq!(e.status.as_u16(), 422);
        assert_eq!(e.body.error, "invalid_payment");
        let mut field = String::new();
        for seg in ["lines", "0", "tax_rate", "name"] {
            push_segment(&mut field, seg);
        }
        assert_eq!(field, "lines[0].tax_rate.name");
    }
}

#[cfg(test)]
mod document_tests {
    use super::*;
    use till_core::money::Currency;

    #[test]
    fn the_document_lists_the_currencies_core_knows() {
        let doc: Value = serde_json::from_str(OPENAPI).unwrap();
        let listed: Vec<&str> = doc["components"]["schemas"]["Currency"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut known: Vec<&str> = Currency::KNOWN.iter().map(|c| c.code()).collect();
        known.sort();
        assert_eq!(listed, known);
    }
}
