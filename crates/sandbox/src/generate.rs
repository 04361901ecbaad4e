//! Seeded generator of realistic, hostile helpdesk data in the canonical model.

pub(crate) fn _placeholder() {}
