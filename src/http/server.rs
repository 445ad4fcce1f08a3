//! Listening, accepting and stopping.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::unix::io::{FromRawFd, IntoRawFd};
use std::sync::Arc;
use std::time::Duration;

use log::{error, info, warn, Level};
use may::coroutine::{self, JoinHandle};
use may::net::{TcpListener, TcpStream};
use socket2::{Domain, Protocol, Socket, Type};

use super::connection::serve_connection;
use super::deadline::Deadline;
use super::limits::Limits;
use super::router::Router;
use super::runtime::configure_may_defaults;
use super::state::ServerState;
use super::tracker::{Admission, ConnectionGuard};

/// How long the accept loop rests after a failed accept (out of file
/// descriptors, say) before it tries again, so it doesn't spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);
/// How often shutdown looks whether the connections are done.
const SHUTDOWN_POLL: Duration = Duration::from_millis(10);
const WAKE_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long shutdown waits for the woken accept loop, whatever the grace.
const ACCEPT_LOOP_STOP_WAIT: Duration = Duration::from_secs(1);
/// The kernel caps it at net.core.somaxconn.
const LISTEN_BACKLOG: i32 = 1024;
/// Causes of the front's log summaries for newcomers.
const EVICTED: &str = "full, closed the longest-waiting connection for a newcomer";
const TOO_MANY_FROM_ADDRESS: &str = "closed a newcomer over max_connections_per_ip";
const FULL: &str = "closed a newcomer, every connection busy";

/// Starts serving `router` on `listen` and returns at once; requests are
/// served on may coroutines.
///
/// Unless the caller configured may first, this sets may's coroutine stack
/// to 256 KiB and its workers to 2 (see `may::config()`); configure may before
/// the first call to choose otherwise. Handlers run on these coroutines: they
/// must not block the thread for long, nor keep thread-local state across a
/// may I/O call.
///
/// Binding fails if another socket already listens on the address.
pub fn serve(listen: SocketAddr, limits: Limits, router: Arc<Router>) -> io::Result<ServerHandle> {
    configure_may_defaults();
    let listener = bind(listen)?;
    let local_addr = listener.local_addr()?;
    let state = Arc::new(ServerState::new(limits, router));
    let loop_state = Arc::clone(&state);
    // SAFETY: the accept loop keeps no thread-local state, and its stack is
    // the configured coroutine stack.
    let accept_loop = unsafe {
        coroutine::Builder::new().spawn(move || accept_loop(listener, local_addr, loop_state))
    }?;
    info!("HTTP front listening on {local_addr}");
    Ok(ServerHandle { local_addr, state, accept_loop })
}

/// Binds like may's own `TcpListener::bind`, but without SO_REUSEPORT, with
/// which a second process could bind the same port and silently take part
/// of the traffic; and with a longer backlog than std's 128, so a burst of
/// connections waits in the queue instead of retrying a second later.
fn bind(listen: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(listen), Type::STREAM, Some(Protocol::TCP))?;
    // Lets a restarted server bind while old connections are in TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.bind(&listen.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    let listener: std::net::TcpListener = socket.into();
    // SAFETY: the descriptor comes from a listening socket we own and give up here.
    Ok(unsafe { TcpListener::from_raw_fd(listener.into_raw_fd()) })
}

/// A running server. Dropping it leaves the server running.
pub struct ServerHandle {
    local_addr: SocketAddr,
    state: Arc<ServerState>,
    accept_loop: JoinHandle<()>,
}

