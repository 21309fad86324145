//! # ibft
//!
//! The iSCSI Boot Firmware Table (iBFT, IBM's "iSCSI Boot Firmware Table (iBFT)" spec, version
//! 1.03): the table that boot firmware such as iPXE or an iSCSI option ROM leaves for the OS, so
//! that the OS's own initiator can log back in to the disk it booted from. Build one, parse one,
//! and lint one. `no_std` + `alloc`; no IO.
//!
//! ## Layers
//!
//! - **Values** with public fields, built by struct literal: [`Ibft`] holds a [`TableHeader`],
//!   a [`Control`], an [`Initiator`], up to two [`Nic`]s and two [`Target`]s. Small field types
//!   are [`MacAddr`], [`PciAddress`], [`Lun`] (SAM encoding), [`Flags`], [`ControlFlags`],
//!   [`Origin`] and [`ChapType`]; IP addresses are `Option<core::net::IpAddr>`.
//! - **Wire**: [`Ibft::parse`] reads a table, [`Ibft::emit`] / [`Ibft::to_bytes`] lay one out
//!   (Control at byte 48, structures 8-byte aligned, NUL-terminated strings after the
//!   structures, checksum set). IPv4 addresses are stored as `::ffff:a.b.c.d`, absent ones as
//!   sixteen zero bytes, all integers little-endian.
//! - **Artefact**: [`IbftBuilder`] validates with [`Ibft::check`] and refuses a table a reader
//!   could not use; [`Placement`] picks the signature, `"iBFT"` for BIOS memory or `"IBFT"`
//!   for an ACPI table.
//! - **Diagnosis**: [`Ibft::lint`] lists every [`Problem`] of a table's bytes as a sentence a
//!   human can act on ("target 0 has CHAP type 1 (one-way CHAP) but no CHAP name").
//!
//! ## Invariants
//!
//! - Parsing never panics and never reads outside the table's `Length` bytes: it checks what
//!   Linux's `iscsi_ibft.c` checks (signature, revision 1, checksum, the Control structure's ID,
//!   length 18 and index 0, each structure's ID and exact length) and more (structure versions,
//!   every structure and string inside the table, UTF-8 strings). Allocation is bounded by the
//!   table's length, at most 65535 bytes.
//! - `Ibft::parse(&ibft.to_bytes()?) == ibft` for every table whose addresses are in canonical
//!   form (no unspecified address, IPv4 as IPv4), and re-emitting a parsed table this crate
//!   made gives the same bytes.
//! - Only the form Linux accepts is written and read: a Control structure of 18 bytes, so at
//!   most two NIC and two Target structures.
//!
//! ## Example
//!
//! ```
//! use ibft::{ChapType, Ibft, IbftBuilder, Initiator, Lun, MacAddr, Nic, Origin, Target};
//! use std::net::Ipv4Addr;
//!
//! let bytes = IbftBuilder::new()
//!     .initiator(Initiator { name: "iqn.2010-04.org.ipxe:client1".into(), ..Initiator::default() })
//!     .nic(Nic {
//!         ip: Some(Ipv4Addr::new(10, 0, 2, 15).into()),
//!         prefix_len: 24,
//!         origin: Origin::Dhcp,
//!         gateway: Some(Ipv4Addr::new(10, 0, 2, 2).into()),
//!         mac: MacAddr([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]),
//!         ..Nic::default()
//!     })
//!     .target(Target {
//!         ip: Some(Ipv4Addr::new(10, 0, 2, 2).into()),
//!         lun: Lun::from_number(1)?,
//!         name: "iqn.2010-04.org.example:disk1".into(),
//!         chap_type: ChapType::OneWay,
//!         chap_name: "chapuser".into(),
//!         chap_secret: "chapsecret12".into(),
//!         ..Target::default()
//!     })
//!     .build()?;
//!
//! assert_eq!(&bytes[..4], b"iBFT");
//! assert_eq!(ibft::checksum::sum(&bytes), 0);
//! let ibft = Ibft::parse(&bytes)?;
//! let target = ibft.targets[0].as_ref().ok_or("no target 0")?;
//! assert_eq!(target.lun.number(), Some(1));
//! assert_eq!(target.chap_secret, "chapsecret12");
//! assert!(Ibft::lint(&bytes).is_empty());
//! assert_eq!(ibft.to_bytes()?, bytes);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Features
//!
//! - `std` (default): `std::error::Error` for [`Error`]. Everything else is `core` + `alloc`.
//! - `arbitrary`: proptest strategies for the table's types, in the `arbitrary` module.
//!
//! ## Fuzzing
//!
//! Under `cfg(fuzzing)`, [`Ibft::parse`] does not verify the checksum, so that fuzzers reach
//! the structures. The entry points of the fuzz targets are in a hidden `fuzzing` module.
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod acpi;
mod address;
#[cfg(feature = "arbitrary")]
pub mod arbitrary;
mod builder;
pub mod checksum;
mod control;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod initiator;
mod lint;
mod nic;
mod strings;
mod structure;
mod table;
mod target;
mod types;

pub use acpi::{
    DEFAULT_OEM_ID, DEFAULT_OEM_TABLE_ID, Placement, Signature, TABLE_HEADER_LEN, TableHeader,
};
pub use builder::IbftBuilder;
pub use control::{CONTROL_LEN, Control};
pub use error::Error;
pub use initiator::{INITIATOR_LEN, Initiator};
pub use lint::{Issue, IssueKind, Problem, Severity};
pub use nic::{NIC_LEN, Nic};
pub use structure::Location;
pub use table::{Ibft, MAX_TABLE_LEN};
pub use target::{ISCSI_PORT, TARGET_LEN, Target};
pub use types::{ChapType, ControlFlags, Flags, Lun, MacAddr, Origin, PciAddress};
