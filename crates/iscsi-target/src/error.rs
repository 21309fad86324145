//! The crate's one error type.

use crate::TaskId;

/// Misuse of the engine's API by its driver.
///
/// Protocol errors caused by the *initiator* are not returned as errors: the engine answers them
/// on the wire (a Reject, a login failure) or asks the driver to drop the connection
/// ([`Event::Close`](crate::Event::Close) with a [`CloseReason`](crate::CloseReason)).
/// This type covers what the driver itself got wrong, and invalid configuration.
///
/// ```
/// use iscsi_target::{Error, TaskId};
/// let e = Error::UnknownTask { id: TaskId(7) };
/// assert_eq!(e.to_string(), "no task TaskId(7) is waiting for a completion");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The id names no task that awaits a completion (never handed out, or already completed).
    #[error("no task {id:?} is waiting for a completion")]
    UnknownTask {
        /// The id given.
        id: TaskId,
    },
    /// The configuration is invalid.
    #[error("invalid configuration: {what}")]
    InvalidConfig {
        /// What is wrong, naming the [`Limits`](crate::Limits) field, e.g.
        /// `"max_burst_length (MaxBurstLength) must be 512..=16777215"`.
        what: &'static str,
    },
    /// The operation needs a logged-in Normal session.
    #[error("the connection is not in the full feature phase of a normal session")]
    NotLoggedIn,
    /// Encoding a PDU failed (an outcome's data or sense is over the 16 MiB data segment limit).
    #[error("encoding a PDU failed: {0}")]
    Encode(#[from] iscsi_pdu::Error),
}
