//! Subscriptions: typed (async stream or callback) and raw (CDR bytes of any type).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use embody_msgs::Message;
use zenoh::liveliness::LivelinessToken;
use zenoh::sample::{Locality, Sample};
use zenoh_ext::{AdvancedSubscriberBuilderExt, HistoryConfig, RecoveryConfig};

use crate::error::{Error, Result};
use bytes::Bytes;

use crate::intra::Decoder;
use crate::node::Node;
use crate::qos::{Durability, QosProfile, Reliability};
use crate::queue::{Queue, Sink};
use crate::wire::{Attachment, Entity, EntityKind, TopicInfo, dds_type_name};

/// Counters of what a subscription received and rejected (read through [`StatsSnapshot`]).
#[derive(Debug, Default)]
pub(crate) struct SubscriptionStats {
    received: AtomicU64,
    decode_errors: AtomicU64,
    missing_attachment: AtomicU64,
    hash_mismatch: AtomicU64,
    warnings: crate::logging::Throttle,
}

/// What a subscription received and rejected so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Messages delivered to the queue.
    pub received: u64,
    /// Payloads that did not decode as the subscription's type.
    pub decode_errors: u64,
    /// Samples without a valid rmw_zenoh attachment (dropped, as rmw_zenoh does).
    pub missing_attachment: u64,
    /// Publishers seen on the topic with another type name or type hash (whose messages
    /// therefore cannot arrive).
    pub hash_mismatch: u64,
    /// Messages dropped because the keep-last queue was full.
    pub dropped: u64,
}

impl SubscriptionStats {
    fn snapshot(&self, dropped: u64) -> StatsSnapshot {
        StatsSnapshot {
            received: self.received.load(Ordering::Relaxed),
            decode_errors: self.decode_errors.load(Ordering::Relaxed),
            missing_attachment: self.missing_attachment.load(Ordering::Relaxed),
            hash_mismatch: self.hash_mismatch.load(Ordering::Relaxed),
            dropped,
        }
    }

    /// Logs at most one warning per 5 s per subscription, so bad input cannot flood logs.
    fn warn(&self, topic: &str, what: std::fmt::Arguments<'_>) {
        if self.warnings.ready() {
            tracing::warn!(
                topic,
                "{what} (further problems on this subscription are counted, see its stats)"
            );
        }
    }
}

/// The zenoh side of a subscription: subscriber, liveliness token, and the task that
/// reports publishers with other type definitions. Dropping it undeclares all three.
pub(crate) struct WireSubscription {
    entity: Entity,
    watcher: tokio::task::JoinHandle<()>,
    _zsub: ZSubscriber,
    _token: LivelinessToken,
}

impl Drop for WireSubscription {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

pub(crate) enum ZSubscriber {
    Plain(#[allow(dead_code)] zenoh::pubsub::Subscriber<()>),
    Advanced(#[allow(dead_code)] zenoh_ext::AdvancedSubscriber<()>),
}

/// A received CDR payload: borrowed for the length of a callback, or shared (a large one,
/// whose byte sequences then reach the message without a copy).
pub(crate) enum Payload<'a> {
    /// Borrowed from zenoh's buffer.
    Slice(&'a [u8]),
    /// Reference-counted.
    Shared(Bytes),
}

impl Payload<'_> {
    /// The bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            Payload::Slice(s) => s,
            Payload::Shared(b) => b,
        }
    }

    /// Decodes a message, sharing byte sequences when the payload is shared.
    fn decode<T: Message>(&self) -> Result<T, embody_cdr::DecodeError> {
        match self {
            Payload::Slice(s) => T::from_cdr(s),
            Payload::Shared(b) => T::from_cdr_shared(b),
        }
    }
}

/// One checked sample (attachment parsed).
pub(crate) struct Incoming<'a> {
    /// Key expression the sample came on.
    pub(crate) key: &'a str,
    /// The CDR payload.
    pub(crate) payload: Payload<'a>,
    /// The rmw_zenoh attachment.
    pub(crate) attachment: Attachment,
}

/// Keeps a contiguous zenoh payload alive behind a `Bytes`.
struct ZenohBuffer(zenoh::bytes::ZBytes);

