//! Publishers: typed (with intra-process delivery) and raw (CDR bytes, for tools and bags).

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use embody_msgs::Message;
use zenoh::liveliness::LivelinessToken;
use zenoh::qos::{CongestionControl, Reliability as ZReliability};
use zenoh::sample::Locality;
use zenoh_ext::{AdvancedPublisherBuilderExt, CacheConfig, MissDetectionConfig};

use crate::error::{Error, Result};
use crate::intra::{Latched, RawSlot, TopicSlot};
use crate::node::Node;
use crate::qos::{Durability, History, QosProfile, Reliability};
use crate::subscription::RawMessage;
use crate::wire::{Attachment, Entity, EntityKind, TopicInfo, data_key, dds_type_name, now_ns};

// Field order matters in WirePublisher: the matching listener must be undeclared before
// the publisher it listens to, and struct fields drop in declaration order.
enum ZPublisher {
    Plain(zenoh::pubsub::Publisher<'static>),
    Advanced(zenoh_ext::AdvancedPublisher<'static>),
}

/// The zenoh side of a publisher: key, token, attachment counter.
pub(crate) struct WirePublisher {
    _matching: zenoh::matching::MatchingListener<()>,
    zpub: ZPublisher,
    entity: Entity,
    gid: [u8; 16],
    seq: AtomicI64,
    /// Whether to serialize and put at all (false only for a volatile publisher that no
    /// remote subscriber matches).
    remote_matched: Arc<AtomicBool>,
    /// zenoh's matching status, for waiting on it.
    matched: Arc<tokio::sync::watch::Sender<bool>>,
    _token: LivelinessToken,
    key: String,
}

impl WirePublisher {
    pub(crate) async fn new(
        node: &Node,
        fq_topic: &str,
        type_name: &str,
        type_hash: &str,
        qos: QosProfile,
        local_only_elsewhere: bool,
    ) -> Result<Self> {
        let ctx = &node.inner.ctx;
        let dds =
            dds_type_name(type_name).ok_or_else(|| Error::UnknownType(type_name.to_owned()))?;
        let key = data_key(ctx.domain_id(), fq_topic, &dds, type_hash);
        let entity = node.endpoint(
            EntityKind::Publisher,
            TopicInfo {
                name: fq_topic.to_owned(),
                dds_type: dds,
                type_hash: type_hash.to_owned(),
                qos,
            },
        );
        let session = &ctx.inner.session;
        let reliability = match qos.reliability {
            Reliability::Reliable => ZReliability::Reliable,
            Reliability::BestEffort => ZReliability::BestEffort,
        };
        // As rmw_zenoh: block only for reliable keep-all, drop otherwise.
        let congestion =
            if qos.reliability == Reliability::Reliable && qos.history == History::KeepAll {
                CongestionControl::Block
            } else {
                CongestionControl::Drop
            };
        let destination = if local_only_elsewhere {
            Locality::Remote
        } else {
            Locality::Any
        };
        let builder = session
            .declare_publisher(key.clone())
            .reliability(reliability)
            .congestion_control(congestion)
            .allowed_destination(destination);
        let transient_local = qos.durability == Durability::TransientLocal;
        // A transient-local publisher must fill its cache whether or not anyone listens yet.
        let remote_matched = Arc::new(AtomicBool::new(transient_local));
        let matched = Arc::new(tokio::sync::watch::Sender::new(false));
        let (flag, m) = (remote_matched.clone(), matched.clone());
        let on_match = move |s: zenoh::matching::MatchingStatus| {
            if !transient_local {
                flag.store(s.matching(), Ordering::Relaxed);
            }
            m.send_replace(s.matching());
        };
        let (zpub, listener, status) = if transient_local {
            let mut b = builder
                .cache(CacheConfig::default().max_samples(qos.durable_depth()))
                .publisher_detection();
            if qos.reliability == Reliability::Reliable {
                b = b.sample_miss_detection(
                    MissDetectionConfig::default().sporadic_heartbeat(Duration::from_millis(500)),
                );
            }
            let p = b.await.map_err(Error::zenoh)?;
            let listener = p
                .matching_listener()
                .callback(on_match)
                .await
                .map_err(Error::zenoh)?;
            let status = p.matching_status().await.map_err(Error::zenoh)?;
            (ZPublisher::Advanced(p), listener, status)
        } else {
            let p = builder.await.map_err(Error::zenoh)?;
            let listener = p
                .matching_listener()
                .callback(on_match)
                .await
                .map_err(Error::zenoh)?;
            let status = p.matching_status().await.map_err(Error::zenoh)?;
            (ZPublisher::Plain(p), listener, status)
        };
        if status.matching() {
            remote_matched.store(true, Ordering::Relaxed);
            matched.send_replace(true);
        }
        let token = ctx.declare_token(&entity).await?;
        let gid = entity.gid();
        Ok(Self {
            zpub,
            entity,
            gid,
            seq: AtomicI64::new(1),
            remote_matched,
            matched,
            _matching: listener,
            _token: token,
            key,
        })
    }

    /// True when a subscriber in another session matches (always true for transient
    /// local, whose cache must be kept).
    pub(crate) fn has_remote_subscribers(&self) -> bool {
        self.remote_matched.load(Ordering::Relaxed)
    }

    /// The attachment for the next message (sequence numbers count every message sent,
    /// through zenoh or to same-process raw subscriptions).
    pub(crate) fn next_attachment(&self) -> Attachment {
        Attachment {
            sequence_number: self.seq.fetch_add(1, Ordering::Relaxed),
            source_timestamp: now_ns(),
            gid: self.gid,
        }
    }

    /// Puts one CDR payload with the rmw_zenoh attachment. zenoh resolves a put in place
    /// (awaiting one is `ready(put.wait())`, blocking alike under congestion control
    /// `Block`), so async publishers call this too rather than carry zenoh's builder
    /// through a future of their own.
    pub(crate) fn put_now(
        &self,
        payload: impl Into<zenoh::bytes::ZBytes>,
        att: Attachment,
    ) -> Result<()> {
        use zenoh::Wait as _;
        let payload = payload.into();
        // A fixed-size array becomes zenoh's buffer as it is (one allocation, not two).
        let att = att.to_bytes();
        match &self.zpub {
            ZPublisher::Plain(p) => p.put(payload).attachment(att).wait(),
            ZPublisher::Advanced(p) => p.put(payload).attachment(att).wait(),
        }
        .map_err(Error::zenoh)
    }

    /// Waits for a matching remote subscriber (see [`Publisher::wait_for_remote_subscriber`]).
    pub(crate) async fn wait_matched(&self, timeout: Duration) -> Result<()> {
        let mut rx = self.matched.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|m| *m))
            .await
            .map_err(|_| Error::Timeout(timeout))?
            .map(|_| ())
            .map_err(|_| Error::Shutdown)
    }

