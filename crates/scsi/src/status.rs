//! SCSI status codes (SAM-5 §5.3).

use crate::const_newtype::const_newtype;

const_newtype! {
    /// The status byte of a completed command.
    ///
    /// ```
    /// use scsi::Status;
    /// assert_eq!(Status::CHECK_CONDITION.0, 0x02);
    /// assert_eq!(format!("{:?}", Status::GOOD), "GOOD");
    /// ```
    pub struct Status(pub u8) {
        /// The command completed.
        GOOD = 0x00,
        /// Sense data describes an error or exception.
        CHECK_CONDITION = 0x02,
        /// PRE-FETCH: the blocks fit in the cache.
        CONDITION_MET = 0x04,
        /// The logical unit is busy.
        BUSY = 0x08,
        /// A reservation held by another I_T nexus blocks the command.
        RESERVATION_CONFLICT = 0x18,
        /// The task set is full.
        TASK_SET_FULL = 0x28,
        /// An ACA condition is active.
        ACA_ACTIVE = 0x30,
        /// The command was aborted by another I_T nexus.
        TASK_ABORTED = 0x40,
    }
}
