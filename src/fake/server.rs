//! The server loop: a listening socket and the thread that accepts on it,
//! one thread per connection, and a pool of idle servers.
//!
//! A server serves whichever simulator is installed in it. `FakeIam::start`
//! takes an idle server from the pool (or binds a new one) and installs a
//! fresh simulator; dropping the simulator uninstalls it, closes its
//! connections and puts the server back, without waking or joining any
//! thread. So a simulator per test costs about what a pooled mock server
//! does, and each test still gets its own account, clock, faults and
//! request log: a connection a server accepts is served by the simulator
//! installed at that moment, or closed when there is none.

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::http;
use super::shared::{Shared, lock};

/// The most connections served at once; more are answered 503 and closed.
const MAX_CONNECTIONS: usize = 256;

/// The most idle servers kept for the next simulators; a simulator dropped
/// when the pool is full stops for good.
const POOL_SIZE: usize = 16;

/// Idle servers, listening, with nothing installed.
static POOL: Mutex<Vec<Server>> = Mutex::new(Vec::new());

/// Connection threads waiting for their next connection, of any server.
static IDLE_THREADS: Mutex<Vec<Sender<Job>>> = Mutex::new(Vec::new());

/// The most connection threads kept waiting; more end after their
/// connection.
const IDLE_THREADS_KEPT: usize = 64;

/// How long a waiting connection thread waits for a connection before it
/// ends.
const IDLE_THREAD_LIFE: Duration = Duration::from_secs(30);

/// A handle to each open connection's socket, to close it on stop. The
/// connection's thread removes its entry when the connection ends, so the
/// socket closes at once.
type Workers = Arc<Mutex<HashMap<u64, TcpStream>>>;

/// One connection for a connection thread to serve.
struct Job {
    stream: TcpStream,
    shared: Arc<Shared>,
    workers: Workers,
    id: u64,
    guard: LiveGuard,
}

impl Job {
    fn run(self) {
        http::serve(self.stream, &self.shared);
        // Dropping the entry closes the last handle to the socket, so the
        // connection does not linger in CLOSE_WAIT.
        let entry = lock(&self.workers).remove(&self.id);
        drop(entry);
        drop(self.guard);
    }
}

/// Hands `job` to a waiting connection thread, or to a new one. A thread
/// serves one connection after another, and waits for the next (for
/// [`IDLE_THREAD_LIFE`]) among at most [`IDLE_THREADS_KEPT`] others.
fn dispatch(job: Job) -> io::Result<()> {
    let mut job = job;
    loop {
        let Some(idle) = lock(&IDLE_THREADS).pop() else {
            break;
        };
        match idle.send(job) {
            Ok(()) => return Ok(()),
            // That thread has ended: try the next.
            Err(mpsc::SendError(back)) => job = back,
        }
    }
    let (sender, receiver) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("neuroio-fake-conn".into())
        .spawn(move || {
            job.run();
            loop {
                {
                    let mut idle = lock(&IDLE_THREADS);
                    if idle.len() >= IDLE_THREADS_KEPT {
                        return;
                    }
                    idle.push(sender.clone());
                }
                match receiver.recv_timeout(IDLE_THREAD_LIFE) {
                    Ok(next) => next.run(),
                    Err(_) => return,
                }
            }
        })?;
    Ok(())
}

/// Counts a connection as live until dropped (even by a panic).
struct LiveGuard(Arc<Shared>);

impl LiveGuard {
    fn new(shared: &Arc<Shared>) -> LiveGuard {
        *lock(&shared.live) += 1;
        LiveGuard(Arc::clone(shared))
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        let mut live = lock(&self.0.live);
        *live = live.saturating_sub(1);
        self.0.ended.notify_all();
    }
}

/// The simulator a server serves now, and the threads of its connections.
#[derive(Clone)]
struct Installed {
    shared: Arc<Shared>,
    workers: Workers,
}

/// What the acceptor thread reads for each connection it accepts.
#[derive(Default)]
struct Slot {
    current: Mutex<Option<Installed>>,
    /// The server stops for good: the acceptor returns.
    closing: AtomicBool,
}

