//! Completing boxes of partly seen vehicles. A lidar sees only the sides facing it: a car
//! ahead shows its 1.8 m rear and hardly any length, so the fitted box sits on the rear face,
//! 2 m short of the car's centre. Once the class is known, the box grows to the class's
//! typical size away from the sensor (the hidden sides are the far ones), so the centre, and
//! the velocity the tracker derives from it, belong to the whole vehicle.

use nalgebra::{Point3, Vector2};

use crate::tracker::{Class, Detection};

/// Typical footprint (length, width) of a class, m; `None` for classes too small or too
/// varied to complete.
pub fn typical_footprint(class: Class) -> Option<(f64, f64)> {
    match class {
        Class::Car => Some((4.4, 1.8)),
        Class::Truck => Some((10.0, 2.5)),
        Class::Motorcycle => Some((2.1, 0.8)),
        Class::Bicycle => Some((1.8, 0.6)),
        _ => None,
    }
}

/// Below this cosine between a box axis and the line of sight the axis runs across the view
/// (more than 60° off it): both of its ends are in sight, so its seen extent is whole.
const ACROSS_VIEW_COS: f64 = 0.5;

/// Grows `d` to its class's typical footprint, keeping the faces nearest `sensor` in place.
pub fn complete(d: &mut Detection, sensor: Point3<f64>) {
    let Some((length, width)) = typical_footprint(d.class) else {
        return;
    };
    let u = Vector2::new(d.yaw.cos(), d.yaw.sin());
    let v = Vector2::new(-u.y, u.x);
    let to_box = Vector2::new(d.x - sensor.x, d.y - sensor.y);
    let sight = to_box.try_normalize(f64::EPSILON);
    let across_view = sight.is_some_and(|s| s.dot(&u).abs() < ACROSS_VIEW_COS);
    // A box about as long as the class is wide is the vehicle's front or rear when it is thin
    // besides, or when it lies across the line of sight: a roof lidar close by sees a bonnet
    // or boot behind the face, so the box has depth, but along the view, where the rest of
    // the vehicle hides, not across it, where both ends of the face are in sight.
    let end_on = d.length <= width * 1.3 && (d.width < width * 0.6 || across_view);
    let (along, across, seen_len, seen_wid, yaw) = if end_on {
        (v, u, d.width, d.length, d.yaw + std::f64::consts::FRAC_PI_2)
    } else {
        (u, v, d.length, d.width, d.yaw)
    };
    let grow = |seen: f64, typical: f64, axis: Vector2<f64>| -> (f64, Vector2<f64>) {
        if seen >= typical {
            return (seen, Vector2::zeros());
        }
        // The hidden part lies away from the sensor when the sensor looks at the box from
        // beyond one end of the seen extent. From opposite its middle neither end is farther,
        // and picking one by the sign of a projection near zero made the centre jump from
        // side to side between frames; in between, the shift grows with the offset.
        let half = (seen / 2.0).max(f64::EPSILON);
        let away = (to_box.dot(&axis) / half).clamp(-1.0, 1.0);
        (typical, axis * away * (typical - seen) / 2.0)
    };
    let (new_len, shift_len) = grow(seen_len, length, along);
    let (new_wid, shift_wid) = grow(seen_wid, width, across);
    d.x += shift_len.x + shift_wid.x;
    d.y += shift_len.y + shift_wid.y;
    d.length = new_len;
    d.width = new_wid;
    d.yaw = yaw;
}

#[cfg(test)]
mod tests {
    use std::f64::consts::FRAC_PI_2;

    use super::*;

    fn detection(class: Class, x: f64, y: f64, yaw: f64, length: f64, width: f64) -> Detection {
        Detection {
            x,
            y,
            z: 0.7,
            yaw,
            length,
            width,
            height: 1.4,
            class,
            confidence: 0.8,
            seen_depth: length.min(width),
            points: 100,
        }
    }

    #[test]
    fn a_car_seen_from_behind_grows_forward() {
        // Rear face 20 m ahead: the fit is 1.8 m across (its "length") by 0.2 m deep, with
        // its long axis along y. The car's centre is 2.2 m beyond the rear face.
        let mut d = detection(Class::Car, 20.1, 0.0, std::f64::consts::FRAC_PI_2, 1.8, 0.2);
        complete(&mut d, Point3::new(0.0, 0.0, 1.8));
        assert!((d.x - 22.2).abs() < 1e-9 && d.y.abs() < 1e-9, "{d:?}");
        assert_eq!((d.length, d.width), (4.4, 1.8));
        // Heading now along x (up to the half turn the tracker resolves).
        assert!((d.yaw.sin()).abs() < 1e-9);
    }

    #[test]
    fn a_car_seen_side_on_grows_away_from_the_sensor() {
        // Parked to the right (y = -3), its full 4.4 m side seen but only 0.3 m of depth.
        let mut d = detection(Class::Car, 15.0, -3.0, 0.0, 4.4, 0.3);
        complete(&mut d, Point3::new(0.0, 0.0, 1.8));
        assert!((d.y - (-3.0 - 0.75)).abs() < 1e-9 && (d.x - 15.0).abs() < 1e-9);
        assert_eq!((d.length, d.width), (4.4, 1.8));
    }

    #[test]
    fn a_car_close_behind_seen_with_its_bonnet_grows_along_the_view() {
        // A follower 14 m behind a roof lidar: its front face is 1.68 m across (y) and the
        // bonnet behind it gives the box 1.28 m of depth along x. The car's length runs
        // along x, away from the sensor: centre 43.8 − (4.4 − 1.28) / 2 = 42.24. With the
        // sensor a centimetre to either side the centre stays in the lane (growing the 1.68 m
        // face to a length put it at y = 1.75 ± 1.36, flipping with the sign of the offset).
        for sensor_y in [1.74, 1.75, 1.76] {
            let mut d = detection(Class::Car, 43.8, 1.75, FRAC_PI_2, 1.68, 1.28);
            complete(&mut d, Point3::new(60.0, sensor_y, 1.9));
            assert!((d.x - 42.24).abs() < 1e-9, "{d:?}");
            assert!((d.y - 1.75).abs() < 1e-3, "{d:?}");
            assert_eq!((d.length, d.width), (4.4, 1.8));
            assert!(d.yaw.sin().abs() < 1e-9, "{d:?}");
        }
    }

    #[test]
    fn a_parked_cars_side_seen_at_a_grazing_angle_grows_away_from_the_lane() {
        // The left side of a car parked 19.5 m ahead and 1.8 m to the right of the sensor: a
        // 3.9 m line 8 cm deep, 6° off the line of sight. Its width axis is nearly at right
        // angles to the view, but the sensor looks from well beyond the line's edge: the car
        // lies on the far side, centre y = −0.09 − (1.8 − 0.08) / 2 = −0.95, x grows by 0.25.
        let mut d = detection(Class::Car, 166.49, -0.09, 0.0, 3.9, 0.08);
        complete(&mut d, Point3::new(147.0, 1.75, 1.9));
        assert!(
            (d.x - 166.74).abs() < 1e-9 && (d.y + 0.95).abs() < 1e-9,
            "{d:?}"
        );
    }

    #[test]
    fn full_boxes_and_people_stay_as_they_are() {
        let full = detection(Class::Car, 10.0, 5.0, 0.3, 4.6, 1.9);
        let mut d = full;
        complete(&mut d, Point3::origin());
        assert_eq!(d, full);
        let child = detection(Class::Child, 10.0, 0.0, 0.0, 0.3, 0.2);
        let mut d = child;
        complete(&mut d, Point3::origin());
        assert_eq!(d, child);
    }
}
