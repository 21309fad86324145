//! `cargo xtask`: the project's automation, in the style of rust-analyzer's xtask (`xshell` + `anyhow`).
//!
//! `cargo xtask test` is the test command for local runs and CI alike. Run `cargo xtask --help` for the
//! subcommands. Every step prints one summary line, and runs end with `xtask: N passed, M failed, K skipped`.

mod bench;
mod capture;
mod deploy_boot;
mod dhcp_snippets;
mod fuzz;
mod interop;
mod lab;
mod probe;
mod qemu_boot;
mod report;
mod script_boots;
mod suite;
mod target_checks;
mod testcu;
#[cfg(test)]
mod tidy;
mod vhd_files;

use std::{
    env,
    ffi::OsString,
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{Context, bail};
use xshell::Shell;

/// The help text for `cargo xtask --help`.
const USAGE: &str = "\
cargo xtask: project automation

USAGE:
    cargo xtask test [--quick]
        The whole suite: fmt --check, clippy -D warnings, cargo test, no_std builds, fuzz-crate check,
        a short fuzz campaign per target and the interop steps. One summary line per step, then
        `xtask: N passed, M failed, K skipped`; exits non-zero if any step failed.
        --quick   skip the fuzz campaigns (ignored when CI=true: CI always runs them)

    cargo xtask fuzz [TARGET] [--secs N]
        Run every fuzz target in fuzz/fuzz_targets/ (or only TARGET) for N seconds each with
        `cargo fuzz run -s none`, seeded from fuzz/corpus/TARGET; new inputs go to a temporary
        directory, so the committed corpus stays as it is. Installs cargo-fuzz if it is missing.
        N: --secs, else $XTASK_FUZZ_SECS, else 30.

    cargo xtask corpus-min TARGET
        Minimise the committed corpus fuzz/corpus/TARGET with `cargo fuzz cmin -s none`.

    cargo xtask interop [STEP]
        Run only the interop steps (or only STEP).

    cargo xtask bench
        diskless-target (release build, a differencing VHD over a golden image) and tgt (a raw file
        holding the same bytes) side by side: 4 KiB random reads at QD32 (iscsi-perf), 1 MiB
        sequential reads and writes (qemu-img bench); prints a table with our/tgt ratios.

    cargo xtask capture-fixtures [--out DIR]
        Capture live iSCSI PDU streams (tgtd, libiscsi, qemu-io, tshark) into DIR
        (default: crates/iscsi-pdu/tests/data).

ENVIRONMENT:
    CI=true           missing interop peers and a missing fuzz crate fail instead of being skipped;
                      fuzz campaigns always run, for at least 30 s per target
    XTASK_FUZZ_SECS   seconds per fuzz target when --secs is not given (default 30)
    XTASK_TARGET      `tgt` runs the target interop steps against tgt instead of diskless-target
                      (to check the checks); default `ours`
    XTASK_REPORT_DIR  where the target steps write their scored results (*-latest.txt);
                      default <target dir>/xtask
    CARGO             the cargo binary to run (set by `cargo run`)
";

/// What every subcommand needs: a shell in the workspace root, the cargo binary and whether this is CI.
pub(crate) struct Ctx {
    /// A shell whose current directory is the workspace root.
    pub(crate) sh: Shell,
    /// The workspace root (the parent of the xtask package).
    pub(crate) root: PathBuf,
    /// The cargo binary: `$CARGO` if set, else `cargo` from `PATH`.
    pub(crate) cargo: OsString,
    /// Whether `CI=true`: missing peers fail instead of being skipped, and fuzz campaigns always run.
    pub(crate) ci: bool,
}

impl Ctx {
    /// Builds the context from the environment, with the shell in the workspace root.
    fn new() -> anyhow::Result<Self> {
        let root = workspace_root()?;
        let sh = Shell::new()?;
        sh.change_dir(&root);
        let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let ci = env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
        Ok(Self {
            sh,
            root,
            cargo,
            ci,
        })
    }
}

/// The workspace root: the parent of this package's manifest directory.
fn workspace_root() -> anyhow::Result<PathBuf> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .with_context(|| format!("{} has no parent directory", manifest_dir.display()))?;
    Ok(root.to_path_buf())
}