impl AsRef<[u8]> for ZenohBuffer {
    fn as_ref(&self) -> &[u8] {
        match self.0.to_bytes() {
            std::borrow::Cow::Borrowed(b) => b,
            // Only built for single-slice payloads, whose bytes are always borrowed.
            std::borrow::Cow::Owned(_) => &[],
        }
    }
}

/// Payloads at least this large are shared with zenoh rather than copied.
const SHARE_ABOVE: usize = 16 * 1024;

/// A received payload as the message decoder gets it. A large one is shared, so its byte
/// sequences reach the message without another copy: a single-slice payload (one that fit
/// a batch) as zenoh's own buffer, a fragmented one (zenoh keeps a message larger than a
/// batch as one slice per fragment: 86 for 4 MB) joined once into a buffer of its own. A
/// small one is borrowed: sharing it would pin zenoh's receive batch, and decoding from a
/// borrowed slice costs nothing extra.
fn received(z: &zenoh::bytes::ZBytes) -> Payload<'_> {
    if z.len() < SHARE_ABOVE {
        // Contiguous payloads are borrowed; a fragmented small one is joined (one copy).
        return match z.to_bytes() {
            std::borrow::Cow::Borrowed(b) => Payload::Slice(b),
            std::borrow::Cow::Owned(v) => Payload::Shared(Bytes::from(v)),
        };
    }
    match z.to_bytes() {
        std::borrow::Cow::Borrowed(_) => Payload::Shared(Bytes::from_owner(ZenohBuffer(z.clone()))),
        std::borrow::Cow::Owned(v) => Payload::Shared(Bytes::from(v)),
    }
}

/// What a wire subscription listens to.
pub(crate) struct WireSpec<'a> {
    pub(crate) fq_topic: &'a str,
    pub(crate) type_name: &'a str,
    pub(crate) type_hash: &'a str,
    pub(crate) qos: QosProfile,
    /// Ignore samples from this session (they arrive through intra-process delivery).
    pub(crate) remote_only: bool,
}

