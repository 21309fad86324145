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
mod progress;
mod size;
mod vhd_cmd;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Vhd(cmd) => vhd_cmd::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
