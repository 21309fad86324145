//! [`TargetConfig`]: the targets a portal serves, who may use them, and the engine's limits.

use core::fmt;

use iscsi_pdu::IscsiName;

use crate::Error;

/// Everything the engine needs to know about the portal group it serves.
///
/// A connection takes an `Arc<TargetConfig>` when it is created and keeps it for its lifetime;
/// to add or change targets while serving, build a new config and give the new `Arc` to new
/// connections (established ones carry on with the old one).
///
/// ```
/// use iscsi_pdu::IscsiName;
/// use iscsi_target::{InitiatorAcl, TargetConfig, TargetNode};
/// let mut config = TargetConfig::default();
/// config.portals.push("192.0.2.1:3260".into());
/// config.targets.push(TargetNode::new(IscsiName::parse("iqn.2026-01.com.example:disk1")?)
///     .with_initiators(InitiatorAcl::only([IscsiName::parse("iqn.2010-04.org.ipxe:client1")?])));
/// config.validate()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetConfig {
    /// The Target Portal Group Tag returned at login and in SendTargets answers.
    pub portal_group_tag: u16,
    /// Portal addresses (`host:port`, IPv6 hosts in brackets) listed by SendTargets as
    /// `TargetAddress=<portal>,<tag>`.
    pub portals: Vec<String>,
    /// The targets.
    pub targets: Vec<TargetNode>,
    /// CHAP credentials an initiator must prove for a Discovery session (`None`: no
    /// authentication for discovery).
    pub discovery_chap: Option<ChapCredentials>,
    /// The credentials the target proves when an initiator asks for mutual CHAP in a
    /// Discovery session.
    pub discovery_mutual_chap: Option<ChapCredentials>,
    /// Negotiation preferences and resource bounds.
    pub limits: Limits,
}

impl Default for TargetConfig {
    fn default() -> Self {
        TargetConfig {
            portal_group_tag: 1,
            portals: Vec::new(),
            targets: Vec::new(),
            discovery_chap: None,
            discovery_mutual_chap: None,
            limits: Limits::default(),
        }
    }
}

impl TargetConfig {
    /// The target named `name`, if configured.
    ///
    /// ```
    /// use iscsi_pdu::IscsiName;
    /// use iscsi_target::{TargetConfig, TargetNode};
    /// let name = IscsiName::parse("iqn.2026-01.com.example:disk1")?;
    /// let config = TargetConfig { targets: vec![TargetNode::new(name.clone())], ..Default::default() };
    /// assert!(config.target(&name).is_some());
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn target(&self, name: &IscsiName) -> Option<&TargetNode> {
        self.targets.iter().find(|t| &t.name == name)
    }

    /// Checks the limits, that target names are unique, and each target's CHAP secrets: none
    /// empty, mutual CHAP only with the initiator's CHAP, and the two secrets different
    /// (RFC 7143 §12.1.3). [`Connection::new`](crate::Connection::new) trusts its config:
    /// validate it first.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first problem.
    ///
    /// ```
    /// use iscsi_pdu::IscsiName;
    /// use iscsi_target::{ChapCredentials, TargetConfig, TargetNode};
    /// let mut config = TargetConfig::default();
    /// config.limits.max_burst_length = 100;
    /// assert!(config.validate().is_err());
    ///
    /// let same = ChapCredentials::new("client1", b"secret-123456");
    /// let node = TargetNode::new(IscsiName::parse("iqn.2026-01.com.example:disk1")?)
    ///     .with_chap(same.clone())
    ///     .with_mutual_chap(same);
    /// let config = TargetConfig { targets: vec![node], ..TargetConfig::default() };
    /// assert!(config.validate().is_err());
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        self.limits.validate()?;
        for (i, t) in self.targets.iter().enumerate() {
            if self.targets[..i].iter().any(|o| o.name == t.name) {
                return Err(Error::InvalidConfig {
                    what: "two targets have the same name",
                });
            }
            if t.chap
                .iter()
                .chain(&t.mutual_chap)
                .any(|c| c.secret.is_empty())
            {
                return Err(Error::InvalidConfig {
                    what: "a CHAP secret is empty",
                });
            }
            if t.mutual_chap.is_some() && t.chap.is_none() {
                return Err(Error::InvalidConfig {
                    what: "mutual CHAP needs the initiator's CHAP too",
                });
            }
            // RFC 7143 §12.1.3: "Any CHAP secret used for initiator authentication MUST NOT
            // be configured for authentication of any target".
            if let (Some(a), Some(b)) = (&t.chap, &t.mutual_chap)
                && a.secret == b.secret
            {
                return Err(Error::InvalidConfig {
                    what: "a target's mutual CHAP secret must differ from its initiator's \
                           (RFC 7143 §12.1.3)",
                });
            }
        }
        Ok(())
    }
}

