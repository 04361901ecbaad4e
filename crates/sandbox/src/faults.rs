//! Fault injection set by configuration, deterministic for a seed and a request index.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::SandboxError;
use crate::rng::hash;

/// Which faults to inject. Parsed from `500=0.05,503=0.05,latency=20ms,reset=0.01,burst429=10`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Share of requests answered 500.
    pub error_500: f64,
    /// Share of requests answered 503 (with `Retry-After: 1`).
    pub error_503: f64,
    /// Latency added to every request.
    pub latency: Duration,
    /// Share of requests whose connection is reset in the middle of the response. The
    /// handler runs first, so a write is applied but its answer is lost: what makes
    /// clients prove their retries idempotent.
    pub reset: f64,
    /// The first N requests are answered 429 (a forced burst).
    pub burst_429: u64,
    /// Share of reads (GET) whose JSON answer is malformed ([`crate::mangle`]): a value
    /// of another type, a key missing, the text cut short.
    pub mangle: f64,
}

/// What the faults decide for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultDecision {
    /// Serve normally.
    Pass,
    /// Answer 429 (forced burst).
    TooMany,
    /// Answer 500.
    Error500,
    /// Answer 503.
    Error503,
    /// Reset the connection mid-response.
    Reset,
    /// Serve, then malform the answer of a read.
    Mangle,
}

impl Faults {
    /// No faults.
    pub fn none() -> Self {
        Faults::default()
    }

    /// Whether any fault is set.
    pub fn is_none(&self) -> bool {
        *self == Faults::default()
    }

    /// The decision for the `index`-th request (0-based) under `seed`.
    pub fn decide(&self, seed: u64, index: u64) -> FaultDecision {
        if index < self.burst_429 {
            return FaultDecision::TooMany;
        }
        let roll = (hash(seed, "faults", index) >> 11) as f64 / (1u64 << 53) as f64;
        let mut edge = self.reset;
        if roll < edge {
            return FaultDecision::Reset;
        }
        edge += self.error_500;
        if roll < edge {
            return FaultDecision::Error500;
        }
        edge += self.error_503;
        if roll < edge {
            return FaultDecision::Error503;
        }
        edge += self.mangle;
        if roll < edge {
            return FaultDecision::Mangle;
        }
        FaultDecision::Pass
    }
}

fn parse_share(spec: &str, value: &str) -> Result<f64, SandboxError> {
    let share: f64 = value.parse().map_err(|_| SandboxError::FaultSpec {
        spec: spec.into(),
        reason: format!("{value:?} is not a number"),
    })?;
    if !(0.0..=1.0).contains(&share) {
        return Err(SandboxError::FaultSpec {
            spec: spec.into(),
            reason: format!("share {value} is not between 0 and 1"),
        });
    }
    Ok(share)
}

fn parse_duration(spec: &str, value: &str) -> Result<Duration, SandboxError> {
    let err = || SandboxError::FaultSpec {
        spec: spec.into(),
        reason: format!("{value:?} is not a duration like 20ms or 1s"),
    };
    if let Some(ms) = value.strip_suffix("ms") {
        ms.parse().map(Duration::from_millis).map_err(|_| err())
    } else if let Some(s) = value.strip_suffix('s') {
        s.parse::<f64>()
            .ok()
            .filter(|s| *s >= 0.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(err)
    } else {
        value.parse().map(Duration::from_millis).map_err(|_| err())
    }
}

impl FromStr for Faults {
    type Err = SandboxError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let mut faults = Faults::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| SandboxError::FaultSpec {
                    spec: spec.into(),
                    reason: format!("{part:?} is not key=value"),
                })?;
            match key.trim() {
                "500" => faults.error_500 = parse_share(spec, value.trim())?,
                "503" => faults.error_503 = parse_share(spec, value.trim())?,
                "reset" => faults.reset = parse_share(spec, value.trim())?,
                "mangle" => faults.mangle = parse_share(spec, value.trim())?,
                "latency" => faults.latency = parse_duration(spec, value.trim())?,
                "burst429" => {
                    faults.burst_429 =
                        value.trim().parse().map_err(|_| SandboxError::FaultSpec {
                            spec: spec.into(),
                            reason: format!("burst429 wants a count, not {value:?}"),
                        })?
                }
                other => {
                    return Err(SandboxError::FaultSpec {
                        spec: spec.into(),
                        reason: format!(
                            "unknown fault {other:?} (known: 500, 503, latency, reset, burst429, mangle)"
                        ),
                    });
                }
            }
        }
        if faults.error_500 + faults.error_503 + faults.reset + faults.mangle > 1.0 {
            return Err(SandboxError::FaultSpec {
                spec: spec.into(),
                reason: "shares add up to more than 1".into(),
            });
        }
        Ok(faults)
    }
}

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "500={},503={},latency={}ms,reset={},burst429={},mangle={}",
            self.error_500,
            self.error_503,
            self.latency.as_millis(),
            self.reset,
            self.burst_429,
            self.mangle
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_spec() {
        let faults: Faults = "500=0.05,503=0.05,latency=20ms,reset=0.01,burst429=10"
            .parse()
            .expect("spec parses");
        assert_eq!(faults.error_500, 0.05);
        assert_eq!(faults.latency, Duration::from_millis(20));
        assert_eq!(faults.burst_429, 10);
        assert!("teapot=1".parse::<Faults>().is_err());
        assert!("500=2".parse::<Faults>().is_err());
    }

    #[test]
    fn decisions_are_deterministic_and_near_their_share() {
        let faults: Faults = "500=0.1,burst429=3".parse().expect("spec parses");
        let run = |seed| {
            (0..2000)
                .map(|i| faults.decide(seed, i))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        let decisions = run(7);
        assert!(decisions[..3].iter().all(|d| *d == FaultDecision::TooMany));
        let errors = decisions
            .iter()
            .filter(|d| **d == FaultDecision::Error500)
            .count();
        assert!((120..280).contains(&errors), "{errors}");
    }
}
