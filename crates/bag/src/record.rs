//! The recorder behind `embody bag record`: discovers topics from the graph (also those that
//! appear while recording), subscribes to their raw CDR and writes it to a bag on a dedicated
//! thread, so the network side never waits for the disk and nothing is decoded.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use embody::qos::{Durability, History, QosProfile, Reliability};
use embody::wire::{EntityKind, ros_type_name};
use embody::{Node, RawSubscription};
use tokio::task::JoinHandle;

use crate::BagError;
use crate::metadata::{BagMetadata, TopicMetadata};
use crate::writer::{BagWriter, TopicId, WriterOptions};

/// What to record.
#[derive(Debug, Clone, Default)]
pub struct RecordOptions {
    /// Topics to record (absolute names); ignored with `all`.
    pub topics: Vec<String>,
    /// Record every topic that has a publisher.
    pub all: bool,
    /// Topics never recorded.
    pub exclude: Vec<String>,
    /// Also record hidden topics (a name segment starting with `_`) with `all`.
    pub include_hidden: bool,
    /// How the bag is written.
    pub writer: WriterOptions,
}

impl RecordOptions {
    fn wants(&self, topic: &str) -> bool {
        if self.exclude.iter().any(|t| t == topic) {
            return false;
        }
        if self.all {
            self.include_hidden || !topic.split('/').any(|s| s.starts_with('_'))
        } else {
            self.topics.iter().any(|t| t == topic)
        }
    }
}

/// Counters of a running recorder.
#[derive(Debug, Default)]
pub struct RecordProgress {
    /// Messages received.
    pub messages: AtomicU64,
    /// Payload bytes received.
    pub bytes: AtomicU64,
    /// Topics subscribed.
    pub topics: AtomicUsize,
    /// Messages the middleware queues dropped before the recorder saw them.
    pub lost: AtomicU64,
}

enum Item {
    Topic {
        index: usize,
        meta: TopicMetadata,
        schema_encoding: String,
        schema: String,
    },
    Qos {
        index: usize,
        qos: QosProfile,
    },
    Message {
        index: usize,
        log_time: u64,
        publish_time: u64,
        data: Vec<u8>,
    },
    Flush,
}

struct Recording {
    index: usize,
    offered: Vec<QosProfile>,
}

/// A running recording. Stop it with [`Recorder::stop`] to close the bag properly.
pub struct Recorder {
    progress: Arc<RecordProgress>,
    discovery: JoinHandle<()>,
    flusher: JoinHandle<()>,
    tx: mpsc::Sender<Item>,
    writer: std::thread::JoinHandle<Result<BagMetadata, BagError>>,
    subscriptions: Arc<tokio::sync::Mutex<Vec<JoinHandle<()>>>>,
    stop: tokio::sync::watch::Sender<bool>,
    dir: PathBuf,
}

/// The QoS a recorder requests given what the publishers offer (rosbag2's rule: reliable and
/// transient local only when every publisher is), keeping everything it receives.
pub fn request_qos(offered: &[QosProfile]) -> QosProfile {
    let all_reliable = offered
        .iter()
        .all(|q| q.reliability == Reliability::Reliable);
    let all_durable = !offered.is_empty()
        && offered
            .iter()
            .all(|q| q.durability == Durability::TransientLocal);
    let mut q = QosProfile::default()
        .reliability(if all_reliable {
            Reliability::Reliable
        } else {
            Reliability::BestEffort
        })
        .history(History::KeepAll);
    if all_durable {
        q = q.durability(Durability::TransientLocal);
    }
    q
}

impl Recorder {
    /// Creates the bag and starts recording with `node`.
    pub async fn start(node: &Node, dir: &Path, opts: RecordOptions) -> Result<Self, BagError> {
        let mut writer = BagWriter::create(dir, opts.writer.clone())?;
        let (tx, rx) = mpsc::channel::<Item>();
        let writer_thread = std::thread::Builder::new()
            .name("bag-writer".into())
            .spawn(move || {
                let mut ids: HashMap<usize, TopicId> = HashMap::new();
                for item in rx {
                    match item {
                        Item::Topic {
                            index,
                            meta,
                            schema_encoding,
                            schema,
                        } => {
                            ids.insert(index, writer.add_topic(meta, &schema_encoding, &schema));
                        }
                        Item::Qos { index, qos } => {
                            if let Some(id) = ids.get(&index) {
                                writer.add_offered_qos(*id, qos);
                            }
                        }
                        Item::Message {
                            index,
                            log_time,
                            publish_time,
                            data,
                        } => {
                            if let Some(id) = ids.get(&index) {
                                writer.write(*id, log_time, publish_time, &data)?;
                            }
                        }
                        Item::Flush => writer.flush()?,
                    }
                }
                writer.close()
            })
            .map_err(|e| BagError::io(dir, e))?;

        let progress = Arc::new(RecordProgress::default());
        let subscriptions = Arc::new(tokio::sync::Mutex::new(Vec::new()));
        let stop = tokio::sync::watch::Sender::new(false);
        let discovery = tokio::spawn(discover(
            node.clone(),
            opts,
            tx.clone(),
            progress.clone(),
            subscriptions.clone(),
            stop.subscribe(),
        ));
        let flush_tx = tx.clone();
        let flusher = tokio::spawn(async move {
            // Slow topics must not keep data in memory only: close the chunk every second.
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            loop {
                tick.tick().await;
                if flush_tx.send(Item::Flush).is_err() {
                    return;
                }
            }
        });
        Ok(Self {
            progress,
            discovery,
            flusher,
            tx,
            writer: writer_thread,
            subscriptions,
            stop,
            dir: dir.to_path_buf(),
        })
    }

