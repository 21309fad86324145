//! A small read-only TFTP server (RFC 1350, with the option extension of RFC 2347 and the
//! `blksize`, `tsize` and `timeout` options of RFC 2348 and RFC 2349), for the iPXE scripts in
//! the state directory.
//!
//! - [`packet`]: parse and emit TFTP packets (sans-IO).
//! - [`transfer`]: one read transfer as a state machine over datagrams, timeouts and file
//!   reads (sans-IO, deterministic).
//! - [`server`]: the tokio driver: the well-known port, one ephemeral socket per transfer (the
//!   transfer ID of RFC 1350), path checks under the root, and resource limits.
//!
//! Write requests are refused with an ERROR packet; so is every path outside the root.

pub(crate) mod packet;
pub(crate) mod server;
pub(crate) mod transfer;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};

#[allow(unused_imports)] // `serve` is the entry point for the iSCSI server's process
pub(crate) use server::{Server, serve};

/// `diskless-target tftp`: serve a directory read-only over TFTP until SIGINT or SIGTERM.
#[derive(Debug, clap::Args)]
pub(crate) struct TftpArgs {
    /// The directory to serve (nothing outside it is ever sent).
    #[arg(long)]
    pub(crate) root: PathBuf,
    /// Where to listen.
    #[arg(long, default_value = "0.0.0.0:69")]
    pub(crate) listen: SocketAddr,
    /// Transfers at the same time.
    #[arg(long, default_value_t = 64)]
    pub(crate) max_transfers: usize,
    /// The largest block size granted to clients that ask (RFC 2348; 8 to 65464).
    #[arg(long, default_value_t = 65464, value_parser = clap::value_parser!(u16).range(8..=65464))]
    pub(crate) max_blksize: u16,
    /// Retransmission timeout in seconds, unless the client negotiates one.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=255))]
    pub(crate) timeout: u64,
}

/// Runs the `tftp` subcommand.
pub(crate) fn run(args: TftpArgs) -> Result<ExitCode> {
    let config = Config {
        timeout: Duration::from_secs(args.timeout),
        max_blksize: args.max_blksize,
        max_transfers: args.max_transfers,
        ..Config::default()
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    runtime.block_on(async {
        // The handlers exist before the "serving" line, so a signal sent as soon as the server
        // says it is up stops it cleanly.
        use tokio::signal::unix::{SignalKind, signal};
        let mut sigterm =
            signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        let mut sigint =
            signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
        let server = Server::bind(&args.root, args.listen, config).await?;
        eprintln!(
            "diskless-target: tftp: serving {} on {} (read-only)",
            args.root.display(),
            server.local_addr()?
        );
        server
            .run(async move {
                tokio::select! {
                    _ = sigint.recv() => {}
                    _ = sigterm.recv() => {}
                }
            })
            .await
    })?;
    eprintln!("diskless-target: tftp: stopped");
    Ok(ExitCode::SUCCESS)
}

/// Limits and timing of the server (setters in the `quinn::TransportConfig` style are not
/// worth it for five fields: build it by struct literal over `Default`).
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Retransmission timeout, unless the client negotiates `timeout`.
    pub(crate) timeout: Duration,
    /// Retransmissions of one packet before the transfer gives up.
    pub(crate) max_retries: u32,
    /// The largest block size granted (RFC 2348 allows up to 65464).
    pub(crate) max_blksize: u16,
    /// Files larger than this are refused ("allocation exceeded").
    pub(crate) max_file_size: u64,
    /// Transfers at the same time; more requests get an ERROR "server busy".
    pub(crate) max_transfers: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            timeout: Duration::from_secs(1),
            max_retries: 5,
            max_blksize: 65464,
            max_file_size: 256 << 20,
            max_transfers: 64,
        }
    }
}
