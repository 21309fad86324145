//! # iscsi-pdu
//!
//! The iSCSI wire format of RFC 7143 §11, sans-IO: bytes in, typed PDUs out, and back. It is
//! meant for targets, initiators, proxies and fuzzers alike, and holds no state beyond a
//! [`Framer`]'s limits: sessions, negotiation and SCSI live in other crates.
//!
//! ## Layers
//!
//! - [`Framer`] splits a TCP byte stream into whole PDUs. It checks the header digest and the
//!   AHS and data lengths against the negotiated limits before asking for more bytes, so a
//!   peer's length fields never size a buffer beyond MaxRecvDataSegmentLength.
//! - [`Pdu::parse`] turns one complete PDU into a typed value; [`Pdu::encode`] turns it back,
//!   computing TotalAHSLength, DataSegmentLength, padding and digests itself. Data segments
//!   are [`bytes::Bytes`] slices of the input, and the encoder hands them on as a separate chunk
//!   of [`EncodedPdu`]: a Data-Out is decoded and a Data-In encoded without copying the payload.
//! - [`Bhs`] is a view over the 48-byte Basic Header Segment, for code that wants raw fields.
//! - [`text_data`] parses and emits the `key=value` text of Login and Text PDUs, with the value
//!   types of RFC 7143 §6 and reassembly across PDUs.
//!
//! ## Invariants
//!
//! - `Pdu::parse(pdu.encode(d)) == pdu` for every PDU, and canonical bytes (reserved fields
//!   zero) re-encode identically.
//! - Parsing never panics; every error is an [`Error`] naming the field and its offset.
//! - Unknown opcodes parse to [`Pdu::Unknown`], which keeps every byte, and can be answered
//!   with a [`Reject`].
//! - No `unsafe`, no allocation sized by a length field beyond the configured limits.
//!
//! ## Example
//!
//! ```
//! use bytes::BytesMut;
//! use iscsi_pdu::*;
//!
//! // An initiator's first Login Request, as iPXE sends it.
//! let login = Pdu::LoginRequest(LoginRequest {
//!     transit: true,
//!     continue_bit: false,
//!     csg: Stage::SecurityNegotiation,
//!     nsg: Stage::LoginOperationalNegotiation,
//!     version_max: 0,
//!     version_min: 0,
//!     isid: Isid([0x80, 0x12, 0x34, 0x56, 0x00, 0x01]),
//!     tsih: Tsih(0),
//!     itt: Itt(0),
//!     cid: Cid(0),
//!     cmd_sn: SerialNumber(0),
//!     exp_stat_sn: SerialNumber(0),
//!     data: bytes::Bytes::from_static(
//!         b"InitiatorName=iqn.2010-04.org.ipxe:client\0SessionType=Normal\0AuthMethod=None\0",
//!     ),
//! });
//! let mut stream = BytesMut::new();
//! login.encode_into(Digests::NONE, &mut stream)?;
//!
//! let mut framer = Framer::new(FramerConfig::default());
//! let Framed::Pdu(Pdu::LoginRequest(req)) = framer.decode(&mut stream)? else {
//!     panic!("expected a login request");
//! };
//! let keys = text_data::TextPairs::parse(&req.data)?;
//! assert_eq!(keys.get("AuthMethod"), Some("None"));
//! assert_eq!(Pdu::LoginRequest(req), login);
//! # Ok::<(), iscsi_pdu::Error>(())
//! ```
//!
//! ## Fuzzing
//!
//! Under `cfg(fuzzing)` received digests are not verified (they are still computed and sent),
//! so that fuzzers get past them. [`fuzzing`] holds the entry points of the fuzz targets.
#![forbid(unsafe_code)]

mod ahs;
#[cfg(any(test, feature = "arbitrary"))]
pub mod arbitrary;
mod async_msg;
mod bhs;
mod codec;
mod codes;
mod data_in;
mod data_out;
mod digest;
mod error;
mod framer;
#[doc(hidden)]
pub mod fuzzing;
mod login;
mod logout;
mod nop;
mod open_enum;
mod pdu;
mod r2t;
mod reject;
mod scsi_cmd;
mod scsi_rsp;
mod snack;
mod text;
pub mod text_data;
mod tmf;
mod types;
mod unknown;

pub use ahs::{Ahs, MAX_AHS_LEN};
pub use async_msg::AsyncMessage;
pub use bhs::{BHS_LEN, Bhs};
pub use codes::*;
pub use data_in::DataIn;
pub use data_out::DataOut;
pub use digest::{Digests, crc32c};
pub use error::{Error, NameProblem, TextProblem};
pub use framer::{Framed, Framer, FramerConfig, Malformed};
pub use login::{LoginRequest, LoginResponse};
pub use logout::{LogoutRequest, LogoutResponse};
pub use nop::{NopIn, NopOut};
pub use pdu::{EncodedPdu, MAX_DATA_SEGMENT_LEN, Pdu};
pub use r2t::ReadyToTransfer;
pub use reject::Reject;
pub use scsi_cmd::ScsiCommand;
pub use scsi_rsp::{Residual, ScsiResponse};
pub use snack::SnackRequest;
pub use text::{TextRequest, TextResponse};
pub use text_data::{IscsiName, IscsiNameKind, TextAssembler, TextPairs};
pub use tmf::{TaskMgmtRequest, TaskMgmtResponse};
pub use types::*;
pub use unknown::UnknownPdu;
