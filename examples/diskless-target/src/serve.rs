//! `diskless-target serve`: the tokio driver around the sans-IO crates.
//!
//! One [`iscsi_target::Connection`] per TCP connection. Bytes from the socket go into the
//! engine; the PDUs it queues go back out; the SCSI commands it hands over run, in arrival
//! order, on one blocking worker per connection against that client's [`scsi::ScsiTarget`],
//! whose LUNs are VHD (or raw) files. The golden image is opened once, read-only, and shared by
//! every client's differencing disk. SIGINT or SIGTERM stops accepting, ends every connection,
//! waits for running commands and flushes every disk.
//!
//! A session's I_T nexus (its SPC-2 reservations and unit attentions) ends before the initiator
//! can learn that the session is over: before a Logout Response, and before the answer to a login
//! that reinstates it (a rebooted client). A TARGET COLD RESET closes every connection to that
//! client's target. Logins, logouts and refused logins are logged to stderr with the names sent.
//!
//! `serve --state DIR` serves the clients of a state directory ([`crate::state`]) and follows
//! it: every second it compares `clients.toml`'s modification time, size and inode with what it
//! loaded (SIGHUP forces a reload), and on a change swaps in a new engine config. Connections
//! take the config current when they are accepted; clients whose entry is unchanged keep their
//! open disks; new clients' disks are opened; the sessions of removed (or reset) clients are
//! closed and their targets vanish. For each logged-in session it keeps a marker file
//! `DIR/run/CLIENT/conn-N` (made at login, removed when the session ends, all cleared at
//! startup), which `client reset/remove` and `golden merge` check.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::BytesMut;
use iscsi_pdu::TmfResponse;
use iscsi_target::{
    ChapCredentials, CloseReason, Connection, Event, InitiatorAcl, ScsiTask, SessionId,
    SessionRegistry, TargetConfig, TargetNode, TaskId, TaskOutcome,
};
use scsi::{CommandRequest, ItNexus, LogicalUnit, LuIdentity, ScsiTarget};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, watch};

use crate::backend::Devices;
use crate::config::{Chap, ClientConfig, ServeConfig};
use crate::reservation_file::ReservationFile;
use crate::state::{SessionMarker, StateDir};

/// Bytes of unprocessed input beyond which a connection stops reading from its socket (the
/// engine stops decoding while its output queue is full; this bounds what waits behind it).
const MAX_PENDING_INPUT: usize = 32 << 20;

/// How long shutdown waits for connections to finish their running commands.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// What every connection shares.
struct Shared {
    /// The current configuration, swapped as a whole when the state changes; a connection
    /// takes the one current when it starts.
    live: RwLock<Arc<Live>>,
    /// Sessions by ISID, for reinstatement and TSIH allocation.
    registry: SessionRegistry,
    /// A target with no LUN, for commands that reach no configured target.
    empty: Arc<ScsiTarget>,
    /// How to close the connection carrying each live session (reinstatement, removed
    /// clients), and the client it belongs to.
    sessions: Mutex<HashMap<SessionId, SessionHandle>>,
    /// Where session markers go (`serve --state`), one directory per client.
    run_dir: Option<PathBuf>,
    /// Numbers connections, for marker names.
    next_connection: AtomicU64,
}

