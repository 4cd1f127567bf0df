//! ROS time: the node clock (system time, or simulation time from `/clock` when
//! `use_sim_time` is true), and timers that follow it.
//!
//! Under simulation time the clock reads zero until the first `/clock` message, stands still
//! while no messages come (so timers pause), and runs as fast as `/clock` runs (a 10 Hz timer
//! fires 100 times per wall second under a 10x clock). Timers fire at `start + k * period` of
//! the clock they follow; when the clock jumps over several periods they fire once and
//! resume on the period grid, as rcl timers do.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use embody_msgs::builtin_interfaces::msg::Time as TimeMsg;
use tokio::sync::watch;

use crate::activity::Activity;

/// A point in ROS time, nanoseconds since the UNIX epoch (or since the simulation started).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time {
    /// Nanoseconds.
    pub nanos: i64,
}

impl Time {
    /// Time zero (what a simulation clock reads before its first tick).
    pub const ZERO: Time = Time { nanos: 0 };

    /// From nanoseconds.
    pub fn from_nanos(nanos: i64) -> Self {
        Self { nanos }
    }

    /// From seconds.
    pub fn from_secs_f64(secs: f64) -> Self {
        Self {
            nanos: (secs * 1e9).round() as i64,
        }
    }

    /// Seconds as a float.
    pub fn as_secs_f64(&self) -> f64 {
        self.nanos as f64 / 1e9
    }

    /// The `builtin_interfaces/Time` of a header stamp.
    pub fn to_msg(&self) -> TimeMsg {
        TimeMsg {
            sec: self.nanos.div_euclid(1_000_000_000) as i32,
            nanosec: self.nanos.rem_euclid(1_000_000_000) as u32,
        }
    }

    /// From a `builtin_interfaces/Time`.
    pub fn from_msg(t: &TimeMsg) -> Self {
        Self {
            nanos: i64::from(t.sec) * 1_000_000_000 + i64::from(t.nanosec),
        }
    }

    /// This time plus a duration (saturating).
    pub fn add(&self, d: Duration) -> Self {
        Self {
            nanos: self
                .nanos
                .saturating_add(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
        }
    }
}

/// UTC calendar date and time of `secs` since the UNIX epoch: (year, month, day, hour,
/// minute, second), proleptic Gregorian (H. Hinnant's days-to-civil algorithm).
pub fn utc_date_time(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

/// Which time a clock tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockKind {
    /// The system clock.
    System,
    /// A monotonic clock (nanoseconds since the first steady reading in this process):
    /// never jumps, for measuring durations.
    Steady,
    /// Simulation time from `/clock`.
    Sim,
}

/// A node's clock. Cheap to clone; clones tell the same time.
#[derive(Debug, Clone)]
pub struct Clock {
    kind: ClockKind,
    sim: Arc<watch::Sender<Time>>,
    timers: Arc<SimTimers>,
}

/// Sim-time timers of a clock whose context tracks unfinished work: a timer that the clock
/// has made due counts as work until its callback has run.
#[derive(Debug, Default)]
struct SimTimers {
    activity: Option<Arc<Activity>>,
    due: Mutex<Vec<Weak<TimerDue>>>,
}

#[derive(Debug)]
struct TimerDue {
    next: AtomicI64,
    marked: AtomicBool,
    activity: Arc<Activity>,
}

impl TimerDue {
    fn mark_if_due(&self, now: Time) {
        if self.next.load(Ordering::Acquire) <= now.nanos
            && !self.marked.swap(true, Ordering::AcqRel)
        {
            self.activity.add(1);
        }
    }

    fn unmark(&self) {
        if self.marked.swap(false, Ordering::AcqRel) {
            self.activity.add(-1);
        }
    }
}

impl Drop for TimerDue {
    fn drop(&mut self) {
        self.unmark();
    }
}

impl Clock {
    /// A clock following the system time.
    pub fn system() -> Self {
        Self {
            kind: ClockKind::System,
            sim: Arc::new(watch::Sender::new(Time::ZERO)),
            timers: Arc::default(),
        }
    }

    /// A monotonic clock.
    pub fn steady() -> Self {
        Self {
            kind: ClockKind::Steady,
            sim: Arc::new(watch::Sender::new(Time::ZERO)),
            timers: Arc::default(),
        }
    }

