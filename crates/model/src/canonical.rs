//! Canonical JSON: one byte sequence per JSON value, whatever the key order or
//! whitespace of its original spelling.
//!
//! Rules: object keys sorted by their UTF-8 bytes; no insignificant whitespace; strings
//! escaped as serde_json escapes them; a number with an integral value within ±2^53
//! written as an integer (`1.0` and `1` are the same number), others in serde_json's
//! shortest round-trip form.

use serde_json::Value;

/// Writes `value` in canonical form.
pub fn to_canonical_string(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    write_value(value, &mut out);
    out
}

/// Parses JSON text and writes it in canonical form.
pub fn canonicalize(json: &str) -> Result<String, serde_json::Error> {
    let value: Value = serde_json::from_str(json)?;
    Ok(to_canonical_string(&value))
}

const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if n.is_f64() {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() == 0.0 && f.abs() <= MAX_EXACT_INTEGER {
                    out.push_str(&(f as i64).to_string());
                    return;
                }
            }
            out.push_str(&n.to_string());
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_value(item, out);
            }
            out.push('}');
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    // serde_json's escaping of a plain string cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Any JSON value, with the numbers a vendor sends (integers, floats, huge ones).
    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(("\\PC{0,6}", inner), 0..6)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Canonical text parses back to the same value (numbers by value), and is its
        /// own canonical form: one byte sequence per value.
        #[test]
        fn canonical_text_is_the_value_and_its_own_canonical_form(value in json()) {
            let text = to_canonical_string(&value);
            let again = canonicalize(&text).expect("canonical text is JSON");
            prop_assert_eq!(&again, &text);
            let pretty = serde_json::to_string_pretty(&value).expect("json");
            prop_assert_eq!(canonicalize(&pretty).expect("pretty is JSON"), text);
        }

        /// Any text: canonical form or a parse error, never a panic.
        #[test]
        fn any_text_is_canonical_or_an_error(text in "\\PC{0,64}|[\\[\\]{}\",:0-9eE.+-]{0,64}") {
            let _ = canonicalize(&text);
        }
    }

    #[test]
    fn key_order_and_whitespace_do_not_matter() {
        let a = canonicalize(r#"{"b": 1, "a": {"y": [1, 2.0], "x": "é\n"}}"#).ok();
        let b = canonicalize("{\"a\":{\"x\":\"é\\n\",\"y\":[1,2]},\n  \"b\":1.0}").ok();
        assert_eq!(a, b);
        assert_eq!(a.as_deref(), Some(r#"{"a":{"x":"é\n","y":[1,2]},"b":1}"#));
    }

    #[test]
    fn array_order_matters() {
        assert_ne!(canonicalize("[1,2]").ok(), canonicalize("[2,1]").ok());
    }
}
