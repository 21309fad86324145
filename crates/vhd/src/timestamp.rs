//! VHD time stamps: seconds since 2000-01-01 00:00:00 UTC (VHD specification, "Time Stamp").

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds between the Unix epoch and the VHD epoch (2000-01-01 UTC).
const VHD_EPOCH_UNIX: u64 = 946_684_800;

/// A VHD time stamp.
///
/// ```
/// use vhd::VhdTime;
/// assert_eq!(VhdTime::from_unix(946_684_800), VhdTime(0));
/// assert_eq!(VhdTime(86_400).to_unix(), 946_771_200);
/// assert_eq!(VhdTime::from_unix(0), VhdTime(0)); // before 2000 clamps to the epoch
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct VhdTime(pub u32);

impl VhdTime {
    /// The time stamp of a Unix time (seconds), clamped to the representable range.
    ///
    /// ```
    /// use vhd::VhdTime;
    /// assert_eq!(VhdTime::from_unix(946_684_800 + 60), VhdTime(60)); // a minute into 2000
    /// assert_eq!(VhdTime::from_unix(u64::MAX), VhdTime(u32::MAX)); // clamped
    /// ```
    pub fn from_unix(secs: u64) -> Self {
        VhdTime(u32::try_from(secs.saturating_sub(VHD_EPOCH_UNIX)).unwrap_or(u32::MAX))
    }

    /// Seconds since the Unix epoch.
    ///
    /// ```
    /// assert_eq!(vhd::VhdTime(0).to_unix(), 946_684_800); // 2000-01-01 00:00:00 UTC
    /// ```
    pub fn to_unix(self) -> u64 {
        u64::from(self.0) + VHD_EPOCH_UNIX
    }

    /// The time stamp of `time`.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use vhd::VhdTime;
    /// let t = UNIX_EPOCH + Duration::from_secs(946_684_800 + 5);
    /// assert_eq!(VhdTime::from_system_time(t), VhdTime(5));
    /// ```
    pub fn from_system_time(time: SystemTime) -> Self {
        Self::from_unix(time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
    }

    /// The current time.
    ///
    /// ```
    /// use vhd::VhdTime;
    /// assert!(VhdTime::now() > VhdTime::from_unix(1_700_000_000)); // after November 2023
    /// ```
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    /// As a [`SystemTime`].
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use vhd::VhdTime;
    /// assert_eq!(VhdTime(0).to_system_time(), UNIX_EPOCH + Duration::from_secs(946_684_800));
    /// assert_eq!(VhdTime::from_system_time(VhdTime(42).to_system_time()), VhdTime(42));
    /// ```
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.to_unix())
    }
}