    /// A simulation clock, zero until [`Clock::set_sim_time`] is called (by the `/clock`
    /// subscription a node with `use_sim_time` creates).
    pub fn sim() -> Self {
        Self {
            kind: ClockKind::Sim,
            sim: Arc::new(watch::Sender::new(Time::ZERO)),
            timers: Arc::default(),
        }
    }

    /// A simulation clock whose due timers count as unfinished work of a context.
    pub(crate) fn sim_tracked(activity: Arc<Activity>) -> Self {
        Self {
            timers: Arc::new(SimTimers {
                activity: Some(activity),
                due: Mutex::default(),
            }),
            ..Self::sim()
        }
    }

    /// Registers a timer for due tracking (sim clocks of tracked contexts only).
    fn track_timer(&self, next: Time) -> Option<Arc<TimerDue>> {
        let activity = self.timers.activity.clone()?;
        let due = Arc::new(TimerDue {
            next: AtomicI64::new(next.nanos),
            marked: AtomicBool::new(false),
            activity,
        });
        let mut list = self.timers.due.lock().unwrap_or_else(|e| e.into_inner());
        list.retain(|w| w.strong_count() > 0);
        list.push(Arc::downgrade(&due));
        Some(due)
    }

    /// System or simulation time.
    pub fn kind(&self) -> ClockKind {
        self.kind
    }

    /// The current time.
    pub fn now(&self) -> Time {
        match self.kind {
            ClockKind::System => Time::from_nanos(crate::wire::now_ns()),
            ClockKind::Steady => {
                static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
                let start = START.get_or_init(std::time::Instant::now);
                Time::from_nanos(i64::try_from(start.elapsed().as_nanos()).unwrap_or(i64::MAX))
            }
            ClockKind::Sim => *self.sim.borrow(),
        }
    }

    /// Sets simulation time. Time never runs backwards here: an older value (a reordered or
    /// replayed `/clock` sample) is ignored.
    pub fn set_sim_time(&self, t: Time) {
        let moved = self.sim.send_if_modified(|cur| {
            if t > *cur {
                *cur = t;
                true
            } else {
                false
            }
        });
        if moved && self.timers.activity.is_some() {
            let list = self.timers.due.lock().unwrap_or_else(|e| e.into_inner());
            for due in list.iter().filter_map(Weak::upgrade) {
                due.mark_if_due(t);
            }
        }
    }

    /// Waits until the clock reads at least `t`.
    pub async fn sleep_until(&self, t: Time) {
        match self.kind {
            ClockKind::System | ClockKind::Steady => {
                let now = self.now();
                if t > now {
                    tokio::time::sleep(Duration::from_nanos((t.nanos - now.nanos) as u64)).await;
                }
            }
            ClockKind::Sim => {
                let mut rx = self.sim.subscribe();
                // The sender lives as long as this clock, so the wait only ends on the time.
                let _ = rx.wait_for(|now| *now >= t).await;
            }
        }
    }

    /// Waits for `d` of this clock's time.
    pub async fn sleep(&self, d: Duration) {
        self.sleep_until(self.now().add(d)).await;
    }
}

/// A loop rate on a clock: `rate.sleep().await` returns at `start + k * period`, skipping
/// the periods a slow loop body (or a jumping clock) missed, like rclcpp's `Rate`.
#[derive(Debug)]
pub struct Rate {
    clock: Clock,
    period_ns: i64,
    next: Time,
}

impl Rate {
    /// A rate of `hz` on `clock`, starting now (`None` unless `hz` is positive and finite).
    pub fn new(clock: Clock, hz: f64) -> Option<Self> {
        if !(hz.is_finite() && hz > 0.0) {
            return None;
        }
        let period_ns = ((1e9 / hz).round() as i64).max(1);
        let next = Time::from_nanos(clock.now().nanos + period_ns);
        Some(Self {
            clock,
            period_ns,
            next,
        })
    }

    /// Waits for the next period.
    pub async fn sleep(&mut self) {
        self.clock.sleep_until(self.next).await;
        let behind = self.clock.now().nanos - self.next.nanos;
        self.next = Time::from_nanos(
            self.next.nanos + self.period_ns * (1 + behind.max(0) / self.period_ns),
        );
    }
}

/// What a timer callback is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerEvent {
    /// When the timer was due.
    pub expected: Time,
    /// What the clock read when the callback ran.
    pub actual: Time,
}

/// A periodic timer on a node's clock. It stops when dropped.
pub struct Timer {
    task: tokio::task::JoinHandle<()>,
}

