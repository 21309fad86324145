//! `diskless-target`: diskless boot over iSCSI from golden VHD images.
//!
//! The thin binary that composes the workspace's crates. This version has the `vhd` command
//! family, with the usual feel of `qemu-img`:
//!
//! ```text
//! diskless-target vhd create --type dynamic golden.vhd 20G
//! diskless-target vhd create --type differencing --parent golden.vhd client1.vhd
//! diskless-target vhd info [--json] client1.vhd
//! diskless-target vhd check [--repair] client1.vhd
//! diskless-target vhd merge client1.vhd
//! diskless-target vhd convert disk.raw disk.vhd --type dynamic
//! ```

mod atomic_file;
mod backend;
mod config;
mod demo;
mod ibft_cmd;
mod progress;
mod serve;
mod size;
mod tftp;
mod vhd_cmd;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Diskless boot over iSCSI from golden VHD images.
#[derive(Debug, Parser)]
#[command(name = "diskless-target", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create, inspect, check, merge and convert VHD images.
    #[command(subcommand)]
    Vhd(vhd_cmd::VhdCommand),
    /// Build an iSCSI Boot Firmware Table, or explain and lint one.
    #[command(subcommand)]
    Ibft(ibft_cmd::IbftCommand),
    /// Serve a directory read-only over TFTP (RFC 1350 with blksize, tsize and timeout).
    Tftp(tftp::TftpArgs),
    /// Make a small bootable golden image, two clients' differencing disks and their iPXE
    /// scripts, print how to boot one in QEMU, and serve them.
    Demo {
        /// Where the demo's files go (reused when they exist).
        #[arg(long, default_value = "diskless-demo")]
        dir: PathBuf,
        /// Where to listen.
        #[arg(long, default_value = config::DEFAULT_LISTEN)]
        listen: SocketAddr,
        /// How many clients (1 to 8).
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=8))]
        clients: u8,
        /// Prepare and print, but do not serve.
        #[arg(long)]
        no_serve: bool,
    },
    /// Serve the clients' targets over iSCSI until SIGINT or SIGTERM.
    Serve {
        /// The configuration file (TOML): the golden image and the clients.
        #[arg(long, short)]
        config: PathBuf,
        /// Listen here instead of the config's `listen` (default 0.0.0.0:3260).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Vhd(cmd) => vhd_cmd::run(cmd),
        Command::Ibft(cmd) => ibft_cmd::run(cmd),
        Command::Tftp(args) => tftp::run(args),
        Command::Demo {
            dir,
            listen,
            clients,
            no_serve,
        } => demo::run(&dir, listen, clients, no_serve).map(|()| ExitCode::SUCCESS),
        Command::Serve { config, listen } => {
            serve::run(&config, listen).map(|()| ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
