//! Record digests: SHA-256 over canonical JSON of a record's portable projection.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::Record;
use crate::canonical::to_canonical_string;

/// A SHA-256 digest, written as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// SHA-256 of some bytes.
    pub fn of(bytes: &[u8]) -> Self {
        Digest(Sha256::digest(bytes).into())
    }

    /// Lowercase hex spelling.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

/// The error for text that is not 64 hex digits.
#[derive(Debug, Clone, thiserror::Error)]
#[error("'{0}' is not a SHA-256 digest (64 hex digits)")]
pub struct DigestParseError(pub String);

impl FromStr for Digest {
    type Err = DigestParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(s.trim(), &mut bytes).map_err(|_| DigestParseError(s.into()))?;
        Ok(Digest(bytes))
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A set of projection paths (see [`crate::Entity::FIELDS`]) that a digest covers.
pub type FieldSet = BTreeSet<String>;

/// Builds a field set from path strings.
pub fn field_set<'a>(paths: impl IntoIterator<Item = &'a str>) -> FieldSet {
    paths.into_iter().map(str::to_string).collect()
}

/// The portable projection of a record: a JSON object with its `kind` and only the
/// fields in `fields`. Paths like `attachments.sha256` keep only `sha256` inside each
/// element of `attachments`. Absent optional fields project as `null`, so a target that
/// drops an empty value still compares equal with a source that never had one.
pub fn projection(record: &Record, fields: &FieldSet) -> Value {
    let full = match record.to_untagged_json() {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let mut out = Map::new();
    out.insert("kind".into(), Value::String(record.kind().as_str().into()));
    for path in fields {
        let mut parts = path.splitn(2, '.');
        let head = parts.next().unwrap_or_default();
        let rest = parts.next();
        let Some(value) = full.get(head) else {
            continue;
        };
        let projected = match rest {
            None => normalize_empty(value.clone()),
            Some(inner) => project_inner(value, inner),
        };
        merge(&mut out, head, projected);
    }
    Value::Object(out)
}

fn normalize_empty(value: Value) -> Value {
    match value {
        Value::String(s) if s.is_empty() => Value::Null,
        Value::Array(a) if a.is_empty() => Value::Null,
        Value::Object(o) if o.is_empty() => Value::Null,
        other => other,
    }
}

fn project_inner(value: &Value, inner: &str) -> Value {
    match value {
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| project_inner(item, inner))
                .collect(),
        ),
        Value::Object(map) => {
            let mut out = Map::new();
            if let Some(v) = map.get(inner) {
                out.insert(inner.to_string(), normalize_empty(v.clone()));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// Merges a projected sub-value into `out[head]`, combining paths like `a.x` and `a.y`.
fn merge(out: &mut Map<String, Value>, head: &str, projected: Value) {
    match (out.get_mut(head), projected) {
        (Some(Value::Array(have)), Value::Array(new)) => {
            for (h, n) in have.iter_mut().zip(new) {
                if let (Value::Object(h), Value::Object(n)) = (h, n) {
                    h.extend(n);
                }
            }
        }
        (Some(Value::Object(have)), Value::Object(new)) => have.extend(new),
        (_, projected) => {
            out.insert(head.to_string(), projected);
        }
    }
}

/// SHA-256 over the canonical JSON of the record's portable projection.
pub fn record_digest(record: &Record, fields: &FieldSet) -> Digest {
    Digest::of(to_canonical_string(&projection(record, fields)).as_bytes())
}

/// The digest of each top-level field of the portable projection, as 16 hex digits:
/// what a verification keeps of a record to name the fields that differ without
/// keeping its content.
pub fn field_digests(
    record: &Record,
    fields: &FieldSet,
) -> std::collections::BTreeMap<String, String> {
    match projection(record, fields) {
        Value::Object(map) => map
            .into_iter()
            .filter(|(key, _)| key != "kind")
            .map(|(key, value)| {
                let hex = Digest::of(to_canonical_string(&value).as_bytes()).to_hex();
                (key, hex[..16].to_string())
            })
            .collect(),
        _ => Default::default(),
    }
}

/// Streaming SHA-256 of attachment bytes.
#[derive(Default, Clone)]
pub struct ContentHasher {
    hasher: Sha256,
    bytes: u64,
}

impl ContentHasher {
    /// A fresh hasher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes.
    pub fn update(&mut self, chunk: &[u8]) {
        self.hasher.update(chunk);
        self.bytes += chunk.len() as u64;
    }

    /// The digest and the number of bytes seen.
    pub fn finish(self) -> (Digest, u64) {
        (Digest(self.hasher.finalize().into()), self.bytes)
    }

    /// Hashes everything a reader yields.
    pub fn hash_reader(reader: &mut dyn std::io::Read) -> std::io::Result<(Digest, u64)> {
        let mut hasher = ContentHasher::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(hasher.finish())
    }
}