/// A listening socket and its acceptor thread.
pub(super) struct Server {
    addr: SocketAddr,
    slot: Arc<Slot>,
    acceptor: Option<JoinHandle<()>>,
}

impl Server {
    /// Listens on `addr` and starts the acceptor, with nothing installed.
    pub(super) fn bind(addr: impl ToSocketAddrs) -> io::Result<Server> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let slot = Arc::new(Slot::default());
        let acceptor = {
            let slot = Arc::clone(&slot);
            std::thread::Builder::new()
                .name("neuroio-fake-accept".into())
                .spawn(move || accept_loop(&listener, &slot))?
        };
        Ok(Server {
            addr,
            slot,
            acceptor: Some(acceptor),
        })
    }

    /// An idle server from the pool, if there is one.
    pub(super) fn pooled() -> Option<Server> {
        lock(&POOL).pop()
    }

    pub(super) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves `shared` from now on.
    pub(super) fn install(&self, shared: Arc<Shared>) {
        *lock(&self.slot.current) = Some(Installed {
            shared,
            workers: Arc::new(Mutex::new(HashMap::new())),
        });
    }

    /// Stops serving the installed simulator and puts the server in the
    /// pool (or stops it, when the pool is full). Waits for nothing: no new
    /// connection reaches the simulator, those open are shut down, and
    /// their threads end on their own.
    pub(super) fn park(self) {
        let installed = lock(&self.slot.current).take();
        if let Some(installed) = installed {
            installed.shared.stopping.store(true, Ordering::SeqCst);
            for stream in lock(&installed.workers).values() {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
        let mut pool = lock(&POOL);
        if pool.len() < POOL_SIZE {
            pool.push(self);
        } else {
            drop(pool);
            self.stop();
        }
    }

    /// Stops for good: closes every connection, joins the acceptor and
    /// every connection's thread, and frees the port.
    pub(super) fn stop(mut self) {
        self.slot.closing.store(true, Ordering::SeqCst);
        let installed = lock(&self.slot.current).take();
        if let Some(installed) = &installed {
            installed.shared.stopping.store(true, Ordering::SeqCst);
        }
        // Wake the acceptor, blocked in accept(), so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        if let Some(installed) = installed {
            join_connections(&installed);
        }
    }
}

/// Closes every connection of `installed` and waits (bounded) until their
/// threads are done with it.
fn join_connections(installed: &Installed) {
    let workers = std::mem::take(&mut *lock(&installed.workers));
    for stream in workers.values() {
        let _ = stream.shutdown(Shutdown::Both);
    }
    let shared = &installed.shared;
    let mut live = lock(&shared.live);
    while *live > 0 {
        let (guard, timeout) = shared
            .ended
            .wait_timeout(live, Duration::from_secs(5))
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        live = guard;
        if timeout.timed_out() {
            break;
        }
    }
}

fn accept_loop(listener: &TcpListener, slot: &Slot) {
    let mut next_worker: u64 = 0;
    for stream in listener.incoming() {
        if slot.closing.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else {
            // Out of file descriptors or a connection reset before accept:
            // back off briefly rather than spin.
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        // The simulator installed now serves this connection; with none
        // installed (the server is idle in the pool) it is closed.
        let Some(Installed { shared, workers }) = lock(&slot.current).clone() else {
            continue;
        };
        shared.connections.fetch_add(1, Ordering::SeqCst);
        let _ = stream.set_nodelay(true);
        if *lock(&shared.live) >= MAX_CONNECTIONS {
            http::refuse_busy(stream);
            continue;
        }
        let Ok(handle) = stream.try_clone() else {
            continue;
        };
        next_worker = next_worker.wrapping_add(1);
        let id = next_worker;
        let guard = LiveGuard::new(&shared);
        // Listed before the thread may remove it.
        lock(&workers).insert(id, handle);
        let job = Job {
            stream,
            shared,
            workers: Arc::clone(&workers),
            id,
            guard,
        };
        if dispatch(job).is_err() {
            // No thread to serve it: the job, and its socket, are gone.
            if let Some(handle) = lock(&workers).remove(&id) {
                let _ = handle.shutdown(Shutdown::Both);
            }
        }
    }
}
