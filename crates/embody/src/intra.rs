//! Intra-process delivery: publishers and subscriptions of one context on the same topic
//! and type exchange `Arc<T>` directly. zenoh's locality options keep these pairs from also
//! talking through zenoh, so nothing arrives twice.

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};

use crate::queue::Sink;

type Latched<T> = Mutex<VecDeque<Arc<T>>>;

/// Local endpoints of one topic and type.
pub(crate) struct TopicSlot<T> {
    subs: Mutex<Vec<Weak<dyn Sink<Arc<T>>>>>,
    latched: Mutex<Vec<Weak<Latched<T>>>>,
}

impl<T> TopicSlot<T> {
    fn new() -> Self {
        Self {
            subs: Mutex::new(Vec::new()),
            latched: Mutex::new(Vec::new()),
        }
    }

    /// Delivers to every live local subscription; returns how many got it.
    pub(crate) fn deliver(&self, msg: &Arc<T>) -> usize {
        let mut subs = self.subs.lock().unwrap_or_else(|e| e.into_inner());
        subs.retain(|w| w.strong_count() > 0);
        for w in subs.iter() {
            if let Some(q) = w.upgrade() {
                q.push(msg.clone());
            }
        }
        subs.len()
    }

    /// Number of live local subscriptions.
    pub(crate) fn subscription_count(&self) -> usize {
        let subs = self.subs.lock().unwrap_or_else(|e| e.into_inner());
        subs.iter().filter(|w| w.strong_count() > 0).count()
    }

    /// Registers a subscription; a transient-local one first receives what local
    /// transient-local publishers kept.
    pub(crate) fn add_subscription(&self, q: &Arc<dyn Sink<Arc<T>>>, transient_local: bool) {
        if transient_local {
            let latched = self.latched.lock().unwrap_or_else(|e| e.into_inner());
            for cache in latched.iter().filter_map(Weak::upgrade) {
                for m in cache.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                    q.push(m.clone());
                }
            }
        }
        self.subs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::downgrade(q));
    }

    /// Registers a transient-local publisher's cache.
    pub(crate) fn add_latched(&self, cache: &Arc<Latched<T>>) {
        let mut latched = self.latched.lock().unwrap_or_else(|e| e.into_inner());
        latched.retain(|w| w.strong_count() > 0);
        latched.push(Arc::downgrade(cache));
    }
}

type AnySlot = Arc<dyn Any + Send + Sync>;

/// All local topics of a context.
#[derive(Default)]
pub(crate) struct Registry {
    topics: Mutex<HashMap<(String, &'static str), AnySlot>>,
}

impl Registry {
    /// The slot for `topic` carrying `T`, created on first use.
    pub(crate) fn slot<T: Send + Sync + 'static>(
        &self,
        topic: &str,
        type_name: &'static str,
    ) -> Arc<TopicSlot<T>> {
        let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
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
}
