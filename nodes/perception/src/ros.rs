//! Conversions between perception's types and ROS messages.

pub use embody::tf::{yaw_of, yaw_quaternion};
use embody_msgs::builtin_interfaces::msg::Duration;
use embody_msgs::embody_msgs::msg::{
    ObjectClassification, ObjectVisibilities, PredictedObject, PredictedObjects,
    PredictedPath as PathMsg,
};
use embody_msgs::geometry_msgs::msg::{Point, Pose, PoseWithCovariance, Twist, Vector3};
use embody_msgs::std_msgs::msg::{ColorRGBA, Header};
use embody_msgs::vision_msgs::msg::{
    BoundingBox3D, Detection3D, Detection3DArray, ObjectHypothesis, ObjectHypothesisWithPose,
};
use embody_msgs::visualization_msgs::msg::{Marker, MarkerArray};

use crate::eval::{OutputObject, TruthObject, class_name};
use crate::prediction::PredictedPath;
use crate::tracker::{Class, Track};

/// The class an `ObjectClassification` label stands for (bus counts as truck).
pub fn class_from_label(label: u8) -> Class {
    match label {
        ObjectClassification::CAR => Class::Car,
        ObjectClassification::TRUCK | ObjectClassification::BUS => Class::Truck,
        ObjectClassification::MOTORCYCLE => Class::Motorcycle,
        ObjectClassification::BICYCLE => Class::Bicycle,
        ObjectClassification::PEDESTRIAN => Class::Pedestrian,
        ObjectClassification::CHILD => Class::Child,
        ObjectClassification::CUP => Class::Cup,
        ObjectClassification::BOX => Class::Box,
        _ => Class::Unknown,
    }
}

/// The `ObjectClassification` label of a class.
pub fn label(class: Class) -> u8 {
    match class {
        Class::Unknown => ObjectClassification::UNKNOWN,
        Class::Car => ObjectClassification::CAR,
        Class::Truck => ObjectClassification::TRUCK,
        Class::Motorcycle => ObjectClassification::MOTORCYCLE,
        Class::Bicycle => ObjectClassification::BICYCLE,
        Class::Pedestrian => ObjectClassification::PEDESTRIAN,
        Class::Child => ObjectClassification::CHILD,
        Class::Cup => ObjectClassification::CUP,
        Class::Box => ObjectClassification::BOX,
    }
}

/// The most likely class of an object (unknown without a classification).
fn best_class(c: &[ObjectClassification]) -> Class {
    c.iter()
        .max_by(|a, b| a.probability.total_cmp(&b.probability))
        .map_or(Class::Unknown, |c| class_from_label(c.label))
}

/// Ground truth for the evaluation, with each object's visibility when the scan has it.
pub fn truth_objects(
    truth: &PredictedObjects,
    visibility: Option<&ObjectVisibilities>,
) -> Vec<TruthObject> {
    truth
        .objects
        .iter()
        .map(|o| TruthObject {
            id: o.object_id,
            class: best_class(&o.classification),
            x: o.pose.position.x,
            y: o.pose.position.y,
            vx: o.twist.linear.x,
            vy: o.twist.linear.y,
            visible_fraction: visibility.map(|v| {
                v.objects
                    .iter()
                    .find(|v| v.object_id == o.object_id)
                    .map_or(0.0, |v| f64::from(v.visible_fraction))
            }),
        })
        .collect()
}

/// Perception's published objects, for the evaluation.
pub fn output_objects(objects: &PredictedObjects) -> Vec<OutputObject> {
    objects
        .objects
        .iter()
        .map(|o| OutputObject {
            id: o.object_id,
            class: best_class(&o.classification),
            x: o.pose.position.x,
            y: o.pose.position.y,
            vx: o.twist.linear.x,
            vy: o.twist.linear.y,
        })
        .collect()
}

fn duration(seconds: f64) -> Duration {
    let ns = (seconds * 1e9).round() as i64;
    Duration {
        sec: ns.div_euclid(1_000_000_000) as i32,
        nanosec: ns.rem_euclid(1_000_000_000) as u32,
    }
}

fn pose(x: f64, y: f64, z: f64, yaw: f64) -> Pose {
    Pose {
        position: Point { x, y, z },
        orientation: yaw_quaternion(yaw),
    }
}

/// Row-major 6×6 covariance (x, y, z, roll, pitch, yaw) with the given x-y block.
fn covariance6(xy: &nalgebra::Matrix2<f64>) -> [f64; 36] {
    let mut c = [0.0; 36];
    c[0] = xy[(0, 0)];
    c[1] = xy[(0, 1)];
    c[6] = xy[(1, 0)];
    c[7] = xy[(1, 1)];
    c
}

fn path_message(path: &PredictedPath, z: f64) -> PathMsg {
    let step = match path.points.as_slice() {
        [a, b, ..] => b.t - a.t,
        _ => 0.0,
    };
    PathMsg {
        path: path
            .points
            .iter()
            .map(|p| pose(p.x, p.y, z, p.yaw))
            .collect(),
        time_step: duration(step),
        confidence: 1.0,
        position_std: path
            .points
            .iter()
            .map(|p| p.std_x.hypot(p.std_y) as f32)
            .collect(),
    }
}