/// Declares the zenoh side of a subscription on the exact key rmw_zenoh uses (a wildcard
/// over the hash would let zenoh cache no route and cost several times the per-sample
/// time). Publishers with another definition of the type are reported from their tokens by
/// [`watch_type_conflicts`] instead.
pub(crate) async fn declare_wire_subscription(
    node: &Node,
    spec: WireSpec<'_>,
    stats: Arc<SubscriptionStats>,
    deliver: impl Fn(Incoming<'_>) + Send + Sync + 'static,
) -> Result<WireSubscription> {
    let WireSpec {
        fq_topic,
        type_name,
        type_hash,
        qos,
        remote_only,
    } = spec;
    let ctx = &node.inner.ctx;
    let dds = dds_type_name(type_name).ok_or_else(|| Error::UnknownType(type_name.to_owned()))?;
    let key = crate::wire::data_key(ctx.domain_id(), fq_topic, &dds, type_hash);
    let entity = node.endpoint(
        EntityKind::Subscription,
        TopicInfo {
            name: fq_topic.to_owned(),
            dds_type: dds,
            type_hash: type_hash.to_owned(),
            qos,
        },
    );
    let topic = fq_topic.to_owned();
    let watcher_stats = stats.clone();
    let callback = move |sample: Sample| {
        let key = sample.key_expr().as_str();
        let attachment = match sample
            .attachment()
            .map(|a| Attachment::parse(&a.to_bytes()))
        {
            Some(Ok(a)) => a,
            Some(Err(e)) => {
                stats.missing_attachment.fetch_add(1, Ordering::Relaxed);
                stats.warn(&topic, format_args!("dropping a sample: {e}"));
                return;
            }
            None => {
                stats.missing_attachment.fetch_add(1, Ordering::Relaxed);
                stats.warn(
                    &topic,
                    format_args!("dropping a sample without the rmw_zenoh attachment"),
                );
                return;
            }
        };
        deliver(Incoming {
            key,
            payload: received(sample.payload()),
            attachment,
        });
    };
    let session = &ctx.inner.session;
    let origin = if remote_only {
        Locality::Remote
    } else {
        Locality::Any
    };
    let builder = session
        .declare_subscriber(key)
        .allowed_origin(origin)
        .callback(callback);
    let zsub = if qos.durability == Durability::TransientLocal {
        let mut b = builder
            .history(
                HistoryConfig::default()
                    .detect_late_publishers()
                    .max_samples(qos.durable_depth()),
            )
            .subscriber_detection()
            .query_timeout(Duration::from_secs(3600));
        if qos.reliability == Reliability::Reliable {
            b = b.recovery(RecoveryConfig::default().heartbeat());
        }
        ZSubscriber::Advanced(b.await.map_err(Error::zenoh)?)
    } else {
        ZSubscriber::Plain(builder.await.map_err(Error::zenoh)?)
    };
    let token = ctx.declare_token(&entity).await?;
    let watcher = watch_type_conflicts(
        node,
        fq_topic,
        &dds_type_of(&entity),
        type_hash,
        watcher_stats,
    );
    Ok(WireSubscription {
        entity,
        watcher,
        _zsub: zsub,
        _token: token,
    })
}

fn dds_type_of(entity: &Entity) -> String {
    entity
        .topic
        .as_ref()
        .map(|t| t.dds_type.clone())
        .unwrap_or_default()
}

/// Watches the liveliness tokens of publishers on `topic` whose type name or type hash differs from
/// the subscription's: zenoh would never deliver their samples (the hash is part of the
/// key), so without this the subscription would just stay silent. Each such publisher is
/// counted once and logged (rate-limited).
pub(crate) fn watch_type_conflicts(
    node: &Node,
    topic: &str,
    dds_type: &str,
    type_hash: &str,
    stats: Arc<SubscriptionStats>,
) -> tokio::task::JoinHandle<()> {
    let ctx = node.context().clone();
    // Only publisher tokens of this topic: watching the whole graph made every process do
    // work for every token of every other process (100 launched nodes took 20 s of CPU to
    // come up, `cargo bench --bench launch`).
    let key = format!(
        "{}/{}/*/*/*/{}/*/*/*/{}/**",
        crate::wire::ADMIN_SPACE,
        ctx.domain_id(),
        EntityKind::Publisher.code(),
        crate::wire::mangle(topic)
    );
    let (topic, dds_type, type_hash) =
        (topic.to_owned(), dds_type.to_owned(), type_hash.to_owned());
    tokio::spawn(async move {
        let seen = Mutex::new(std::collections::HashSet::new());
        let declared = ctx
            .session()
            .liveliness()
            .declare_subscriber(&key)
            .history(true)
            .callback(move |sample| {
                if sample.kind() != zenoh::sample::SampleKind::Put {
                    return;
                }
                let Ok(e) = Entity::parse(sample.key_expr().as_str()) else {
                    return;
                };
                let Some(t) = &e.topic else { return };
                if (t.dds_type == dds_type && t.type_hash == type_hash) || t.name != topic {
                    return;
                }
                let first = seen
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(sample.key_expr().as_str().to_owned());
                if first {
                    stats.hash_mismatch.fetch_add(1, Ordering::Relaxed);
                    stats.warn(
                        &topic,
                        format_args!(
                            "publisher {} offers {} {} but this subscription expects {dds_type} {type_hash}: different definitions of the type, so none of its messages can arrive",
                            e.node_fq_name(),
                            t.dds_type,
                            t.type_hash
                        ),
                    );
                }
            })
            .await;
        // The watch lasts as long as the subscription (which aborts this task).
        if let Ok(_subscriber) = declared {
            std::future::pending::<()>().await;
        }
    })
}

/// A typed subscription. Messages arrive as `Arc<T>`: from another process decoded once,
/// from this process without any copy. Stream style ([`Subscription::recv`]) queues them
/// with the QoS history; callback style ([`crate::Node::create_subscription_with`]) runs
/// the callback as each message arrives.
pub struct Subscription<T: Message> {
    // Owned here so the intra-process registry's weak references live as long as we do.
    _sink: Arc<dyn Sink<Arc<T>>>,
    _decode: Arc<Decoder>,
    queue: Option<Arc<Queue<Arc<T>>>>,
    stats: Arc<SubscriptionStats>,
    topic: String,
    wire: WireSubscription,
}

/// Callback-style delivery. The callback runs on zenoh's receive thread (or, for
/// same-process publishers, in `publish`), so it should be short; hand heavy work off.
struct CallbackSink<F>(Mutex<F>);

impl<T, F> Sink<Arc<T>> for CallbackSink<F>
where
    T: Send + Sync,
    F: FnMut(Arc<T>) + Send,
{
    fn push(&self, item: Arc<T>) {
        (self.0.lock().unwrap_or_else(|e| e.into_inner()))(item);
    }
}

impl<T: Message> Subscription<T> {
    pub(crate) async fn new(node: &Node, topic: &str, qos: QosProfile) -> Result<Self> {
        let queue = Arc::new(Queue::tracked(
            qos.depth(),
            node.inner.ctx.inner.activity.clone(),
        ));
        Self::with_sink(node, topic, qos, queue.clone(), Some(queue)).await
    }

    pub(crate) async fn with_callback<F>(
        node: &Node,
        topic: &str,
        qos: QosProfile,
        callback: F,
    ) -> Result<Self>
    where
        F: FnMut(Arc<T>) + Send + 'static,
    {
        Self::with_sink(
            node,
            topic,
            qos,
            Arc::new(CallbackSink(Mutex::new(callback))),
            None,
        )
        .await
    }

    async fn with_sink(
        node: &Node,
        topic: &str,
        qos: QosProfile,
        sink: Arc<dyn Sink<Arc<T>>>,
        queue: Option<Arc<Queue<Arc<T>>>>,
    ) -> Result<Self> {
        let fq = node.resolve_name(topic)?;
        let stats = Arc::new(SubscriptionStats::default());
        let (k, s, t) = (sink.clone(), stats.clone(), fq.clone());
        // One decoder for samples from zenoh and payloads from same-process raw publishers.
        let decode: Arc<Decoder> =
            Arc::new(move |payload: &Payload<'_>| match payload.decode::<T>() {
                Ok(m) => {
                    s.received.fetch_add(1, Ordering::Relaxed);
                    k.push(Arc::new(m));
                }
                Err(e) => {
                    s.decode_errors.fetch_add(1, Ordering::Relaxed);
                    s.warn(
                        &t,
                        format_args!("dropping a {} that does not decode: {e}", T::TYPE_NAME),
                    );
                }
            });
        let d = decode.clone();
        let spec = WireSpec {
            fq_topic: &fq,
            type_name: T::TYPE_NAME,
            type_hash: T::TYPE_HASH,
            qos,
            remote_only: true,
        };
        let wire =
            declare_wire_subscription(node, spec, stats.clone(), move |inc: Incoming<'_>| {
                d(&inc.payload)
            })
            .await?;
        let intra = &node.inner.ctx.inner.intra;
        intra
            .slot::<T>(&fq, T::TYPE_NAME)
            .add_subscription(&sink, qos.durability == Durability::TransientLocal);
        intra
            .raw_slot(&fq, T::TYPE_NAME, T::TYPE_HASH)
            .add_typed_subscription(&decode);
        Ok(Self {
            _sink: sink,
            _decode: decode,
            queue,
            stats,
            topic: fq,
            wire,
        })
    }

    /// Waits for the next message (stream style; `None` for a callback-style subscription).
    pub async fn recv(&self) -> Option<Arc<T>> {
        match &self.queue {
            Some(q) => q.pop().await,
            None => None,
        }
    }

    /// The next message if one is queued.
    pub fn try_recv(&self) -> Option<Arc<T>> {
        self.queue.as_ref().and_then(|q| q.try_pop())
    }

    /// What this subscription received and rejected so far.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats
            .snapshot(self.queue.as_ref().map_or(0, |q| q.dropped()))
    }

    /// The fully qualified topic name.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The liveliness token's entity.
    pub fn entity(&self) -> &Entity {
        &self.wire.entity
    }
}

