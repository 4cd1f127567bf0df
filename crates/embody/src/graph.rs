//! The ROS graph, built from rmw_zenoh liveliness tokens: which nodes, topics, services and
//! endpoints exist, with change notifications. A process that dies loses its tokens, so it
//! disappears from the graph.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use zenoh::sample::{Sample, SampleKind};

use crate::error::{Error, Result};
use crate::wire::{Entity, EntityKind, ros_type_name};

/// A live view of the graph.
pub struct Graph {
    state: Arc<Mutex<BTreeMap<String, Entity>>>,
    changes: watch::Receiver<u64>,
    _sub: zenoh::pubsub::Subscriber<()>,
}

fn apply(state: &Mutex<BTreeMap<String, Entity>>, sample: &Sample) -> bool {
    let key = sample.key_expr().as_str();
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    match sample.kind() {
        SampleKind::Put => match Entity::parse(key) {
            Ok(e) => s.insert(key.to_owned(), e).is_none(),
            Err(e) => {
                tracing::debug!("ignoring liveliness token: {e}");
                false
            }
        },
        SampleKind::Delete => s.remove(key).is_some(),
    }
}

impl Graph {
    pub(crate) async fn start(session: &zenoh::Session, domain: u32) -> Result<Self> {
        let state = Arc::new(Mutex::new(BTreeMap::new()));
        let (tx, rx) = watch::channel(0u64);
        let tx = Arc::new(tx);
        let prefix = format!("{}/{domain}/**", crate::wire::ADMIN_SPACE);
        // Tokens withdrawn while the query below runs must not be brought back by a reply
        // that was sent before the withdrawal.
        let withdrawn: Arc<Mutex<Option<HashSet<String>>>> =
            Arc::new(Mutex::new(Some(HashSet::new())));
        let (st, t, w) = (state.clone(), tx.clone(), withdrawn.clone());
        let sub = session
            .liveliness()
            .declare_subscriber(&prefix)
            .history(true)
            .callback(move |sample| {
                if sample.kind() == SampleKind::Delete
                    && let Some(set) = w.lock().unwrap_or_else(|e| e.into_inner()).as_mut()
                {
                    set.insert(sample.key_expr().as_str().to_owned());
                }
                if apply(&st, &sample) {
                    t.send_modify(|v| *v += 1);
                }
            })
            .await
            .map_err(Error::zenoh)?;
        // The subscriber's history arrives asynchronously; a liveliness query returns the
        // tokens alive now and then ends, so the graph is complete when `start` returns.
        let replies = session
            .liveliness()
            .get(&prefix)
            .timeout(Duration::from_secs(5))
            .await
            .map_err(Error::zenoh)?;
        while let Ok(reply) = replies.recv_async().await {
            let Ok(sample) = reply.result() else { continue };
            let gone = withdrawn
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .is_some_and(|set| set.contains(sample.key_expr().as_str()));
            if !gone && apply(&state, sample) {
                tx.send_modify(|v| *v += 1);
            }
        }
        *withdrawn.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(Self {
            state,
            changes: rx,
            _sub: sub,
        })
    }

    /// Every entity currently announced.
    pub fn entities(&self) -> Vec<Entity> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Fully qualified names of the nodes, sorted.
    pub fn node_names(&self) -> Vec<String> {
        let set: BTreeSet<String> = self
            .entities()
            .iter()
            .filter(|e| e.kind == EntityKind::Node)
            .map(Entity::node_fq_name)
            .collect();
        set.into_iter().collect()
    }

    fn names_and_types(&self, kinds: &[EntityKind]) -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for e in self
            .entities()
            .into_iter()
            .filter(|e| kinds.contains(&e.kind))
        {
            if let Some(t) = e.topic {
                let ty = ros_type_name(&t.dds_type).unwrap_or(t.dds_type);
                out.entry(t.name).or_default().insert(ty);
            }
        }
        out
    }

    /// Topic names with their ROS type names.
    pub fn topic_names_and_types(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.names_and_types(&[EntityKind::Publisher, EntityKind::Subscription])
    }

    /// Service names with their ROS type names.
    pub fn service_names_and_types(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.names_and_types(&[EntityKind::ServiceServer, EntityKind::ServiceClient])
    }

    /// Endpoints of one kind on a topic or service.
    pub fn endpoints(&self, name: &str, kind: EntityKind) -> Vec<Entity> {
        self.entities()
            .into_iter()
            .filter(|e| e.kind == kind && e.topic.as_ref().is_some_and(|t| t.name == name))
            .collect()
    }

    /// Endpoints belonging to one node (by fully qualified name).
    pub fn node_endpoints(&self, node_fq_name: &str) -> Vec<Entity> {
        self.entities()
            .into_iter()
            .filter(|e| e.topic.is_some() && e.node_fq_name() == node_fq_name)
            .collect()
    }

    /// A receiver whose value changes whenever the graph does.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }

    /// Waits until the graph has not changed for `quiet` (at most `max`): discovery tools
    /// use this before listing, since tokens of a link that just came up may still be on
    /// their way.
    pub async fn settle(&self, quiet: Duration, max: Duration) {
        let mut changes = self.changes();
        let _ = tokio::time::timeout(max, async {
            while let Ok(Ok(())) = tokio::time::timeout(quiet, changes.changed()).await {}
        })
        .await;
    }

    /// Waits until `pred` holds, re-checking on every graph change, for at most `timeout`.
    pub async fn wait_until(&self, timeout: Duration, pred: impl Fn(&Graph) -> bool) -> Result<()> {
        let mut changes = self.changes();
        let wait = async {
            loop {
                if pred(self) {
                    return Ok(());
                }
                if changes.changed().await.is_err() {
                    return Err(Error::Shutdown);
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| Error::Timeout(timeout))?
    }
}