impl Shared {
    /// The current configuration.
    fn live(&self) -> Arc<Live> {
        match self.live.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Replaces the configuration.
    fn swap(&self, live: Live) {
        let live = Arc::new(live);
        match self.live.write() {
            Ok(mut g) => *g = live,
            Err(p) => *p.into_inner() = live,
        }
    }
}

/// One configuration: the engine's view and the SCSI targets behind it.
struct Live {
    /// The engine's view: targets, ACLs, CHAP.
    config: Arc<TargetConfig>,
    /// Each target's client and SCSI side, by lower-case target IQN.
    targets: HashMap<String, ClientTarget>,
}

/// A client's SCSI target.
#[derive(Clone)]
struct ClientTarget {
    /// The client's name.
    name: String,
    /// Its LUNs.
    scsi: Arc<ScsiTarget>,
}

/// A live session.
struct SessionHandle {
    /// Closes its connection.
    close: Arc<Notify>,
    /// Its client (none for discovery sessions).
    client: Option<String>,
    /// Its LUNs and I_T nexus.
    nexus: Nexus,
    /// Becomes `true` once its connection has finished its commands and given up the session.
    ended: watch::Receiver<bool>,
}

/// How long a reinstating login waits for the old session's connection to finish its commands.
const REINSTATE_WAIT: Duration = Duration::from_secs(5);

/// Converts one CHAP table.
fn chap(c: &Chap) -> ChapCredentials {
    ChapCredentials::new(c.user.clone(), c.secret.as_bytes())
}

/// Opens one client's LUNs into a SCSI target.
fn open_client(devices: &mut Devices, client: &ClientConfig) -> Result<ScsiTarget> {
    let mut scsi_target = ScsiTarget::new();
    for lun in &client.luns {
        let device = devices
            .open(&lun.path, lun.kind, lun.read_only)
            .with_context(|| format!("client `{}`, LUN {}", client.name, lun.id))?;
        // The LU's identity (NAA designator, serial number) is derived from the target
        // name and LUN: unique per LU and stable across restarts.
        let identity = LuIdentity::from_name(&format!("{}/{}", client.target, lun.id));
        let mut lu = LogicalUnit::checked(device, identity)
            .with_context(|| format!("client `{}`, LUN {}", client.name, lun.id))?;
        if !lun.read_only {
            // Writable LUNs offer APTPL: their reservations persist in `DISK.pr`.
            let store = ReservationFile::for_disk(&lun.path);
            if let Some(image) = store.load()? {
                lu.restore_reservations(&image).with_context(|| {
                    format!(
                        "{}: the saved persistent reservations of client `{}`, LUN {} are \
                         damaged; remove the file to start without them",
                        store.path().display(),
                        client.name,
                        lun.id
                    )
                })?;
                eprintln!(
                    "diskless-target: client `{}`, LUN {}: persistent reservations restored from {}",
                    client.name,
                    lun.id,
                    store.path().display()
                );
            }
            lu = lu.with_reservation_store(Arc::new(store));
        }
        scsi_target
            .add_lun(lun.id, lu)
            .with_context(|| format!("client `{}`, LUN {}", client.name, lun.id))?;
    }
    Ok(scsi_target)
}

/// One client's engine-side target: its name, ACL and CHAP.
fn node(client: &ClientConfig) -> TargetNode {
    let mut node = TargetNode::new(client.target.clone())
        .with_initiators(InitiatorAcl::only(client.initiators.iter().cloned()));
    if let Some(c) = &client.chap {
        node = node.with_chap(chap(c));
    }
    if let Some(c) = &client.mutual_chap {
        node = node.with_mutual_chap(chap(c));
    }
    node
}

/// Builds configurations, keeping the open targets of clients that did not change.
struct Builder {
    /// Every device opened (the golden image shared by all children).
    devices: Devices,
    /// The clients of the current configuration, by name.
    clients: HashMap<String, (ClientConfig, Arc<ScsiTarget>)>,
}

impl Builder {
    /// Opens the golden image.
    fn new(config: &ServeConfig) -> Result<Self> {
        Ok(Builder {
            devices: Devices::new(config.golden.as_deref(), config.golden_cache)?,
            clients: HashMap::new(),
        })
    }

