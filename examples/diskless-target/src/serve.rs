//! `diskless-target serve`: the tokio driver around the sans-IO crates.
//!
//! One [`iscsi_target::Connection`] per TCP connection. Bytes from the socket go into the
//! engine; the PDUs it queues go back out; the SCSI commands it hands over run, in arrival
//! order, on one blocking worker per connection against that client's [`scsi::ScsiTarget`],
//! whose LUNs are VHD (or raw) files. The golden image is opened once, read-only, and shared by
//! every client's differencing disk. SIGINT or SIGTERM stops accepting, ends every connection,
//! waits for running commands and flushes every disk.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
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
use crate::config::{Chap, ServeConfig};

/// Bytes of unprocessed input beyond which a connection stops reading from its socket (the
/// engine stops decoding while its output queue is full; this bounds what waits behind it).
const MAX_PENDING_INPUT: usize = 32 << 20;

/// How long shutdown waits for connections to finish their running commands.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// What every connection shares.
struct Shared {
    /// The engine's view: targets, ACLs, CHAP.
    config: Arc<TargetConfig>,
    /// Sessions by ISID, for reinstatement and TSIH allocation.
    registry: SessionRegistry,
    /// The SCSI side of each target, by lower-case target IQN.
    targets: HashMap<String, Arc<ScsiTarget>>,
    /// A target with no LUN, for commands that reach no configured target.
    empty: Arc<ScsiTarget>,
    /// How to close the connection carrying each live session (reinstatement).
    sessions: Mutex<HashMap<SessionId, Arc<Notify>>>,
}

/// Converts one CHAP table.
fn chap(c: &Chap) -> ChapCredentials {
    ChapCredentials::new(c.user.clone(), c.secret.as_bytes())
}

/// Builds the engine config and the SCSI targets, opening every LUN's file.
fn build(config: &ServeConfig) -> Result<(Shared, Devices)> {
    let mut devices = Devices::new(config.golden.as_deref())?;
    let mut targets = HashMap::new();
    let mut nodes = Vec::new();
    for client in &config.clients {
        let mut scsi_target = ScsiTarget::new();
        for lun in &client.luns {
            let device = devices
                .open(&lun.path, lun.kind, lun.read_only)
                .with_context(|| format!("client `{}`, LUN {}", client.name, lun.id))?;
            // The LU's identity (NAA designator, serial number) is derived from the target
            // name and LUN: unique per LU and stable across restarts.
            let identity = LuIdentity::from_name(&format!("{}/{}", client.target, lun.id));
            let lu = LogicalUnit::checked(device, identity)
                .with_context(|| format!("client `{}`, LUN {}", client.name, lun.id))?;
            scsi_target
                .add_lun(lun.id, lu)
                .with_context(|| format!("client `{}`, LUN {}", client.name, lun.id))?;
        }
        targets.insert(
            client.target.as_str().to_ascii_lowercase(),
            Arc::new(scsi_target),
        );
        let mut node = TargetNode::new(client.target.clone())
            .with_initiators(InitiatorAcl::only(client.initiators.iter().cloned()));
        if let Some(c) = &client.chap {
            node = node.with_chap(chap(c));
        }
        if let Some(c) = &client.mutual_chap {
            node = node.with_mutual_chap(chap(c));
        }
        nodes.push(node);
    }
    let engine = TargetConfig {
        portals: vec![config.listen.to_string()],
        targets: nodes,
        ..TargetConfig::default()
    };
    engine
        .validate()
        .context("checking the target configuration")?;
    let shared = Shared {
        config: Arc::new(engine),
        registry: SessionRegistry::new(),
        targets,
        empty: Arc::new(ScsiTarget::new()),
        sessions: Mutex::new(HashMap::new()),
    };
    Ok((shared, devices))
}

