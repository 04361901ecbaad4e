//! The one list of adapters. Adding a platform means one line here.

use switchover_adapter::Registry;

/// Every adapter this build of Switchover knows.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register(switchover_archive::register());
    registry.register(switchover_rt::register());
    registry.register(switchover_zendesk::register());
    registry.register(switchover_freshdesk::register());
    registry
}
