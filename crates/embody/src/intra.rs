//! Intra-process delivery: endpoints of one context on the same topic and type exchange
//! messages without zenoh. Typed pairs hand over the same `Arc<T>`; raw endpoints (CDR
//! bytes, for tools and bags) meet typed ones through [`RawSlot`]. zenoh's locality options
//! keep typed pairs from also talking through zenoh, so nothing arrives twice.

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::queue::Sink;
use crate::subscription::{Payload, RawMessage};

/// A transient-local publisher's last messages.
pub(crate) type Latched<T> = Mutex<VecDeque<Arc<T>>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here can be left half-updated by a panic, so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct SlotState<T> {
    subs: Vec<Weak<dyn Sink<Arc<T>>>>,
    latched: Vec<Weak<Latched<T>>>,
}

/// Local typed endpoints of one topic and type. One lock orders cache updates, deliveries
/// and registrations, but user code (callback sinks) always runs after it is released, so a
/// callback may publish or subscribe on the same topic.
pub(crate) struct TopicSlot<T> {
    state: Mutex<SlotState<T>>,
    /// `state.subs.len()`, readable without the lock: a publisher with no cache to fill
    /// skips the lock when no subscription was ever registered (or all have been pruned).
    entries: AtomicUsize,
}

impl<T> TopicSlot<T> {
    fn new() -> Self {
        Self {
            state: Mutex::new(SlotState {
                subs: Vec::new(),
                latched: Vec::new(),
            }),
            entries: AtomicUsize::new(0),
        }
    }

    /// Records `msg` in the publisher's cache (transient local), then delivers it to every
    /// live local subscription.
    pub(crate) fn publish(&self, msg: &Arc<T>, cache: Option<(&Latched<T>, usize)>) {
        // Registrations happen under the lock; one racing with this publish is no different
        // from one that came just after it.
        if cache.is_none() && self.entries.load(Ordering::Acquire) == 0 {
            return;
        }
        let targets: Vec<Arc<dyn Sink<Arc<T>>>> = {
            let mut s = lock(&self.state);
            if let Some((cache, depth)) = cache {
                let mut c = lock(cache);
                if c.len() >= depth {
                    c.pop_front();
                }
                c.push_back(msg.clone());
            }
            s.subs.retain(|w| w.strong_count() > 0);
            self.entries.store(s.subs.len(), Ordering::Release);
            s.subs.iter().filter_map(Weak::upgrade).collect()
        };
        for t in targets {
            t.push(msg.clone());
        }
    }

    /// Number of live local subscriptions.
    pub(crate) fn subscription_count(&self) -> usize {
        lock(&self.state)
            .subs
            .iter()
            .filter(|w| w.strong_count() > 0)
            .count()
    }

    /// Registers a subscription; a transient-local one first receives what local
    /// transient-local publishers kept.
    pub(crate) fn add_subscription(&self, sink: &Arc<dyn Sink<Arc<T>>>, transient_local: bool) {
        let kept: Vec<Arc<T>> = {
            let mut s = lock(&self.state);
            s.subs.push(Arc::downgrade(sink));
            self.entries.store(s.subs.len(), Ordering::Release);
            if transient_local {
                s.latched
                    .iter()
                    .filter_map(Weak::upgrade)
                    .flat_map(|c| lock(&c).iter().cloned().collect::<Vec<_>>())
                    .collect()
            } else {
                Vec::new()
            }
        };
        for m in kept {
            sink.push(m);
        }
    }

    /// Registers a transient-local publisher's cache.
    pub(crate) fn add_latched(&self, cache: &Arc<Latched<T>>) {
        let mut s = lock(&self.state);
        s.latched.retain(|w| w.strong_count() > 0);
        s.latched.push(Arc::downgrade(cache));
    }
}

/// Decodes a CDR payload into a typed subscription.
pub(crate) type Decoder = dyn for<'a> Fn(&Payload<'a>) + Send + Sync;