/// A parsed command line.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    /// `--help`.
    Help,
    /// `test [--quick]`.
    Test {
        /// Skip the fuzz campaigns (not under CI).
        quick: bool,
    },
    /// `fuzz [TARGET] [--secs N]`.
    Fuzz {
        /// Only this target; all targets when `None`.
        target: Option<String>,
        /// Seconds per target from `--secs`.
        secs: Option<u64>,
    },
    /// `corpus-min TARGET`.
    CorpusMin {
        /// The target whose committed corpus is minimised.
        target: String,
    },
    /// `interop [STEP]`.
    Interop {
        /// Only this step; all interop steps when `None`.
        step: Option<String>,
    },
    /// `bench`.
    Bench,
    /// `capture-fixtures [--out DIR]`.
    CaptureFixtures {
        /// The output directory from `--out`, as typed.
        out: Option<PathBuf>,
    },
}

/// Parses the arguments after `cargo xtask`.
fn parse_args(args: impl IntoIterator<Item = String>) -> anyhow::Result<Command> {
    let mut args = args.into_iter();
    let Some(sub) = args.next() else {
        return Ok(Command::Help);
    };
    let rest: Vec<String> = args.collect();
    if rest.iter().any(|a| a == "--help" || a == "-h") {
        return Ok(Command::Help);
    }
    let mut rest = rest.into_iter();
    let mut positional = Vec::new();
    let command = match sub.as_str() {
        "help" | "--help" | "-h" => Command::Help,
        "test" => {
            let mut quick = false;
            for arg in rest {
                match arg.as_str() {
                    "--quick" => quick = true,
                    other => bail!("unexpected argument to `test`: {other}"),
                }
            }
            Command::Test { quick }
        }
        "fuzz" => {
            let mut secs = None;
            while let Some(arg) = rest.next() {
                match arg.as_str() {
                    "--secs" => {
                        let value = rest.next().context("--secs needs a value")?;
                        secs = Some(parse_secs(&value)?);
                    }
                    other if other.starts_with("--secs=") => {
                        secs = Some(parse_secs(&other["--secs=".len()..])?);
                    }
                    other if other.starts_with('-') => bail!("unknown option to `fuzz`: {other}"),
                    other => positional.push(other.to_owned()),
                }
            }
            if positional.len() > 1 {
                bail!(
                    "`fuzz` takes at most one TARGET, got {}",
                    positional.join(" ")
                );
            }
            Command::Fuzz {
                target: positional.pop(),
                secs,
            }
        }
        "corpus-min" => {
            positional.extend(rest);
            match <[String; 1]>::try_from(positional) {
                Ok([target]) if !target.starts_with('-') => Command::CorpusMin { target },
                _ => bail!("usage: cargo xtask corpus-min TARGET"),
            }
        }
        "interop" => {
            positional.extend(rest);
            if positional.len() > 1 || positional.iter().any(|a| a.starts_with('-')) {
                bail!("usage: cargo xtask interop [STEP]");
            }
            Command::Interop {
                step: positional.pop(),
            }
        }
        "bench" => {
            if let Some(arg) = rest.next() {
                bail!("unexpected argument to `bench`: {arg}");
            }
            Command::Bench
        }
        "capture-fixtures" => {
            let mut out = None;
            while let Some(arg) = rest.next() {
                match arg.as_str() {
                    "--out" => {
                        out = Some(PathBuf::from(rest.next().context("--out needs a value")?))
                    }
                    other if other.starts_with("--out=") => {
                        out = Some(PathBuf::from(&other["--out=".len()..]));
                    }
                    other => bail!("unexpected argument to `capture-fixtures`: {other}"),
                }
            }
            Command::CaptureFixtures { out }
        }
        other => bail!("unknown subcommand `{other}`"),
    };
    Ok(command)
}

