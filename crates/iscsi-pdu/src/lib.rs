//! # iscsi-pdu
//!
//! The iSCSI wire format of RFC 7143, sans-IO: bytes in, typed PDUs out, and back.
#![forbid(unsafe_code)]

mod codes;
mod error;
mod open_enum;
pub mod text_data;
mod types;

pub use codes::*;
pub use error::{Error, NameProblem, TextProblem};
pub use types::*;
