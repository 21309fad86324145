//! Sessions: what a login established ([`SessionInfo`]) and the portal-wide
//! [`SessionRegistry`] that assigns TSIHs and finds the session a new login reinstates.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use iscsi_pdu::{IscsiName, Isid, LoginStatus, Tsih};

use crate::SessionParams;

/// Discovery or Normal (RFC 7143 §13.21 `SessionType`).
///
/// ```
/// use std::sync::Arc;
/// use bytes::Bytes;
/// use iscsi_pdu::*;
/// use iscsi_target::*;
/// let mut conn = Connection::new(Arc::new(TargetConfig::default()), SessionRegistry::new(), [7; 32]);
/// conn.handle_pdu(Pdu::LoginRequest(LoginRequest {
///     transit: true, continue_bit: false, csg: Stage::LoginOperationalNegotiation, nsg: Stage::FullFeaturePhase,
///     version_max: 0, version_min: 0, isid: Isid([0x80, 0, 0, 0, 0, 1]), tsih: Tsih(0), itt: Itt(0), cid: Cid(0),
///     cmd_sn: SerialNumber(1), exp_stat_sn: SerialNumber(0),
///     data: Bytes::from_static(b"InitiatorName=iqn.2010-04.org.ipxe:client1\0SessionType=Discovery\0"),
/// }));
/// assert_eq!(conn.session().map(|s| s.kind), Some(SessionKind::Discovery));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionKind {
    /// SendTargets only; no SCSI.
    Discovery,
    /// SCSI commands to one target.
    Normal,
}

/// A registry-wide session identifier (unlike the TSIH, never reused).
///
/// ```
/// use iscsi_pdu::{IscsiName, Isid, Tsih};
/// use iscsi_target::SessionRegistry;
/// let registry = SessionRegistry::new();
/// let ini = IscsiName::parse("iqn.2010-04.org.ipxe:client1")?;
/// let Ok(first) = registry.register(&ini, Isid::default(), None, Tsih(0)) else { return Err("refused".into()) };
/// registry.remove(first.id);
/// let Ok(second) = registry.register(&ini, Isid::default(), None, Tsih(0)) else { return Err("refused".into()) };
/// assert_ne!(second.id, first.id); // ids are never reused
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u64);

/// What a successful login established.
///
/// ```
/// use iscsi_target::{SessionInfo, SessionKind};
/// fn describe(s: &SessionInfo) -> String {
///     match s.kind {
///         SessionKind::Normal => format!("{} -> {:?}", s.initiator_name, s.target_name),
///         SessionKind::Discovery => format!("{} discovering", s.initiator_name),
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The registry's id for this session.
    pub id: SessionId,
    /// `InitiatorName`.
    pub initiator_name: IscsiName,
    /// `InitiatorAlias`, if sent.
    pub initiator_alias: Option<String>,
    /// The initiator's session id.
    pub isid: Isid,
    /// The target's session handle.
    pub tsih: Tsih,
    /// `TargetName` (Normal sessions only).
    pub target_name: Option<IscsiName>,
    /// Discovery or Normal.
    pub kind: SessionKind,
    /// The negotiated operational parameters.
    pub params: SessionParams,
}

/// The identity of a session as seen by the initiator (RFC 7143 §4.4.3: an initiator port,
/// i.e. InitiatorName + ISID, with a target portal group; one portal group per registry).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Nexus {
    initiator: IscsiName,
    isid: Isid,
    target: Option<IscsiName>,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    last_tsih: u16,
    by_nexus: HashMap<Nexus, (SessionId, Tsih)>,
    by_tsih: HashMap<u16, Nexus>,
}

/// The result of [`SessionRegistry::register`].
///
/// ```
/// use iscsi_pdu::{IscsiName, Isid, Tsih};
/// use iscsi_target::SessionRegistry;
/// let registry = SessionRegistry::new();
/// let (ini, target) = (IscsiName::parse("iqn.2010-04.org.ipxe:c")?, IscsiName::parse("iqn.2026-01.com.example:d")?);
/// let isid = Isid([0x80, 0, 0, 0, 0, 1]);
/// let Ok(first) = registry.register(&ini, isid, Some(&target), Tsih(0)) else { return Err("refused".into()) };
/// assert_eq!(first.replaces, None);
/// // A login naming the session's TSIH replaces it and keeps the TSIH.
/// let Ok(again) = registry.register(&ini, isid, Some(&target), first.tsih) else { return Err("refused".into()) };
/// assert_eq!((again.tsih, again.replaces), (first.tsih, Some(first.id)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registration {
    /// The new session's id.
    pub id: SessionId,
    /// The TSIH to return to the initiator.
    pub tsih: Tsih,
    /// The older session with the same initiator, ISID and target that this one reinstates:
    /// the driver must close its connection (RFC 7143 §6.3.5 "Session Reinstatement").
    pub replaces: Option<SessionId>,
}

/// Assigns TSIHs and detects session reinstatement. Cheap to clone: clones share one table
/// (behind a mutex; no IO, no clock). One registry per portal group.
///
/// Connections register themselves at the end of a successful login and deregister when
/// dropped; the driver reads [`Registration::replaces`] from
/// [`Event::LoggedIn`](crate::Event::LoggedIn) to close the connection of a reinstated
/// session.
///
/// ```
/// use iscsi_pdu::{IscsiName, Isid, Tsih};
/// use iscsi_target::SessionRegistry;
/// let registry = SessionRegistry::new();
/// let ini = IscsiName::parse("iqn.2010-04.org.ipxe:client1")?;
/// let isid = Isid([0x80, 0, 0, 0, 0, 1]);
/// let Ok(first) = registry.register(&ini, isid, None, Tsih(0)) else { return Err("refused".into()) };
/// assert_ne!(first.tsih, Tsih(0));
/// // The client reboots and logs in again with the same ISID: the old session is replaced.
/// let Ok(second) = registry.register(&ini, isid, None, Tsih(0)) else { return Err("refused".into()) };
/// assert_eq!(second.replaces, Some(first.id));
/// assert_eq!(registry.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct SessionRegistry {
    inner: Arc<Mutex<Inner>>,
}

