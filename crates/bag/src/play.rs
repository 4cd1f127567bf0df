//! The player behind `embody bag play`: publishes a bag's messages at log-time pace with their
//! recorded types and QoS, optionally publishing `/clock` from bag time.

use std::collections::BTreeMap;
use std::time::Duration;

use embody::msgs::rosgraph_msgs::msg::Clock as ClockMsg;
use embody::qos::QosProfile;
use embody::{Node, Publisher, RawPublisher, Time};

use crate::BagError;
use crate::metadata::playback_qos;
use crate::reader::Bag;

/// How a bag is played.
#[derive(Debug, Clone)]
pub struct PlayOptions {
    /// Speed factor (> 0): 2.0 plays twice as fast.
    pub rate: f64,
    /// Start over at the end until stopped.
    pub looped: bool,
    /// Skip this much of the bag's beginning.
    pub start_offset: Duration,
    /// Publish `/clock` at this rate (Hz) from bag time, and right before every message.
    pub clock_hz: Option<f64>,
    /// Only these topics (all when empty).
    pub topics: Vec<String>,
    /// Topic renames `from → to`.
    pub remap: BTreeMap<String, String>,
    /// Before the first message, wait up to this long for every topic to have a subscriber
    /// in another process (so nothing is published into the void).
    pub wait_for_subscribers: Option<Duration>,
}

impl Default for PlayOptions {
    fn default() -> Self {
        Self {
            rate: 1.0,
            looped: false,
            start_offset: Duration::ZERO,
            clock_hz: None,
            topics: Vec::new(),
            remap: BTreeMap::new(),
            wait_for_subscribers: None,
        }
    }
}

/// What a playback did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlayReport {
    /// Messages published.
    pub published: u64,
    /// `/clock` messages published.
    pub clock_published: u64,
    /// Messages that could not be read (damaged chunks), skipped.
    pub skipped: u64,
    /// Passes over the bag.
    pub passes: u64,
}

/// When to publish: `wait(offset)` returns once `offset` of bag time (scaled by the rate) has
/// passed since playback started. Tests give their own to check the schedule exactly.
pub trait Pacer: Send {
    /// Waits until the wall-clock point for bag-time offset `offset` since the first message.
    fn wait(&mut self, offset: Duration) -> impl std::future::Future<Output = ()> + Send;
    /// Restarts the schedule (at the start of a loop pass).
    fn restart(&mut self);
}

/// Real-time pacing on tokio's monotonic clock.
pub struct WallPacer {
    rate: f64,
    start: tokio::time::Instant,
}

impl WallPacer {
    /// Paces at `rate` times real time.
    pub fn new(rate: f64) -> Self {
        Self {
            rate,
            start: tokio::time::Instant::now(),
        }
    }
}

impl Pacer for WallPacer {
    async fn wait(&mut self, offset: Duration) {
        tokio::time::sleep_until(self.start + offset.div_f64(self.rate)).await;
    }
    fn restart(&mut self) {
        self.start = tokio::time::Instant::now();
    }
}

struct Output {
    publisher: RawPublisher,
}