    /// True when the writer ended early (a write error, e.g. a full disk); [`Recorder::stop`]
    /// returns the error.
    pub fn failed(&self) -> bool {
        self.writer.is_finished()
    }

    /// Live counters.
    pub fn progress(&self) -> &RecordProgress {
        &self.progress
    }

    /// The bag directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops subscribing, writes what was received and closes the bag.
    pub async fn stop(self) -> Result<BagMetadata, BagError> {
        self.discovery.abort();
        self.flusher.abort();
        let _ = self.discovery.await;
        let _ = self.flusher.await;
        // The forwarders drain their queues into the writer, then end.
        self.stop.send_replace(true);
        for task in self.subscriptions.lock().await.drain(..) {
            let _ = task.await;
        }
        drop(self.tx);
        let writer = self.writer;
        tokio::task::spawn_blocking(move || writer.join())
            .await
            .map_err(|e| BagError::NotABag(format!("bag writer task failed: {e}")))?
            .map_err(|_| BagError::NotABag("bag writer thread panicked".into()))?
    }
}

async fn discover(
    node: Node,
    opts: RecordOptions,
    tx: mpsc::Sender<Item>,
    progress: Arc<RecordProgress>,
    subscriptions: Arc<tokio::sync::Mutex<Vec<JoinHandle<()>>>>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let graph = match node.context().graph().await {
        Ok(g) => g,
        Err(e) => {
            tracing::error!("recorder cannot watch the graph: {e}");
            return;
        }
    };
    let mut changes = graph.changes();
    let mut recording: BTreeMap<(String, String), Recording> = BTreeMap::new();
    loop {
        for (topic, _) in graph.topic_names_and_types() {
            if !opts.wants(&topic) {
                continue;
            }
            for publisher in graph.endpoints(&topic, EntityKind::Publisher) {
                let Some(info) = &publisher.topic else {
                    continue;
                };
                let Some(type_name) = ros_type_name(&info.dds_type) else {
                    continue;
                };
                let key = (topic.clone(), info.type_hash.clone());
                if let Some(r) = recording.get_mut(&key) {
                    if !r.offered.contains(&info.qos) {
                        r.offered.push(info.qos);
                        let _ = tx.send(Item::Qos {
                            index: r.index,
                            qos: info.qos,
                        });
                    }
                    continue;
                }
                let offered: Vec<QosProfile> = graph
                    .endpoints(&topic, EntityKind::Publisher)
                    .iter()
                    .filter_map(|e| e.topic.as_ref())
                    .filter(|t| t.type_hash == info.type_hash)
                    .map(|t| t.qos)
                    .fold(Vec::new(), |mut v, q| {
                        if !v.contains(&q) {
                            v.push(q);
                        }
                        v
                    });
                let index = recording.len();
                let sub = match node
                    .create_raw_subscription(
                        &topic,
                        &type_name,
                        &info.type_hash,
                        request_qos(&offered),
                    )
                    .await
                {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!("cannot record {topic} ({type_name}): {e}");
                        recording.insert(key, Recording { index, offered });
                        continue;
                    }
                };
                let (schema_encoding, schema) = match embody_msgs::find(&type_name) {
                    Some(t) if t.hash == info.type_hash || info.type_hash.is_empty() => {
                        ("ros2msg".to_owned(), t.schema.to_owned())
                    }
                    _ => {
                        tracing::warn!(
                            "{topic}: type {type_name} with hash {} is not compiled into embody; \
                             recording it without a definition",
                            info.type_hash
                        );
                        (String::new(), String::new())
                    }
                };
                let _ = tx.send(Item::Topic {
                    index,
                    meta: TopicMetadata {
                        name: topic.clone(),
                        type_name: type_name.clone(),
                        serialization_format: "cdr".into(),
                        offered_qos_profiles: offered.clone(),
                        type_description_hash: info.type_hash.clone(),
                    },
                    schema_encoding,
                    schema,
                });
                progress.topics.fetch_add(1, Ordering::Relaxed);
                subscriptions.lock().await.push(tokio::spawn(forward(
                    sub,
                    index,
                    tx.clone(),
                    progress.clone(),
                    stop.clone(),
                )));
                recording.insert(key, Recording { index, offered });
            }
        }
        // Wake on graph changes, and poll as a fallback like rosbag2 (100 ms).
        let _ = tokio::time::timeout(Duration::from_millis(100), changes.changed()).await;
    }
}

async fn forward(
    sub: RawSubscription,
    index: usize,
    tx: mpsc::Sender<Item>,
    progress: Arc<RecordProgress>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut dropped_before = 0;
    let mut send = |m: embody::RawMessage| -> bool {
        let dropped = sub.stats().dropped;
        if dropped > dropped_before {
            progress
                .lost
                .fetch_add(dropped - dropped_before, Ordering::Relaxed);
            dropped_before = dropped;
        }
        progress.messages.fetch_add(1, Ordering::Relaxed);
        progress
            .bytes
            .fetch_add(m.payload.len() as u64, Ordering::Relaxed);
        let log_time = m.received_ns.max(0) as u64;
        let publish_time = match m.attachment.source_timestamp {
            t if t > 0 => t as u64,
            _ => log_time,
        };
        tx.send(Item::Message {
            index,
            log_time,
            publish_time,
            data: m.payload,
        })
        .is_ok()
    };
    loop {
        let next = tokio::select! {
            m = sub.recv() => m,
            _ = stop.wait_for(|s| *s) => {
                // Stopping: what was received already still goes into the bag.
                while let Some(m) = sub.try_recv() {
                    if !send(m) {
                        return;
                    }
                }
                return;
            }
        };
        let Some(m) = next else { return };
        if !send(m) {
            return;
        }
    }
}
