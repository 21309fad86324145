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
//!
//! and client deployment around a state directory (`--state DIR`, default `./diskless-state`):
//!
//! ```text
//! diskless-target golden set golden.vhd
//! diskless-target client add pc1 --mac 52:54:00:00:00:01 [--chap USER:SECRET] ...
//! diskless-target client list [--json]
//! diskless-target serve --state diskless-state [--tftp 0.0.0.0:69]
//! diskless-target client reset pc1        # refused while pc1 is logged in
//! diskless-target golden merge pc1 --activate
//! ```

mod atomic_file;
mod backend;
mod client_cmd;
mod config;
mod demo;
mod golden_cmd;
mod ibft_cmd;
mod progress;
mod reservation_file;
mod serve;
mod size;
mod state;
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
    /// Serve the clients' targets over iSCSI until SIGINT or SIGTERM: those of a config file
    /// (`--config`), or those of a state directory (`--state`), following its changes.
    Serve {
        /// The configuration file (TOML): the golden image and the clients.
        #[arg(
            long,
            short,
            required_unless_present = "state",
            conflicts_with = "state"
        )]
        config: Option<PathBuf>,
        /// Serve the clients of this state directory (see `client add`); changes to it apply
        /// without a restart (checked every second, and on SIGHUP).
        #[arg(long)]
        state: Option<PathBuf>,
        /// With --state: also serve `STATE/tftp/` (the iPXE scripts) read-only over TFTP here,
        /// e.g. 0.0.0.0:69. Off by default.
        #[arg(long, requires = "state")]
        tftp: Option<SocketAddr>,
        /// Listen here instead of the config's `listen` (default 0.0.0.0:3260).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Memory for caching the golden image's data, shared by every client (e.g. 2G;
        /// default: the config's `golden_cache`, else none).
        #[arg(long, value_parser = size::parse_size)]
        golden_cache: Option<u64>,
    },
    /// Deploy clients: `client add NAME --mac MAC`, `list`, `reset NAME`, `remove NAME`
    /// (state directory: `--state DIR`, default ./diskless-state).
    Client(client_cmd::ClientArgs),
    /// The golden image: `golden set PATH`, `golden merge CLIENT [--activate]`.
    Golden(golden_cmd::GoldenArgs),
}

/// Ends the process quietly, as a SIGPIPE would, when stdout is a pipe that was closed
/// (`diskless-target vhd info X | head`): Rust ignores SIGPIPE, so `println!` panics instead,
/// and resetting the signal would take `unsafe`.
fn exit_quietly_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(128 + 13); // what a shell reports for SIGPIPE
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    exit_quietly_on_closed_stdout();
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
        Command::Serve {
            config,
            state,
            tftp,
            listen,
            golden_cache,
        } => match (config, state) {
            (Some(config), _) => serve::run(&config, listen, golden_cache),
            (None, Some(state)) => serve::run_state(&state, listen, tftp, golden_cache),
            (None, None) => Err(anyhow::anyhow!("give --config FILE or --state DIR")),
        }
        .map(|()| ExitCode::SUCCESS),
        Command::Client(args) => client_cmd::run(args).map(|()| ExitCode::SUCCESS),
        Command::Golden(args) => golden_cmd::run(args).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
