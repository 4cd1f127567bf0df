//! The simulator as a ROS 2 node: the vehicle world's frames published on the design's topic
//! map under sim time, and — in lock-step — the ego driven by `control/command` from the stack:
//! after each frame the simulator waits for the command stamped with that frame's time, so a
//! run is deterministic and as fast as the stack answers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use embody::msgs::ackermann_msgs::msg::AckermannDriveStamped;
use embody::qos::{History, QosProfile};
use embody::{Node, RawPublisher, Subscription, Time};

use crate::run::{Driver, RunError, RunResult, run_world, stand_in_driver};
use crate::scenario::ScenarioRun;
use crate::vehicle::{Command, Drive};
use crate::world::World;

/// Who drives the ego.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Control {
    /// The stand-in driver inside the simulator (holds lane and speed).
    StandIn,
    /// The stack over `control/command`, in lock-step.
    LockStep {
        /// A frame unanswered for this long ends the run with an error.
        timeout: Duration,
        /// Sim seconds per wall second when paced (`--realtime`); `None` = as fast as the
        /// stack answers.
        realtime_factor: Option<f64>,
    },
}

/// An Ackermann command as the ego model's: a negative `acceleration` brakes at that rate, a
/// positive one is driven at until `speed` is reached, and zero means "get to `speed` as the
/// actuator's own controller does" (ackermann_msgs: zero acceleration = as fast as possible).
pub fn command_from(msg: &AckermannDriveStamped) -> Command {
    let d = &msg.drive;
    let (speed, accel) = (f64::from(d.speed), f64::from(d.acceleration));
    Command {
        steering_angle: f64::from(d.steering_angle),
        drive: if accel < 0.0 {
            Drive::Accel(accel)
        } else if accel > 0.0 {
            Drive::SpeedAt { speed, accel }
        } else {
            Drive::Speed(speed)
        },
    }
}

struct LockStep {
    commands: Subscription<AckermannDriveStamped>,
    timeout: Duration,
    /// Wall-clock start and sim seconds per wall second.
    pace: Option<(std::time::Instant, f64)>,
    last: Command,
    handle: tokio::runtime::Handle,
    report: LockStepReport,
}

/// What the stack did in a lock-step run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LockStepReport {
    /// Frames the stack answered.
    pub answered: u64,
    /// For each frame with a lidar scan: wall time from publishing the frame to receiving the
    /// command stamped with it — the stack's end-to-end latency from sensor to actuator.
    pub scan_latencies: Vec<Duration>,
}

impl Driver for LockStep {
    fn command(&mut self, world: &World, fresh: bool) -> Result<Command, String> {
        if let Some((start, factor)) = self.pace {
            pace(start, factor, world.time());
        }
        if !fresh {
            return Ok(self.last);
        }
        let t = Time::from_nanos((world.time() * 1e9).round() as i64);
        let scan_frame = world.lidar().is_some_and(|l| {
            let k = (world.time() / l.scan_period()).round();
            (k * l.scan_period() - world.time()).abs() < 1e-6
        });
        let started = std::time::Instant::now();
        let wait = async {
            loop {
                match self.commands.recv().await {
                    // Commands computed from older frames are stale; wait for this one's.
                    Some(m) if Time::from_msg(&m.header.stamp) >= t => return Some(m),
                    Some(_) => continue,
                    None => return None,
                }
            }
        };
        match self
            .handle
            .block_on(tokio::time::timeout(self.timeout, wait))
        {
            Ok(Some(m)) => {
                self.last = command_from(&m);
                self.report.answered += 1;
                if scan_frame {
                    self.report.scan_latencies.push(started.elapsed());
                }
                Ok(self.last)
            }
            Ok(None) => Err("the command subscription closed".into()),
            Err(_) => Err(format!(
                "no control/command stamped {:.3} s or later within {:?} (is the stack running with use_sim_time?)",
                world.time(),
                self.timeout
            )),
        }
    }
}

/// Holds the calling (simulator) thread until the wall clock, `factor` sim seconds per wall
/// second since `start`, reaches `sim_time`: sim time runs ahead by one step at most.
pub(crate) fn pace(start: std::time::Instant, factor: f64, sim_time: f64) {
    let due = start + Duration::from_secs_f64(sim_time / factor);
    let now = std::time::Instant::now();
    if due > now {
        std::thread::sleep(due - now);
    }
}

/// Why the simulator node stopped.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The run itself failed.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The middleware refused a publisher or subscription.
    #[error("{0}")]
    Middleware(String),
}

/// Sees every message the simulator publishes, with its sim time (ns), before it goes out:
/// for recording a run exactly as published.
pub type Tap = Box<dyn FnMut(u64, &crate::ros::Output) + Send>;

