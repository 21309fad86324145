//! [`Instant`]: the engine's own notion of time, so that it never reads a clock.

use core::fmt;
use core::ops::Add;

/// A point in time in microseconds since an arbitrary epoch chosen by the driver (smoltcp's
/// `time::Instant`). The engine only compares and adds them; the driver passes the current time
/// to [`Connection::handle_timeout`](crate::Connection::handle_timeout).
///
/// ```
/// use iscsi_target::Instant;
/// let t = Instant::from_secs(2);
/// assert_eq!(t + Instant::from_millis(500).micros(), Instant::from_micros(2_500_000));
/// assert!(Instant::ZERO < t);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(pub u64);

impl Instant {
    /// The epoch.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use iscsi_target::{Connection, Instant, SessionRegistry, TargetConfig};
    /// let conn = Connection::new(Arc::new(TargetConfig::default()), SessionRegistry::new(), [0; 32]);
    /// // Before it knows the time, a connection asks to be told it at once.
    /// assert_eq!(conn.poll_timeout(), Some(Instant::ZERO));
    /// assert_eq!(Instant::ZERO.micros(), 0);
    /// ```
    pub const ZERO: Instant = Instant(0);

    /// `us` microseconds after the epoch.
    ///
    /// ```
    /// use iscsi_target::Instant;
    /// assert_eq!(Instant::from_micros(1_500_000), Instant::from_millis(1500));
    /// ```
    pub const fn from_micros(us: u64) -> Self {
        Instant(us)
    }

    /// `ms` milliseconds after the epoch.
    ///
    /// ```
    /// use iscsi_target::Instant;
    /// assert_eq!(Instant::from_millis(2).micros(), 2_000);
    /// assert_eq!(Instant::from_millis(u64::MAX), Instant(u64::MAX)); // saturates
    /// ```
    pub const fn from_millis(ms: u64) -> Self {
        Instant(ms.saturating_mul(1000))
    }

    /// `s` seconds after the epoch.
    ///
    /// ```
    /// use iscsi_target::Instant;
    /// assert_eq!(Instant::from_secs(3), Instant::from_millis(3_000));
    /// assert_eq!(format!("{:?}", Instant::from_secs(3) + 5), "3.000005s");
    /// ```
    pub const fn from_secs(s: u64) -> Self {
        Instant(s.saturating_mul(1_000_000))
    }

    /// Microseconds since the epoch.
    ///
    /// ```
    /// use iscsi_target::Instant;
    /// assert_eq!(Instant::from_secs(1).micros(), 1_000_000);
    /// ```
    pub const fn micros(self) -> u64 {
        self.0
    }
}

impl Add<u64> for Instant {
    type Output = Instant;
    /// Adds microseconds, saturating.
    fn add(self, us: u64) -> Instant {
        Instant(self.0.saturating_add(us))
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}s", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}
