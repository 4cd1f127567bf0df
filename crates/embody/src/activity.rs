//! Work a context has not finished yet: messages queued for a subscription, the message a
//! stream consumer is handling, sim-time timers that are due. The bag replay harness waits
//! for this to reach zero ("every node is idle") before it feeds the next message.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use crate::error::{Error, Result};

/// A counter of unfinished work with a wake-up for whoever waits for it to drain.
#[derive(Debug, Default)]
pub(crate) struct Activity {
    pending: AtomicI64,
    waiters: AtomicUsize,
    notify: Notify,
}

impl Activity {
    /// Adds (or with a negative `n`, removes) units of work.
    pub(crate) fn add(&self, n: i64) {
        if n == 0 {
            return;
        }
        self.pending.fetch_add(n, Ordering::AcqRel);
        // Only waiters pay for the wake-up; the hot path is one atomic add and one load.
        if self.waiters.load(Ordering::Acquire) > 0 {
            self.notify.notify_waiters();
        }
    }

    /// Units of work not finished.
    pub(crate) fn pending(&self) -> i64 {
        self.pending.load(Ordering::Acquire)
    }

    /// Waits until no work is pending, calling `drain` (which may finish work, e.g. empty the
    /// caller's own queues) before every check.
    pub(crate) async fn wait_idle(&self, timeout: Duration, mut drain: impl FnMut()) -> Result<()> {
        self.waiters.fetch_add(1, Ordering::AcqRel);
        let deadline = tokio::time::Instant::now() + timeout;
        let result = loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            drain();
            if self.pending() <= 0 {
                break Ok(());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                break Err(Error::Timeout(timeout));
            }
        };
        self.waiters.fetch_sub(1, Ordering::AcqRel);
        result
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn waits_until_work_drains_and_times_out_when_it_does_not() {
        let a = Arc::new(Activity::default());
        a.add(2);
        let b = a.clone();
        let worker = tokio::spawn(async move {
            b.add(-1);
            tokio::task::yield_now().await;
            b.add(-1);
        });
        a.wait_idle(Duration::from_secs(30), || {}).await.unwrap();
        assert_eq!(a.pending(), 0);
        worker.await.unwrap();
        a.add(1);
        let err = a
            .wait_idle(Duration::from_millis(1), || {})
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Timeout(_)));
        // `drain` finishing the work counts.
        let c = a.clone();
        a.wait_idle(Duration::from_secs(30), move || c.add(-c.pending()))
            .await
            .unwrap();
    }
}