/// One iSCSI target node: a name, who may log in to it, and its logical units.
///
/// ```
/// use iscsi_pdu::IscsiName;
/// use iscsi_target::{ChapCredentials, InitiatorAcl, TargetNode};
/// let node = TargetNode::new(IscsiName::parse("iqn.2026-01.com.example:disk1")?)
///     .with_initiators(InitiatorAcl::AllowAll)
///     .with_chap(ChapCredentials::new("client1", b"secret-123456"));
/// assert_eq!(node.luns, vec![0]);
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetNode {
    /// The target's iSCSI name.
    pub name: IscsiName,
    /// `TargetAlias` sent at login, if any.
    pub alias: Option<String>,
    /// The initiators admitted.
    pub initiators: InitiatorAcl,
    /// CHAP credentials the initiator must prove (`None`: AuthMethod=None is accepted).
    pub chap: Option<ChapCredentials>,
    /// Credentials the target proves when the initiator asks for mutual CHAP (`None`: mutual
    /// CHAP requests are refused).
    pub mutual_chap: Option<ChapCredentials>,
    /// LUN numbers the target exposes (informational for the engine; the driver maps them).
    pub luns: Vec<u64>,
}

impl TargetNode {
    /// A target that admits nobody yet ([`InitiatorAcl::Only`] with an empty list), without
    /// CHAP, with LUN 0.
    ///
    /// ```
    /// use iscsi_pdu::IscsiName;
    /// use iscsi_target::TargetNode;
    /// let node = TargetNode::new(IscsiName::parse("iqn.2026-01.com.example:disk1")?);
    /// assert_eq!(node.luns, vec![0]);
    /// assert!(node.chap.is_none());
    /// assert!(!node.admits(&IscsiName::parse("iqn.2010-04.org.ipxe:client1")?)); // nobody yet
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn new(name: IscsiName) -> Self {
        TargetNode {
            name,
            alias: None,
            initiators: InitiatorAcl::Only(Vec::new()),
            chap: None,
            mutual_chap: None,
            luns: vec![0],
        }
    }

    /// Sets the ACL.
    ///
    /// ```
    /// use iscsi_pdu::IscsiName;
    /// use iscsi_target::{InitiatorAcl, TargetNode};
    /// let client = IscsiName::parse("iqn.2010-04.org.ipxe:client1")?;
    /// let node = TargetNode::new(IscsiName::parse("iqn.2026-01.com.example:disk1")?)
    ///     .with_initiators(InitiatorAcl::only([client.clone()]));
    /// assert!(node.admits(&client));
    /// assert!(!node.admits(&IscsiName::parse("iqn.2010-04.org.ipxe:client2")?));
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn with_initiators(mut self, acl: InitiatorAcl) -> Self {
        self.initiators = acl;
        self
    }

    /// Requires CHAP with these credentials.
    ///
    /// ```
    /// use iscsi_pdu::IscsiName;
    /// use iscsi_target::{ChapCredentials, TargetNode};
    /// let node = TargetNode::new(IscsiName::parse("iqn.2026-01.com.example:disk1")?)
    ///     .with_chap(ChapCredentials::new("client1", "secret-123456"));
    /// assert_eq!(node.chap.map(|c| c.user).as_deref(), Some("client1"));
    /// assert!(node.mutual_chap.is_none()); // mutual CHAP requests are still refused
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn with_chap(mut self, chap: ChapCredentials) -> Self {
        self.chap = Some(chap);
        self
    }

    /// Sets the credentials the target proves for mutual CHAP.
    ///
    /// ```
    /// use iscsi_pdu::IscsiName;
    /// use iscsi_target::{ChapCredentials, TargetNode};
    /// let node = TargetNode::new(IscsiName::parse("iqn.2026-01.com.example:disk1")?)
    ///     .with_chap(ChapCredentials::new("client1", "secret-123456"))
    ///     .with_mutual_chap(ChapCredentials::new("target1", "target-secret-1"));
    /// assert_eq!(node.mutual_chap.map(|c| c.secret), Some(b"target-secret-1".to_vec()));
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn with_mutual_chap(mut self, chap: ChapCredentials) -> Self {
        self.mutual_chap = Some(chap);
        self
    }