    /// The configuration for `config`, and the clients of the previous one that are gone or
    /// changed (their sessions must end). Opens the LUNs of new and changed clients only; a
    /// client whose target name and LUNs are unchanged keeps its open target.
    fn build(&mut self, config: &ServeConfig) -> Result<(Live, Vec<String>)> {
        let mut clients = HashMap::new();
        let mut targets = HashMap::new();
        let mut nodes = Vec::new();
        for client in &config.clients {
            let scsi = match self.clients.get(&client.name) {
                Some((old, scsi)) if old.target == client.target && old.luns == client.luns => {
                    scsi.clone()
                }
                _ => Arc::new(open_client(&mut self.devices, client)?),
            };
            targets.insert(
                client.target.as_str().to_ascii_lowercase(),
                ClientTarget {
                    name: client.name.clone(),
                    scsi: scsi.clone(),
                },
            );
            nodes.push(node(client));
            clients.insert(client.name.clone(), (client.clone(), scsi));
        }
        let engine = TargetConfig {
            portals: vec![config.listen.to_string()],
            targets: nodes,
            limits: config.limits,
            ..TargetConfig::default()
        };
        engine
            .validate()
            .context("checking the target configuration")?;
        let gone = self
            .clients
            .iter()
            .filter(|(name, (old, _))| clients.get(*name).is_none_or(|(new, _)| new != old))
            .map(|(name, _)| name.clone())
            .collect();
        self.clients = clients;
        Ok((
            Live {
                config: Arc::new(engine),
                targets,
            },
            gone,
        ))
    }
}

/// Runs `serve --config PATH` until SIGINT or SIGTERM.
///
/// # Errors
/// The config is invalid, a disk cannot be opened, the address cannot be bound, or a disk
/// cannot be flushed at the end.
pub(crate) fn run(
    config_path: &Path,
    listen: Option<SocketAddr>,
    golden_cache: Option<u64>,
) -> Result<()> {
    let mut config = ServeConfig::load(config_path)?;
    if let Some(addr) = listen {
        config.listen = addr;
    }
    if let Some(bytes) = golden_cache {
        config.golden_cache = bytes;
    }
    run_config(config)
}

/// Serves an already checked `config` until SIGINT or SIGTERM.
///
/// # Errors
/// As [`run`], without the config file's.
pub(crate) fn run_config(config: ServeConfig) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(serve(config, None))
}

/// A state directory being served.
struct Following {
    dir: StateDir,
    /// The TFTP server's address, if it runs.
    tftp: Option<SocketAddr>,
}

/// Runs `serve --state DIR` until SIGINT or SIGTERM, following the state's changes.
///
/// # Errors
/// As [`run`]; the state file is invalid.
pub(crate) fn run_state(
    dir: &Path,
    listen: Option<SocketAddr>,
    tftp: Option<SocketAddr>,
    golden_cache: Option<u64>,
) -> Result<()> {
    let dir = StateDir::new(dir);
    dir.require()?;
    dir.create()?;
    let listen = listen.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 3260)));
    let mut config = dir.load()?.serve_config(&dir, listen)?;
    config.golden_cache = golden_cache.unwrap_or(0);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(serve(config, Some(Following { dir, tftp })))
}

/// What identifies a version of the state file: modification time, size, inode.
type Stamp = Option<(std::time::SystemTime, u64, u64)>;

fn stamp(path: &Path) -> Stamp {
    use std::os::unix::fs::MetadataExt as _;
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len(), m.ino()))
}

/// Re-reads the state and swaps in its configuration; closes the sessions of the clients
/// that are gone or changed.
fn reload(
    shared: &Shared,
    builder: &mut Builder,
    dir: &StateDir,
    listen: SocketAddr,
) -> Result<()> {
    let config = dir.load()?.serve_config(dir, listen)?;
    let (live, gone) = builder.build(&config)?;
    let count = live.targets.len();
    shared.swap(live);
    let mut closed: Vec<String> = Vec::new();
    if let Ok(sessions) = shared.sessions.lock() {
        for handle in sessions.values() {
            if let Some(c) = handle.client.as_ref().filter(|c| gone.contains(c)) {
                handle.close.notify_one();
                if !closed.contains(c) {
                    closed.push(c.clone());
                }
            }
        }
    }
    eprintln!(
        "diskless-target: reloaded {}: {count} target(s){}",
        dir.state_file().display(),
        if closed.is_empty() {
            String::new()
        } else {
            format!("; closed the sessions of {}", closed.join(", "))
        }
    );
    Ok(())
}