/// Tracks as `PredictedObjects` (the caller picks which tracks, normally the confirmed
/// ones); each track's predicted path is attached when `paths` has one for it.
pub fn predicted_objects(
    header: &Header,
    tracks: &[Track],
    paths: &[PredictedPath],
) -> PredictedObjects {
    PredictedObjects {
        header: header.clone(),
        objects: tracks
            .iter()
            .map(|t| PredictedObject {
                object_id: t.id,
                classification: vec![ObjectClassification {
                    label: label(t.class),
                    probability: t.class_confidence,
                }],
                pose: pose(t.x, t.y, t.z, t.yaw),
                pose_covariance: covariance6(&t.position_covariance),
                dimensions: Vector3 {
                    x: t.length,
                    y: t.width,
                    z: t.height,
                },
                twist: Twist {
                    linear: Vector3 {
                        x: t.vx,
                        y: t.vy,
                        z: 0.0,
                    },
                    angular: Vector3 {
                        x: 0.0,
                        y: 0.0,
                        z: t.yaw_rate,
                    },
                },
                twist_covariance: covariance6(&t.velocity_covariance),
                predicted_paths: paths
                    .iter()
                    .filter(|p| p.track_id == t.id)
                    .map(|p| path_message(p, t.z))
                    .collect(),
            })
            .collect(),
    }
}

/// Tracks as `vision_msgs/Detection3DArray` for standard consumers (id = track id).
pub fn detections(header: &Header, tracks: &[Track]) -> Detection3DArray {
    Detection3DArray {
        header: header.clone(),
        detections: tracks
            .iter()
            .map(|t| {
                let centre = pose(t.x, t.y, t.z, t.yaw);
                Detection3D {
                    header: header.clone(),
                    results: vec![ObjectHypothesisWithPose {
                        hypothesis: ObjectHypothesis {
                            class_id: class_name(t.class).into(),
                            score: f64::from(t.class_confidence),
                        },
                        pose: PoseWithCovariance {
                            pose: centre.clone(),
                            covariance: covariance6(&t.position_covariance),
                        },
                    }],
                    bbox: BoundingBox3D {
                        center: centre,
                        size: Vector3 {
                            x: t.length,
                            y: t.width,
                            z: t.height,
                        },
                    },
                    id: t.id.to_string(),
                }
            })
            .collect(),
    }
}

/// Colour per class, so viewers tell road users apart at a glance.
fn colour(class: Class) -> ColorRGBA {
    let (r, g, b) = match class {
        Class::Car | Class::Truck => (0.2, 0.6, 1.0),
        Class::Motorcycle | Class::Bicycle => (1.0, 0.6, 0.0),
        Class::Pedestrian | Class::Child => (1.0, 0.2, 0.2),
        Class::Cup | Class::Box => (0.3, 0.9, 0.3),
        Class::Unknown => (0.7, 0.7, 0.7),
    };
    ColorRGBA { r, g, b, a: 0.6 }
}

/// Boxes, labels (id, class, speed) and predicted paths as markers for Foxglove and rviz2;
/// the first marker deletes the previous frame's.
pub fn markers(header: &Header, tracks: &[Track], paths: &[PredictedPath]) -> MarkerArray {
    let base = |ns: &str, id: u64, kind: i32| Marker {
        header: header.clone(),
        ns: ns.into(),
        id: (id % i32::MAX as u64) as i32,
        r#type: kind,
        action: Marker::ADD,
        ..Marker::default()
    };
    let mut out = vec![Marker {
        header: header.clone(),
        action: Marker::DELETEALL,
        ..Marker::default()
    }];
    for t in tracks {
        let mut cube = base("boxes", t.id, Marker::CUBE);
        cube.pose = pose(t.x, t.y, t.z, t.yaw);
        cube.scale = Vector3 {
            x: t.length,
            y: t.width,
            z: t.height,
        };
        cube.color = colour(t.class);
        out.push(cube);
        let mut text = base("labels", t.id, Marker::TEXT_VIEW_FACING);
        text.pose = pose(t.x, t.y, t.z + t.height / 2.0 + 0.5, 0.0);
        text.scale.z = 0.6;
        text.color = ColorRGBA {
            r: 1.0,
            g: 1.0,
            b: 1.0,
            a: 1.0,
        };
        text.text = format!(
            "{} {} {:.1} m/s",
            t.id,
            class_name(t.class),
            t.vx.hypot(t.vy)
        );
        out.push(text);
        if let Some(p) = paths.iter().find(|p| p.track_id == t.id && !p.stationary) {
            let mut line = base("paths", t.id, Marker::LINE_STRIP);
            line.pose.orientation.w = 1.0;
            line.scale.x = 0.15;
            line.color = colour(t.class);
            line.points = p
                .points
                .iter()
                .map(|q| Point {
                    x: q.x,
                    y: q.y,
                    z: 0.1,
                })
                .collect();
            out.push(line);
        }
    }
    MarkerArray { markers: out }
}