impl ServerHandle {
    /// The address actually bound, with the port chosen when 0 was asked for.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stop accepting at once, let in-flight requests finish for at most
    /// `grace`, then return. Idle keep-alive connections are closed right
    /// away; whatever is still open when `grace` runs out is cut off.
    /// Call it from a thread, not from a handler: the handler's own request
    /// would count as in flight.
    pub fn shutdown(self, grace: Duration) {
        let deadline = Deadline::after(grace);
        let addr = self.local_addr;
        self.state.begin_stopping();
        match wake_accept_loop(addr) {
            Ok(()) => {
                wait_until(Deadline::after(ACCEPT_LOOP_STOP_WAIT), || self.accept_loop.is_done())
            }
            Err(e) => error!("could not wake the accept loop on {addr} to stop it: {e}"),
        }
        if !self.accept_loop.is_done() {
            error!("the accept loop on {addr} did not stop; it will at its next connection");
        }
        // Only now is every accepted connection registered with the tracker.
        let idle = self.state.tracker.close_idle();
        let busy = self.open_connections().saturating_sub(idle);
        info!(
            "HTTP front on {addr} stopping: closed {idle} idle connection(s), waiting for {busy}"
        );
        wait_until(deadline, || self.open_connections() == 0);
        let cut = self.state.tracker.close_all();
        if cut > 0 {
            warn!("HTTP front on {addr}: grace of {grace:?} ran out; cut off {cut} connection(s)");
        }
        self.state.log.flush();
        info!("HTTP front on {addr} stopped");
    }

    pub fn open_connections(&self) -> usize {
        self.state.tracker.open()
    }
}

fn accept_loop(listener: TcpListener, addr: SocketAddr, state: Arc<ServerState>) {
    loop {
        let accepted = listener.accept();
        if state.is_stopping() {
            break;
        }
        match accepted {
            Ok((stream, peer)) => match state.tracker.admit(stream.inner(), peer.ip()) {
                Ok(Admission::Admitted { guard, evicted }) => {
                    if let Some(evicted) = evicted {
                        state.log.note(Level::Info, EVICTED, Some(evicted), || {
                            format!(
                                "HTTP front on {addr} is full ({} connections): closed the one \
                                 from {evicted} waiting longest for a request, for {peer}",
                                state.limits.max_connections
                            )
                        });
                    }
                    spawn_connection(stream, peer, guard, Arc::clone(&state));
                }
                Ok(Admission::TooManyFromAddress) => {
                    state.log.note(Level::Info, TOO_MANY_FROM_ADDRESS, Some(peer.ip()), || {
                        format!(
                            "HTTP front on {addr}: closed a new connection from {peer}: that \
                             address has {} open, its max_connections_per_ip",
                            state.limits.max_connections_per_ip
                        )
                    });
                }
                Ok(Admission::Full) => {
                    state.log.note(Level::Warn, FULL, Some(peer.ip()), || {
                        format!(
                            "HTTP front on {addr}: closed a new connection from {peer}: all {} \
                             connections (max_connections) are busy with requests",
                            state.limits.max_connections
                        )
                    });
                }
                Err(e) => warn!("closed the connection from {peer}: could not track it: {e}"),
            },
            Err(e) => {
                error!("accept failed on {addr}: {e}");
                coroutine::sleep(ACCEPT_ERROR_PAUSE);
            }
        }
    }
    info!("HTTP front on {addr} no longer accepts connections");
}

fn spawn_connection(
    stream: TcpStream,
    peer: SocketAddr,
    guard: ConnectionGuard,
    state: Arc<ServerState>,
) {
    // SAFETY: connection code keeps no thread-local state across may I/O
    // calls, and the stack is sized for handlers by `configure_may_defaults`.
    let spawned = unsafe {
        coroutine::Builder::new().spawn(move || {
            serve_connection(stream, peer, &state, guard.slot());
            drop(guard);
        })
    };
    // On failure the closure, guard included, is dropped: the place is freed.
    if let Err(e) = spawned {
        error!("could not start a coroutine for the connection from {peer}: {e}");
    }
}

/// The accept loop blocks in `accept`; one connection of our own makes it
/// look at the stopping flag.
fn wake_accept_loop(addr: SocketAddr) -> io::Result<()> {
    let target = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port())
        }
        _ => addr,
    };
    std::net::TcpStream::connect_timeout(&target, WAKE_CONNECT_TIMEOUT).map(drop)
}

/// Works from a thread or a coroutine (may's sleep falls back to the thread's).
fn wait_until(deadline: Deadline, done: impl Fn() -> bool) {
    while !done() && !deadline.has_passed() {
        coroutine::sleep(SHUTDOWN_POLL);
    }
}