/// Serves `config` until SIGINT or SIGTERM (and follows a state directory's changes).
async fn serve(config: ServeConfig, following: Option<Following>) -> Result<()> {
    let mut builder = Builder::new(&config)?;
    let (live, _) = builder.build(&config)?;
    let run_dir = following.as_ref().map(|f| f.dir.run_dir());
    if let Some(run) = &run_dir {
        // Markers left by a server that did not end cleanly.
        let _ = std::fs::remove_dir_all(run);
        std::fs::create_dir_all(run).with_context(|| format!("creating {}", run.display()))?;
    }
    let shared = Arc::new(Shared {
        live: RwLock::new(Arc::new(live)),
        registry: SessionRegistry::new(),
        empty: Arc::new(ScsiTarget::new()),
        sessions: Mutex::new(HashMap::new()),
        run_dir,
        next_connection: AtomicU64::new(1),
    });
    // The handlers exist before the port is open, so a signal sent as soon as the server accepts
    // connections stops it cleanly.
    use tokio::signal::unix::{SignalKind, signal};
    let mut sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut sighup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    eprintln!(
        "diskless-target: serving {} target(s) on {}",
        config.clients.len(),
        listener.local_addr().unwrap_or(config.listen)
    );
    for c in &config.clients {
        eprintln!(
            "diskless-target:   {} -> {} (LUNs {:?})",
            c.name,
            c.target,
            c.luns.iter().map(|l| l.id).collect::<Vec<_>>()
        );
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut loaded = following.as_ref().and_then(|f| stamp(&f.dir.state_file()));
    let mut tftp_task = None;
    if let Some(f) = &following {
        eprintln!(
            "diskless-target: following {} (checked every second; SIGHUP reloads now)",
            f.dir.state_file().display()
        );
        if let Some(addr) = f.tftp {
            let server =
                crate::tftp::Server::bind(&f.dir.tftp_dir(), addr, crate::tftp::Config::default())
                    .await?;
            eprintln!(
                "diskless-target: tftp: serving {} on {} (read-only)",
                f.dir.tftp_dir().display(),
                server.local_addr()?
            );
            let mut stop = stop_rx.clone();
            tftp_task = Some(tokio::spawn(server.run(async move {
                let _ = stop.wait_for(|s| *s).await;
            })));
        }
    }
    loop {
        let mut changed = false;
        tokio::select! {
            accepted = listener.accept() => {
                match accepted {
                    Ok((socket, peer)) => {
                        let _ = socket.set_nodelay(true);
                        let shared = shared.clone();
                        let stop = stop_rx.clone();
                        connections.spawn(async move {
                            if let Err(e) = connection(socket, shared, stop).await {
                                eprintln!("diskless-target: {peer}: {e:#}");
                            }
                        });
                    }
                    Err(e) => {
                        eprintln!("diskless-target: accept: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = sigint.recv() => break,
            _ = sigterm.recv() => break,
            _ = tick.tick(), if following.is_some() => {}
            _ = sighup.recv() => changed = true,
        }
        if let Some(f) = &following {
            let now = stamp(&f.dir.state_file());
            if changed || now != loaded {
                loaded = now;
                if let Err(e) = reload(&shared, &mut builder, &f.dir, config.listen) {
                    eprintln!(
                        "diskless-target: {}: {e:#}; still serving the previous configuration",
                        f.dir.state_file().display()
                    );
                }
            }
        } else if changed {
            eprintln!("diskless-target: SIGHUP: nothing to reload (serve --state follows changes)");
        }
    }
    eprintln!("diskless-target: shutting down");
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        eprintln!(
            "diskless-target: connections still busy after {SHUTDOWN_GRACE:?}; aborting them"
        );
        connections.shutdown().await;
    }
    if let Some(task) = tftp_task {
        match task.await {
            Ok(Err(e)) => eprintln!("diskless-target: tftp: {e:#}"),
            Err(e) => eprintln!("diskless-target: tftp: {e}"),
            Ok(Ok(())) => {}
        }
    }
    builder.devices.flush_all()?;
    eprintln!("diskless-target: disks flushed; bye");
    Ok(())
}

/// A finished SCSI command, from the worker back to its connection.
type Completion = (TaskId, TaskOutcome);

/// What a connection's worker runs.
enum Work {
    /// A SCSI command against the session's target.
    Command(ScsiTask),
    /// A task management function, answered through the connection.
    Tmf(iscsi_target::TaskManagement),
}

/// What the worker reports back.
enum Done {
    /// A SCSI command finished.
    Command(Completion),
    /// A task management function was applied.
    Tmf(TaskId, TmfResponse),
}

/// The session context the worker executes in.
#[derive(Clone)]
struct Nexus {
    target: Arc<ScsiTarget>,
    nexus: ItNexus,
}

/// Runs one SCSI command.
fn execute(ctx: &Nexus, task: &ScsiTask) -> TaskOutcome {
    let attribute = match task.attribute {
        iscsi_pdu::TaskAttribute::Ordered => scsi::TaskAttribute::Ordered,
        iscsi_pdu::TaskAttribute::HeadOfQueue => scsi::TaskAttribute::HeadOfQueue,
        iscsi_pdu::TaskAttribute::Aca => scsi::TaskAttribute::Aca,
        _ => scsi::TaskAttribute::Simple,
    };
    let request = CommandRequest {
        cdb: &task.cdb,
        data_out: &task.data_out,
        expected_length: task.expected_length,
        attribute,
    };
    let response = ctx.target.execute(task.lun, &ctx.nexus, &request);
    TaskOutcome {
        status: response.status.0,
        sense: response.sense,
        data_in: response.data_in,
        transfer_length: response.transfer_length,
    }
}

/// Applies one task management function.
fn task_management(ctx: &Nexus, tmf: &iscsi_target::TaskManagement) -> TmfResponse {
    use iscsi_pdu::TmfFunction as F;
    let function = match tmf.function {
        F::AbortTask => return tmf.proposed,
        F::AbortTaskSet => scsi::TmfFunction::AbortTaskSet,
        F::ClearAca => scsi::TmfFunction::ClearAca,
        F::ClearTaskSet => scsi::TmfFunction::ClearTaskSet,
        F::LogicalUnitReset => scsi::TmfFunction::LogicalUnitReset,
        F::TargetWarmReset => scsi::TmfFunction::TargetWarmReset,
        F::TargetColdReset => scsi::TmfFunction::TargetColdReset,
        F::TaskReassign => scsi::TmfFunction::TaskReassign,
        _ => return TmfResponse::NotSupported,
    };
    match ctx
        .target
        .task_management(Some(tmf.lun), &ctx.nexus, function)
    {
        scsi::TmfOutcome::Complete => tmf.proposed,
        scsi::TmfOutcome::LunNotFound => TmfResponse::LunDoesNotExist,
        scsi::TmfOutcome::NotSupported => TmfResponse::NotSupported,
    }
}

/// The worker: runs the connection's commands and task management functions in arrival order
/// on a blocking thread.
fn worker(ctx: Nexus, mut work: mpsc::UnboundedReceiver<Work>, done: mpsc::UnboundedSender<Done>) {
    while let Some(item) = work.blocking_recv() {
        let result = match item {
            Work::Command(task) => Done::Command((task.id, execute(&ctx, &task))),
            Work::Tmf(tmf) => Done::Tmf(tmf.id, task_management(&ctx, &tmf)),
        };
        if done.send(result).is_err() {
            break;
        }
    }
}

/// Microseconds since `start`, as the engine's clock.
fn now(start: tokio::time::Instant) -> iscsi_target::Instant {
    iscsi_target::Instant(u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX))
}

/// Drives one TCP connection to its end.
async fn connection(
    mut socket: TcpStream,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) -> Result<()> {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).map_err(|e| anyhow::anyhow!("getrandom: {e}"))?;
    let mut conn = Connection::new(
        shared.live().config.clone(),
        shared.registry.clone(),
        random,
    );
    let connection_number = shared.next_connection.fetch_add(1, Ordering::Relaxed);
    let mut marker: Option<PathBuf> = None;
    let close_me = Arc::new(Notify::new());
    let (ended_tx, ended_rx) = watch::channel(false);
    let start = tokio::time::Instant::now();
    let mut input = BytesMut::with_capacity(64 << 10);
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
    let mut carried = Carried::default();
    let mut write_error: Option<std::io::Error> = None;
    let mut closing = false;
    let mut stopping = *stop.borrow();
    if stopping {
        conn.shutdown();
    }

    loop {
        // 1. Act on what the engine asks.
        while let Some(event) = conn.poll_event() {
            match event {
                Event::LoggedIn {
                    session: info,
                    replaces,
                } => {
                    if let Some(old) = replaces {
                        reinstate(&shared, old).await;
                    }
                    // The target as the current configuration has it: a client removed since
                    // this connection started has none, and its login ends here.
                    let client = match &info.target_name {
                        None => None,
                        Some(t) => {
                            let found = shared
                                .live()
                                .targets
                                .get(&t.as_str().to_ascii_lowercase())
                                .cloned();
                            if found.is_none() {
                                conn.shutdown();
                                continue;
                            }
                            found
                        }
                    };
                    if let (Some(run), Some(c)) = (&shared.run_dir, &client) {
                        marker = write_marker(
                            &run.join(&c.name),
                            connection_number,
                            info.initiator_name.as_str(),
                            &peer_name(&socket),
                        );
                    }
                    eprintln!(
                        "diskless-target: {}: {} logged in to {}",
                        peer_name(&socket),
                        shown(Some(info.initiator_name.as_str())),
                        match (&client, &info.target_name) {
                            (Some(c), Some(t)) => format!("{} (client {})", t.as_str(), c.name),
                            _ => "a discovery session".to_string(),
                        }
                    );
                    let name = client.as_ref().map(|c| c.name.clone());
                    let target = client.map_or_else(|| shared.empty.clone(), |c| c.scsi);
                    let ctx = Nexus {
                        target,
                        nexus: ItNexus::new(info.initiator_name.as_str(), info.isid.0),
                    };
                    if let Ok(mut m) = shared.sessions.lock() {
                        m.insert(
                            info.id,
                            SessionHandle {
                                close: close_me.clone(),
                                client: name,
                                nexus: ctx.clone(),
                                ended: ended_rx.clone(),
                            },
                        );
                    }
                    let (tx, rx) = mpsc::unbounded_channel();
                    let done = done_tx.clone();
                    let worker_ctx = ctx.clone();
                    carried.worker = Some(tokio::task::spawn_blocking(move || {
                        worker(worker_ctx, rx, done)
                    }));
                    carried.work = Some(tx);
                    carried.session = Some((info.id, ctx));
                }
                Event::ScsiCommand(task) => {
                    if let Some(tx) = &carried.work {
                        let _ = tx.send(Work::Command(task));
                    } else {
                        // The engine hands commands over only in the full feature phase.
                        let _ = conn.complete_task(task.id, TaskOutcome::default());
                    }
                }
                Event::TaskManagement(tmf) => {
                    if let Some(tx) = &carried.work {
                        let _ = tx.send(Work::Tmf(tmf));
                    } else {
                        let _ = conn.complete_task_management(tmf.id, tmf.proposed);
                    }
                }
                Event::LoggedOut { .. } => {
                    let (initiator, target) = conn.login_names();
                    eprintln!(
                        "diskless-target: {}: {} logged out of {}",
                        peer_name(&socket),
                        shown(initiator),
                        target
                            .map_or_else(|| "a discovery session".to_string(), |t| shown(Some(t)))
                    );
                    // Before the Logout Response goes out (the engine hands it over now).
                    carried.end(&shared, &close_me).await;
                }
                Event::Close { reason } => {
                    closing = true;
                    if reason == CloseReason::ColdReset {
                        cold_reset(&shared, carried.session.as_ref().map(|(id, _)| *id));
                    }
                    let peer = peer_name(&socket);
                    match reason {
                        CloseReason::Logout | CloseReason::Shutdown => {}
                        CloseReason::LoginFailed(status) => {
                            let (initiator, target) = conn.login_names();
                            eprintln!(
                                "diskless-target: {peer}: login refused ({}): initiator {}, \
                                 target {}",
                                refusal(status),
                                shown(initiator),
                                shown(target)
                            );
                        }
                        other => {
                            eprintln!("diskless-target: {peer}: connection closed: {other:?}")
                        }
                    }
                }
                // Events of later engine versions: this driver does not know them yet.
                _ => {}
            }
        }
        // 2. Send what the engine queued. A peer that stops reading blocks the write; a close
        // (reinstatement, cold reset, a removed client) still ends the connection then.
        let mut abandoned = false;
        while let Some(mut pdu) = conn.poll_transmit() {
            tokio::select! {
                written = socket.write_all_buf(&mut pdu) => {
                    if let Err(e) = written {
                        write_error = Some(e);
                        break;
                    }
                }
                _ = close_me.notified() => {
                    abandoned = true;
                    break;
                }
            }
        }
        if closing || abandoned || write_error.is_some() {
            break;
        }
        // The engine reports Event::Close once its last PDUs are out: a connection that just
        // sent them (a failed login, a Logout Response, a cold reset's answer) ends now, not when
        // the peer next sends or hangs up.
        if conn.is_closing() {
            continue;
        }
        // 3. Wait for input, a finished task, a timer, or a stop.
        let deadline = conn
            .poll_timeout()
            .map(|t| start + Duration::from_micros(t.0));
        let read_allowed = input.len() < MAX_PENDING_INPUT;
        if input.capacity() - input.len() < 16 << 10 {
            input.reserve(64 << 10);
        }
        tokio::select! {
            read = socket.read_buf(&mut input), if read_allowed => {
                let ended = match read {
                    Ok(0) => "closed by the initiator without a logout".to_string(),
                    Err(e) => format!("lost: {e}"),
                    Ok(_) => {
                        conn.handle_bytes(&mut input);
                        continue;
                    }
                };
                // A logged-in session that ends this way is a client that crashed, was
                // powered off or lost the network: say so, as logins and logouts are.
                if carried.session.is_some() {
                    eprintln!("diskless-target: {}: connection {ended}", peer_name(&socket));
                }
                break;
            }
            Some(done) = done_rx.recv() => {
                match done {
                    Done::Command((id, outcome)) => { let _ = conn.complete_task(id, outcome); }
                    Done::Tmf(id, response) => { let _ = conn.complete_task_management(id, response); }
                }
                // Input the engine held back while its output queue was full.
                if !input.is_empty() {
                    conn.handle_bytes(&mut input);
                }
            }
            _ = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            } => conn.handle_timeout(now(start)),
            _ = close_me.notified() => conn.shutdown(),
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    conn.shutdown();
                }
            }
        }
    }

    carried.end(&shared, &close_me).await;
    let _ = ended_tx.send(true);
    if let Some(path) = marker {
        let _ = std::fs::remove_file(&path);
    }
    let _ = socket.shutdown().await;
    match write_error {
        Some(e) => Err(anyhow::Error::new(e).context("writing to the socket")),
        None => Ok(()),
    }
}

