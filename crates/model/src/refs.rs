use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Entity;

/// A typed reference to another record by its id. The kind is in the type, so a ticket's
/// requester cannot be confused with its group; the id is a source id until the engine
/// maps it to the target's id at write time. Serialized as the bare id string.
pub struct Ref<T> {
    id: String,
    kind: PhantomData<fn() -> T>,
}

impl<T: Entity> Ref<T> {
    /// A reference to the record of kind `T` with this id.
    pub fn new(id: impl Into<String>) -> Self {
        Ref {
            id: id.into(),
            kind: PhantomData,
        }
    }

    /// The referenced id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The referenced id, mutable, for id mapping.
    pub fn id_mut(&mut self) -> &mut String {
        &mut self.id
    }
}

impl<T> Clone for Ref<T> {
    fn clone(&self) -> Self {
        Ref {
            id: self.id.clone(),
            kind: PhantomData,
        }
    }
}

impl<T> PartialEq for Ref<T> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl<T> Eq for Ref<T> {}

impl<T> PartialOrd for Ref<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Ref<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.id.cmp(&other.id)
    }
}

impl<T> Hash for Ref<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl<T: Entity> fmt::Debug for Ref<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ref<{}>({})", T::KIND, self.id)
    }
}

impl<T> Serialize for Ref<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.id)
    }
}

impl<'de, T> Deserialize<'de> for Ref<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Vendors and hand-written plans spell ids as numbers as often as strings.
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(id) => Ok(Ref {
                id,
                kind: PhantomData,
            }),
            serde_json::Value::Number(n) => Ok(Ref {
                id: n.to_string(),
                kind: PhantomData,
            }),
            other => Err(serde::de::Error::custom(format!(
                "a reference must be an id string or number, found {other}"
            ))),
        }
    }
}

impl<T> Default for Ref<T> {
    fn default() -> Self {
        Ref {
            id: String::new(),
            kind: PhantomData,
        }
    }
}
