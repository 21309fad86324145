//! Reservations: SPC-2 RESERVE/RELEASE and SPC-4 persistent reservations (§5.9), what
//! Windows failover clustering validates.

use std::sync::Arc;

use crate::lu::NexusKey;
use crate::opcode::Access;
use crate::transport_id::TransportId;

/// Persistent reservation types (SPC-4 table 201).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum PrType {
    WriteExclusive = 1,
    ExclusiveAccess = 3,
    WriteExclusiveRegistrantsOnly = 5,
    ExclusiveAccessRegistrantsOnly = 6,
    WriteExclusiveAllRegistrants = 7,
    ExclusiveAccessAllRegistrants = 8,
}

impl PrType {
    /// The type of a TYPE field value.
    pub(crate) fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => PrType::WriteExclusive,
            3 => PrType::ExclusiveAccess,
            5 => PrType::WriteExclusiveRegistrantsOnly,
            6 => PrType::ExclusiveAccessRegistrantsOnly,
            7 => PrType::WriteExclusiveAllRegistrants,
            8 => PrType::ExclusiveAccessAllRegistrants,
            _ => return None,
        })
    }

    /// Whether every registrant is a reservation holder.
    pub(crate) fn all_registrants(self) -> bool {
        matches!(
            self,
            PrType::WriteExclusiveAllRegistrants | PrType::ExclusiveAccessAllRegistrants
        )
    }

    /// Whether registrants (not only the holder) get access.
    pub(crate) fn registrants_access(self) -> bool {
        !matches!(self, PrType::WriteExclusive | PrType::ExclusiveAccess)
    }

    /// Whether non-holders may read.
    pub(crate) fn write_exclusive(self) -> bool {
        matches!(
            self,
            PrType::WriteExclusive
                | PrType::WriteExclusiveRegistrantsOnly
                | PrType::WriteExclusiveAllRegistrants
        )
    }
}

/// An initiator port as a registration names it: one I_T nexus (name and ISID), or every
/// nexus of an initiator name (a SPEC_I_PT TransportID without ISID). There is one target
/// port, so the initiator port alone identifies the I_T nexus.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Port {
    pub(crate) name: Arc<str>,
    pub(crate) isid: Option<[u8; 6]>,
}

impl Port {
    /// The port of one nexus.
    pub(crate) fn of(nexus: &NexusKey) -> Self {
        Port {
            name: nexus.name.clone(),
            isid: Some(nexus.isid),
        }
    }

    /// Whether commands from `nexus` come through this port.
    pub(crate) fn matches(&self, nexus: &NexusKey) -> bool {
        *self.name == *nexus.name && self.isid.is_none_or(|i| i == nexus.isid)
    }

    /// The port as a TransportID.
    pub(crate) fn transport_id(&self) -> TransportId {
        TransportId {
            name: self.name.to_string(),
            isid: self.isid,
        }
    }

    /// The port a TransportID names.
    pub(crate) fn from_transport_id(id: TransportId) -> Self {
        Port {
            name: Arc::from(id.name),
            isid: id.isid,
        }
    }
}

/// The persistent reservation held on a logical unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PrHolder {
    /// The holder's registered port (for all-registrants types, the one that reserved).
    pub(crate) port: Port,
    pub(crate) kind: PrType,
}

/// One registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Registration {
    pub(crate) port: Port,
    pub(crate) key: u64,
    /// Registered with ALL_TG_PT: through every target port (there is one).
    pub(crate) all_tg_pt: bool,
}

/// Most registrations kept per logical unit (INSUFFICIENT REGISTRATION RESOURCES beyond).
pub(crate) const MAX_REGISTRATIONS: usize = 64;

/// Every reservation of a logical unit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Reservations {
    /// The holder of an SPC-2 RESERVE.
    pub(crate) spc2: Option<NexusKey>,
    /// PRGENERATION.
    pub(crate) generation: u32,
    pub(crate) registrations: Vec<Registration>,
    pub(crate) holder: Option<PrHolder>,
    /// The APTPL bit of the last register service action: the registrations and the
    /// reservation survive a power loss (and a TARGET COLD RESET).
    pub(crate) aptpl: bool,
}

impl Reservations {
    /// The registration commands from `nexus` act under: its own port's, else its name's.
    pub(crate) fn registration_of(&self, nexus: &NexusKey) -> Option<&Registration> {
        let exact = Port::of(nexus);
        self.registrations
            .iter()
            .find(|r| r.port == exact)
            .or_else(|| self.registrations.iter().find(|r| r.port.matches(nexus)))
    }

    /// The key `nexus` registered, if any.
    pub(crate) fn key_of(&self, nexus: &NexusKey) -> Option<u64> {
        self.registration_of(nexus).map(|r| r.key)
    }

    /// Whether `nexus` holds the persistent reservation.
    pub(crate) fn is_holder(&self, nexus: &NexusKey) -> bool {
        self.registration_of(nexus)
            .is_some_and(|r| self.port_holds(&r.port))
    }

    /// The key of the reservation holder's registration; `None` without a reservation and for
    /// all-registrants types, whose holders are every registrant.
    pub(crate) fn holder_key(&self) -> Option<u64> {
        let h = self.holder.as_ref().filter(|h| !h.kind.all_registrants())?;
        self.registrations
            .iter()
            .find(|x| x.port == h.port)
            .map(|x| x.key)
    }