/// The session a connection carries once logged in: the worker that runs its commands, and
/// its id and nexus.
#[derive(Default)]
struct Carried {
    /// Commands and task management for the worker.
    work: Option<mpsc::UnboundedSender<Work>>,
    /// The worker (a blocking task).
    worker: Option<tokio::task::JoinHandle<()>>,
    /// The session's id, LUNs and I_T nexus.
    session: Option<(SessionId, Nexus)>,
}

impl Carried {
    /// Ends the session, if there is one (again: a no-op): lets its running commands finish,
    /// then forgets the session and its I_T nexus (SPC-2 reservations, unit attentions), unless
    /// a reinstating login has taken the session over (see [`reinstate`]).
    async fn end(&mut self, shared: &Shared, close_me: &Arc<Notify>) {
        drop(self.work.take());
        if let Some(handle) = self.worker.take() {
            let _ = handle.await;
        }
        if let Some((id, ctx)) = self.session.take() {
            let owned = shared.sessions.lock().map_or(true, |mut m| {
                let ours = m.get(&id).is_some_and(|h| Arc::ptr_eq(&h.close, close_me));
                if ours {
                    m.remove(&id);
                }
                ours
            });
            if owned {
                ctx.target.nexus_lost(&ctx.nexus);
            }
        }
    }
}

