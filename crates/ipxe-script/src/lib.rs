//! # ipxe-script
//!
//! iPXE scripts as typed values rendered to text, never by string concatenation: `dhcp` and
//! `ifconf`, `set` with setting types, `sanhook` and `sanboot` with their options, `chain`,
//! labels and `goto`, `isset`, `iseq`, `echo`, `exit`, retry loops; iSCSI root paths built from
//! typed parts; CHAP and mutual CHAP; per-MAC templates such as `${net0/mac:hexhyp}`; and the
//! dnsmasq and ISC dhcpd snippets that chain-load iPXE and then a script without looping.
//!
//! ## Layers
//!
//! - [`Word`]: one argument of a command line, made of literal text and `${…}` expansions
//!   ([`SettingRef`]), accepted only if iPXE reads it back as exactly that.
//! - [`IscsiName`], [`IscsiRootPath`], [`SanUri`]: validated names and root paths
//!   (`iscsi:<server>::<port>:<LUN in hex>:<target>`).
//! - [`Command`], [`Pipeline`], [`Line`], [`Script`]: the script AST, rendered by `Display`
//!   and read back by [`Script::parse`] (which accepts exactly what this crate writes).
//! - [`SanBootScript`], [`Dispatcher`]: whole scripts from a few choices (per-client SAN
//!   boot with CHAP and retries; the dispatcher that chains to a per-MAC script).
//! - [`DhcpConfig`]: dnsmasq and ISC dhcpd configuration for both boot flows (PXE, TFTP and
//!   iPXE; iPXE with an embedded script), telling iPXE apart by its user class so that it is
//!   never chain-loaded twice.
//!
//! Feature `arbitrary` adds proptest strategies for these types (module `arbitrary`).
//!
//! ## Invariants
//!
//! - Rendering is deterministic and `Script::parse(&s.to_string()) == Ok(s)`.
//! - iPXE splits a rendered line into exactly the tokens the AST holds, and expands each
//!   token to exactly what [`Word::expand_with`] says (given setting values without `{` that
//!   do not start a positional word with `-`): no value can add a word, a command, a comment or
//!   a line. Text that cannot be written literally is rejected, or hex-encoded by
//!   [`Command::set_text`]. The property tests check this against a model of iPXE's
//!   `script.c`/`exec.c`/`getopt.c`.
//!
//! ```
//! use ipxe_script::{Chap, IscsiName, IscsiRootPath, Lun, SanBootScript, Script, Server};
//!
//! let root_path = IscsiRootPath::new(
//!     Server::Ipv4([10, 0, 2, 2].into()),
//!     3260,
//!     Lun::new(1),
//!     IscsiName::new("iqn.2024-01.org.example:client1")?,
//! )?;
//! let mut plan = SanBootScript::new(root_path);
//! plan.initiator = Some(IscsiName::new("iqn.2024-01.org.example:init-${net0/mac:hexhyp}")?);
//! plan.chap = Some(Chap::one_way("client1", "a secret with spaces")?);
//! let script = plan.script()?;
//! let text = script.to_string();
//! assert!(text.starts_with("#!ipxe\ndhcp net0\n"));
//! assert!(text.contains("set root-path iscsi:10.0.2.2:::1:iqn.2024-01.org.example:client1\n"));
//! // Emit, then parse back.
//! assert_eq!(Script::parse(&text)?, script);
//! # Ok::<(), ipxe_script::Error>(())
//! ```
#![forbid(unsafe_code)]

#[cfg(feature = "arbitrary")]
pub mod arbitrary;
mod boot;
mod catalogue;
mod command;
mod dhcp;
mod dispatch;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod name;
mod script;
mod uri;
mod value;

pub use boot::{Chap, MAX_CHAP_LEN, Retry, SanBootScript, StaticIpv4};
pub use catalogue::{NamedScript, SEED_BODY, TestTarget, catalogue, seed_script};
pub use command::{Chain, Command, Configurator, Ifconf, Label, NetDev, Sanboot, Sanhook, Uuid};
pub use dhcp::{BootFlow, Chainload, DhcpConfig, DhcpHost, IPXE_USER_CLASS, MacAddr, SanOptions};
pub use dispatch::Dispatcher;
pub use error::{Error, Result};
pub use name::{IscsiName, MAX_ISCSI_NAME_LEN};
pub use script::{Body, Comment, HEADER, Line, Op, Pipeline, Script};
pub use uri::{
    DEFAULT_ISCSI_PORT, HostName, IscsiRootPath, Lun, MAX_HOST_NAME_LEN, SanUri, Server,
};
pub use value::{
    MAX_NAME_LEN, MAX_WORD_LEN, Part, Scope, SettingName, SettingRef, SettingType, Word,
};