    /// Whether `initiator` may log in to (and discover) this target.
    ///
    /// ```
    /// use iscsi_pdu::IscsiName;
    /// use iscsi_target::{InitiatorAcl, TargetNode};
    /// let client = IscsiName::parse("iqn.2010-04.org.ipxe:client1")?;
    /// let node = TargetNode::new(IscsiName::parse("iqn.2026-01.com.example:d")?);
    /// assert!(!node.admits(&client));
    /// assert!(node.with_initiators(InitiatorAcl::only([client.clone()])).admits(&client));
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn admits(&self, initiator: &IscsiName) -> bool {
        self.initiators.admits(initiator)
    }
}

/// Which initiators a target admits, by iSCSI name.
///
/// An empty [`InitiatorAcl::Only`] admits nobody: access is always granted explicitly.
///
/// ```
/// use iscsi_pdu::IscsiName;
/// use iscsi_target::InitiatorAcl;
/// let a = IscsiName::parse("iqn.2010-04.org.ipxe:a")?;
/// assert!(InitiatorAcl::AllowAll.admits(&a));
/// assert!(!InitiatorAcl::Only(vec![]).admits(&a));
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitiatorAcl {
    /// Any initiator.
    AllowAll,
    /// Only the initiators listed.
    Only(Vec<IscsiName>),
}

impl InitiatorAcl {
    /// An ACL admitting exactly `names`.
    ///
    /// ```
    /// use iscsi_pdu::IscsiName;
    /// use iscsi_target::InitiatorAcl;
    /// let a = IscsiName::parse("iqn.2010-04.org.ipxe:a")?;
    /// let acl = InitiatorAcl::only([a.clone()]);
    /// assert_eq!(acl, InitiatorAcl::Only(vec![a]));
    /// assert!(!InitiatorAcl::only([]).admits(&IscsiName::parse("iqn.2010-04.org.ipxe:b")?));
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn only(names: impl IntoIterator<Item = IscsiName>) -> Self {
        InitiatorAcl::Only(names.into_iter().collect())
    }

    /// Whether `initiator` is admitted.
    ///
    /// ```
    /// use iscsi_pdu::IscsiName;
    /// use iscsi_target::InitiatorAcl;
    /// let (a, b) = (IscsiName::parse("iqn.2010-04.org.ipxe:a")?, IscsiName::parse("iqn.2010-04.org.ipxe:b")?);
    /// let acl = InitiatorAcl::only([a.clone()]);
    /// assert!(acl.admits(&a));
    /// assert!(!acl.admits(&b));
    /// # Ok::<(), iscsi_pdu::Error>(())
    /// ```
    pub fn admits(&self, initiator: &IscsiName) -> bool {
        match self {
            InitiatorAcl::AllowAll => true,
            InitiatorAcl::Only(names) => names.iter().any(|n| n == initiator),
        }
    }
}

/// A CHAP name and secret (RFC 7143 §12.1.3). `Debug` does not print the secret.
///
/// ```
/// use iscsi_target::ChapCredentials;
/// let c = ChapCredentials::new("user", b"0123456789ab");
/// assert!(!format!("{c:?}").contains("0123"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ChapCredentials {
    /// `CHAP_N`.
    pub user: String,
    /// The shared secret.
    pub secret: Vec<u8>,
}

impl ChapCredentials {
    /// Credentials from a name and a secret.
    ///
    /// ```
    /// use iscsi_target::ChapCredentials;
    /// let creds = ChapCredentials::new("client1", "secret-123456");
    /// assert_eq!(creds.user, "client1");
    /// assert_eq!(creds.secret, b"secret-123456");
    /// ```
    pub fn new(user: impl Into<String>, secret: impl AsRef<[u8]>) -> Self {
        ChapCredentials {
            user: user.into(),
            secret: secret.as_ref().to_vec(),
        }
    }
}

impl fmt::Debug for ChapCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChapCredentials")
            .field("user", &self.user)
            .field("secret", &"<hidden>")
            .finish()
    }
}