/// A login reinstates session `old` (same initiator, ISID and target; RFC 7143 §6.3.5, a
/// rebooted client): closes its connection, waits (at most [`REINSTATE_WAIT`]) for its running
/// commands to finish, and ends its I_T nexus here, before the new login is answered, so that
/// the old session's teardown cannot release what the new session has taken meanwhile.
async fn reinstate(shared: &Shared, old: SessionId) {
    let Some(handle) = shared.sessions.lock().ok().and_then(|mut m| m.remove(&old)) else {
        return;
    };
    handle.close.notify_one();
    let mut ended = handle.ended;
    let _ = tokio::time::timeout(REINSTATE_WAIT, ended.wait_for(|done| *done)).await;
    handle.nexus.target.nexus_lost(&handle.nexus.nexus);
}

/// A TARGET COLD RESET was answered on session `from`: closes every other connection to the same
/// target, as RFC 7143 §11.5.1 asks (the target drops all of its connections). Other clients' targets
/// are separate iSCSI targets and carry on.
fn cold_reset(shared: &Shared, from: Option<SessionId>) {
    let Some(from) = from else { return };
    let Ok(sessions) = shared.sessions.lock() else {
        return;
    };
    let Some(client) = sessions.get(&from).and_then(|h| h.client.clone()) else {
        return;
    };
    for (id, handle) in sessions.iter() {
        if *id != from && handle.client.as_deref() == Some(client.as_str()) {
            handle.close.notify_one();
        }
    }
}

