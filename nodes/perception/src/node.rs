//! The perception node: point clouds in; tracked, predicted objects, standard detections and
//! markers out. A thin adapter around [`crate::pipeline::Perception`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use embody::logging::Throttle;
use embody::msgs::diagnostic_msgs::msg::{DiagnosticArray, DiagnosticStatus, KeyValue};
use embody::msgs::embody_msgs::msg::PredictedObjects;
use embody::msgs::sensor_msgs::msg::PointCloud2;
use embody::msgs::vision_msgs::msg::Detection3DArray;
use embody::msgs::visualization_msgs::msg::MarkerArray;
use embody::params::{ParameterDescriptor, ParameterValue};
use embody::tf::TransformListener;
use embody::{Node, Publisher, QosProfile, Time};
use nalgebra::Point3;

use crate::cloud::{read_xyz, transform};
use crate::pipeline::{Mode, Perception, PerceptionParams};
use crate::ros::{detections, markers, predicted_objects};
use crate::segment::KeepOut;

/// Why the node stopped.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The runtime failed (creating endpoints, publishing).
    #[error(transparent)]
    Runtime(#[from] embody::Error),
    /// A parameter was wrong.
    #[error("parameter: {0}")]
    Parameter(String),
    /// The pipeline rejected its parameters.
    #[error(transparent)]
    Perception(#[from] crate::pipeline::PerceptionError),
}

/// What the node was configured with.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeConfig {
    /// Pipeline parameters.
    pub params: PerceptionParams,
    /// Input topic.
    pub input: String,
    /// The fixed frame objects are tracked and published in.
    pub frame: String,
    /// How long a cloud may wait for its transform (wall time, s).
    pub tf_timeout: Duration,
    /// The frame of an arm's base standing on the table, whose surroundings within
    /// `robot_base_radius` hold no object (table mode); empty for none.
    pub robot_base_frame: String,
    /// See `robot_base_frame` (m).
    pub robot_base_radius: f64,
}

impl NodeConfig {
    /// Reads the node's parameters: `mode` (`road` | `table`), `frame` (default `odom` on the
    /// road, `world` at the table), `input` (default `sensing/lidar/points` /
    /// `camera/depth/points`), `max_range` (m), `cluster_tolerance` (m), `min_points`,
    /// `horizon_s` (prediction), `tf_timeout_s`, `robot_base_frame` (table mode: default
    /// `base_link`, empty for none) and `robot_base_radius` (m, default 0.06).
    pub fn from_parameters(node: &Node) -> Result<Self, NodeError> {
        let p = node.parameters();
        let err = |e: embody::params::ParamError| NodeError::Parameter(e.to_string());
        let text = |name: &str, default: &str, about: &str| -> Result<String, NodeError> {
            match p
                .declare(name, default, ParameterDescriptor::new(about))
                .map_err(err)?
            {
                ParameterValue::String(s) => Ok(s),
                other => Err(NodeError::Parameter(format!(
                    "`{name}` must be a string, not {other:?}"
                ))),
            }
        };
        let mode = match text(
            "mode",
            "road",
            "road (lidar on a car) or table (depth camera)",
        )?
        .as_str()
        {
            "road" => Mode::Road,
            "table" => Mode::Table,
            other => {
                return Err(NodeError::Parameter(format!(
                    "`mode` is road or table, not `{other}`"
                )));
            }
        };
        let mut params = PerceptionParams::for_mode(mode);
        let (frame, input) = match mode {
            Mode::Road => ("odom", "sensing/lidar/points"),
            Mode::Table => ("world", "camera/depth/points"),
        };
        let frame = text("frame", frame, "fixed frame objects are tracked in")?;
        let input = text("input", input, "PointCloud2 topic")?;
        let number = |name: &str, default: f64, about: &str| -> Result<f64, NodeError> {
            p.declare(name, default, ParameterDescriptor::new(about))
                .map_err(err)?;
            p.get_f64(name).map_err(err)
        };
        params.segment.roi.max_range = number(
            "max_range",
            params.segment.roi.max_range,
            "ignore points farther than this from the sensor (m)",
        )?;
        params.segment.cluster.tolerance = number(
            "cluster_tolerance",
            f64::from(params.segment.cluster.tolerance),
            "points closer than this join one object (m)",
        )? as f32;
        params.segment.cluster.min_points = number(
            "min_points",
            params.segment.cluster.min_points as f64,
            "smallest object, in points",
        )?
        .max(1.0) as usize;
        params.prediction.horizon_s = number(
            "horizon_s",
            params.prediction.horizon_s,
            "how far ahead paths are predicted (s)",
        )?;
        let tf_timeout = number(
            "tf_timeout_s",
            0.5,
            "how long a cloud waits for its transform (s)",
        )?;
        // The arm's base stands on the table; once the arm leans away it is a round,
        // cup-sized cluster.
        let robot_base_frame = text(
            "robot_base_frame",
            if mode == Mode::Table { "base_link" } else { "" },
            "frame of an arm's base on the table, where no object is reported (empty: none)",
        )?;
        let robot_base_radius = number(
            "robot_base_radius",
            KeepOut::ARM_BASE_RADIUS,
            "no object is reported with its centre this close to robot_base_frame's axis (m)",
        )?;
        Ok(Self {
            params,
            input,
            frame,
            tf_timeout: Duration::from_secs_f64(tf_timeout.max(0.0)),
            robot_base_frame,
            robot_base_radius,
        })
    }
}

