//! A progress bar on standard error, shown only when it is a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::size::human;

/// Draws `[#####-----]  45%  120 MiB / 264 MiB` at most ten times a second.
pub(crate) struct Progress {
    label: &'static str,
    enabled: bool,
    last: Option<Instant>,
}

impl Progress {
    /// A bar for `label`, drawn if standard error is a terminal.
    pub(crate) fn new(label: &'static str) -> Self {
        Progress {
            label,
            enabled: std::io::stderr().is_terminal(),
            last: None,
        }
    }

    /// Reports `done` of `total` bytes.
    pub(crate) fn update(&mut self, done: u64, total: u64) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if done < total
            && self
                .last
                .is_some_and(|t| now - t < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(now);
        let pct = (done.min(total) * 100).checked_div(total).unwrap_or(100) as usize;
        let bar = format!("{}{}", "#".repeat(pct / 4), "-".repeat(25 - pct / 4));
        let mut err = std::io::stderr().lock();
        // A failed progress line is not worth failing the command for.
        let _ = write!(
            err,
            "\r{} [{bar}] {pct:3}%  {} / {}",
            self.label,
            human(done),
            human(total)
        );
        if done >= total {
            let _ = writeln!(err);
        }
    }
}