/// The target's side of operational negotiation (RFC 7143 §13), and bounds on what an
/// initiator can make the engine hold.
///
/// Keys an initiator omits take their RFC default whatever these say (iPXE omits none; the
/// RFC defaults are all values the engine handles).
///
/// ```
/// use iscsi_target::Limits;
/// let mut limits = Limits::default();
/// limits.max_recv_data_segment_length = 65536;
/// limits.validate()?;
/// # Ok::<(), iscsi_target::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// MaxRecvDataSegmentLength the target declares (512..=16777215).
    pub max_recv_data_segment_length: u32,
    /// Largest MaxBurstLength accepted (512..=16777215).
    pub max_burst_length: u32,
    /// Largest FirstBurstLength accepted (512..=16777215).
    pub first_burst_length: u32,
    /// The target's InitialR2T preference (the result is `Yes` if either side says `Yes`).
    pub initial_r2t: bool,
    /// The target's ImmediateData preference (the result is `Yes` only if both say `Yes`).
    pub immediate_data: bool,
    /// Largest MaxOutstandingR2T accepted (1..=65535).
    pub max_outstanding_r2t: u16,
    /// Whether CRC32C header digests may be selected.
    pub allow_header_digest: bool,
    /// Whether CRC32C data digests may be selected.
    pub allow_data_digest: bool,
    /// DefaultTime2Wait the target offers (0..=3600).
    pub default_time2wait: u16,
    /// DefaultTime2Retain the target offers (0..=3600).
    pub default_time2retain: u16,
    /// The CmdSN window: how many commands may be queued or running at once (1..=1024).
    pub command_window: u32,
    /// The largest Expected Data Transfer Length of a write the engine buffers (bytes).
    pub max_write_length: u32,
    /// Bytes of write data one connection may hold or have asked for, over all its commands
    /// not yet completed (at least `max_write_length`). A write that does not fit waits, in
    /// arrival order, for its R2Ts until earlier writes complete: R2Ts are the target's flow
    /// control (RFC 7143 §11.8). Only unsolicited data (at most FirstBurstLength per
    /// command) arrives unasked.
    pub write_budget: u32,
    /// Send a NOP-In ping after this many seconds without input (0: never).
    pub nop_in_interval_secs: u32,
    /// Drop the connection when a ping or the login is not answered within this many seconds
    /// (0: never).
    pub response_timeout_secs: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_recv_data_segment_length: 262_144,
            max_burst_length: 1_048_576,
            first_burst_length: 262_144,
            initial_r2t: false,
            immediate_data: true,
            max_outstanding_r2t: 8,
            allow_header_digest: true,
            allow_data_digest: true,
            default_time2wait: 2,
            default_time2retain: 0,
            command_window: 128,
            max_write_length: 16 * 1024 * 1024,
            write_budget: 64 * 1024 * 1024,
            nop_in_interval_secs: 0,
            response_timeout_secs: 30,
        }
    }
}

/// Range of the 24-bit length keys (RFC 7143 §13.12–§13.14).
pub(crate) const LENGTH_RANGE: core::ops::RangeInclusive<u64> = 512..=16_777_215;

impl Limits {
    /// Checks every value against its RFC range.
    ///
    /// ```
    /// use iscsi_target::{Error, Limits};
    /// let mut limits = Limits::default();
    /// assert_eq!(limits.validate(), Ok(()));
    /// limits.command_window = 0;
    /// assert_eq!(limits.validate(), Err(Error::InvalidConfig { what: "command_window must be 1..=1024" }));
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first value out of range.
    pub fn validate(&self) -> Result<(), Error> {
        let len = |v: u32| LENGTH_RANGE.contains(&u64::from(v));
        let checks: [(bool, &'static str); 9] = [
            (
                len(self.max_recv_data_segment_length),
                "max_recv_data_segment_length (MaxRecvDataSegmentLength) must be 512..=16777215",
            ),
            (
                len(self.max_burst_length),
                "max_burst_length (MaxBurstLength) must be 512..=16777215",
            ),
            (
                len(self.first_burst_length),
                "first_burst_length (FirstBurstLength) must be 512..=16777215",
            ),
            (
                self.max_outstanding_r2t >= 1,
                "max_outstanding_r2t (MaxOutstandingR2T) must be at least 1",
            ),
            (
                self.default_time2wait <= 3600,
                "default_time2wait (DefaultTime2Wait) must be 0..=3600",
            ),
            (
                self.default_time2retain <= 3600,
                "default_time2retain (DefaultTime2Retain) must be 0..=3600",
            ),
            (
                (1..=1024).contains(&self.command_window),
                "command_window must be 1..=1024",
            ),
            (
                self.max_write_length >= 512,
                "max_write_length must be at least 512",
            ),
            (
                self.write_budget >= self.max_write_length,
                "write_budget must be at least max_write_length (one write must always fit)",
            ),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some(&(_, what)) => Err(Error::InvalidConfig { what }),
            None => Ok(()),
        }
    }
}
