//! The subcommands, one file each, and how a subcommand fails.

pub mod articles;
pub mod books;
pub mod check;
pub mod convert;
pub mod crawl;
pub mod menu;
pub mod serve;
pub mod simulate;

/// How a subcommand failed: the message for stderr and the exit status.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    /// A configuration or usage problem the owner must fix: exit 2.
    pub fn config(message: impl Into<String>) -> Self {
        Failure { code: 2, message: message.into() }
    }
    /// Something failed while running: exit 1.
    pub fn runtime(message: impl Into<String>) -> Self {
        Failure { code: 1, message: message.into() }
    }
}