#[derive(Default)]
struct RawState {
    raw_subs: Vec<Weak<dyn Sink<RawMessage>>>,
    typed_subs: Vec<Weak<Decoder>>,
}

/// Where raw and typed endpoints of one topic, type and hash meet in a process.
#[derive(Default)]
pub(crate) struct RawSlot {
    state: Mutex<RawState>,
    /// `state.raw_subs.len()`, readable without the lock (typed publishers ask per message).
    raw_entries: AtomicUsize,
}

impl RawSlot {
    /// True when a raw subscription of this process listens (a typed publisher then
    /// serializes for it).
    pub(crate) fn has_raw_subscriptions(&self) -> bool {
        if self.raw_entries.load(Ordering::Acquire) == 0 {
            return false;
        }
        let mut s = lock(&self.state);
        s.raw_subs.retain(|w| w.strong_count() > 0);
        self.raw_entries.store(s.raw_subs.len(), Ordering::Release);
        !s.raw_subs.is_empty()
    }

    /// Hands a typed publisher's serialized message to local raw subscriptions.
    pub(crate) fn deliver_raw(&self, msg: &RawMessage) {
        let targets: Vec<_> = lock(&self.state)
            .raw_subs
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        for t in targets {
            t.push(msg.clone());
        }
    }

    /// Hands a raw publisher's payload to local typed subscriptions (each decodes it).
    pub(crate) fn deliver_typed(&self, payload: &bytes::Bytes) {
        let targets: Vec<_> = {
            let mut s = lock(&self.state);
            s.typed_subs.retain(|w| w.strong_count() > 0);
            s.typed_subs.iter().filter_map(Weak::upgrade).collect()
        };
        let payload = Payload::Shared(payload.clone());
        for t in targets {
            t(&payload);
        }
    }

    /// Registers a raw subscription.
    pub(crate) fn add_raw_subscription(&self, sink: &Arc<dyn Sink<RawMessage>>) {
        let mut s = lock(&self.state);
        s.raw_subs.push(Arc::downgrade(sink));
        self.raw_entries.store(s.raw_subs.len(), Ordering::Release);
    }

    /// Registers a typed subscription's decoder.
    pub(crate) fn add_typed_subscription(&self, decoder: &Arc<Decoder>) {
        lock(&self.state).typed_subs.push(Arc::downgrade(decoder));
    }
}

type AnySlot = Arc<dyn Any + Send + Sync>;

/// All local topics of a context.
#[derive(Default)]
pub(crate) struct Registry {
    topics: Mutex<HashMap<(String, &'static str), AnySlot>>,
    raw: Mutex<HashMap<(String, String, String), Arc<RawSlot>>>,
}

impl Registry {
    /// The typed slot for `topic` carrying `T`, created on first use.
    pub(crate) fn slot<T: Send + Sync + 'static>(
        &self,
        topic: &str,
        type_name: &'static str,
    ) -> Arc<TopicSlot<T>> {
        let mut topics = lock(&self.topics);
        let entry = topics
            .entry((topic.to_owned(), type_name))
            .or_insert_with(|| Arc::new(TopicSlot::<T>::new()) as AnySlot);
        match entry.clone().downcast::<TopicSlot<T>>() {
            Ok(slot) => slot,
            // The key includes the type name, so the stored slot always has type T; a
            // mismatch could only come from two Rust types sharing one ROS name.
            Err(_) => {
                let fresh = Arc::new(TopicSlot::<T>::new());
                *entry = fresh.clone();
                fresh
            }
        }
    }

    /// The raw slot for `topic` with type `type_name` and hash `type_hash`.
    pub(crate) fn raw_slot(&self, topic: &str, type_name: &str, type_hash: &str) -> Arc<RawSlot> {
        lock(&self.raw)
            .entry((topic.to_owned(), type_name.to_owned(), type_hash.to_owned()))
            .or_default()
            .clone()
    }
}
