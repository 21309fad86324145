//! Fuzzing: the fuzz-crate check, short campaigns per target and corpus minimisation.
//!
//! `fuzz/` is its own cargo-fuzz workspace (excluded from the main one). Targets are the file stems of
//! `fuzz/fuzz_targets/*.rs`; committed seeds live in `fuzz/corpus/<target>/`. Everything runs on stable
//! with `-s none` (no sanitizer); ASan needs nightly, or `RUSTC_BOOTSTRAP=1` set in your own shell.

use std::{
    env,
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{Context, bail};
use xshell::cmd;

use crate::{
    Ctx,
    report::{Outcome, Report, run},
};

/// Seconds per target when neither `--secs` nor `XTASK_FUZZ_SECS` says otherwise.
const DEFAULT_SECS: u64 = 30;

/// The least a target runs under `CI=true` in `cargo xtask test` ("every target runs at least 30 s in CI").
const CI_MIN_SECS: u64 = 30;

/// The environment variable that sets seconds per target when `--secs` is not given.
const SECS_VAR: &str = "XTASK_FUZZ_SECS";

/// `fuzz/Cargo.toml`.
fn manifest(ctx: &Ctx) -> PathBuf {
    ctx.root.join("fuzz/Cargo.toml")
}

/// `fuzz/corpus/<target>`, the committed seeds.
fn seeds_dir(ctx: &Ctx, target: &str) -> PathBuf {
    ctx.root.join("fuzz/corpus").join(target)
}

/// The outcome of a fuzz step when `fuzz/Cargo.toml` does not exist: a failure under CI, else a skip.
fn missing_fuzz_crate(ctx: &Ctx) -> Outcome {
    let what = "fuzz/Cargo.toml does not exist";
    if ctx.ci {
        eprintln!("xtask: ERROR: {what}: CI requires the fuzz crate");
        Outcome::Fail(what.into())
    } else {
        eprintln!("xtask: WARNING: {what}; skipping. This step FAILS under CI=true.");
        Outcome::Skip(what.into())
    }
}

/// The `fuzz-check` step: `cargo check` of the fuzz crate, every target included.
pub(crate) fn check(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let manifest = manifest(ctx);
    if !manifest.exists() {
        return Ok(missing_fuzz_crate(ctx));
    }
    let (sh, cargo) = (&ctx.sh, &ctx.cargo);
    run(cmd!(
        sh,
        "{cargo} check --manifest-path {manifest} --all-targets"
    ))?;
    Ok(Outcome::Pass)
}

/// The fuzz targets: the file stems of `fuzz/fuzz_targets/*.rs`, sorted.
pub(crate) fn targets(root: &Path) -> anyhow::Result<Vec<String>> {
    let dir = root.join("fuzz/fuzz_targets");
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut targets = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "rs")
            && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
        {
            targets.push(stem.to_owned());
        }
    }
    targets.sort();
    Ok(targets)
}

/// Seconds per target from `XTASK_FUZZ_SECS`, if set.
fn env_secs() -> anyhow::Result<Option<u64>> {
    match env::var(SECS_VAR) {
        Ok(value) => match value.trim().parse() {
            // libFuzzer reads -max_total_time=0 as "no limit".
            Ok(0) => bail!("{SECS_VAR} must be at least 1"),
            Ok(secs) => Ok(Some(secs)),
            Err(_) => bail!("{SECS_VAR} wants whole seconds, got `{value}`"),
        },
        Err(env::VarError::NotPresent) => Ok(None),
        Err(err) => Err(err).context(SECS_VAR),
    }
}

/// Seconds per target in `cargo xtask test`: `XTASK_FUZZ_SECS` or 30, and never under 30 when `CI=true`.
pub(crate) fn suite_secs(ctx: &Ctx) -> anyhow::Result<u64> {
    let secs = env_secs()?.unwrap_or(DEFAULT_SECS);
    if ctx.ci && secs < CI_MIN_SECS {
        eprintln!(
            "xtask: warning: {SECS_VAR}={secs} raised to {CI_MIN_SECS}: under CI=true every fuzz target \
             runs at least {CI_MIN_SECS} s"
        );
        return Ok(CI_MIN_SECS);
    }
    Ok(secs)
}

