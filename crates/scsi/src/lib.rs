//! # scsi
//!
//! The target side of the SCSI command set (SPC-4, SBC-3) over a [`BlockDevice`] trait: CDB
//! decoding, execution, status and sense data, INQUIRY with its VPD pages, mode pages,
//! reservations, unit attentions, and EXTENDED COPY (LID1) within a logical unit with
//! RECEIVE COPY RESULTS. It knows nothing of iSCSI: a transport hands it a
//! [`CommandRequest`] (CDB, data-out, expected length) for a LUN and an [`ItNexus`], and sends
//! back the [`CommandResponse`] (status, sense data, data-in, the transfer length the CDB
//! called for, from which it computes residuals).
//!
//! ## Layers
//!
//! - [`cdb`]: typed views of the CDBs the target reads in more than one place, each with
//!   `parse`, `buffer_len` and `emit`.
//! - [`Sense`], [`Status`], [`Opcode`], [`AscAscq`]: the registries and the sense data formats
//!   (fixed and descriptor, with sense-key-specific field pointers).
//! - [`BlockDevice`]: what a logical unit serves ([`MemDevice`] in memory; the example binary
//!   bridges a VHD disk).
//! - [`LogicalUnit`]: one device with its identity ([`LuIdentity`]) and SCSI state; every
//!   command goes through one pipeline: opcode and service action lookup, CDB usage data
//!   check (every reserved bit set is INVALID FIELD IN CDB with its byte and bit), pending
//!   unit attention, reservation conflict, then the handler.
//! - [`ScsiTarget`]: LUN numbers mapped to logical units, REPORT LUNS, missing LUNs and task
//!   management.
//! - Reservations: SPC-2 RESERVE/RELEASE and SPC-4 persistent reservations with every
//!   service action (SPEC_I_PT and REGISTER AND MOVE name other initiator ports by
//!   [`TransportId`]; ALL_TG_PT is accepted, there being one target port). A
//!   [`ReservationStore`] attached to a unit makes APTPL available: the unit saves its
//!   registrations there before the command that changed them completes, and
//!   [`LogicalUnit::restore_reservations`] reads them back after a restart.
//!
//! ## Invariants
//!
//! - No input panics, and no buffer is sized by an untrusted length beyond
//!   [`MAX_TRANSFER_BYTES`] (transfers) or 64 KiB (allocation lengths).
//! - REPORT SUPPORTED OPERATION CODES reports exactly the dispatch table, with the same CDB
//!   usage data the pipeline enforces.
//! - Sans-IO: no files, threads or clocks; the device does the IO, synchronously.
//!
//! ```
//! use std::sync::Arc;
//! use scsi::*;
//!
//! let mut target = ScsiTarget::new();
//! let dev = Arc::new(MemDevice::new(512, 128));
//! target.add_lun(0, LogicalUnit::new(dev, LuIdentity::from_name("iqn.2026-01.example:t/0")))?;
//! let nexus = ItNexus::new("iqn.2026-01.example:client", [0x80, 0, 0, 0, 0, 1]);
//! let run = |cdb: &[u8], data_out: &[u8], len: u32| {
//!     target.execute(0, &nexus, &CommandRequest { cdb, data_out, expected_length: len,
//!                                                 attribute: TaskAttribute::Simple })
//! };
//! // The first command of a new nexus reports the power on unit attention.
//! let r = run(&[0; 6], &[], 0);
//! assert_eq!(r.status, Status::CHECK_CONDITION);
//! assert_eq!(Sense::parse(r.sense.as_deref().ok_or("no sense data")?)?.key, SenseKey::UNIT_ATTENTION);
//!
//! // WRITE(10) one block at LBA 5, then READ(10) it back; the CDBs are emitted by BlockCdb.
//! let mut write = [0u8; 10];
//! cdb::BlockCdb { opcode: 0x2a, flags: 0, lba: 5, length: 1, group: 0, control: 0 }.emit(&mut write);
//! assert_eq!(run(&write, &[0x5a; 512], 512).status, Status::GOOD);
//! let mut read = [0u8; 10];
//! cdb::BlockCdb { opcode: 0x28, flags: 0, lba: 5, length: 1, group: 0, control: 0 }.emit(&mut read);
//! let r = run(&read, &[], 512);
//! assert_eq!((r.status, r.transfer_length), (Status::GOOD, 512));
//! assert!(r.data_in.iter().all(|&b| b == 0x5a));
//! assert_eq!(cdb::BlockCdb::parse(&read)?.lba, 5);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

pub mod cdb;
mod commands;
mod const_newtype;
mod device;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod lu;
mod mem_device;
mod mode_page;
mod opcode;
mod reservation;
mod reservation_image;
mod reservation_store;
mod sense;
mod status;
mod target;
mod transport_id;
mod unit_attention;
mod vpd;

pub use commands::data_out_length;
pub use device::{Allocation, BlockDevice, DeviceError, UnmapSupport};
pub use error::Error;
pub use lu::{DEFAULT_COMPANY_ID, LogicalUnit, LuIdentity, MAX_TRANSFER_BYTES};
pub use mem_device::MemDevice;
pub use opcode::Opcode;
pub use reservation_store::{MemReservationStore, ReservationStore};
pub use sense::{AscAscq, FIXED_SENSE_LEN, Sense, SenseFormat, SenseKey, SenseSpecific};
pub use status::Status;
pub use target::{
    CommandRequest, CommandResponse, ItNexus, MAX_LUNS, ScsiTarget, TaskAttribute, TmfFunction,
    TmfOutcome, lun_from_bytes, lun_to_bytes,
};
pub use transport_id::{MAX_ISCSI_NAME_LEN, TransportId};
pub use vpd::{
    MAX_COMPARE_AND_WRITE_BLOCKS, MAX_UNMAP_BLOCK_DESCRIPTORS, MAX_WRITE_SAME_BLOCKS, VpdPage,
};
