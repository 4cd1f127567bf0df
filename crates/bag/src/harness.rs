//! Replaying a bag through nodes in lock-step under sim time: how node tests are written.
//!
//! For every input message the harness sets `/clock` to the message's log time, waits until
//! every node of the context is idle (timers that came due have run), publishes the message,
//! and waits again; whatever the nodes publish on the collected topics is recorded with the
//! sim time it was published at. The same bag in gives the same messages out, bit for bit.
//!
//! ```no_run
//! # async fn example(ctx: embody::Context) -> Result<(), embody_bag::BagError> {
//! use embody_bag::{Bag, harness::{Replay, ReplayOptions}};
//! // The node under test, under sim time, in the same context:
//! // let node = my_node::start(&ctx, NodeOptions::default().use_sim_time(true)).await?;
//! let bag = Bag::open("tests/data/drive.mcap")?;
//! let mut replay = Replay::new(&ctx).await?;
//! replay.collect("/planning/trajectory", "embody_msgs/msg/Trajectory").await?;
//! let outputs = replay.run(&bag, &ReplayOptions::default()).await?;
//! embody_bag::harness::assert_matches_golden(&outputs, "tests/data/drive.golden")?;
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use embody::msgs::rosgraph_msgs::msg::Clock as ClockMsg;
use embody::qos::{History, QosProfile};
use embody::{Context, Node, NodeOptions, Publisher, RawPublisher, RawSubscription, Time};

use crate::BagError;
use crate::decode::Decoder;
use crate::metadata::playback_qos;
use crate::reader::{Bag, Connection};
use crate::writer::{BagWriter, WriterOptions};

/// Which part of a bag is fed in.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Input topics (all when empty).
    pub topics: Vec<String>,
    /// Skip messages logged before `bag start + start_offset`.
    pub start_offset: Duration,
    /// Stop after this many input messages.
    pub limit: Option<usize>,
    /// How long the nodes may take to become idle after one step (a safety net, not a
    /// timing assertion: it only ends a hung test with a clear error).
    pub idle_timeout: Duration,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        Self {
            topics: Vec::new(),
            start_offset: Duration::ZERO,
            limit: None,
            idle_timeout: Duration::from_secs(30),
        }
    }
}

/// One message a node published during the replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Sim time when it was published (ns).
    pub time: u64,
    /// Topic.
    pub topic: String,
    /// `pkg/msg/Type`.
    pub type_name: String,
    /// CDR bytes.
    pub data: Bytes,
}

struct Collected {
    topic: String,
    type_name: String,
    sub: RawSubscription,
}

/// Drives nodes of one context from a bag.
pub struct Replay {
    ctx: Context,
    node: Node,
    clock: Publisher<ClockMsg>,
    collected: Vec<Collected>,
}

impl Replay {
    /// A harness in `ctx`, the context the nodes under test were created in (with
    /// `use_sim_time`).
    pub async fn new(ctx: &Context) -> Result<Self, BagError> {
        let node = ctx
            .create_node_with(
                "bag_replay",
                NodeOptions::default()
                    .parameter_services(false)
                    .rosout(false),
            )
            .await
            .map_err(|e| harness_error(format!("cannot create the harness node: {e}")))?;
        let clock = node
            .create_publisher::<ClockMsg>("/clock", QosProfile::clock())
            .await
            .map_err(|e| harness_error(format!("cannot publish /clock: {e}")))?;
        Ok(Self {
            ctx: ctx.clone(),
            node,
            clock,
            collected: Vec::new(),
        })
    }

    /// Collects what is published on `topic` (a type compiled into embody).
    pub async fn collect(&mut self, topic: &str, type_name: &str) -> Result<(), BagError> {
        let info = embody_msgs::find(type_name).ok_or_else(|| {
            harness_error(format!(
                "{topic}: type {type_name} is not compiled into embody"
            ))
        })?;
        let qos = QosProfile::default().history(History::KeepAll);
        let sub = self
            .node
            .create_raw_subscription(topic, info.name, info.hash, qos)
            .await
            .map_err(|e| harness_error(format!("cannot subscribe to {topic}: {e}")))?;
        self.collected.push(Collected {
            topic: sub.topic().to_owned(),
            type_name: info.name.to_owned(),
            sub,
        });
        Ok(())
    }

