//! Steps, their outcomes and the summary lines CI parses.
//!
//! Each step prints exactly one line, `xtask: PASS|FAIL|SKIP <step> (<detail>)`, and a run ends with
//! `xtask: N passed, M failed, K skipped` alone on a line.

use std::{
    fmt,
    process::{Command, ExitCode, ExitStatus},
    time::Instant,
};

use anyhow::Context;
use xshell::Cmd;

/// How a step ended, when it did not fail with an error.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The step ran and succeeded.
    Pass,
    /// The step did not run; the reason goes on its summary line.
    Skip(String),
    /// The step failed; the reason goes on its summary line.
    Fail(String),
}

/// A command that ran and exited unsuccessfully; a failing step shows it as `exit N`.
#[derive(Debug)]
pub(crate) struct CmdFailed {
    /// The command line as shown before it ran.
    cmd: String,
    /// How it exited.
    status: ExitStatus,
}

impl CmdFailed {
    /// A short reason for a summary line: `exit 101` or `killed by signal 9`.
    fn short(&self) -> String {
        match self.status.code() {
            Some(code) => format!("exit {code}"),
            None => {
                use std::os::unix::process::ExitStatusExt as _;
                match self.status.signal() {
                    Some(signal) => format!("killed by signal {signal}"),
                    None => self.status.to_string(),
                }
            }
        }
    }
}

impl fmt::Display for CmdFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` failed: {}", self.cmd, self.short())
    }
}

impl std::error::Error for CmdFailed {}

/// Runs `cmd` with inherited stdio after echoing it; a non-zero exit is a [`CmdFailed`] error.
pub(crate) fn run(cmd: Cmd<'_>) -> anyhow::Result<()> {
    let shown = cmd.to_string();
    eprintln!("$ {shown}");
    let status = Command::from(cmd)
        .status()
        .with_context(|| format!("cannot start `{shown}`"))?;
    if status.success() {
        Ok(())
    } else {
        Err(CmdFailed { cmd: shown, status }.into())
    }
}

/// Counts step outcomes and prints their summary lines.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// Steps that passed.
    passed: usize,
    /// Steps that failed.
    failed: usize,
    /// Steps that were skipped.
    skipped: usize,
}

impl Report {
    /// Runs one step, then prints its summary line. An `Err` from the step is a failure; a
    /// [`CmdFailed`] shows as `exit N`, other errors by their message.
    pub(crate) fn step(&mut self, name: &str, body: impl FnOnce() -> anyhow::Result<Outcome>) {
        eprintln!("\nxtask: ==> {name}");
        let started = Instant::now();
        let outcome = match body() {
            Ok(outcome) => outcome,
            Err(err) => {
                eprintln!("xtask: {name}: error: {err:#}");
                match err.downcast_ref::<CmdFailed>() {
                    Some(failed) => Outcome::Fail(failed.short()),
                    None => Outcome::Fail(one_line(&format!("{err:#}"))),
                }
            }
        };
        let secs = started.elapsed().as_secs_f64();
        let line = match outcome {
            Outcome::Pass => {
                self.passed += 1;
                format!("xtask: PASS {name} ({secs:.1}s)")
            }
            Outcome::Skip(reason) => {
                self.skipped += 1;
                format!("xtask: SKIP {name} ({reason})")
            }
            Outcome::Fail(reason) => {
                self.failed += 1;
                format!("xtask: FAIL {name} ({reason}, {secs:.1}s)")
            }
        };
        // Summary lines go to stdout so they can be told apart from the steps' own output.
        println!("{line}");
    }

    /// Prints the final `xtask: N passed, M failed, K skipped` line; failure if any step failed.
    pub(crate) fn finish(self) -> ExitCode {
        println!(
            "xtask: {} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        );
        if self.failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

/// Folds a message onto one line, so that a summary line stays one line.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Runs `program ARGS` under `timeout SECS`; returns whether it succeeded and its stdout followed by
/// its stderr.
pub(crate) fn output_within(
    secs: u32,
    program: &str,
    args: &[&str],
) -> anyhow::Result<(bool, String)> {
    let out = std::process::Command::new("timeout")
        .arg(secs.to_string())
        .arg(program)
        .args(args)
        .output()
        .with_context(|| format!("running {program}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}
