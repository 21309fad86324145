//! The tokio driver of the TFTP server: requests on the well-known socket, each transfer on its
//! own ephemeral socket (RFC 1350 section 4: the server's transfer ID is a new port), the file
//! streamed from disk, and the path confined to the root.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::Config;
use super::packet::{ErrorCode, MAX_PACKET, Packet, Request, error_packet};
use super::transfer::{Outcome, Refusal, Transfer};

/// A bound TFTP server, not yet serving: bind first to learn the address (port 0 picks one),
/// then [`Server::run`].
#[derive(Debug)]
pub(crate) struct Server {
    socket: UdpSocket,
    root: Arc<PathBuf>,
    config: Arc<Config>,
}

impl Server {
    /// Binds `addr` and checks that `root` is a directory.
    ///
    /// # Errors
    ///
    /// If `root` cannot be canonicalised or is no directory, or `addr` cannot be bound.
    pub(crate) async fn bind(root: &Path, addr: SocketAddr, config: Config) -> Result<Server> {
        let root =
            std::fs::canonicalize(root).with_context(|| format!("TFTP root {}", root.display()))?;
        if !root.is_dir() {
            anyhow::bail!("TFTP root {}: not a directory", root.display());
        }
        let socket = UdpSocket::bind(addr)
            .await
            .with_context(|| format!("binding TFTP socket {addr}"))?;
        Ok(Server {
            socket,
            root: Arc::new(root),
            config: Arc::new(config),
        })
    }

    /// The address the server listens on.
    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Serves until `shutdown` completes; then transfers still running are aborted (their
    /// clients time out and retry elsewhere or later).
    ///
    /// # Errors
    ///
    /// Only if the socket's address cannot be read; errors of single requests are logged.
    pub(crate) async fn run(self, shutdown: impl Future<Output = ()>) -> Result<()> {
        let local = self.socket.local_addr()?;
        // Transfer sockets bind to the same address as the well-known socket, port 0.
        let bind_ip = local.ip();
        let permits = Arc::new(Semaphore::new(self.config.max_transfers.max(1)));
        let mut transfers = JoinSet::new();
        let mut buf = vec![0u8; MAX_PACKET + 1];
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                Some(_) = transfers.join_next(), if !transfers.is_empty() => {}
                received = self.socket.recv_from(&mut buf) => {
                    let (n, peer) = match received {
                        Ok(r) => r,
                        Err(e) => {
                            eprintln!("diskless-target: tftp: receive: {e}");
                            continue;
                        }
                    };
                    let bytes = buf.get(..n).unwrap_or_default();
                    let request = match Packet::parse(bytes) {
                        Ok(Packet::Rrq(r)) => Ok(r),
                        Ok(Packet::Wrq(r)) => Err(Refusal::new(
                            ErrorCode::ACCESS_VIOLATION,
                            format!("{}: this server is read-only", r.filename),
                        )),
                        // RFC 1350: an ERROR packet is never answered.
                        Ok(Packet::Error { .. }) => continue,
                        Ok(Packet::Data { .. } | Packet::Ack { .. } | Packet::Oack { .. }) => {
                            Err(Refusal::new(ErrorCode::UNKNOWN_TID, "no such transfer"))
                        }
                        Err(e) => Err(Refusal::new(
                            ErrorCode::ILLEGAL_OPERATION,
                            format!("malformed request: {e}"),
                        )),
                    };
                    let request = match request {
                        Ok(r) => r,
                        Err(refusal) => {
                            eprintln!("diskless-target: tftp: {peer}: refused: {:?}", refusal.message);
                            let _ = self.socket.send_to(&refusal.packet(), peer).await;
                            continue;
                        }
                    };
                    let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                        let busy = error_packet(ErrorCode::NOT_DEFINED, "server busy, try again later");
                        let _ = self.socket.send_to(&busy, peer).await;
                        continue;
                    };
                    let root = Arc::clone(&self.root);
                    let config = Arc::clone(&self.config);
                    transfers.spawn(async move {
                        let filename = request.filename.clone();
                        match run_transfer(&root, &config, request, peer, bind_ip).await {
                            Ok(outcome) => log_outcome(peer, &filename, &outcome),
                            Err(e) => eprintln!("diskless-target: tftp: {peer}: {filename:?}: {e:#}"),
                        }
                        drop(permit);
                    });
                }
            }
        }
        transfers.shutdown().await;
        Ok(())
    }
}

/// Serves the files under `root` on `addr` until `shutdown` completes: [`Server::bind`] then
/// [`Server::run`].
///
/// # Errors
///
/// As [`Server::bind`].
#[allow(dead_code)] // the entry point for `serve`/deploy, which start it next to the iSCSI listener
pub(crate) async fn serve(
    root: &Path,
    addr: SocketAddr,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    Server::bind(root, addr, config).await?.run(shutdown).await
}