/// Installs cargo-fuzz with `cargo install cargo-fuzz --locked` unless `cargo fuzz --version` works.
fn ensure_cargo_fuzz(ctx: &Ctx) -> anyhow::Result<()> {
    let (sh, cargo) = (&ctx.sh, &ctx.cargo);
    if cmd!(sh, "{cargo} fuzz --version")
        .quiet()
        .ignore_stderr()
        .read()
        .is_ok()
    {
        return Ok(());
    }
    eprintln!("xtask: cargo-fuzz is not installed; installing it");
    run(cmd!(sh, "{cargo} install cargo-fuzz --locked")).context("installing cargo-fuzz")
}

/// Runs a campaign of `secs` seconds for every target (or only `only`), one report step per target.
pub(crate) fn campaign(ctx: &Ctx, report: &mut Report, only: Option<&str>, secs: u64) {
    if !manifest(ctx).exists() {
        report.step("fuzz", || Ok(missing_fuzz_crate(ctx)));
        return;
    }
    let mut targets = match targets(&ctx.root) {
        Ok(targets) => targets,
        Err(err) => return report.step("fuzz", || Err(err)),
    };
    if let Some(only) = only {
        if !targets.iter().any(|t| t == only) {
            let err = anyhow::anyhow!("no fuzz target `{only}`; targets: {}", targets.join(" "));
            return report.step("fuzz", || Err(err));
        }
        targets.retain(|t| t == only);
    }
    if targets.is_empty() {
        let what = "no targets in fuzz/fuzz_targets";
        return report.step("fuzz", || {
            Ok(if ctx.ci {
                Outcome::Fail(what.into())
            } else {
                Outcome::Skip(what.into())
            })
        });
    }
    if let Err(err) = ensure_cargo_fuzz(ctx) {
        return report.step("fuzz", || Err(err));
    }
    for target in &targets {
        report.step(&format!("fuzz/{target}"), || run_target(ctx, target, secs));
    }
}

/// Fuzzes one target for `secs` seconds, seeded from its committed corpus.
///
/// libFuzzer writes new inputs to the first corpus directory it is given, so that one is a fresh
/// temporary directory and the committed seeds come second: a run does not dirty the tree.
fn run_target(ctx: &Ctx, target: &str, secs: u64) -> anyhow::Result<Outcome> {
    let (sh, cargo) = (&ctx.sh, &ctx.cargo);
    let seeds = sh.create_dir(seeds_dir(ctx, target))?;
    let scratch = sh.create_temp_dir()?;
    let scratch = scratch.path();
    let fuzz_dir = ctx.root.join("fuzz");
    let max_total_time = format!("-max_total_time={secs}");
    run(cmd!(
        sh,
        "{cargo} fuzz run --fuzz-dir {fuzz_dir} -s none {target} {scratch} {seeds} -- {max_total_time}"
    ))
    .with_context(|| format!("fuzz target {target} failed; its crashing input is in fuzz/artifacts/{target}/"))?;
    Ok(Outcome::Pass)
}

/// `cargo xtask fuzz [TARGET] [--secs N]`.
pub(crate) fn fuzz_command(
    ctx: &Ctx,
    target: Option<&str>,
    secs: Option<u64>,
) -> anyhow::Result<ExitCode> {
    if !manifest(ctx).exists() {
        bail!("fuzz/Cargo.toml does not exist: there is no fuzz crate yet");
    }
    let secs = match secs {
        Some(secs) => secs,
        None => env_secs()?.unwrap_or(DEFAULT_SECS),
    };
    let mut report = Report::default();
    campaign(ctx, &mut report, target, secs);
    Ok(report.finish())
}

/// `cargo xtask corpus-min TARGET`: minimises `fuzz/corpus/TARGET` in place with `cargo fuzz cmin`.
pub(crate) fn corpus_min(ctx: &Ctx, target: &str) -> anyhow::Result<ExitCode> {
    if !manifest(ctx).exists() {
        bail!("fuzz/Cargo.toml does not exist: there is no fuzz crate yet");
    }
    let targets = targets(&ctx.root)?;
    if !targets.iter().any(|t| t == target) {
        bail!("no fuzz target `{target}`; targets: {}", targets.join(" "));
    }
    let seeds = seeds_dir(ctx, target);
    if !seeds.is_dir() {
        bail!("{} does not exist: nothing to minimise", seeds.display());
    }
    ensure_cargo_fuzz(ctx)?;
    let (sh, cargo) = (&ctx.sh, &ctx.cargo);
    let fuzz_dir = ctx.root.join("fuzz");
    run(cmd!(
        sh,
        "{cargo} fuzz cmin --fuzz-dir {fuzz_dir} -s none {target} {seeds}"
    ))?;
    Ok(ExitCode::SUCCESS)
}
