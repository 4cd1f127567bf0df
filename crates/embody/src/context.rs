//! The context: one zenoh session, the ROS domain, and the id counter shared by every node
//! and endpoint of a process (as rmw_zenoh's context does).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::OnceCell;

use crate::args::RosArgs;
use crate::config::{SessionOptions, domain_id_from_env, session_config};
use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::intra::Registry;
use crate::node::{Node, NodeOptions};

/// How to open a [`Context`]; everything left `None` comes from the environment.
#[derive(Debug, Clone, Default)]
pub struct ContextOptions {
    /// ROS domain (default: `ROS_DOMAIN_ID`, else 0).
    pub domain_id: Option<u32>,
    /// Connect/listen endpoints overriding the defaults (`tcp/localhost:7447`).
    pub session: SessionOptions,
    /// The command line to take `--ros-args` from (default: this process's arguments).
    pub args: Option<Vec<String>>,
}

impl ContextOptions {
    /// Options that connect to one router, e.g. `tcp/127.0.0.1:7447`, and listen on loopback only.
    pub fn router(endpoint: &str) -> Self {
        Self {
            session: SessionOptions {
                connect: Some(vec![endpoint.to_owned()]),
                listen: Some(vec!["tcp/127.0.0.1:0".to_owned()]),
            },
            args: Some(Vec::new()),
            ..Self::default()
        }
    }
}

/// Waits for the link to a router as rmw_zenoh does (`ZENOH_ROUTER_CHECK_ATTEMPTS`: unset
/// = up to 1 s, `0` = forever, negative = do not check, `N` = up to N seconds). zenoh opens
/// the link in the background; without it a peer with multicast off sees no one, so graph
/// queries made before it is up would come back empty.
async fn wait_for_router(session: &zenoh::Session) -> Result<()> {
    let attempts: i64 = match std::env::var("ZENOH_ROUTER_CHECK_ATTEMPTS") {
        Ok(v) => v.trim().parse().map_err(|_| {
            Error::Config(format!(
                "ZENOH_ROUTER_CHECK_ATTEMPTS=`{v}` is not an integer"
            ))
        })?,
        Err(_) => 1,
    };
    if attempts < 0 {
        return Ok(());
    }
    let deadline = (attempts > 0)
        .then(|| tokio::time::Instant::now() + std::time::Duration::from_secs(attempts as u64));
    let mut poll = tokio::time::interval(std::time::Duration::from_millis(10));
    loop {
        poll.tick().await;
        if session.info().routers_zid().await.next().is_some() {
            return Ok(());
        }
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            tracing::warn!(
                "Unable to connect to a Zenoh router. Have you started one with `embody router` (or rmw_zenohd)?"
            );
            return Ok(());
        }
    }
}

pub(crate) struct ContextInner {
    pub(crate) session: zenoh::Session,
    pub(crate) domain_id: u32,
    pub(crate) zid: String,
    next_id: AtomicU64,
    pub(crate) args: RosArgs,
    pub(crate) intra: Registry,
    pub(crate) activity: Arc<crate::activity::Activity>,
    graph: OnceCell<Graph>,
}

/// A connection to the ROS graph. Cheap to clone; the session closes when the last clone
/// and every node made from it are gone.
#[derive(Clone)]
pub struct Context {
    pub(crate) inner: Arc<ContextInner>,
}

impl Context {
    /// Opens a context configured from the environment and this process's `--ros-args`.
    pub async fn new() -> Result<Self> {
        Self::with_options(ContextOptions::default()).await
    }

    /// Opens a context with explicit options.
    pub async fn with_options(options: ContextOptions) -> Result<Self> {
        let domain_id = match options.domain_id {
            Some(d) => d,
            None => domain_id_from_env()?,
        };
        let argv = options.args.unwrap_or_else(|| std::env::args().collect());
        let (_, args) = RosArgs::split(&argv)?;
        let config = session_config(&options.session)?;
        let session = zenoh::open(config).await.map_err(Error::zenoh)?;
        wait_for_router(&session).await?;
        let zid = session.zid().to_string();
        Ok(Self {
            inner: Arc::new(ContextInner {
                session,
                domain_id,
                zid,
                next_id: AtomicU64::new(0),
                args,
                intra: Registry::default(),
                activity: Arc::default(),
                graph: OnceCell::new(),
            }),
        })
    }

    /// The ROS domain id.
    pub fn domain_id(&self) -> u32 {
        self.inner.domain_id
    }

    /// The zenoh session id (hex), the `zid` of this process's liveliness tokens.
    pub fn zid(&self) -> &str {
        &self.inner.zid
    }

    /// The underlying zenoh session, for tools and benchmarks.
    pub fn session(&self) -> &zenoh::Session {
        &self.inner.session
    }

    /// The `--ros-args` this context was opened with.
    pub fn ros_args(&self) -> &RosArgs {
        &self.inner.args
    }

    /// Announces an entity in the graph; the token lives as long as the returned value.
    pub(crate) async fn declare_token(
        &self,
        entity: &crate::wire::Entity,
    ) -> Result<zenoh::liveliness::LivelinessToken> {
        self.inner
            .session
            .liveliness()
            .declare_token(entity.liveliness_key())
            .await
            .map_err(Error::zenoh)
    }

    /// The security enclave from `--ros-args -e` (default `/`).
    pub(crate) fn enclave(&self) -> String {
        self.inner
            .args
            .enclave
            .clone()
            .unwrap_or_else(|| "/".to_owned())
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.inner.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Creates a node in the root namespace (remapping rules may move it).
    pub async fn create_node(&self, name: &str) -> Result<Node> {
        Node::new(self.clone(), name, NodeOptions::default()).await
    }

    /// Creates a node with options (namespace, ...).
    pub async fn create_node_with(&self, name: &str, options: NodeOptions) -> Result<Node> {
        Node::new(self.clone(), name, options).await
    }

    /// Deliveries not finished yet in this process: messages queued for stream
    /// subscriptions, the message each stream consumer is handling, sim-time timers due.
    pub fn pending_work(&self) -> i64 {
        self.inner.activity.pending()
    }

    /// Waits until [`Context::pending_work`] is zero, calling `drain` before every check
    /// (the caller empties its own queues there). Callback subscriptions run inside the
    /// publish of a same-process publisher, so they are finished by then; a stream consumer
    /// is finished with a message when it asks for the next one.
    pub async fn wait_idle(&self, timeout: std::time::Duration, drain: impl FnMut()) -> Result<()> {
        self.inner.activity.wait_idle(timeout, drain).await
    }

    /// The ROS graph as seen from liveliness tokens, started on first use.
    pub async fn graph(&self) -> Result<&Graph> {
        self.inner
            .graph
            .get_or_try_init(|| Graph::start(&self.inner.session, self.inner.domain_id))
            .await
    }
}
