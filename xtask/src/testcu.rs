//! `interop-testcu`: libiscsi's conformance suite (`iscsi-test-cu`) against the target, and its scoring.
//!
//! The suite runs against (a) a dynamic VHD LUN and (b) a differencing VHD LUN over a golden parent,
//! with both of the suite's initiator names admitted, `--dataloss` and `--allow-sanitize`, and the LUN's
//! URL given twice so that the MultipathIO tests run; the dynamic LUN's run is repeated with the URL
//! given once, as the reference recipe (and tgt's score) has it (see [`Paths`]). A read-only golden LUN
//! gets the ReadOnly tests. Each run is scored from the `-v` log: a test PASSED when it ran clean, was
//! SKIPPED when the suite skipped it (a missing feature, not a pass), FAILED otherwise. The step fails
//! on a failure that the README's known-failure list (between [`FAILURES_START`] and [`FAILURES_END`])
//! does not explain, on fewer passes than the floor ([`FLOOR_PASSED`], [`FLOOR_PASSED_ONE_PATH`]), on a
//! skip that the README's skip list (between [`SKIPS_START`] and [`SKIPS_END`]) does not explain, and
//! on a panic in the server's log.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::Ctx;
use crate::lab::{LunFile, Server, ServerKind, Setup, TargetNode};
use crate::report::Outcome;

/// The suite's default initiator names (`iscsi-test-cu --help`): both must be admitted.
pub(crate) const TESTCU_INITIATORS: [&str; 2] = [
    "iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test",
    "iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test-2",
];

/// The passes the target issue asks for (tgt 1.0.85 passes 157 of 230).
const TARGET_PASSED: usize = 200;

/// The fewest passes the step accepts: what this code reaches today, a ratchet that only goes
/// up (to [`TARGET_PASSED`] and beyond). Below [`TARGET_PASSED`] the step says so.
const FLOOR_PASSED: usize = 201;

/// The same ratchet for the run with the URL given once ([`Paths::One`]), where the four
/// MultipathIO tests skip.
const FLOOR_PASSED_ONE_PATH: usize = 198;

/// The README marker before the skip list.
const SKIPS_START: &str = "<!-- testcu-skips:start -->";
/// The README marker after the skip list.
const SKIPS_END: &str = "<!-- testcu-skips:end -->";
/// The README marker before the list of known failures (each with its cause).
const FAILURES_START: &str = "<!-- testcu-failures:start -->";
/// The README marker after the list of known failures.
const FAILURES_END: &str = "<!-- testcu-failures:end -->";

/// How one test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Verdict {
    /// Ran clean.
    Passed,
    /// Skipped by the suite (a feature the target lacks).
    Skipped,
    /// Failed an assertion.
    Failed,
}

/// One test's result: its verdict and the suite's messages about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TestResult {
    /// How it ended.
    pub(crate) verdict: Verdict,
    /// `[SKIPPED] …`, `[FAILED] …` and CUnit's `N. file.c:line - …` lines, trimmed.
    pub(crate) messages: Vec<String>,
}

/// A scored `iscsi-test-cu -v` log: `Suite.Test` → result, in name order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Score {
    /// Every test the log mentions.
    pub(crate) tests: BTreeMap<String, TestResult>,
}

/// At most this many messages are kept per test.
const MAX_MESSAGES: usize = 4;

