//! Malformed vendor answers, for the `mangle=` fault: a JSON body with one value swapped
//! for a value of another type, one key removed, or the text cut short. What a real
//! vendor sends after an API change, a proxy's error page or a truncated transfer; a
//! client must answer it with an error that names it, never a panic.

use serde_json::{Map, Value};

use crate::rng::hash;

/// The body `body` mangled by the `index`-th decision under `seed`. Bodies that are not
/// JSON are cut short.
pub fn mangle(body: &[u8], seed: u64, index: u64) -> Vec<u8> {
    let roll = hash(seed, "mangle", index);
    let Ok(mut value) = serde_json::from_slice::<Value>(body) else {
        return body[..body.len() / 2].to_vec();
    };
    match roll % 5 {
        // The text cut short: not JSON at all.
        0 => {
            let text = serde_json::to_vec(&value).unwrap_or_default();
            return text[..text.len() / 2].to_vec();
        }
        // A key removed somewhere.
        1 => {
            let mut n = roll >> 8;
            remove_one(&mut value, &mut n);
        }
        // A value swapped for one of another type.
        _ => {
            let replacement = match (roll >> 4) % 7 {
                0 => Value::Null,
                1 => Value::from(-1),
                2 => Value::from("\u{0}not what you expected\u{202e}"),
                3 => Value::Array(Vec::new()),
                4 => Value::Object(Map::new()),
                5 => Value::from(f64::MAX),
                _ => Value::from(true),
            };
            let mut n = roll >> 8;
            swap_one(&mut value, &mut n, replacement);
        }
    }
    serde_json::to_vec(&value).unwrap_or_default()
}

/// How many values `value` holds, itself included.
fn size(value: &Value) -> u64 {
    1 + match value {
        Value::Array(items) => items.iter().map(size).sum(),
        Value::Object(map) => map.values().map(size).sum(),
        _ => 0,
    }
}

/// Replaces the value numbered `n % size` (depth first) with `replacement`.
fn swap_one(value: &mut Value, n: &mut u64, replacement: Value) {
    *n %= size(value).max(1);
    swap_at(value, n, replacement);
}

fn swap_at(value: &mut Value, n: &mut u64, replacement: Value) -> bool {
    if *n == 0 {
        *value = replacement;
        return true;
    }
    *n -= 1;
    let children: Vec<&mut Value> = match value {
        Value::Array(items) => items.iter_mut().collect(),
        Value::Object(map) => map.values_mut().collect(),
        _ => return false,
    };
    for child in children {
        let here = size(child);
        if *n < here {
            return swap_at(child, n, replacement);
        }
        *n -= here;
    }
    false
}

/// Removes one key of one object, both chosen by `n`, if the body has any object.
fn remove_one(value: &mut Value, n: &mut u64) {
    let objects = count_objects(value);
    if objects == 0 {
        return;
    }
    let mut pick = *n % objects;
    remove_in(value, &mut pick, *n);
}

fn count_objects(value: &Value) -> u64 {
    match value {
        Value::Object(map) => 1 + map.values().map(count_objects).sum::<u64>(),
        Value::Array(items) => items.iter().map(count_objects).sum(),
        _ => 0,
    }
}

fn remove_in(value: &mut Value, pick: &mut u64, n: u64) -> bool {
    match value {
        Value::Object(map) => {
            if *pick == 0 {
                let keys: Vec<String> = map.keys().cloned().collect();
                if !keys.is_empty() {
                    map.remove(&keys[(n / 7) as usize % keys.len()]);
                }
                return true;
            }
            *pick -= 1;
            map.values_mut().any(|child| remove_in(child, pick, n))
        }
        Value::Array(items) => items.iter_mut().any(|item| remove_in(item, pick, n)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mangled_body_differs_from_the_original() {
        let body = serde_json::to_vec(&serde_json::json!({
            "tickets": [{"id": 1, "subject": "a", "tags": ["x"]}, {"id": 2}],
            "count": 2
        }))
        .expect("json");
        for index in 0..200 {
            assert_ne!(mangle(&body, 7, index), body, "decision {index}");
        }
    }
}
