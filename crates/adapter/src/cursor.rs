//! Typed cursors: an adapter writes its position as `|`-separated fields and reads it
//! back field by field. A cursor that does not parse is an error that says so, never a
//! silent restart from the beginning (which would read everything again and, with a
//! deletion pass after it, could be taken for a complete reading).

use std::str::FromStr;

use crate::{AdapterError, Cursor, PageRequest};

/// The fields of a request's cursor, or none at the beginning.
#[derive(Debug, Clone)]
pub struct CursorFields {
    adapter: String,
    raw: Option<String>,
    fields: Vec<String>,
}

impl CursorFields {
    /// Splits the request's cursor, if any.
    pub fn of(adapter: &str, request: &PageRequest) -> Self {
        let raw = request.cursor.as_ref().map(|c| c.0.clone());
        let fields = raw
            .as_deref()
            .map(|r| r.split('|').map(str::to_string).collect())
            .unwrap_or_default();
        CursorFields {
            adapter: adapter.to_string(),
            raw,
            fields,
        }
    }

    /// Whether the request starts at the beginning (no cursor).
    pub fn at_start(&self) -> bool {
        self.raw.is_none()
    }

    /// The error for a cursor this adapter cannot read.
    pub fn corrupt(&self, why: &str) -> AdapterError {
        AdapterError::fatal(
            &self.adapter,
            format!(
                "the saved cursor '{}' cannot be read ({why}); it was not written by this version of the {} adapter or was changed. Nothing was read again; to read this kind from the beginning, remove its row from the state store's cursors table",
                self.raw.as_deref().unwrap_or_default(),
                self.adapter
            ),
        )
    }

    /// Field `index` parsed as `T`: `default` at the beginning, an error when the cursor
    /// is there but the field is missing or does not parse.
    pub fn get<T: FromStr>(&self, index: usize, default: T) -> Result<T, AdapterError> {
        if self.at_start() {
            return Ok(default);
        }
        let field = self
            .fields
            .get(index)
            .ok_or_else(|| self.corrupt(&format!("field {} is missing", index + 1)))?;
        field.parse().map_err(|_| {
            self.corrupt(&format!(
                "field {} '{field}' is not what it should be",
                index + 1
            ))
        })
    }

    /// Field `index` as it is, if there is one.
    pub fn text(&self, index: usize) -> Option<&str> {
        self.fields.get(index).map(String::as_str)
    }

    /// The fields from `index` on, joined again: an inner cursor carried inside an
    /// outer one (`None` when there are none).
    pub fn rest(&self, index: usize) -> Option<Cursor> {
        (self.fields.len() > index).then(|| Cursor(self.fields[index..].join("|")))
    }
}

/// A cursor made of fields, the form [`CursorFields`] reads.
pub fn join(fields: &[&dyn std::fmt::Display]) -> Cursor {
    Cursor(
        fields
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join("|"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(cursor: Option<&str>) -> CursorFields {
        CursorFields::of(
            "demo",
            &PageRequest {
                cursor: cursor.map(|c| Cursor(c.into())),
                ..Default::default()
            },
        )
    }

    #[test]
    fn fields_read_back_what_was_written_and_a_corrupt_cursor_is_an_error() {
        let written = join(&[&3usize, &"x", &50u32]);
        let fields = at(Some(&written.0));
        assert_eq!(fields.get::<usize>(0, 1).expect("page"), 3);
        assert_eq!(fields.text(1), Some("x"));
        assert_eq!(fields.get::<u32>(2, 100).expect("size"), 50);
        assert_eq!(fields.rest(1), Some(Cursor("x|50".into())));
        assert_eq!(at(None).get::<usize>(0, 1).expect("start"), 1);
        for corrupt in ["garbage", "3|x", ""] {
            let error = at(Some(corrupt)).get::<u32>(2, 100).expect_err(corrupt);
            assert_eq!(error.kind(), crate::ErrorKind::Fatal, "{corrupt}");
            assert!(error.to_string().contains("cannot be read"), "{error}");
        }
    }
}