impl Score {
    /// Scores a log (the same rules as the project's reference scorer: a test is PASSED until a
    /// `[SKIPPED]` marks it SKIPPED, and a `[FAILED]` or a lone trailing `FAILED` marks it FAILED).
    pub(crate) fn parse(log: &str) -> Self {
        let mut score = Self::default();
        let mut suite = String::new();
        let mut current: Option<String> = None;
        for line in log.lines() {
            if let Some(rest) = line.strip_prefix("Suite: ") {
                suite = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                current = None;
                continue;
            }
            let mut rest = line;
            if let Some(after) = line.trim_start().strip_prefix("Test: ")
                && line.starts_with(char::is_whitespace)
                && let Some((name, tail)) = after.split_once(" ...")
            {
                let key = format!("{suite}.{}", name.trim());
                score.tests.insert(
                    key.clone(),
                    TestResult {
                        verdict: Verdict::Passed,
                        messages: Vec::new(),
                    },
                );
                current = Some(key);
                rest = tail;
            }
            let Some(result) = current.as_ref().and_then(|k| score.tests.get_mut(k)) else {
                continue;
            };
            if rest.contains("[SKIPPED]") && result.verdict == Verdict::Passed {
                result.verdict = Verdict::Skipped;
            }
            let lone_failed = rest.trim_end().ends_with("FAILED")
                && (rest.trim() == "FAILED"
                    || rest
                        .trim_end()
                        .strip_suffix("FAILED")
                        .is_some_and(|head| head.ends_with(char::is_whitespace)));
            if rest.contains("[FAILED]") || lone_failed {
                result.verdict = Verdict::Failed;
            }
            let text = rest.trim();
            let cunit_detail = text
                .split_once(". ")
                .is_some_and(|(n, tail)| n.parse::<u32>().is_ok() && tail.contains(".c:"));
            let message = text.contains("[SKIPPED]") || text.contains("[FAILED]") || cunit_detail;
            if message
                && result.messages.len() < MAX_MESSAGES
                && !result.messages.iter().any(|m| m == text)
            {
                result.messages.push(text.to_owned());
            }
        }
        score
    }

    /// How many tests ended with `verdict`.
    pub(crate) fn count(&self, verdict: Verdict) -> usize {
        self.tests.values().filter(|r| r.verdict == verdict).count()
    }

    /// The names of the tests that ended with `verdict`.
    pub(crate) fn names(&self, verdict: Verdict) -> BTreeSet<&str> {
        self.tests
            .iter()
            .filter(|(_, r)| r.verdict == verdict)
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// `tests=230 passed=… skipped=… failed=…`.
    pub(crate) fn summary(&self) -> String {
        format!(
            "tests={} passed={} skipped={} failed={}",
            self.tests.len(),
            self.count(Verdict::Passed),
            self.count(Verdict::Skipped),
            self.count(Verdict::Failed)
        )
    }

    /// The summary, then every FAILED and SKIPPED test with its messages.
    pub(crate) fn render(&self) -> String {
        let mut out = self.summary();
        out.push('\n');
        for (verdict, title) in [(Verdict::Failed, "FAILED"), (Verdict::Skipped, "SKIPPED")] {
            let _ = writeln!(out, "\n{title} ({}):", self.count(verdict));
            for (name, result) in self.tests.iter().filter(|(_, r)| r.verdict == verdict) {
                let _ = writeln!(out, "  {name}");
                for message in &result.messages {
                    let _ = writeln!(out, "      {message}");
                }
            }
        }
        out
    }
}

/// The skip list in the README: `Suite.Test` names in backquotes on the lines between the markers.
pub(crate) fn readme_skips(readme: &str) -> Option<BTreeSet<String>> {
    readme_list(readme, SKIPS_START, SKIPS_END)
}

/// A list of tests in the README: the first `Suite.Test` in backquotes on each line between
/// `start_marker` and `end_marker`.
fn readme_list(readme: &str, start_marker: &str, end_marker: &str) -> Option<BTreeSet<String>> {
    let start = readme.find(start_marker)? + start_marker.len();
    let end = start + readme[start..].find(end_marker)?;
    let mut names = BTreeSet::new();
    for line in readme[start..end].lines() {
        let mut parts = line.split('`');
        // Odd-numbered pieces are inside backquotes; the first one on a line names the test.
        if let Some(name) = parts.nth(1)
            && name.contains('.')
            && !name.contains(' ')
        {
            names.insert(name.to_owned());
        }
    }
    Some(names)
}

/// How many paths (URLs) to the LU the suite gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Paths {
    /// The URL once, as the reference recipe runs the suite (and as tgt's 157/62/11 was scored):
    /// the MultipathIO tests skip, and every test that takes a second session logs in its own.
    One,
    /// The URL twice: the MultipathIO tests run, and tests that take a second session use the
    /// second path's session, which stays logged in for the whole suite.
    Two,
}

impl Paths {
    /// For messages and log names.
    fn label(self) -> &'static str {
        match self {
            Paths::One => "one path",
            Paths::Two => "two paths",
        }
    }
}

/// Runs every test against `url` (given once or twice, see [`Paths`]) and scores them; the raw log
/// goes to `log`.
pub(crate) fn run_suite(url: &str, paths: Paths, log: &Path) -> Result<Score> {
    run_tests(url, "ALL", paths, log)
}

