//! The tabletop task node: puts every cup it sees into the tray, one
//! `manipulation/pick_place` goal at a time, choosing the object and the slot with
//! [`crate::task`]. It reports what it does on `task/status` (`std_msgs/String`, latched).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use embody::msgs::embody_msgs::action::{PickPlace, PickPlace_Goal};
use embody::msgs::embody_msgs::msg::{ObjectClassification, PredictedObjects};
use embody::msgs::std_msgs::msg::String as RosString;
use embody::params::ParameterDescriptor;
use embody::{Durability, Node, QosProfile, Time};
use tokio::sync::watch;

use crate::node::NodeError;
use crate::task::{Packing, TaskObject, TrayGeometry, next_object, next_slot, occupied};

/// What the task node was configured with.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskConfig {
    /// The tray the cups go into.
    pub tray: TrayGeometry,
    /// The arm base position in the world (x, y): nearest cups first.
    pub base: (f64, f64),
    /// Where the objects come from (embody_msgs PredictedObjects, world frame).
    pub objects_topic: String,
    /// Sim time to let tracks settle before the first goal and after each one (s).
    pub settle_s: f64,
    /// Goals per object before it is given up.
    pub max_attempts: u32,
    /// Wall time one goal may take (planning and execution).
    pub goal_timeout: Duration,
}

impl TaskConfig {
    /// Reads `tray_x|y|length|width|thickness`, `table_height`, `base_x|y` (defaults:
    /// `scenarios/arm/cups_to_tray.yaml`), `objects_topic` (default `perception/objects`),
    /// `settle_s`, `max_attempts` and `goal_timeout_s`.
    pub fn from_parameters(node: &Node) -> Result<Self, NodeError> {
        let p = node.parameters();
        let err = |e: embody::params::ParamError| NodeError::Parameter(e.to_string());
        let number = |name: &str, default: f64, about: &str| -> Result<f64, NodeError> {
            p.declare(name, default, ParameterDescriptor::new(about))
                .map_err(err)?;
            let v = p.get_f64(name).map_err(err)?;
            if v.is_finite() {
                Ok(v)
            } else {
                Err(NodeError::Parameter(format!("`{name}` must be finite")))
            }
        };
        let wall = number("tray_thickness", 0.01, "tray wall and floor thickness (m)")?;
        let tray = TrayGeometry {
            x: number("tray_x", 0.0, "tray centre x (m)")?,
            y: number("tray_y", 0.45, "tray centre y (m)")?,
            length: number("tray_length", 0.30, "tray size along x (m)")?,
            width: number("tray_width", 0.22, "tray size along y (m)")?,
            floor_z: number("table_height", 0.75, "table top height (m)")? + wall,
            wall,
        };
        let base = (
            number("base_x", 0.0, "arm base x in world (m)")?,
            number("base_y", 0.0, "arm base y in world (m)")?,
        );
        p.declare(
            "objects_topic",
            "perception/objects",
            ParameterDescriptor::new("PredictedObjects in the world frame"),
        )
        .map_err(err)?;
        let objects_topic = p.get_string("objects_topic").map_err(err)?;
        let settle_s = number("settle_s", 0.5, "sim time for tracks to settle (s)")?.max(0.0);
        let max_attempts = number("max_attempts", 2.0, "goals per object before giving up")?
            .clamp(1.0, 100.0) as u32;
        let goal_timeout = Duration::from_secs_f64(
            number("goal_timeout_s", 120.0, "wall time per goal (s)")?.clamp(1.0, 3600.0),
        );
        Ok(Self {
            tray,
            base,
            objects_topic,
            settle_s,
            max_attempts,
            goal_timeout,
        })
    }
}

fn stamp_s(o: &PredictedObjects) -> f64 {
    Time::from_msg(&o.header.stamp).nanos as f64 * 1e-9
}

/// The cups of a perception message.
fn cups(o: &PredictedObjects) -> Vec<TaskObject> {
    o.objects
        .iter()
        .filter(|o| o.classification.first().map(|c| c.label) == Some(ObjectClassification::CUP))
        .map(|o| {
            let p = &o.pose.position;
            let d = &o.dimensions;
            TaskObject {
                id: o.object_id,
                x: p.x,
                y: p.y,
                height: d.z,
                radius: 0.25 * (d.x + d.y),
            }
        })
        .collect()
}

