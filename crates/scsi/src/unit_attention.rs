//! Pending unit attention conditions of one I_T nexus (SAM-5 §5.14, SPC-4 §4.6).

use crate::sense::AscAscq;

/// Most conditions kept per nexus; older ones are dropped (the initiator re-reads state
/// after any unit attention anyway).
const MAX_PENDING: usize = 8;

/// A queue of pending unit attention codes, oldest first, without duplicates. A power on or
/// reset condition supersedes every other (SPC-4 §4.6: the device reports the reset only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UnitAttentions {
    pending: Vec<AscAscq>,
}

impl UnitAttentions {
    /// Queues `code`.
    pub(crate) fn push(&mut self, code: AscAscq) {
        if code.asc() == 0x29 {
            self.pending.clear();
        } else if self.pending.iter().any(|c| c.asc() == 0x29) {
            return;
        }
        if self.pending.contains(&code) {
            return;
        }
        if self.pending.len() >= MAX_PENDING {
            self.pending.remove(0);
        }
        self.pending.push(code);
    }

    /// Takes the oldest pending condition.
    pub(crate) fn pop(&mut self) -> Option<AscAscq> {
        if self.pending.is_empty() {
            None
        } else {
            Some(self.pending.remove(0))
        }
    }

    /// Drops every condition.
    pub(crate) fn clear(&mut self) {
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_supersedes_other_conditions() {
        let mut ua = UnitAttentions::default();
        ua.push(AscAscq::CAPACITY_DATA_HAS_CHANGED);
        ua.push(AscAscq::CAPACITY_DATA_HAS_CHANGED);
        ua.push(AscAscq::MODE_PARAMETERS_CHANGED);
        ua.push(AscAscq::POWER_ON_RESET);
        ua.push(AscAscq::RESERVATIONS_PREEMPTED);
        assert_eq!(ua.pop(), Some(AscAscq::POWER_ON_RESET));
        assert_eq!(ua.pop(), None);
    }

    #[test]
    fn keeps_order_without_duplicates() {
        let mut ua = UnitAttentions::default();
        ua.push(AscAscq::CAPACITY_DATA_HAS_CHANGED);
        ua.push(AscAscq::RESERVATIONS_PREEMPTED);
        ua.push(AscAscq::CAPACITY_DATA_HAS_CHANGED);
        assert_eq!(ua.pop(), Some(AscAscq::CAPACITY_DATA_HAS_CHANGED));
        assert_eq!(ua.pop(), Some(AscAscq::RESERVATIONS_PREEMPTED));
        assert_eq!(ua.pop(), None);
    }
}
