//! `scenario run --bag`: a scenario run recorded as a rosbag2 bag. The simulator's own
//! messages come through its tap, exactly as published and at their sim time; with `--stack`
//! the stack's topics come through raw subscriptions and are logged at the sim time of the
//! latest frame (in lock-step, the frame they answer), so the bag replays under sim time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Result, anyhow};
use embody::QosProfile;
use embody::wire::{EntityKind, ros_type_name};
use embody_bag::{BagWriter, TopicId, WriterOptions};

struct Writer {
    bag: BagWriter,
    topics: HashMap<String, TopicId>,
    failure: Option<anyhow::Error>,
}

impl Writer {
    fn write(&mut self, topic: &str, type_name: &str, qos: QosProfile, t: u64, data: &[u8]) {
        if self.failure.is_some() {
            return;
        }
        let name = if topic.starts_with('/') {
            topic.to_owned()
        } else {
            format!("/{topic}")
        };
        let id = match self.topics.get(&name) {
            Some(id) => *id,
            None => {
                let Some(id) = self.bag.add_known_topic(&name, type_name, vec![qos]) else {
                    self.failure = Some(anyhow!(
                        "{topic}: type {type_name} is not compiled into embody"
                    ));
                    return;
                };
                self.topics.insert(name, id);
                id
            }
        };
        if let Err(e) = self.bag.write(id, t, t, data) {
            self.failure = Some(e.into());
        }
    }
}

/// A stack topic being recorded.
struct StackTopic {
    topic: String,
    type_name: String,
    qos: QosProfile,
    sub: embody::RawSubscription,
}

/// A bag being written by a run.
#[derive(Clone)]
pub struct RunBag {
    writer: Arc<Mutex<Writer>>,
    stack: Arc<Mutex<Vec<StackTopic>>>,
    /// Sim time of the latest simulator message (ns).
    now: Arc<AtomicU64>,
}

impl RunBag {
    /// A new bag at `dir`.
    pub fn create(dir: &std::path::Path) -> Result<Self> {
        Ok(Self {
            writer: Arc::new(Mutex::new(Writer {
                bag: BagWriter::create(dir, WriterOptions::default())?,
                topics: HashMap::new(),
                failure: None,
            })),
            stack: Arc::new(Mutex::new(Vec::new())),
            now: Arc::new(AtomicU64::new(0)),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes what the stack published since the last call, at the present sim time.
    fn drain_stack(&self) {
        let t = self.now.load(Ordering::SeqCst);
        let stack = self.stack.lock().unwrap_or_else(|e| e.into_inner());
        let mut w = self.lock();
        for s in stack.iter() {
            while let Some(m) = s.sub.try_recv() {
                w.write(&s.topic, &s.type_name, s.qos, t, &m.payload);
            }
        }
    }

    /// Writes one simulator message of sim time `t` (ns). What the stack sent before it is
    /// written first, at the time it answered: the simulator moves on only once the stack
    /// has answered, so the answer is queued by then.
    pub fn write_output(&self, t: u64, o: &embody_sim::ros::Output) {
        self.drain_stack();
        self.now.fetch_max(t, Ordering::SeqCst);
        let qos = if o.topic == "map/lanes" || o.topic == "tf_static" {
            QosProfile::transient_local(1)
        } else {
            QosProfile::default()
        };
        self.lock().write(o.topic, o.type_name, qos, t, &o.data);
    }

    /// The simulator's tap into this bag.
    pub fn sim_tap(&self) -> embody_sim::node::Tap {
        let bag = self.clone();
        Box::new(move |t, o| bag.write_output(t, o))
    }

    /// Records every topic that a node other than `me` publishes now (the stack, once it is
    /// up: its nodes create their publishers last), until [`RunBag::stop_stack`].
    pub async fn follow_stack(
        &self,
        node: &embody::Node,
        graph: &embody::Graph,
        me: &str,
    ) -> Result<()> {
        let mut offered: HashMap<(String, String, String), Vec<QosProfile>> = HashMap::new();
        for name in graph.node_names() {
            if name == me {
                continue;
            }
            for e in graph.node_endpoints(&name) {
                if e.kind != EntityKind::Publisher {
                    continue;
                }
                if let Some(t) = &e.topic {
                    offered
                        .entry((t.name.clone(), t.dds_type.clone(), t.type_hash.clone()))
                        .or_default()
                        .push(t.qos);
                }
            }
        }
        let mut topics = Vec::new();
        for ((topic, dds_type, hash), qos) in offered {
            let Some(type_name) = ros_type_name(&dds_type) else {
                continue;
            };
            let request = embody_bag::record::request_qos(&qos);
            let sub = node
                .create_raw_subscription(&topic, &type_name, &hash, request)
                .await?;
            topics.push(StackTopic {
                topic,
                type_name,
                qos: qos.first().copied().unwrap_or_default(),
                sub,
            });
        }
        *self.stack.lock().unwrap_or_else(|e| e.into_inner()) = topics;
        Ok(())
    }

    /// Writes what the stack sent last and stops recording it.
    pub fn stop_stack(&self) {
        self.drain_stack();
        self.stack.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Finishes the bag; the first write failure, if any, is the error.
    pub fn close(self) -> Result<()> {
        self.stop_stack();
        let writer = Arc::try_unwrap(self.writer)
            .map_err(|_| anyhow!("the bag is still being written"))?
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(e) = writer.failure {
            return Err(e);
        }
        writer.bag.close()?;
        Ok(())
    }
}
