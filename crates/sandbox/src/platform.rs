//! The one entry through which an adapter crate joins the CLI: its adapter and, when it
//! has one, its emulator.

use switchover_adapter::AdapterSpec;

use crate::EmulatorSpec;

/// What an adapter crate's `platform()` returns. The CLI lists one of these per adapter
/// crate it depends on, and takes from it both the adapter (`switchover adapters`, plans)
/// and the emulator (`switchover sandbox serve`).
#[derive(Clone)]
pub struct Platform {
    /// The adapter: name, settings, capabilities and how to build it.
    pub adapter: AdapterSpec,
    /// The loopback emulator of the platform's API, for platforms reached over HTTP.
    pub emulator: Option<EmulatorSpec>,
}

impl Platform {
    /// A platform with no emulator (an archive, a server run for real in tests).
    pub fn new(adapter: AdapterSpec) -> Self {
        Platform {
            adapter,
            emulator: None,
        }
    }

    /// The same platform with its emulator.
    pub fn with_emulator(self, emulator: EmulatorSpec) -> Self {
        Platform {
            emulator: Some(emulator),
            ..self
        }
    }
}