/// Parses the value of `--secs`.
fn parse_secs(value: &str) -> anyhow::Result<u64> {
    match value.parse() {
        // libFuzzer reads -max_total_time=0 as "no limit".
        Ok(0) => bail!("--secs must be at least 1"),
        Ok(secs) => Ok(secs),
        Err(_) => bail!("--secs wants whole seconds, got `{value}`"),
    }
}

/// Runs `cargo xtask capture-fixtures`.
fn capture_fixtures(ctx: &Ctx, out: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let out = match out {
        // A path typed by the user is relative to where they typed it.
        Some(out) if out.is_relative() => env::current_dir()?.join(out),
        Some(out) => out,
        None => ctx.root.join("crates/iscsi-pdu/tests/data"),
    };
    ctx.sh.create_dir(&out)?;
    eprintln!("xtask: capturing live PDU streams into {}", out.display());
    capture::run(&ctx.sh, &out)?;
    eprintln!("xtask: captured into {}", out.display());
    Ok(ExitCode::SUCCESS)
}

/// Parses the command line and runs the subcommand.
fn try_main() -> anyhow::Result<ExitCode> {
    let command = match parse_args(env::args().skip(1)) {
        Ok(command) => command,
        Err(err) => {
            eprintln!("xtask: {err:#}\nRun `cargo xtask --help` for the subcommands.");
            return Ok(ExitCode::from(2));
        }
    };
    if command == Command::Help {
        print!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    }
    let ctx = Ctx::new()?;
    match command {
        Command::Help => Ok(ExitCode::SUCCESS),
        Command::Test { quick } => suite::test(&ctx, quick),
        Command::Fuzz { target, secs } => fuzz::fuzz_command(&ctx, target.as_deref(), secs),
        Command::CorpusMin { target } => fuzz::corpus_min(&ctx, &target),
        Command::Interop { step } => interop::interop_command(&ctx, step.as_deref()),
        Command::Bench => bench::bench_command(&ctx),
        Command::CaptureFixtures { out } => capture_fixtures(&ctx, out),
    }
}

fn main() -> ExitCode {
    match try_main() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Command, parse_args};

    /// Parses a space-separated command line.
    fn parse(line: &str) -> anyhow::Result<Command> {
        parse_args(line.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn parses_every_subcommand() -> anyhow::Result<()> {
        assert_eq!(parse("")?, Command::Help);
        assert_eq!(parse("--help")?, Command::Help);
        assert_eq!(parse("test --help")?, Command::Help);
        assert_eq!(parse("test")?, Command::Test { quick: false });
        assert_eq!(parse("test --quick")?, Command::Test { quick: true });
        assert_eq!(
            parse("fuzz")?,
            Command::Fuzz {
                target: None,
                secs: None
            }
        );
        assert_eq!(
            parse("fuzz pdu_parse --secs 5")?,
            Command::Fuzz {
                target: Some("pdu_parse".into()),
                secs: Some(5)
            }
        );
        assert_eq!(
            parse("fuzz --secs=7")?,
            Command::Fuzz {
                target: None,
                secs: Some(7)
            }
        );
        assert_eq!(
            parse("corpus-min text_kv")?,
            Command::CorpusMin {
                target: "text_kv".into()
            }
        );
        assert_eq!(parse("interop")?, Command::Interop { step: None });
        assert_eq!(parse("bench")?, Command::Bench);
        assert_eq!(
            parse("capture-fixtures")?,
            Command::CaptureFixtures { out: None }
        );
        assert_eq!(
            parse("capture-fixtures --out /tmp/x")?,
            Command::CaptureFixtures {
                out: Some("/tmp/x".into())
            }
        );
        Ok(())
    }

    #[test]
    fn rejects_bad_command_lines() {
        for line in [
            "bogus",
            "test --slow",
            "fuzz a b",
            "fuzz --secs",
            "fuzz --secs x",
            "fuzz --secs 0",
            "corpus-min",
            "corpus-min a b",
            "capture-fixtures --out",
            "interop a b",
            "bench x",
        ] {
            assert!(parse(line).is_err(), "`{line}` should be rejected");
        }
    }
}