/// Writes the marker of a logged-in session under `dir` (a client's directory in `run/`);
/// returns its path, or `None` (logged) if it cannot be written.
fn write_marker(dir: &Path, connection: u64, initiator: &str, peer: &str) -> Option<PathBuf> {
    let path = dir.join(format!("conn-{connection}"));
    let marker = SessionMarker {
        pid: Some(std::process::id()),
        initiator: initiator.to_string(),
        peer: peer.to_string(),
    };
    match std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, marker.render())) {
        Ok(()) => Some(path),
        Err(e) => {
            eprintln!(
                "diskless-target: writing the session marker {}: {e}",
                path.display()
            );
            None
        }
    }
}

/// What a login failure status means to an admin reading the log.
fn refusal(status: iscsi_pdu::LoginStatus) -> String {
    use iscsi_pdu::LoginStatus as S;
    let what = match status {
        S::AUTH_FAILURE => "CHAP authentication failed",
        S::AUTHORIZATION_FAILURE => "this initiator is not among the target's `initiators`",
        S::NOT_FOUND => "no such target",
        S::MISSING_PARAMETER => "a required key is missing",
        S::INVALID_DURING_LOGIN => "a non-login PDU during login",
        S::SESSION_TYPE_NOT_SUPPORTED => "unknown session type",
        _ => status.name().unwrap_or("login failure"),
    };
    format!("{}/{}, {what}", status.class(), status.detail())
}

