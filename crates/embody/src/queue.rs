//! The per-subscription message queue with ROS history semantics: keep-last drops the
//! oldest message when full, keep-all grows.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::activity::Activity;

/// Where a subscription's messages go: its queue (stream style) or its callback.
pub(crate) trait Sink<T>: Send + Sync {
    /// Hands one message over; must not block for long (it runs on zenoh's threads).
    fn push(&self, item: T);
}

impl<T: Send> Sink<T> for Queue<T> {
    fn push(&self, item: T) {
        Queue::push(self, item);
    }
}

/// A multi-producer, single-consumer queue that never blocks producers (zenoh's threads).
pub(crate) struct Queue<T> {
    state: Mutex<State<T>>,
    notify: Notify,
    depth: Option<usize>,
    /// The context's work counter: queued items count, and so does the item the consumer
    /// took last, until it comes back for the next one.
    activity: Option<Arc<Activity>>,
}

struct State<T> {
    items: VecDeque<T>,
    dropped: u64,
    closed: bool,
    /// The consumer holds an item it has not finished with.
    held: bool,
    /// Still reporting to the activity counter (until closed).
    tracking: bool,
}

impl<T> Queue<T> {
    /// A queue keeping at most `depth` items (`None` = unbounded).
    pub(crate) fn new(depth: Option<usize>) -> Self {
        Self {
            state: Mutex::new(State {
                items: VecDeque::new(),
                dropped: 0,
                closed: false,
                held: false,
                tracking: true,
            }),
            notify: Notify::new(),
            depth,
            activity: None,
        }
    }

    /// A queue that reports its unfinished work to `activity`.
    pub(crate) fn tracked(depth: Option<usize>, activity: Arc<Activity>) -> Self {
        Self {
            activity: Some(activity),
            ..Self::new(depth)
        }
    }

    fn track(&self, n: i64) {
        if let Some(a) = &self.activity {
            a.add(n);
        }
    }

    /// Takes the front item; coming back for another means the previous one is finished.
    fn take(&self, s: &mut State<T>) -> Option<T> {
        let finished = std::mem::take(&mut s.held);
        let item = s.items.pop_front();
        // The item moves from the queue to the consumer: still unfinished work.
        s.held = item.is_some();
        if finished && s.tracking {
            self.track(-1);
        }
        item
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        // A panic while holding this lock cannot leave the queue inconsistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an item, dropping the oldest when a keep-last queue is full.
    pub(crate) fn push(&self, item: T) {
        {
            let mut s = self.lock();
            if s.closed {
                return;
            }
            let mut added = 1;
            if let Some(d) = self.depth
                && s.items.len() >= d
            {
                s.items.pop_front();
                s.dropped += 1;
                added -= 1;
            }
            s.items.push_back(item);
            self.track(added);
        }
        self.notify.notify_one();
    }

    /// Takes the oldest item without waiting.
    pub(crate) fn try_pop(&self) -> Option<T> {
        let mut s = self.lock();
        self.take(&mut s)
    }

    /// Waits for the next item; `None` once the queue is closed and empty.
    pub(crate) async fn pop(&self) -> Option<T> {
        loop {
            let notified = self.notify.notified();
            {
                let mut s = self.lock();
                if let Some(item) = self.take(&mut s) {
                    return Some(item);
                }
                if s.closed {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// Messages dropped because the queue was full.
    pub(crate) fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// Wakes the consumer for good.
    pub(crate) fn close(&self) {
        {
            let mut s = self.lock();
            if s.tracking {
                // Whatever the consumer still drains after closing is not waited for.
                s.tracking = false;
                self.track(-(s.items.len() as i64 + i64::from(s.held)));
            }
            s.closed = true;
        }
        self.notify.notify_waiters();
        self.notify.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_last_drops_the_oldest() {
        let q = Queue::new(Some(2));
        for i in 0..5 {
            q.push(i);
        }
        assert_eq!(q.try_pop(), Some(3));
        assert_eq!(q.try_pop(), Some(4));
        assert_eq!(q.try_pop(), None);
        assert_eq!(q.dropped(), 3);
    }

    #[test]
    fn tracked_work_counts_queued_and_held_items_until_the_consumer_comes_back() {
        let a = Arc::new(Activity::default());
        let q = Queue::tracked(Some(2), a.clone());
        for i in 0..3 {
            q.push(i);
        }
        // Keep-last dropped one: two queued.
        assert_eq!(a.pending(), 2);
        assert_eq!(q.try_pop(), Some(1));
        assert_eq!(a.pending(), 2, "the taken item is still being handled");
        assert_eq!(q.try_pop(), Some(2));
        assert_eq!(a.pending(), 1);
        assert_eq!(q.try_pop(), None);
        assert_eq!(
            a.pending(),
            0,
            "coming back empty-handed finishes the last item"
        );
        q.push(3);
        q.push(4);
        assert_eq!(q.try_pop(), Some(3));
        q.close();
        assert_eq!(a.pending(), 0, "closing forgets queued and held work");
    }

    #[tokio::test]
    async fn pop_wakes_on_push_and_close() {
        let q = std::sync::Arc::new(Queue::new(None));
        let q2 = q.clone();
        let waiter = tokio::spawn(async move { (q2.pop().await, q2.pop().await) });
        q.push(7);
        q.close();
        assert_eq!(waiter.await.unwrap(), (Some(7), None));
    }
}