fn log_outcome(peer: SocketAddr, filename: &str, outcome: &Outcome) {
    match outcome {
        Outcome::Complete { bytes } => {
            eprintln!("diskless-target: tftp: {peer}: sent {filename:?} ({bytes} bytes)");
        }
        Outcome::ClientError { code, message } => {
            eprintln!(
                "diskless-target: tftp: {peer}: {filename:?}: client error {code:?}: {message:?}"
            );
        }
        Outcome::TimedOut => eprintln!("diskless-target: tftp: {peer}: {filename:?}: timed out"),
        Outcome::Protocol(m) => eprintln!("diskless-target: tftp: {peer}: {filename:?}: {m:?}"),
        Outcome::ReadFailed => eprintln!("diskless-target: tftp: {peer}: {filename:?}: read error"),
    }
}

/// The file `filename` names under `root` (canonical), or why it may not be served.
///
/// Refused: empty names, absolute names (`/x`, and `\` anywhere, a DOS separator), control
/// characters, any `..` component, and anything whose canonical path (symlinks resolved) is not
/// under `root` or is not a regular file.
pub(crate) fn resolve(root: &Path, filename: &str) -> Result<PathBuf, Refusal> {
    let refuse = |why: &str| {
        Err(Refusal::new(
            ErrorCode::ACCESS_VIOLATION,
            format!("{filename}: {why}"),
        ))
    };
    if filename.is_empty() {
        return Err(Refusal::new(ErrorCode::FILE_NOT_FOUND, "empty file name"));
    }
    if filename.starts_with('/') || filename.contains('\\') {
        return refuse("absolute paths are refused; name a file under the server's root");
    }
    if filename.chars().any(char::is_control) {
        return refuse("control characters in the file name");
    }
    let relative = Path::new(filename);
    for component in relative.components() {
        match component {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => return refuse("\"..\" is refused"),
            Component::RootDir | Component::Prefix(_) => {
                return refuse("absolute paths are refused");
            }
        }
    }
    let canonical = match std::fs::canonicalize(root.join(relative)) {
        Ok(p) => p,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            return refuse("permission denied");
        }
        Err(_) => {
            return Err(Refusal::new(
                ErrorCode::FILE_NOT_FOUND,
                format!("{filename}: file not found"),
            ));
        }
    };
    if !canonical.starts_with(root) {
        return refuse("outside the server's root");
    }
    if !canonical.is_file() {
        return refuse("not a regular file");
    }
    Ok(canonical)
}

/// Opens the file for a request: its handle and size, or the refusal to send.
async fn open(root: &Path, filename: &str) -> Result<(tokio::fs::File, u64), Refusal> {
    let root = root.to_path_buf();
    let name = filename.to_owned();
    let path = tokio::task::spawn_blocking(move || resolve(&root, &name))
        .await
        .map_err(|_| Refusal::new(ErrorCode::NOT_DEFINED, "internal error"))??;
    let not_readable = |_| {
        Refusal::new(
            ErrorCode::ACCESS_VIOLATION,
            format!("{filename}: cannot read it"),
        )
    };
    let file = tokio::fs::File::open(&path).await.map_err(not_readable)?;
    let meta = file.metadata().await.map_err(not_readable)?;
    if !meta.is_file() {
        return Err(Refusal::new(
            ErrorCode::ACCESS_VIOLATION,
            format!("{filename}: not a regular file"),
        ));
    }
    Ok((file, meta.len()))
}