/// Runs the tests `filter` selects (`FAMILY[.SUITE[.TEST]]`) against `url` and scores them; the raw
/// log goes to `log`.
fn run_tests(url: &str, filter: &str, paths: Paths, log: &Path) -> Result<Score> {
    let urls: &[&str] = match paths {
        Paths::One => &[url],
        Paths::Two => &[url, url],
    };
    eprintln!(
        "$ iscsi-test-cu -d -S -v -t {filter} {} > {}",
        urls.join(" "),
        log.display()
    );
    let out = fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let status = Command::new("timeout")
        .arg("1800")
        .args([
            "iscsi-test-cu",
            "--dataloss",
            "--allow-sanitize",
            "-v",
            "-t",
            filter,
        ])
        .args(urls)
        .stdout(out.try_clone()?)
        .stderr(out)
        .status()
        .context("starting iscsi-test-cu")?;
    let text = String::from_utf8_lossy(&fs::read(log)?).into_owned();
    let score = Score::parse(&text);
    if score.tests.is_empty() {
        bail!(
            "iscsi-test-cu ran no test ({status}); the end of its log:\n{}",
            tail(&text, 40)
        );
    }
    Ok(score)
}

/// The last `lines` lines of `text`.
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Where scored results are written: `$XTASK_REPORT_DIR` (the coordinator's briefs) or the target dir.
pub(crate) fn report_path(ctx: &Ctx, file: &str) -> PathBuf {
    match std::env::var_os("XTASK_REPORT_DIR") {
        Some(dir) => PathBuf::from(dir).join(file),
        None => crate::lab::target_dir(ctx).join("xtask").join(file),
    }
}

/// Writes `text` with a date header to `path` (best effort: a failure is a warning).
pub(crate) fn write_report(path: &Path, text: &str) {
    let date = Command::new("date")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let body = format!("{date}\n{text}");
    if let Some(dir) = path.parent() {
        let _ = fs::create_dir_all(dir);
    }
    match fs::write(path, body) {
        Ok(()) => eprintln!("xtask: wrote {}", path.display()),
        Err(err) => eprintln!("xtask: warning: cannot write {}: {err}", path.display()),
    }
}

/// Makes the step's LUN files in `work`: `(label, setup)` for the dynamic and the differencing run.
fn setups(ctx: &Ctx, kind: ServerKind, work: &Path) -> Result<Vec<(&'static str, Setup)>> {
    let node = |name: &str, path: PathBuf, file| TargetNode {
        name: name.to_owned(),
        iqn: format!("iqn.2026-11.test.testcu:{name}"),
        initiators: TESTCU_INITIATORS.iter().map(|s| (*s).to_owned()).collect(),
        chap: None,
        mutual_chap: None,
        lun: crate::lab::Lun {
            path,
            file,
            read_only: false,
        },
    };
    const SIZE: &str = "1G";
    match kind {
        ServerKind::Tgt => {
            let raw = work.join("disk.img");
            fs::File::create(&raw)?.set_len(1 << 30)?;
            Ok(vec![(
                "raw",
                Setup {
                    golden: None,
                    targets: vec![node("raw", raw, LunFile::Raw)],
                },
            )])
        }
        ServerKind::Ours => {
            let dynamic = work.join("dynamic.vhd");
            let golden = work.join("golden.vhd");
            let child = work.join("child.vhd");
            crate::vhd_files::create_dynamic(ctx, &dynamic, SIZE)?;
            crate::vhd_files::create_dynamic(ctx, &golden, SIZE)?;
            crate::vhd_files::create_child(ctx, &golden, &child)?;
            Ok(vec![
                (
                    "dynamic",
                    Setup {
                        golden: None,
                        targets: vec![node("dynamic", dynamic, LunFile::Vhd)],
                    },
                ),
                (
                    "differencing",
                    Setup {
                        golden: Some(golden),
                        targets: vec![node("differencing", child, LunFile::Vhd)],
                    },
                ),
            ])
        }
    }
}

/// The suite's test of a write-protected LU (every write, WRITE SAME and UNMAP answers DATA
/// PROTECT); the full runs skip it, since their LUNs are writable.
const READ_ONLY_TEST: &str = "ReadOnly.ReadOnlySBC";

/// Serves a golden image read-only, as every client sees it underneath, and runs the suite's
/// ReadOnly tests against it; returns the score and a report section.
fn read_only_run(ctx: &Ctx, work: &Path) -> Result<(Score, String)> {
    let golden = work.join("readonly-golden.vhd");
    crate::vhd_files::create_dynamic(ctx, &golden, "64M")?;
    let setup = Setup {
        golden: Some(golden.clone()),
        targets: vec![TargetNode {
            name: "readonly".to_owned(),
            iqn: "iqn.2026-11.test.testcu:readonly".to_owned(),
            initiators: TESTCU_INITIATORS.iter().map(|s| (*s).to_owned()).collect(),
            chap: None,
            mutual_chap: None,
            lun: crate::lab::Lun {
                path: golden,
                file: LunFile::Vhd,
                read_only: true,
            },
        }],
    };
    let server = Server::start(ctx, ServerKind::Ours, work, &setup)?;
    let url = server.url(&setup.targets[0].iqn, None);
    let score = run_tests(
        &url,
        "ALL.ReadOnly.*",
        Paths::Two,
        &work.join("testcu-readonly.log"),
    );
    server.stop()?;
    let score = score?;
    eprintln!(
        "xtask: iscsi-test-cu ReadOnly tests against a read-only golden LUN: {}",
        score.summary()
    );
    let text = format!("== a golden image served read-only ==\n{}", score.render());
    Ok((score, text))
}

/// `interop-testcu`.
pub(crate) fn step(ctx: &Ctx) -> Result<Outcome> {
    let kind = ServerKind::from_env()?;
    let work = ctx.sh.create_temp_dir()?;
    let work = work.path();
    let readme = fs::read_to_string(ctx.root.join("README.md")).unwrap_or_default();
    let listed = readme_skips(&readme);
    let known_failures = readme_list(&readme, FAILURES_START, FAILURES_END).unwrap_or_default();
    let mut problems = Vec::new();
    let mut report = String::new();
    let setups = setups(ctx, kind, work)?;
    // Every LUN kind with two paths; the first (a plain dynamic disk for ours) also with one path,
    // the reference recipe's way, for a like-for-like comparison with tgt's score.
    let runs = setups
        .iter()
        .map(|(label, setup)| (*label, setup, Paths::Two))
        .chain(
            setups
                .first()
                .map(|(label, setup)| (*label, setup, Paths::One)),
        );
    let mut skipped_anywhere = BTreeSet::new();
    for (lun, setup, paths) in runs {
        let label = format!("{lun} LUN, {}", paths.label());
        let server = Server::start(ctx, kind, work, setup)?;
        let target = &setup.targets[0];
        let url = server.url(&target.iqn, None);
        let log = work.join(format!(
            "testcu-{lun}-{}.log",
            paths.label().replace(' ', "-")
        ));
        let score = run_suite(&url, paths, &log);
        let server_log = server.daemon.log_text();
        let stopped = server.stop();
        let score = score?;
        if let Err(err) = stopped {
            problems.push(format!("{label}: stopping the server: {err:#}"));
        }
        let rendered = score.render();
        eprintln!(
            "xtask: iscsi-test-cu against {} ({label}): {}",
            kind.name(),
            score.summary()
        );
        let _ = writeln!(
            report,
            "== {} serving a {label} ==\n{rendered}",
            kind.name()
        );
        let failed = score.names(Verdict::Failed);
        let unexplained: Vec<&str> = failed
            .iter()
            .copied()
            .filter(|name| !known_failures.contains(*name))
            .collect();
        if !failed.is_empty() {
            eprintln!("{rendered}");
            eprintln!(
                "xtask: {label}: {} failed, {} of them in the README's list of known failures \
                 (the target is zero)",
                failed.len(),
                failed.len() - unexplained.len()
            );
        }
        if !unexplained.is_empty() {
            problems.push(format!(
                "{label}: failures missing from the README's known-failure list: {}",
                unexplained.join(" ")
            ));
        }
        let passed = score.count(Verdict::Passed);
        let floor = match paths {
            Paths::Two => FLOOR_PASSED,
            Paths::One => FLOOR_PASSED_ONE_PATH,
        };
        if passed < floor {
            problems.push(format!(
                "{label}: {passed} passed, fewer than the floor {floor}"
            ));
        } else if passed < TARGET_PASSED {
            eprintln!("xtask: {label}: {passed} passed; the target is {TARGET_PASSED}");
        }
        match &listed {
            None => problems.push(format!(
                "README.md has no skip list between {SKIPS_START} and {SKIPS_END}"
            )),
            Some(listed) => {
                let unexplained: Vec<&str> = score
                    .names(Verdict::Skipped)
                    .into_iter()
                    .filter(|name| !listed.contains(*name))
                    .collect();
                if !unexplained.is_empty() {
                    problems.push(format!(
                        "{label}: skips missing from the README's list: {}",
                        unexplained.join(" ")
                    ));
                }
                skipped_anywhere
                    .extend(score.names(Verdict::Skipped).into_iter().map(str::to_owned));
            }
        }
        if server_log.contains("panicked") {
            problems.push(format!(
                "{label}: the server panicked:\n{}",
                tail(&server_log, 20)
            ));
        }
    }
    if let Some(listed) = &listed {
        let stale: Vec<&str> = listed
            .iter()
            .filter(|name| !skipped_anywhere.contains(*name))
            .map(String::as_str)
            .collect();
        if !stale.is_empty() {
            eprintln!(
                "xtask: note: the README's skip list names tests that no run skipped: {}",
                stale.join(" ")
            );
        }
    }
    if kind == ServerKind::Ours {
        match read_only_run(ctx, work) {
            Ok((score, text)) => {
                let _ = writeln!(report, "{text}");
                let passed = score
                    .tests
                    .get(READ_ONLY_TEST)
                    .is_some_and(|r| r.verdict == Verdict::Passed);
                if !passed || score.count(Verdict::Failed) > 0 {
                    problems.push(format!("read-only golden LUN: {}", score.render()));
                }
            }
            Err(err) => problems.push(format!("read-only golden LUN: {err:#}")),
        }
    }
    write_report(&report_path(ctx, "testcu-latest.txt"), &report);
    std::thread::sleep(Duration::from_millis(10));
    if problems.is_empty() {
        Ok(Outcome::Pass)
    } else {
        Ok(Outcome::Fail(problems.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
Suite: CompareAndWrite
  Test: Simple ...    [SKIPPED] COMPAREANDWRITE is not implemented.
    [SKIPPED] COMPAREANDWRITE is not implemented.
passed
Suite: GetLBAStatus
  Test: Simple ...passed
  Test: BeyondEol ...    [FAILED] GET_LBA_STATUS successful but should have failed
FAILED
    1. test_get_lba_status_beyond_eol.c:38  - CU_ASSERT_EQUAL(_r,0)
  Test: UnmapSingle ...    [SKIPPED] Logical unit is fully provisioned. Skipping test
passed
Suite: Reserve6
  Test: LUNReset ...passed    [FAILED] PRIN command: failed with sense.
  Test: Logout ...    Take out a RESERVE6
    Try to take out a RESERVE6 from the second initiator
passed
  Test: Tail ...    step one
FAILED
";

    #[test]
    fn scores_like_the_reference_scorer() {
        let score = Score::parse(LOG);
        assert_eq!(score.tests.len(), 7);
        assert_eq!(score.summary(), "tests=7 passed=2 skipped=2 failed=3");
        let failed: Vec<&str> = score.names(Verdict::Failed).into_iter().collect();
        assert_eq!(
            failed,
            [
                "GetLBAStatus.BeyondEol",
                "Reserve6.LUNReset",
                "Reserve6.Tail"
            ]
        );
        let beyond = &score.tests["GetLBAStatus.BeyondEol"];
        assert_eq!(beyond.messages.len(), 2);
        assert!(beyond.messages[1].starts_with("1. test_get_lba_status_beyond_eol.c:38"));
        // The repeated [SKIPPED] line is kept once.
        assert_eq!(score.tests["CompareAndWrite.Simple"].messages.len(), 1);
        assert!(
            score
                .render()
                .contains("FAILED (3):\n  GetLBAStatus.BeyondEol\n")
        );
    }

    #[test]
    fn reads_the_readme_skip_list() {
        let readme = "intro `Not.This`\n<!-- testcu-skips:start -->\n| test | why |\n|---|---|\n\
                      | `ExtendedCopy.Simple` | no XCOPY |\n- `Inquiry.X`: reason with `code`\n\
                      <!-- testcu-skips:end -->\n`After.Too`";
        let skips = readme_skips(readme).unwrap();
        assert_eq!(
            skips.into_iter().collect::<Vec<_>>(),
            ["ExtendedCopy.Simple", "Inquiry.X"]
        );
        assert!(readme_skips("no markers").is_none());
    }
}