    /// Takes everything collected so far, stamped with `time`.
    fn drain_into(collected: &[Collected], time: u64, out: &mut Vec<Output>) {
        for c in collected {
            while let Some(m) = c.sub.try_recv() {
                out.push(Output {
                    time,
                    topic: c.topic.clone(),
                    type_name: c.type_name.clone(),
                    data: Bytes::from(m.payload),
                });
            }
        }
    }

    async fn settle(
        &self,
        time: u64,
        timeout: Duration,
        out: &mut Vec<Output>,
    ) -> Result<(), BagError> {
        let mut step = Vec::new();
        let collected = &self.collected;
        self.ctx
            .wait_idle(timeout, || Self::drain_into(collected, time, &mut step))
            .await
            .map_err(|_| {
                harness_error(format!(
                    "nodes still busy {timeout:?} after sim time {}; {} deliveries unfinished",
                    fmt_time(time),
                    self.ctx.pending_work()
                ))
            })?;
        // Topics published in one step may interleave differently run to run; each topic's
        // own order is the publisher's.
        step.sort_by(|a, b| a.topic.cmp(&b.topic));
        out.append(&mut step);
        Ok(())
    }

    /// Feeds the bag (as selected by `opts`) in lock-step and returns what the nodes published.
    pub async fn run(&mut self, bag: &Bag, opts: &ReplayOptions) -> Result<Vec<Output>, BagError> {
        let selected = bag.select(&opts.topics);
        if selected.is_empty() {
            return Err(harness_error(format!(
                "{}: none of the topics {:?} is in the bag",
                bag.path.display(),
                opts.topics
            )));
        }
        let mut inputs: BTreeMap<usize, RawPublisher> = BTreeMap::new();
        for &c in &selected {
            inputs.insert(c, self.input_publisher(&bag.connections[c]).await?);
        }
        let first = bag
            .metadata
            .starting_time
            .saturating_add(opts.start_offset.as_nanos() as u64);
        let mut out = Vec::new();
        let mut fed = 0usize;
        for item in bag.messages(Some(&selected)) {
            let m = item?;
            if m.log_time < first {
                continue;
            }
            if opts.limit.is_some_and(|n| fed >= n) {
                break;
            }
            self.clock
                .publish(ClockMsg {
                    clock: Time::from_nanos(m.log_time as i64).to_msg(),
                })
                .await
                .map_err(|e| harness_error(format!("publishing /clock failed: {e}")))?;
            self.settle(m.log_time, opts.idle_timeout, &mut out).await?;
            let publisher = &inputs[&m.connection];
            publisher.publish(m.data).await.map_err(|e| {
                harness_error(format!("publishing on {} failed: {e}", publisher.topic()))
            })?;
            self.settle(m.log_time, opts.idle_timeout, &mut out).await?;
            fed += 1;
        }
        Ok(out)
    }

    async fn input_publisher(&self, conn: &Connection) -> Result<RawPublisher, BagError> {
        let hash = conn.type_hash_or_known();
        self.node
            .create_raw_publisher(
                &conn.topic,
                &conn.type_name,
                &hash,
                playback_qos(&conn.offered_qos_profiles),
            )
            .await
            .map_err(|e| harness_error(format!("cannot publish {}: {e}", conn.topic)))
    }
}

fn harness_error(reason: String) -> BagError {
    BagError::NotABag(format!("replay: {reason}"))
}

fn fmt_time(ns: u64) -> String {
    format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
}