    /// Whether the registration of `port` holds the persistent reservation.
    pub(crate) fn port_holds(&self, port: &Port) -> bool {
        match &self.holder {
            Some(h) => h.kind.all_registrants() || &h.port == port,
            None => false,
        }
    }

    /// Drops every registration and the persistent reservation.
    pub(crate) fn clear_persistent(&mut self) {
        self.registrations.clear();
        self.holder = None;
    }

    /// Whether a command of class `access` (opcode `opcode`) from `nexus` conflicts with a
    /// reservation.
    pub(crate) fn conflicts(&self, nexus: &NexusKey, access: Access, opcode: u8) -> bool {
        if let Some(holder) = &self.spc2
            && holder != nexus
        {
            // SPC-2 §5.5.1: only these commands pass another nexus's reservation.
            return !matches!(opcode, 0x12 | 0xa0 | 0x03 | 0x17 | 0x57 | 0xa3);
        }
        if access == Access::Reserve {
            return !self.registrations.is_empty() || self.holder.is_some();
        }
        let Some(h) = &self.holder else {
            return false;
        };
        if access == Access::Free || self.is_holder(nexus) {
            return false;
        }
        let registered = self.key_of(nexus).is_some();
        if h.kind.registrants_access() && registered {
            return false;
        }
        match access {
            Access::Read => !h.kind.write_exclusive(),
            _ => true,
        }
    }

    /// Removes the registration of `port`; a reservation it held (alone) goes with it.
    /// Returns whether the reservation was released in a way other registrants must learn
    /// (registrants-only types).
    pub(crate) fn unregister(&mut self, port: &Port) -> bool {
        self.registrations.retain(|r| &r.port != port);
        let mut notify = false;
        if let Some(h) = &self.holder {
            let release = if h.kind.all_registrants() {
                self.registrations.is_empty()
            } else {
                &h.port == port
            };
            if release {
                notify = matches!(
                    h.kind,
                    PrType::WriteExclusiveRegistrantsOnly | PrType::ExclusiveAccessRegistrantsOnly
                );
                self.holder = None;
            }
        }
        notify
    }

    /// The ports of every registration but `except`'s.
    pub(crate) fn other_ports(&self, except: Option<&Port>) -> Vec<Port> {
        self.registrations
            .iter()
            .filter(|r| Some(&r.port) != except)
            .map(|r| r.port.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: &str) -> NexusKey {
        NexusKey {
            name: Arc::from(n),
            isid: [0; 6],
        }
    }

    fn reserved(kind: PrType) -> Reservations {
        Reservations {
            registrations: vec![
                Registration {
                    port: Port::of(&key("a")),
                    key: 1,
                    all_tg_pt: false,
                },
                Registration {
                    port: Port::of(&key("b")),
                    key: 2,
                    all_tg_pt: false,
                },
            ],
            holder: Some(PrHolder {
                port: Port::of(&key("a")),
                kind,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn access_matrix_matches_spc4() {
        // (type, registered can read, registered can write, unregistered can read, unregistered can write)
        let cases = [
            (PrType::ExclusiveAccess, false, false, false, false),
            (PrType::WriteExclusive, true, false, true, false),
            (
                PrType::ExclusiveAccessRegistrantsOnly,
                true,
                true,
                false,
                false,
            ),
            (
                PrType::WriteExclusiveRegistrantsOnly,
                true,
                true,
                true,
                false,
            ),
            (
                PrType::ExclusiveAccessAllRegistrants,
                true,
                true,
                false,
                false,
            ),
            (
                PrType::WriteExclusiveAllRegistrants,
                true,
                true,
                true,
                false,
            ),
        ];
        for (kind, rr, rw, ur, uw) in cases {
            let r = reserved(kind);
            assert!(
                !r.conflicts(&key("a"), Access::Write, 0x2a),
                "{kind:?} holder"
            );
            assert_eq!(!r.conflicts(&key("b"), Access::Read, 0x28), rr, "{kind:?}");
            assert_eq!(!r.conflicts(&key("b"), Access::Write, 0x2a), rw, "{kind:?}");
            assert_eq!(!r.conflicts(&key("c"), Access::Read, 0x28), ur, "{kind:?}");
            assert_eq!(!r.conflicts(&key("c"), Access::Write, 0x2a), uw, "{kind:?}");
            assert!(!r.conflicts(&key("c"), Access::Free, 0x12));
        }
    }

    #[test]
    fn spc2_reservation_blocks_others_but_inquiry() {
        let r = Reservations {
            spc2: Some(key("a")),
            ..Default::default()
        };
        assert!(r.conflicts(&key("b"), Access::Read, 0x1a));
        assert!(!r.conflicts(&key("b"), Access::Free, 0x12));
        assert!(!r.conflicts(&key("a"), Access::Write, 0x2a));
    }

    #[test]
    fn holder_unregistering_releases() {
        let mut r = reserved(PrType::WriteExclusive);
        r.unregister(&Port::of(&key("a")));
        assert!(r.holder.is_none());
        let mut r = reserved(PrType::WriteExclusiveAllRegistrants);
        r.unregister(&Port::of(&key("a")));
        assert!(
            r.holder.is_some(),
            "b still holds an all-registrants reservation"
        );
        r.unregister(&Port::of(&key("b")));
        assert!(r.holder.is_none());
    }
}