impl SessionRegistry {
    /// An empty registry.
    ///
    /// ```
    /// use iscsi_pdu::{IscsiName, Isid, Tsih};
    /// use iscsi_target::SessionRegistry;
    /// let registry = SessionRegistry::new();
    /// assert!(registry.is_empty());
    /// let shared = registry.clone();
    /// let ini = IscsiName::parse("iqn.2010-04.org.ipxe:c")?;
    /// assert!(shared.register(&ini, Isid::default(), None, Tsih(0)).is_ok());
    /// assert_eq!(registry.len(), 1); // clones share one table
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves the table consistent (every update
        // is a single insert or remove), so a poisoned lock is still usable.
        match self.inner.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Registers a session for `initiator` + `isid` (+ `target`, `None` for Discovery).
    ///
    /// `requested` is the TSIH of the Login Request: 0 creates (or reinstates) a session;
    /// a non-zero TSIH must name the existing session of the same nexus, which is then
    /// replaced keeping its TSIH.
    ///
    /// ```
    /// use iscsi_pdu::{IscsiName, Isid, LoginStatus, Tsih};
    /// use iscsi_target::SessionRegistry;
    /// let registry = SessionRegistry::new();
    /// let ini = IscsiName::parse("iqn.2010-04.org.ipxe:c")?;
    /// let tsih = registry.register(&ini, Isid::default(), None, Tsih(0)).map(|r| r.tsih);
    /// assert_eq!(tsih, Ok(Tsih(1)));
    /// // A non-zero TSIH must name this nexus's session.
    /// let stale = registry.register(&ini, Isid::default(), None, Tsih(42));
    /// assert_eq!(stale, Err(LoginStatus::SESSION_DOES_NOT_EXIST));
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    ///
    /// # Errors
    /// The login status to fail the login with: [`LoginStatus::SESSION_DOES_NOT_EXIST`] for a
    /// non-zero TSIH that names no session of this nexus, [`LoginStatus::OUT_OF_RESOURCES`]
    /// when all 65535 TSIHs are in use.
    pub fn register(
        &self,
        initiator: &IscsiName,
        isid: Isid,
        target: Option<&IscsiName>,
        requested: Tsih,
    ) -> Result<Registration, LoginStatus> {
        let nexus = Nexus {
            initiator: initiator.clone(),
            isid,
            target: target.cloned(),
        };
        let mut inner = self.lock();
        let old = inner.by_nexus.get(&nexus).copied();
        let tsih = if requested.is_new_session() {
            if let Some((_, old_tsih)) = old {
                inner.by_tsih.remove(&old_tsih.0);
            }
            let mut candidate = inner.last_tsih;
            let mut found = None;
            for _ in 0..u16::MAX {
                candidate = candidate.wrapping_add(1).max(1);
                if !inner.by_tsih.contains_key(&candidate) {
                    found = Some(candidate);
                    break;
                }
            }
            let Some(tsih) = found else {
                return Err(LoginStatus::OUT_OF_RESOURCES);
            };
            inner.last_tsih = tsih;
            Tsih(tsih)
        } else {
            match old {
                Some((_, old_tsih)) if old_tsih == requested => requested,
                _ => return Err(LoginStatus::SESSION_DOES_NOT_EXIST),
            }
        };
        inner.next_id += 1;
        let id = SessionId(inner.next_id);
        inner.by_tsih.insert(tsih.0, nexus.clone());
        inner.by_nexus.insert(nexus, (id, tsih));
        Ok(Registration {
            id,
            tsih,
            replaces: old.map(|(id, _)| id),
        })
    }

    /// Forgets session `id` (a no-op if it was replaced or removed already).
    ///
    /// ```
    /// use iscsi_pdu::{IscsiName, Isid, Tsih};
    /// use iscsi_target::SessionRegistry;
    /// let registry = SessionRegistry::new();
    /// let ini = IscsiName::parse("iqn.2010-04.org.ipxe:c")?;
    /// let Ok(r) = registry.register(&ini, Isid::default(), None, Tsih(0)) else { return Err("refused".into()) };
    /// registry.remove(r.id);
    /// assert!(registry.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remove(&self, id: SessionId) {
        let mut inner = self.lock();
        let found = inner
            .by_nexus
            .iter()
            .find(|(_, (sid, _))| *sid == id)
            .map(|(nexus, (_, tsih))| (nexus.clone(), *tsih));
        if let Some((nexus, tsih)) = found {
            inner.by_nexus.remove(&nexus);
            inner.by_tsih.remove(&tsih.0);
        }
    }

    /// Number of registered sessions.
    ///
    /// ```
    /// use iscsi_pdu::{IscsiName, Isid, Tsih};
    /// use iscsi_target::SessionRegistry;
    /// let registry = SessionRegistry::new();
    /// let ini = IscsiName::parse("iqn.2010-04.org.ipxe:c")?;
    /// for isid in [Isid([0x80, 0, 0, 0, 0, 1]), Isid([0x80, 0, 0, 0, 0, 2])] {
    ///     assert!(registry.register(&ini, isid, None, Tsih(0)).is_ok());
    /// }
    /// assert_eq!(registry.len(), 2);
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.lock().by_nexus.len()
    }

    /// Whether no session is registered.
    ///
    /// ```
    /// use iscsi_target::SessionRegistry;
    /// assert!(SessionRegistry::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
