//! `cargo xtask test`: the whole suite, one step after another, all of them run even after a failure.

use std::process::ExitCode;

use xshell::cmd;

use crate::{
    Ctx, fuzz, interop,
    report::{Outcome, Report, run},
};

/// Crates built with `--no-default-features` to prove they stay no_std-capable (`iscsi-pdu`
/// needs std because its CRC32C dependency, crate `crc32c`, does).
const NO_STD_CRATES: &[&str] = &["ibft"];

/// Runs every step of the suite and prints the summary; `quick` skips the fuzz campaigns outside CI.
pub(crate) fn test(ctx: &Ctx, quick: bool) -> anyhow::Result<ExitCode> {
    // Read the fuzz duration first, so that a bad XTASK_FUZZ_SECS fails before the long steps.
    let fuzz_secs = fuzz::suite_secs(ctx)?;
    let sh = &ctx.sh;
    let cargo = &ctx.cargo;
    let mut report = Report::default();

    report.step("fmt", || {
        run(cmd!(sh, "{cargo} fmt --all --check"))?;
        Ok(Outcome::Pass)
    });
    report.step("clippy", || {
        run(cmd!(
            sh,
            "{cargo} clippy --workspace --all-targets -- -D warnings"
        ))?;
        Ok(Outcome::Pass)
    });
    report.step("test", || {
        run(cmd!(sh, "{cargo} test --workspace"))?;
        Ok(Outcome::Pass)
    });
    report.step("no-std", || no_std_builds(ctx));
    report.step("fuzz-check", || fuzz::check(ctx));

    let quick = if quick && ctx.ci {
        eprintln!(
            "xtask: warning: --quick is ignored under CI=true: CI always runs the fuzz campaigns"
        );
        false
    } else {
        quick
    };
    if quick {
        report.step("fuzz", || Ok(Outcome::Skip("--quick".into())));
    } else {
        fuzz::campaign(ctx, &mut report, None, fuzz_secs);
    }

    for step in interop::STEPS {
        report.step(step.name, || interop::run_step(ctx, step));
    }

    Ok(report.finish())
}

/// Builds each crate of [`NO_STD_CRATES`] with `--no-default-features`.
fn no_std_builds(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let (sh, cargo) = (&ctx.sh, &ctx.cargo);
    for krate in NO_STD_CRATES {
        run(cmd!(sh, "{cargo} build -p {krate} --no-default-features"))?;
    }
    Ok(Outcome::Pass)
}