impl<T: Message> Drop for Subscription<T> {
    fn drop(&mut self) {
        // The intra-process registry holds only weak references, so dropping the sink
        // (with this struct) ends same-process delivery; the queue wakes its reader.
        if let Some(q) = &self.queue {
            q.close();
        }
    }
}

/// A CDR payload as received, with the publisher's attachment.
#[derive(Debug, Clone)]
pub struct RawMessage {
    /// The CDR bytes (header included).
    pub payload: Vec<u8>,
    /// Publisher sequence number, source timestamp and GID.
    pub attachment: Attachment,
    /// When this process received it (ns since the UNIX epoch).
    pub received_ns: i64,
    /// The key expression it arrived on.
    pub key: String,
}

/// A subscription delivering CDR bytes, for tools (`topic echo`, `topic hz`, bag record).
/// It listens to one type name and hash, from other processes and from this one.
pub struct RawSubscription {
    queue: Arc<Queue<RawMessage>>,
    // Owned here so the intra-process registry's weak reference lives as long as we do.
    _sink: Arc<dyn Sink<RawMessage>>,
    stats: Arc<SubscriptionStats>,
    topic: String,
    _wire: WireSubscription,
}

impl RawSubscription {
    pub(crate) async fn new(
        node: &Node,
        topic: &str,
        type_name: &str,
        type_hash: &str,
        qos: QosProfile,
    ) -> Result<Self> {
        let fq = node.resolve_name(topic)?;
        let queue = Arc::new(Queue::tracked(
            qos.depth(),
            node.inner.ctx.inner.activity.clone(),
        ));
        let stats = Arc::new(SubscriptionStats::default());
        let (q, s) = (queue.clone(), stats.clone());
        let deliver = move |inc: Incoming<'_>| {
            s.received.fetch_add(1, Ordering::Relaxed);
            q.push(RawMessage {
                payload: inc.payload.as_slice().to_vec(),
                attachment: inc.attachment,
                received_ns: crate::wire::now_ns(),
                key: inc.key.to_owned(),
            });
        };
        // Samples from raw publishers of this process arrive through zenoh (origin Any);
        // typed publishers of this process hand theirs over through the registry.
        let spec = WireSpec {
            fq_topic: &fq,
            type_name,
            type_hash,
            qos,
            remote_only: false,
        };
        let wire = declare_wire_subscription(node, spec, stats.clone(), deliver).await?;
        let sink: Arc<dyn Sink<RawMessage>> = queue.clone();
        node.inner
            .ctx
            .inner
            .intra
            .raw_slot(&fq, type_name, type_hash)
            .add_raw_subscription(&sink);
        Ok(Self {
            queue,
            _sink: sink,
            stats,
            topic: fq,
            _wire: wire,
        })
    }

    /// Waits for the next payload.
    pub async fn recv(&self) -> Option<RawMessage> {
        self.queue.pop().await
    }

    /// The next payload if one is queued.
    pub fn try_recv(&self) -> Option<RawMessage> {
        self.queue.try_pop()
    }

    /// What this subscription received and rejected so far.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot(self.queue.dropped())
    }

    /// The fully qualified topic name.
    pub fn topic(&self) -> &str {
        &self.topic
    }
}