    /// The data key expression.
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// The announced entity.
    pub(crate) fn entity(&self) -> &Entity {
        &self.entity
    }
}

/// Below this estimated size no byte sequence is large enough to be shared (see
/// `embody_cdr::CdrWriter::write_shared`), so the message is encoded into one buffer.
const SMALL_MESSAGE: usize = 16 * 1024;

/// A typed publisher. Same-process subscriptions receive the very `Arc<T>` published.
pub struct Publisher<T: Message> {
    wire: WirePublisher,
    local: Arc<TopicSlot<T>>,
    raw_local: Arc<RawSlot>,
    latched: Option<Arc<Latched<T>>>,
    depth: usize,
    topic: String,
    _t: PhantomData<fn(T)>,
}

impl<T: Message> Publisher<T> {
    pub(crate) async fn new(node: &Node, topic: &str, qos: QosProfile) -> Result<Self> {
        let fq = node.resolve_name(topic)?;
        let wire = WirePublisher::new(node, &fq, T::TYPE_NAME, T::TYPE_HASH, qos, true).await?;
        let intra = &node.inner.ctx.inner.intra;
        let local = intra.slot::<T>(&fq, T::TYPE_NAME);
        let raw_local = intra.raw_slot(&fq, T::TYPE_NAME, T::TYPE_HASH);
        let latched = (qos.durability == Durability::TransientLocal).then(|| {
            let cache = Arc::new(Mutex::new(VecDeque::new()));
            local.add_latched(&cache);
            cache
        });
        Ok(Self {
            wire,
            local,
            raw_local,
            latched,
            depth: qos.durable_depth(),
            topic: fq,
            _t: PhantomData,
        })
    }

    /// Publishes a message: handed as `Arc` to same-process subscriptions, serialized once
    /// for subscribers elsewhere (and not at all when there are none).
    pub async fn publish(&self, msg: impl Into<Arc<T>>) -> Result<()> {
        // zenoh's put completes in place (see `WirePublisher::put_now`).
        self.publish_now(msg)
    }

