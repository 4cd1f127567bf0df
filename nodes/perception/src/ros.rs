//! Conversions between perception's types and ROS messages.

use embody_msgs::embody_msgs::msg::{ObjectClassification, ObjectVisibilities, PredictedObjects};
use embody_msgs::geometry_msgs::msg::Quaternion;

use crate::eval::{OutputObject, TruthObject};
use crate::tracker::Class;

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

/// Yaw of a quaternion (rotation about z), radians.
pub fn yaw_of(q: &Quaternion) -> f64 {
    (2.0 * (q.w * q.z + q.x * q.y)).atan2(1.0 - 2.0 * (q.y * q.y + q.z * q.z))
}

/// A rotation about z as a quaternion.
pub fn yaw_quaternion(yaw: f64) -> Quaternion {
    Quaternion {
        x: 0.0,
        y: 0.0,
        z: (yaw / 2.0).sin(),
        w: (yaw / 2.0).cos(),
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
