use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time in UTC. Accepts any RFC 3339 spelling (any offset, `Z` or `+00:00`,
/// with or without fractional seconds) and `YYYY-MM-DD HH:MM:SS` as UTC; always writes
/// the one canonical spelling (`2024-05-01T08:30:00Z`, fractions only when non-zero), so
/// equivalent spellings digest the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

/// The error for a string that is not a recognizable timestamp.
#[derive(Debug, Clone, thiserror::Error)]
#[error("'{0}' is not a timestamp; expected RFC 3339 such as 2024-05-01T08:30:00Z")]
pub struct TimestampError(pub String);

impl Timestamp {
    /// Wraps a UTC date-time.
    pub fn new(at: DateTime<Utc>) -> Self {
        Timestamp(at)
    }

    /// The current time.
    pub fn now() -> Self {
        Timestamp(Utc::now())
    }

    /// Seconds since the Unix epoch, the form time-based vendor cursors use.
    pub fn from_unix(seconds: i64) -> Option<Self> {
        DateTime::from_timestamp(seconds, 0).map(Timestamp)
    }

    /// Seconds since the Unix epoch.
    pub fn unix(&self) -> i64 {
        self.0.timestamp()
    }

    /// The wrapped UTC date-time.
    pub fn as_datetime(&self) -> DateTime<Utc> {
        self.0
    }

    /// The canonical RFC 3339 spelling.
    pub fn to_canonical(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        if let Ok(at) = DateTime::parse_from_rfc3339(trimmed) {
            return Ok(Timestamp(at.with_timezone(&Utc)));
        }
        let naive = trimmed.trim_end_matches(" UTC");
        for format in [
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%d %H:%M:%S%.f",
        ] {
            if let Ok(at) = NaiveDateTime::parse_from_str(naive, format) {
                return Ok(Timestamp(at.and_utc()));
            }
        }
        Err(TimestampError(s.to_string()))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_canonical())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_canonical())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> String {
        s.parse::<Timestamp>()
            .map(|t| t.to_canonical())
            .unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn equivalent_spellings_share_one_canonical_form() {
        let canonical = "2024-05-01T08:30:00Z";
        for spelling in [
            "2024-05-01T08:30:00Z",
            "2024-05-01T08:30:00+00:00",
            "2024-05-01T10:30:00+02:00",
            "2024-05-01T08:30:00.000Z",
            "2024-05-01 08:30:00",
            "2024-05-01 08:30:00 UTC",
        ] {
            assert_eq!(ts(spelling), canonical, "{spelling}");
        }
        assert_eq!(ts("2024-05-01T08:30:00.250Z"), "2024-05-01T08:30:00.250Z");
    }

    #[test]
    fn garbage_is_named_in_the_error() {
        assert!(ts("yesterday").contains("'yesterday' is not a timestamp"));
    }
}