    /// Publishes without awaiting, for synchronous code such as timer and subscription
    /// callbacks (as rclcpp's `publish`). Same delivery as [`Publisher::publish`].
    pub fn publish_now(&self, msg: impl Into<Arc<T>>) -> Result<()> {
        match self.deliver(msg.into())? {
            Some((payload, attachment)) => self.wire.put_now(payload, attachment),
            None => Ok(()),
        }
    }

    /// Hands `msg` to same-process subscriptions and returns what zenoh must carry, if any
    /// remote subscriber exists.
    fn deliver(&self, msg: Arc<T>) -> Result<Option<(zenoh::bytes::ZBytes, Attachment)>> {
        self.local
            .publish(&msg, self.latched.as_deref().map(|c| (c, self.depth)));
        let remote = self.wire.has_remote_subscribers();
        let raw_local = self.raw_local.has_raw_subscriptions();
        if remote || raw_local {
            let attachment = self.wire.next_attachment();
            if raw_local {
                self.raw_local.deliver_raw(&RawMessage {
                    payload: msg.to_cdr()?,
                    attachment,
                    received_ns: now_ns(),
                    key: self.wire.key().to_owned(),
                });
            }
            if remote {
                // Large byte sequences (cloud, image data) go to zenoh as shared slices; a
                // message too small to hold one is encoded into a single buffer.
                let payload = if msg.size_hint() < SMALL_MESSAGE {
                    zenoh::bytes::ZBytes::from(msg.to_cdr()?)
                } else {
                    let mut w = zenoh::bytes::ZBytes::writer();
                    for segment in msg.to_cdr_segments()? {
                        w.append(match segment {
                            embody_cdr::Segment::Owned(v) => zenoh::bytes::ZBytes::from(v),
                            embody_cdr::Segment::Shared(b) => zenoh::bytes::ZBytes::from(b),
                        });
                    }
                    w.finish()
                };
                return Ok(Some((payload, attachment)));
            }
        }
        Ok(None)
    }

    /// The fully qualified topic name.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The data key expression on zenoh.
    pub fn key_expr(&self) -> &str {
        self.wire.key()
    }

    /// The liveliness token's entity (for introspection and tests).
    pub fn entity(&self) -> &Entity {
        self.wire.entity()
    }

    /// Waits until a subscriber in another session matches this publisher (zenoh has a
    /// route to it), so that what is published next reaches it.
    pub async fn wait_for_remote_subscriber(&self, timeout: std::time::Duration) -> Result<()> {
        self.wire.wait_matched(timeout).await
    }

    /// Number of subscriptions in this process that receive messages without zenoh.
    pub fn local_subscription_count(&self) -> usize {
        self.local.subscription_count()
    }
}

/// A publisher of already-serialized CDR payloads for a type known by name and hash.
/// Same-process typed subscriptions of that type decode what it publishes.
pub struct RawPublisher {
    wire: WirePublisher,
    local: Arc<RawSlot>,
    topic: String,
}

impl RawPublisher {
    pub(crate) async fn new(
        node: &Node,
        topic: &str,
        type_name: &str,
        type_hash: &str,
        qos: QosProfile,
    ) -> Result<Self> {
        let fq = node.resolve_name(topic)?;
        let wire = WirePublisher::new(node, &fq, type_name, type_hash, qos, false).await?;
        let local = node
            .inner
            .ctx
            .inner
            .intra
            .raw_slot(&fq, type_name, type_hash);
        Ok(Self {
            wire,
            local,
            topic: fq,
        })
    }

    /// Publishes a CDR payload (with its 4-byte header).
    pub async fn publish(&self, cdr: impl Into<bytes::Bytes>) -> Result<()> {
        let cdr = cdr.into();
        // Typed subscriptions of this process ignore zenoh samples from it (they expect
        // same-process messages through the registry), so hand it to them here.
        self.local.deliver_typed(&cdr);
        self.wire.put_now(cdr, self.wire.next_attachment())
    }

    /// The fully qualified topic name.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The data key expression on zenoh.
    pub fn key_expr(&self) -> &str {
        self.wire.key()
    }

    /// Waits until a subscriber in another session matches.
    pub async fn wait_for_remote_subscriber(&self, timeout: Duration) -> Result<()> {
        self.wire.wait_matched(timeout).await
    }
}