/// Reads up to `len` bytes at `offset` (fewer only at end of file).
async fn read_at(
    file: &mut tokio::fs::File,
    position: &mut u64,
    offset: u64,
    len: usize,
    buf: &mut Vec<u8>,
) -> io::Result<()> {
    if *position != offset {
        file.seek(io::SeekFrom::Start(offset)).await?;
        *position = offset;
    }
    buf.clear();
    buf.resize(len, 0);
    let mut filled = 0;
    while filled < len {
        let n = file.read(&mut buf[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    buf.truncate(filled);
    *position += filled as u64;
    Ok(())
}

/// One transfer on its own socket, driving the sans-IO [`Transfer`].
async fn run_transfer(
    root: &Path,
    config: &Config,
    request: Request,
    peer: SocketAddr,
    bind_ip: IpAddr,
) -> Result<Outcome> {
    let socket = UdpSocket::bind(SocketAddr::new(bind_ip, 0))
        .await
        .context("binding a transfer socket")?;
    let (mut file, size) = match open(root, &request.filename).await {
        Ok(f) => f,
        Err(refusal) => {
            let _ = socket.send_to(&refusal.packet(), peer).await;
            return Ok(Outcome::Protocol(format!("refused: {}", refusal.message)));
        }
    };
    let mut transfer = match Transfer::start(&request, size, config, Instant::now()) {
        Ok(t) => t,
        Err(refusal) => {
            let _ = socket.send_to(&refusal.packet(), peer).await;
            return Ok(Outcome::Protocol(format!("refused: {}", refusal.message)));
        }
    };
    let mut position = 0u64;
    let mut data = Vec::new();
    let mut buf = vec![0u8; 2048];
    let mut receive_errors = 0u32;
    loop {
        while let Some(want) = transfer.poll_read() {
            match read_at(&mut file, &mut position, want.offset, want.len, &mut data).await {
                Ok(()) => transfer.supply(Instant::now(), &data),
                Err(_) => transfer.read_failed(),
            }
        }
        while let Some(packet) = transfer.poll_transmit() {
            socket
                .send_to(&packet, peer)
                .await
                .context("sending to the client")?;
        }
        if let Some(outcome) = transfer.outcome() {
            return Ok(outcome.clone());
        }
        let Some(deadline) = transfer.poll_timeout() else {
            // Not reachable: a live transfer that is not reading waits for an ACK.
            anyhow::bail!("transfer stalled");
        };
        tokio::select! {
            received = socket.recv_from(&mut buf) => match received {
                Ok((n, from)) if from == peer => {
                    transfer.handle_datagram(Instant::now(), buf.get(..n).unwrap_or_default());
                }
                Ok((_, from)) => {
                    // RFC 1350: a packet from another TID gets an ERROR, and the transfer goes on.
                    let stray = error_packet(ErrorCode::UNKNOWN_TID, "unknown transfer ID");
                    let _ = socket.send_to(&stray, from).await;
                }
                Err(e) => {
                    receive_errors += 1;
                    if receive_errors > 16 {
                        return Err(e).context("receiving from the client");
                    }
                }
            },
            () = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => {
                transfer.handle_timeout(Instant::now());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system's temporary directory, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir = std::env::temp_dir().join(format!(
                "tftp-resolve-{name}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("temp dir");
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// The API the `serve`/deploy code uses: bind, spawn `run` next to the iSCSI listener,
    /// stop it with a future (here a oneshot; `serve` uses its `watch` stop channel).
    #[tokio::test]
    async fn runs_as_a_spawned_task_and_stops_on_the_shutdown_future() {
        let dir = TempDir::new("spawn");
        std::fs::write(dir.0.join("boot.ipxe"), b"#!ipxe\n").expect("write");
        let server = Server::bind(
            &dir.0,
            "127.0.0.1:0".parse().expect("addr"),
            Config::default(),
        )
        .await
        .expect("binds");
        let addr = server.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        let client = UdpSocket::bind("127.0.0.1:0").await.expect("client");
        let rrq = Packet::Rrq(Request {
            filename: "boot.ipxe".into(),
            mode: super::super::packet::Mode::Octet,
            options: Vec::new(),
        });
        client.send_to(&rrq.to_vec(), addr).await.expect("send");
        let mut buf = [0u8; 600];
        let (n, tid) = client.recv_from(&mut buf).await.expect("recv");
        assert_ne!(tid, addr);
        assert_eq!(
            Packet::parse(&buf[..n]),
            Ok(Packet::Data {
                block: 1,
                data: b"#!ipxe\n"
            })
        );
        client
            .send_to(&Packet::Ack { block: 1 }.to_vec(), tid)
            .await
            .expect("ack");
        let _ = stop.send(());
        tokio::time::timeout(std::time::Duration::from_secs(5), task)
            .await
            .expect("stops")
            .expect("joins")
            .expect("runs cleanly");
    }

    #[test]
    fn resolves_files_under_the_root_and_refuses_the_rest() {
        let outer = TempDir::new("outer");
        let root = outer.0.join("root");
        std::fs::create_dir_all(root.join("sub")).expect("mkdir");
        std::fs::write(root.join("boot.ipxe"), b"#!ipxe\n").expect("write");
        std::fs::write(root.join("sub/x.ipxe"), b"#!ipxe\n").expect("write");
        std::fs::write(outer.0.join("secret"), b"no").expect("write");
        std::os::unix::fs::symlink(outer.0.join("secret"), root.join("escape")).expect("symlink");
        std::os::unix::fs::symlink("sub/x.ipxe", root.join("inside")).expect("symlink");
        let root = std::fs::canonicalize(&root).expect("canonical");

        assert_eq!(resolve(&root, "boot.ipxe"), Ok(root.join("boot.ipxe")));
        assert_eq!(resolve(&root, "./sub//x.ipxe"), Ok(root.join("sub/x.ipxe")));
        assert_eq!(resolve(&root, "inside"), Ok(root.join("sub/x.ipxe")));

        let code = |name: &str| resolve(&root, name).map_err(|r| r.code);
        for outside in [
            "../secret",
            "sub/../../secret",
            "sub/../boot.ipxe",
            "/etc/passwd",
            "\\etc\\passwd",
            "escape",
            "sub",
            "boot\n.ipxe",
        ] {
            assert_eq!(code(outside), Err(ErrorCode::ACCESS_VIOLATION), "{outside}");
        }
        assert_eq!(code("missing"), Err(ErrorCode::FILE_NOT_FOUND));
        assert_eq!(code(""), Err(ErrorCode::FILE_NOT_FOUND));
    }
}