/// Plays `bag` through `node`; `progress(published, total)` is called after each message.
pub async fn play(
    node: &Node,
    bag: &Bag,
    opts: &PlayOptions,
    pacer: &mut impl Pacer,
    mut progress: impl FnMut(&PlayReport, u64),
) -> Result<PlayReport, BagError> {
    if !(opts.rate > 0.0 && opts.rate.is_finite()) {
        return Err(BagError::NotABag(format!(
            "--rate must be > 0, not {}",
            opts.rate
        )));
    }
    let mut selected = bag.select(&opts.topics);
    if opts.clock_hz.is_some() {
        // As ros2 bag play: with --clock, a /clock recorded in the bag is not replayed.
        selected.retain(|&c| bag.connections[c].topic != "/clock");
    }
    let mut outputs: BTreeMap<usize, Output> = BTreeMap::new();
    for &c in &selected {
        let conn = &bag.connections[c];
        let topic = opts
            .remap
            .get(&conn.topic)
            .cloned()
            .unwrap_or_else(|| conn.topic.clone());
        let hash = conn.type_hash_or_known();
        let publisher = node
            .create_raw_publisher(
                &topic,
                &conn.type_name,
                &hash,
                playback_qos(&conn.offered_qos_profiles),
            )
            .await
            .map_err(|e| {
                BagError::NotABag(format!("cannot publish {topic} ({}): {e}", conn.type_name))
            })?;
        outputs.insert(c, Output { publisher });
    }
    let clock: Option<Publisher<ClockMsg>> = match opts.clock_hz {
        Some(_) => Some(
            node.create_publisher::<ClockMsg>("/clock", QosProfile::clock())
                .await
                .map_err(|e| BagError::NotABag(format!("cannot publish /clock: {e}")))?,
        ),
        None => None,
    };
    if let Some(timeout) = opts.wait_for_subscribers {
        for o in outputs.values() {
            if o.publisher
                .wait_for_remote_subscriber(timeout)
                .await
                .is_err()
            {
                tracing::warn!(
                    "{}: no subscriber after {timeout:?}; playing anyway",
                    o.publisher.topic()
                );
            }
        }
    }

    let bag_start = bag.metadata.starting_time;
    let first = bag_start.saturating_add(opts.start_offset.as_nanos() as u64);
    let total: u64 = selected
        .iter()
        .map(|&c| bag.connections[c].message_count)
        .sum();
    let clock_period = opts
        .clock_hz
        .filter(|hz| *hz > 0.0)
        .map(|hz| Duration::from_secs_f64(1.0 / hz));
    let mut report = PlayReport::default();
    // Sim time never runs backwards, so each loop pass continues the clock where the previous
    // one ended instead of starting the bag's time again.
    let bag_end = bag.metadata.starting_time + bag.metadata.duration;
    let pass_span = bag_end.saturating_sub(first) + 1_000_000;
    loop {
        pacer.restart();
        let clock_shift = report.passes * pass_span;
        report.passes += 1;
        let mut next_clock = Duration::ZERO;
        for item in bag.messages(Some(&selected)) {
            let m = match item {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!("{e}; skipping");
                    report.skipped += 1;
                    continue;
                }
            };
            if m.log_time < first {
                continue;
            }
            let offset = Duration::from_nanos(m.log_time - first);
            if let Some(period) = clock_period {
                // Periodic /clock between messages, as the rosbag2 player does.
                while next_clock < offset {
                    pacer.wait(next_clock).await;
                    publish_clock(
                        clock.as_ref(),
                        first + next_clock.as_nanos() as u64 + clock_shift,
                        &mut report,
                    )
                    .await;
                    next_clock += period;
                }
            }
            pacer.wait(offset).await;
            // The clock reaches the message's time before the message goes out, so nodes
            // under sim time see it with the time it was recorded at.
            publish_clock(clock.as_ref(), m.log_time + clock_shift, &mut report).await;
            if let Some(o) = outputs.get(&m.connection) {
                match o.publisher.publish(m.data).await {
                    Ok(()) => report.published += 1,
                    Err(e) => tracing::warn!("{}: publish failed: {e}", o.publisher.topic()),
                }
            }
            progress(&report, total);
        }
        if !opts.looped || report.published == 0 {
            break;
        }
    }
    Ok(report)
}

async fn publish_clock(clock: Option<&Publisher<ClockMsg>>, t: u64, report: &mut PlayReport) {
    if let Some(p) = clock {
        let msg = ClockMsg {
            clock: Time::from_nanos(t as i64).to_msg(),
        };
        if p.publish(msg).await.is_ok() {
            report.clock_published += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn wall_pacer_scales_bag_time_by_the_rate() {
        for (rate, offset_ms, expected_ms) in [(1.0, 500, 500), (2.0, 500, 250), (0.5, 500, 1000)] {
            let mut p = WallPacer::new(rate);
            p.restart();
            let start = tokio::time::Instant::now();
            p.wait(Duration::from_millis(offset_ms)).await;
            // Paused tokio time advances exactly to the deadline.
            assert_eq!(
                start.elapsed(),
                Duration::from_millis(expected_ms),
                "rate {rate}"
            );
        }
    }
}