/// Frames the node skipped, by reason.
#[derive(Debug, Default)]
pub struct Skipped {
    /// Clouds that could not be read (missing fields, truncated data).
    pub unreadable: AtomicU64,
    /// Clouds without a transform into the tracking frame.
    pub no_transform: AtomicU64,
    /// Clouds with no finite point.
    pub empty: AtomicU64,
    /// Clouds the pipeline refused (time going backwards, bad origin).
    pub refused: AtomicU64,
}

struct Outputs {
    objects: Publisher<PredictedObjects>,
    detections: Publisher<Detection3DArray>,
    markers: Publisher<MarkerArray>,
    diagnostics: Publisher<DiagnosticArray>,
}

/// Runs the node until its input closes.
pub async fn run(node: Node, config: NodeConfig) -> Result<(), NodeError> {
    let mut perception = Perception::new(config.params.clone())?;
    let tf = TransformListener::new(&node).await?;
    let all = QosProfile::default().history(embody::History::KeepAll);
    let clouds = node
        // Reliable: under lock-step simulation a cloud lost in a congested queue would stall the
        // chain to control; keep-last still sheds backlog if the node falls behind a sensor.
        .create_subscription::<PointCloud2>(&config.input, QosProfile::keep_last(5))
        .await?;
    let out = Outputs {
        objects: node.create_publisher("perception/objects", all).await?,
        detections: node.create_publisher("perception/detections", all).await?,
        markers: node.create_publisher("perception/markers", all).await?,
        diagnostics: node
            .create_publisher("/diagnostics", QosProfile::default())
            .await?,
    };
    let skipped = Skipped::default();
    let warnings = Throttle::default();
    let log = node.logger();
    let warn = |what: &str, count: &AtomicU64| {
        let n = count.fetch_add(1, Ordering::Relaxed) + 1;
        if warnings.ready() {
            log.warn(&format!(
                "skipping a cloud: {what} ({n} so far for this reason)"
            ));
        }
    };
    let mut frames = 0u64;
    let mut base_known = false;
    while let Some(cloud) = clouds.recv().await {
        let started = Instant::now();
        let mut xyz = match read_xyz(&cloud) {
            Ok(x) => x,
            Err(e) => {
                warn(&e.to_string(), &skipped.unreadable);
                continue;
            }
        };
        if xyz.points.is_empty() {
            warn(
                &format!("no finite point ({} NaN/inf)", xyz.non_finite),
                &skipped.empty,
            );
            continue;
        }
        let stamp = Time::from_msg(&cloud.header.stamp);
        let pose = match tf
            .wait_for_transform(
                &config.frame,
                &cloud.header.frame_id,
                stamp,
                config.tf_timeout,
            )
            .await
        {
            Ok((pose, _)) => pose,
            Err(e) => {
                warn(
                    &format!(
                        "no transform {} -> {}: {e}",
                        cloud.header.frame_id, config.frame
                    ),
                    &skipped.no_transform,
                );
                continue;
            }
        };
        transform(&mut xyz.points, &pose);
        let origin = Point3::from(pose.translation.vector);
        // The base is fixed: looked up until found (published once, on tf_static).
        if !base_known
            && !config.robot_base_frame.is_empty()
            && let Ok((base, _)) =
                tf.lookup_transform(&config.frame, &config.robot_base_frame, Time::ZERO)
        {
            perception.set_keep_out(vec![KeepOut {
                x: base.translation.x,
                y: base.translation.y,
                radius: config.robot_base_radius,
            }]);
            base_known = true;
        }
        let frame = match perception.process(&xyz.points, origin, stamp.nanos as f64 * 1e-9) {
            Ok(f) => f,
            Err(e) => {
                warn(&e.to_string(), &skipped.refused);
                continue;
            }
        };
        // Every output carries the cloud's stamp, so consumers can measure the latency.
        let header = embody::msgs::std_msgs::msg::Header {
            stamp: cloud.header.stamp.clone(),
            frame_id: config.frame.clone(),
        };
        out.objects
            .publish_now(predicted_objects(&header, &frame.tracks, &frame.paths))?;
        out.detections
            .publish_now(detections(&header, &frame.tracks))?;
        out.markers
            .publish_now(markers(&header, &frame.tracks, &frame.paths))?;
        let took = started.elapsed();
        frames += 1;
        let kv = |key: &str, value: String| KeyValue {
            key: key.into(),
            value,
        };
        let count = |c: &AtomicU64| c.load(Ordering::Relaxed).to_string();
        out.diagnostics.publish_now(DiagnosticArray {
            header: header.clone(),
            status: vec![DiagnosticStatus {
                level: DiagnosticStatus::OK,
                name: format!("{}: frame", node.fully_qualified_name()),
                message: format!("{:.2} ms", took.as_secs_f64() * 1e3),
                hardware_id: String::new(),
                values: vec![
                    kv("processing_ms", format!("{:.3}", took.as_secs_f64() * 1e3)),
                    kv("points", xyz.points.len().to_string()),
                    kv("non_finite_points", xyz.non_finite.to_string()),
                    kv("detections", frame.segments.detections.len().to_string()),
                    kv("off_table", frame.segments.off_table.to_string()),
                    kv("uncertain_cups", frame.segments.uncertain_cups.to_string()),
                    kv("tracks", frame.tracks.len().to_string()),
                    kv("frames", frames.to_string()),
                    kv("skipped_unreadable", count(&skipped.unreadable)),
                    kv("skipped_no_transform", count(&skipped.no_transform)),
                    kv("skipped_empty", count(&skipped.empty)),
                    kv("skipped_refused", count(&skipped.refused)),
                ],
            }],
        })?;
    }
    Ok(())
}