impl Timer {
    /// Calls `callback` every `period` of `clock`'s time, first at `now + period`.
    pub fn start(
        clock: Clock,
        period: Duration,
        mut callback: impl FnMut(TimerEvent) + Send + 'static,
    ) -> Self {
        let period_ns = i64::try_from(period.as_nanos()).unwrap_or(i64::MAX).max(1);
        // The grid starts now, not whenever the task first runs.
        let mut next = clock.now().add(period);
        let due = clock.track_timer(next);
        let task = tokio::spawn(async move {
            loop {
                clock.sleep_until(next).await;
                let actual = clock.now();
                callback(TimerEvent {
                    expected: next,
                    actual,
                });
                let behind = actual.nanos - next.nanos;
                // Skip the periods the clock jumped over, staying on the grid.
                next = Time::from_nanos(next.nanos + period_ns * (1 + behind / period_ns));
                if let Some(due) = &due {
                    due.next.store(next.nanos, Ordering::Release);
                    due.unmark();
                    // The clock may have moved on while the callback ran.
                    due.mark_if_due(clock.now());
                }
            }
        });
        Self { task }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates_match_known_days() {
        assert_eq!(utc_date_time(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(utc_date_time(1_543_456_938), (2018, 11, 29, 2, 2, 18));
        assert_eq!(utc_date_time(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(utc_date_time(-1), (1969, 12, 31, 23, 59, 59));
    }

    #[test]
    fn message_conversion_round_trips() {
        let t = Time::from_nanos(1_700_000_000_123_456_789);
        assert_eq!(
            t.to_msg(),
            TimeMsg {
                sec: 1_700_000_000,
                nanosec: 123_456_789
            }
        );
        assert_eq!(Time::from_msg(&t.to_msg()), t);
        assert_eq!(Time::from_secs_f64(1.5).nanos, 1_500_000_000);
    }

    #[tokio::test]
    async fn sim_time_starts_at_zero_never_goes_back_and_drives_timers() {
        let clock = Clock::sim();
        assert_eq!(clock.now(), Time::ZERO);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let _timer = Timer::start(clock.clone(), Duration::from_millis(100), move |e| {
            let _ = tx.send(e);
        });
        // One simulated second in 10 ms ticks: exactly ten firings, on the 100 ms grid.
        for i in 1..=100 {
            clock.set_sim_time(Time::from_nanos(i * 10_000_000));
            tokio::task::yield_now().await;
        }
        let mut expected = Vec::new();
        for _ in 0..10 {
            expected.push(rx.recv().await.unwrap().expected.nanos);
        }
        assert_eq!(
            expected,
            (1..=10).map(|k| k * 100_000_000).collect::<Vec<_>>()
        );
        // The clock stands at 1.0 s, so the timer cannot have fired again.
        assert!(rx.try_recv().is_err());
        clock.set_sim_time(Time::from_nanos(500_000_000)); // older: ignored
        assert_eq!(clock.now(), Time::from_nanos(1_000_000_000));
        // A jump over several periods fires once, then stays on the grid.
        clock.set_sim_time(Time::from_nanos(1_450_000_000));
        let e = rx.recv().await.unwrap();
        assert_eq!(
            (e.expected.nanos, e.actual.nanos),
            (1_100_000_000, 1_450_000_000)
        );
        clock.set_sim_time(Time::from_nanos(1_500_000_000));
        assert_eq!(rx.recv().await.unwrap().expected.nanos, 1_500_000_000);
    }

    #[tokio::test]
    async fn rate_sleeps_to_the_next_period_of_its_clock() {
        let clock = Clock::sim();
        clock.set_sim_time(Time::from_nanos(1_000));
        let mut rate = Rate::new(clock.clone(), 10.0).unwrap();
        assert!(
            Rate::new(clock.clone(), 0.0).is_none() && Rate::new(clock.clone(), f64::NAN).is_none()
        );
        let c = clock.clone();
        let looped = tokio::spawn(async move {
            rate.sleep().await;
            let first = c.now();
            rate.sleep().await;
            (first, c.now())
        });
        for t in [50_000_000, 100_001_000, 150_000_000, 200_001_000] {
            clock.set_sim_time(Time::from_nanos(t));
            tokio::task::yield_now().await;
        }
        assert_eq!(
            looped.await.unwrap(),
            (Time::from_nanos(100_001_000), Time::from_nanos(200_001_000))
        );
    }
}