/// Runs `serve --config PATH` until SIGINT or SIGTERM.
///
/// # Errors
/// The config is invalid, a disk cannot be opened, the address cannot be bound, or a disk
/// cannot be flushed at the end.
pub(crate) fn run(config_path: &Path, listen: Option<SocketAddr>) -> Result<()> {
    let mut config = ServeConfig::load(config_path)?;
    if let Some(addr) = listen {
        config.listen = addr;
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
    runtime.block_on(serve(config))
}

/// Serves `config` until SIGINT or SIGTERM.
async fn serve(config: ServeConfig) -> Result<()> {
    let (shared, devices) = build(&config)?;
    let shared = Arc::new(shared);
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
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    loop {
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
            _ = tokio::signal::ctrl_c() => break,
            _ = sigterm.recv() => break,
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
    devices.flush_all()?;
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
    let mut conn = Connection::new(shared.config.clone(), shared.registry.clone(), random);
    let close_me = Arc::new(Notify::new());
    let start = tokio::time::Instant::now();
    let mut input = BytesMut::with_capacity(64 << 10);
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
    let mut work_tx: Option<mpsc::UnboundedSender<Work>> = None;
    let mut worker_handle = None;
    let mut session: Option<(SessionId, Nexus)> = None;
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
                    if let Some(old) = replaces
                        && let Some(n) = shared
                            .sessions
                            .lock()
                            .ok()
                            .and_then(|m| m.get(&old).cloned())
                    {
                        n.notify_one();
                    }
                    if let Ok(mut m) = shared.sessions.lock() {
                        m.insert(info.id, close_me.clone());
                    }
                    let target = info
                        .target_name
                        .as_ref()
                        .and_then(|t| shared.targets.get(&t.as_str().to_ascii_lowercase()))
                        .cloned()
                        .unwrap_or_else(|| shared.empty.clone());
                    let ctx = Nexus {
                        target,
                        nexus: ItNexus::new(info.initiator_name.as_str(), info.isid.0),
                    };
                    let (tx, rx) = mpsc::unbounded_channel();
                    let done = done_tx.clone();
                    let worker_ctx = ctx.clone();
                    worker_handle = Some(tokio::task::spawn_blocking(move || {
                        worker(worker_ctx, rx, done)
                    }));
                    work_tx = Some(tx);
                    session = Some((info.id, ctx));
                }
                Event::ScsiCommand(task) => {
                    if let Some(tx) = &work_tx {
                        let _ = tx.send(Work::Command(task));
                    } else {
                        // The engine hands commands over only in the full feature phase.
                        let _ = conn.complete_task(task.id, TaskOutcome::default());
                    }
                }
                Event::TaskManagement(tmf) => {
                    if let Some(tx) = &work_tx {
                        let _ = tx.send(Work::Tmf(tmf));
                    } else {
                        let _ = conn.complete_task_management(tmf.id, tmf.proposed);
                    }
                }
                Event::Close { reason } => {
                    closing = true;
                    if !matches!(reason, CloseReason::Logout | CloseReason::Shutdown) {
                        eprintln!(
                            "diskless-target: {}: connection closed: {reason:?}",
                            peer_name(&socket)
                        );
                    }
                }
            }
        }
        // 2. Send what the engine queued.
        while let Some(mut pdu) = conn.poll_transmit() {
            socket
                .write_all_buf(&mut pdu)
                .await
                .context("writing to the socket")?;
        }
        if closing {
            break;
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
                match read {
                    Ok(0) | Err(_) => break,
                    Ok(_) => conn.handle_bytes(&mut input),
                }
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

    // The session is over: let running commands finish, then forget the nexus.
    drop(work_tx);
    if let Some(handle) = worker_handle {
        let _ = handle.await;
    }
    if let Some((id, ctx)) = session {
        if let Ok(mut m) = shared.sessions.lock() {
            if m.get(&id).is_some_and(|n| Arc::ptr_eq(n, &close_me)) {
                m.remove(&id);
            }
        }
        ctx.target.nexus_lost(&ctx.nexus);
    }
    let _ = socket.shutdown().await;
    Ok(())
}

/// The peer's address, for messages.
fn peer_name(socket: &TcpStream) -> String {
    socket
        .peer_addr()
        .map_or_else(|_| "?".to_string(), |a| a.to_string())
}