impl Drop for RawSubscription {
    fn drop(&mut self) {
        self.queue.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zenoh::bytes::ZBytes;

    #[test]
    fn large_payloads_are_shared_and_fragmented_ones_joined_once() {
        let small = ZBytes::from(vec![1u8; 100]);
        assert!(matches!(received(&small), Payload::Slice(s) if s == [1u8; 100].as_slice()));

        // One slice: the message's bytes are zenoh's own buffer, not a copy.
        let whole = ZBytes::from(vec![2u8; 20_000]);
        let zenoh_ptr = whole.to_bytes().as_ptr();
        match received(&whole) {
            Payload::Shared(b) => assert_eq!(b.as_ptr(), zenoh_ptr),
            Payload::Slice(_) => panic!("a 20 kB payload was borrowed, so decoding copies it"),
        }

        // Fragments, as zenoh delivers a message larger than a batch: joined in order.
        let mut w = ZBytes::writer();
        w.append(ZBytes::from(vec![3u8; 70_000]));
        w.append(ZBytes::from(vec![4u8; 10_000]));
        let fragmented = w.finish();
        assert_eq!(fragmented.slices().count(), 2);
        match received(&fragmented) {
            Payload::Shared(b) => {
                assert_eq!(b.len(), 80_000);
                assert_eq!((b[69_999], b[70_000]), (3, 4));
            }
            Payload::Slice(_) => panic!("a fragmented payload must be joined into a shared buffer"),
        }
    }
}
