//! Help Scout (Mailbox API 2.0 and Docs API) as a Switchover source and target.

#![deny(missing_docs)]