/// The first objects message `settle` (s) of sim time after `since` (default: the first
/// message's stamp), or `None` when the topic ends.
async fn settled(
    objects: &mut watch::Receiver<Option<PredictedObjects>>,
    since: Option<f64>,
    settle: f64,
) -> Option<PredictedObjects> {
    let first = match since {
        Some(t) => t,
        None => {
            let o = objects.wait_for(|o| o.is_some()).await.ok()?;
            stamp_s(o.as_ref()?)
        }
    };
    let o = objects
        .wait_for(|o| o.as_ref().is_some_and(|o| stamp_s(o) >= first + settle))
        .await
        .ok()?;
    o.clone()
}

/// Runs the task until every cup is in the tray or given up, then keeps the node alive.
pub async fn run(node: Node, config: TaskConfig) -> Result<(), NodeError> {
    let (tx, mut objects) = watch::channel(None::<PredictedObjects>);
    let _sub = node
        .create_subscription_with::<PredictedObjects, _>(
            &config.objects_topic,
            QosProfile::keep_last(2),
            move |o: Arc<PredictedObjects>| {
                tx.send_replace(Some((*o).clone()));
            },
        )
        .await?;
    let client = node
        .create_action_client::<PickPlace>("manipulation/pick_place")
        .await?;
    let status = node
        .create_publisher::<RosString>(
            "task/status",
            QosProfile::keep_last(1).durability(Durability::TransientLocal),
        )
        .await?;
    let log = node.logger();
    let say = |text: String| {
        log.info(&text);
        let _ = status.publish_now(RosString { data: text });
    };
    say("waiting for manipulation/pick_place and objects".into());
    if client
        .wait_for_server(Duration::from_secs(120))
        .await
        .is_err()
    {
        say("manipulation/pick_place did not appear within 120 s".into());
        std::future::pending::<()>().await;
    }
    let mut attempts: HashMap<u64, u32> = HashMap::new();
    let mut given_up: Vec<u64> = Vec::new();
    let mut placed = 0usize;
    // Where this task put objects: the camera may not see into the tray.
    let mut placed_at: Vec<TaskObject> = Vec::new();
    let mut latest = settled(&mut objects, None, config.settle_s).await;
    while let Some(seen) = latest.take() {
        let list = cups(&seen);
        let Some(target) = next_object(&list, &config.tray, config.base, &attempts, &given_up)
        else {
            break;
        };
        let seen_in_tray: Vec<TaskObject> = list
            .iter()
            .filter(|o| config.tray.holds(o.x, o.y))
            .copied()
            .collect();
        let in_tray = occupied(&seen_in_tray, &placed_at, 0.03);
        let Some((x, y)) = next_slot(&config.tray, target.radius, &in_tray, &Packing::default())
        else {
            say(format!("the tray is full ({} in it)", in_tray.len()));
            break;
        };
        let mut goal = PickPlace_Goal {
            object_id: target.id,
            ..Default::default()
        };
        goal.place_pose.header.frame_id = "world".into();
        goal.place_pose.pose.position.x = x;
        goal.place_pose.pose.position.y = y;
        goal.place_pose.pose.position.z = config.tray.floor_z + 0.5 * target.height;
        goal.place_pose.pose.orientation.w = 1.0;
        say(format!(
            "picking object {} at ({:.3}, {:.3}) into the tray at ({x:.3}, {y:.3})",
            target.id, target.x, target.y
        ));
        let outcome = match client.send_goal(goal, Duration::from_secs(10)).await {
            Ok(Some(id)) => client
                .get_result(&id, config.goal_timeout)
                .await
                .map(|(_, r)| r)
                .map_err(|e| e.to_string()),
            Ok(None) => Err("goal refused".into()),
            Err(e) => Err(e.to_string()),
        };
        match outcome {
            Ok(r) if r.success => {
                placed += 1;
                placed_at.push(TaskObject { x, y, ..target });
                say(if r.placement_error >= 0.0 {
                    format!(
                        "object {} placed ({:.4} m from the slot)",
                        target.id, r.placement_error
                    )
                } else {
                    format!("object {} placed (not seen there afterwards)", target.id)
                });
            }
            failed => {
                let why = match failed {
                    Ok(r) => format!("{}: {}", r.phase, r.reason),
                    Err(e) => e,
                };
                let n = attempts.entry(target.id).or_default();
                *n += 1;
                say(format!("object {} failed (attempt {n}): {why}", target.id));
                if *n >= config.max_attempts {
                    given_up.push(target.id);
                }
            }
        }
        let now = objects.borrow().as_ref().map(stamp_s);
        latest = settled(&mut objects, now, config.settle_s).await;
    }
    say(format!(
        "done: {placed} placed, {} given up",
        given_up.len()
    ));
    std::future::pending::<()>().await;
    Ok(())
}