/// Writes outputs as a bag (log time = the sim time they were published at), e.g. a golden.
pub fn write_bag(outputs: &[Output], dir: impl AsRef<Path>) -> Result<(), BagError> {
    let mut w = BagWriter::create(dir, WriterOptions::default())?;
    let mut ids = BTreeMap::new();
    for o in outputs {
        let id = match ids.get(&(o.topic.clone(), o.type_name.clone())) {
            Some(id) => *id,
            None => {
                let id = w
                    .add_known_topic(&o.topic, &o.type_name, vec![QosProfile::default()])
                    .ok_or_else(|| {
                        harness_error(format!("{}: unknown type {}", o.topic, o.type_name))
                    })?;
                ids.insert((o.topic.clone(), o.type_name.clone()), id);
                id
            }
        };
        w.write(id, o.time, o.time, &o.data)?;
    }
    w.close()?;
    Ok(())
}

/// Reads outputs back from a bag written by [`write_bag`] (or any bag).
pub fn read_outputs(bag: &Bag) -> Result<Vec<Output>, BagError> {
    bag.messages(None)
        .map(|m| {
            let m = m?;
            let c = &bag.connections[m.connection];
            Ok(Output {
                time: m.log_time,
                topic: c.topic.clone(),
                type_name: c.type_name.clone(),
                data: m.data,
            })
        })
        .collect()
}

/// A readable account of how two output sequences differ, or `None` when they are equal.
pub fn diff(expected: &[Output], actual: &[Output]) -> Option<String> {
    if expected == actual {
        return None;
    }
    let mut o = String::new();
    fn count(v: &[Output]) -> BTreeMap<&str, usize> {
        v.iter().fold(BTreeMap::new(), |mut m, x| {
            *m.entry(x.topic.as_str()).or_default() += 1;
            m
        })
    }
    let (ce, ca) = (count(expected), count(actual));
    let topics: BTreeSet<&str> = ce.keys().chain(ca.keys()).copied().collect();
    let _ = writeln!(
        o,
        "outputs differ: {} expected, {} actual",
        expected.len(),
        actual.len()
    );
    for t in topics {
        let (e, a) = (
            ce.get(t).copied().unwrap_or(0),
            ca.get(t).copied().unwrap_or(0),
        );
        let mark = if e == a { " " } else { "!" };
        let _ = writeln!(o, " {mark} {t}: {e} expected, {a} actual");
    }
    let Some(i) = (0..expected.len().max(actual.len())).find(|&i| expected.get(i) != actual.get(i))
    else {
        return Some(o);
    };
    let _ = writeln!(o, "first difference at output #{i}:");
    let mut decoder = Decoder::new();
    let mut show = |label: &str, x: Option<&Output>| match x {
        None => {
            let _ = writeln!(o, "--- {label}: (none)");
        }
        Some(x) => {
            let conn = Connection {
                id: 0,
                topic: x.topic.clone(),
                type_name: x.type_name.clone(),
                serialization_format: "cdr".into(),
                offered_qos_profiles: Vec::new(),
                type_hash: String::new(),
                schema_encoding: String::new(),
                schema: String::new(),
                message_count: 0,
            };
            let body = match decoder.decode(&conn, &x.data) {
                Ok(v) => v.to_yaml(),
                Err(e) => format!("(undecodable: {e})"),
            };
            let _ = writeln!(
                o,
                "--- {label}: t={} {} ({})\n{}",
                fmt_time(x.time),
                x.topic,
                x.type_name,
                body.trim_end()
            );
        }
    };
    show("expected", expected.get(i));
    show("actual", actual.get(i));
    Some(o)
}

/// Compares outputs with a golden bag; with `EMBODY_UPDATE_GOLDEN=1` in the environment it
/// (re)writes the golden bag instead.
pub fn assert_matches_golden(outputs: &[Output], golden: impl AsRef<Path>) -> Result<(), BagError> {
    let golden = golden.as_ref();
    if std::env::var("EMBODY_UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        if golden.exists() {
            std::fs::remove_dir_all(golden).map_err(|e| BagError::io(golden, e))?;
        }
        return write_bag(outputs, golden);
    }
    let expected = read_outputs(&Bag::open(golden)?)?;
    match diff(&expected, outputs) {
        None => Ok(()),
        Some(d) => Err(harness_error(format!(
            "outputs do not match the golden bag {} (EMBODY_UPDATE_GOLDEN=1 rewrites it):\n{d}",
            golden.display()
        ))),
    }
}