/// A name an initiator sent, fit for one log line: escaped, cut at 223 bytes (the longest iSCSI
/// name), or `-` when there is none.
fn shown(name: Option<&str>) -> String {
    match name {
        None => "-".to_string(),
        Some(n) => {
            let mut cut = n.len().min(223);
            while !n.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("`{}`", n[..cut].escape_debug())
        }
    }
}

/// The peer's address, for messages.
fn peer_name(socket: &TcpStream) -> String {
    socket
        .peer_addr()
        .map_or_else(|_| "?".to_string(), |a| a.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_the_log_are_escaped_and_cut() {
        assert_eq!(shown(None), "-");
        assert_eq!(shown(Some("iqn.x:a")), "`iqn.x:a`");
        assert_eq!(shown(Some("a\nb\u{1b}[2J")), "`a\\nb\\u{1b}[2J`");
        let long = "é".repeat(200);
        let cut = shown(Some(&long));
        assert_eq!(cut.chars().filter(|c| *c == 'é').count(), 111);
    }

    #[test]
    fn refusals_read_as_words() {
        assert_eq!(
            refusal(iscsi_pdu::LoginStatus::AUTHORIZATION_FAILURE),
            "2/2, this initiator is not among the target's `initiators`"
        );
        assert_eq!(
            refusal(iscsi_pdu::LoginStatus::TARGET_ERROR),
            "3/0, TARGET_ERROR"
        );
    }
}