/// Runs `run` as a node: publishes every frame, driven as `control` says. Returns the judged
/// result and, in lock-step, what the stack did (empty otherwise).
pub async fn run_node(
    node: &Node,
    run: &ScenarioRun,
    control: Control,
) -> Result<(RunResult, LockStepReport), NodeError> {
    run_node_tapped(node, run, control, None).await
}

/// [`run_node`], handing each published message to `tap` as well.
pub async fn run_node_tapped(
    node: &Node,
    run: &ScenarioRun,
    control: Control,
    tap: Option<Tap>,
) -> Result<(RunResult, LockStepReport), NodeError> {
    let world = crate::run::build_world(run)?;
    let handle = tokio::runtime::Handle::current();
    let lock = match control {
        Control::StandIn => None,
        Control::LockStep {
            timeout,
            realtime_factor,
        } => Some(LockStep {
            commands: node
                .create_subscription::<AckermannDriveStamped>(
                    "control/command",
                    QosProfile::default().history(History::KeepAll),
                )
                .await
                .map_err(|e| NodeError::Middleware(format!("control/command: {e}")))?,
            timeout,
            pace: realtime_factor
                .filter(|f| f.is_finite() && *f > 0.0)
                .map(|f| (std::time::Instant::now(), f)),
            last: Command {
                steering_angle: 0.0,
                drive: Drive::Speed(run.scenario.ego.speed),
            },
            handle: handle.clone(),
            report: LockStepReport::default(),
        }),
    };
    let node = node.clone();
    let run = run.clone();
    tokio::task::spawn_blocking(move || {
        let mut out = OutputPublisher::new(node, handle, tap);
        let mut sink = |t: u64, o: &crate::ros::Output| out.publish(t, o);
        let world_result = match lock {
            Some(mut l) => run_world(&run, world, &mut l, &mut sink).map(|r| (r, l.report)),
            None => {
                let mut d = stand_in_driver(&run, &world);
                run_world(&run, world, &mut d, &mut sink).map(|r| (r, LockStepReport::default()))
            }
        };
        match out.failure {
            Some(f) => Err(NodeError::Middleware(f)),
            None => Ok(world_result?),
        }
    })
    .await
    .map_err(|e| NodeError::Middleware(format!("simulator task failed: {e}")))?
}

/// Publishes the simulator's outputs, creating each topic's publisher on first use; the first
/// failure is kept and everything after it dropped.
pub(crate) struct OutputPublisher {
    node: Node,
    handle: tokio::runtime::Handle,
    publishers: HashMap<&'static str, Arc<RawPublisher>>,
    /// The first failure, if any.
    pub(crate) failure: Option<String>,
    tap: Option<Tap>,
}

impl OutputPublisher {
    /// Publishes through `node`, blocking on `handle` (call from a blocking thread).
    pub(crate) fn new(node: Node, handle: tokio::runtime::Handle, tap: Option<Tap>) -> Self {
        Self {
            node,
            handle,
            publishers: HashMap::new(),
            failure: None,
            tap,
        }
    }

    /// Publishes one output of sim time `t` (ns).
    pub(crate) fn publish(&mut self, t: u64, o: &crate::ros::Output) {
        if self.failure.is_some() {
            return;
        }
        if let Some(tap) = self.tap.as_mut() {
            tap(t, o);
        }
        let publisher = match self.publishers.get(o.topic) {
            Some(p) => p.clone(),
            None => {
                let Some(info) = embody_msgs::find(o.type_name) else {
                    self.failure = Some(format!(
                        "{}: type {} is not compiled in",
                        o.topic, o.type_name
                    ));
                    return;
                };
                let qos = match o.topic {
                    "map/lanes" | "tf_static" => QosProfile::transient_local(1),
                    "/clock" => QosProfile::clock(),
                    // Keep-all makes a publisher block rather than drop when the transport
                    // is congested (rmw_zenoh's rule): in lock-step a lost cloud would stall
                    // the stack waiting for the plan made from it.
                    _ => QosProfile::default().history(History::KeepAll),
                };
                match self.handle.block_on(
                    self.node
                        .create_raw_publisher(o.topic, info.name, info.hash, qos),
                ) {
                    Ok(p) => {
                        let p = Arc::new(p);
                        self.publishers.insert(o.topic, p.clone());
                        p
                    }
                    Err(e) => {
                        self.failure = Some(format!("{}: {e}", o.topic));
                        return;
                    }
                }
            }
        };
        if let Err(e) = self.handle.block_on(publisher.publish(o.data.clone())) {
            self.failure = Some(format!("{}: {e}", o.topic));
        }
    }
}
