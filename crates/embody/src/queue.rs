//! The per-subscription message queue with ROS history semantics: keep-last drops the
//! oldest message when full, keep-all grows.

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::Notify;

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
}

struct State<T> {
    items: VecDeque<T>,
    dropped: u64,
    closed: bool,
}

impl<T> Queue<T> {
    /// A queue keeping at most `depth` items (`None` = unbounded).
    pub(crate) fn new(depth: Option<usize>) -> Self {
        Self {
            state: Mutex::new(State {
                items: VecDeque::new(),
                dropped: 0,
                closed: false,
            }),
            notify: Notify::new(),
            depth,
        }
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
            if let Some(d) = self.depth
                && s.items.len() >= d
            {
                s.items.pop_front();
                s.dropped += 1;
            }
            s.items.push_back(item);
        }
        self.notify.notify_one();
    }

    /// Takes the oldest item without waiting.
    pub(crate) fn try_pop(&self) -> Option<T> {
        self.lock().items.pop_front()
    }

    /// Waits for the next item; `None` once the queue is closed and empty.
    pub(crate) async fn pop(&self) -> Option<T> {
        loop {
            let notified = self.notify.notified();
            {
                let mut s = self.lock();
                if let Some(item) = s.items.pop_front() {
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
        self.lock().closed = true;
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
