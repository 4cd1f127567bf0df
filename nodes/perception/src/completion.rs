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

/// Grows `d` to its class's typical footprint, keeping the faces nearest `sensor` in place.
pub fn complete(d: &mut Detection, sensor: Point3<f64>) {
    let Some((length, width)) = typical_footprint(d.class) else {
        return;
    };
    let u = Vector2::new(d.yaw.cos(), d.yaw.sin());
    let v = Vector2::new(-u.y, u.x);
    let to_box = Vector2::new(d.x - sensor.x, d.y - sensor.y);
    // A box about as long as the class is wide and thin besides is the vehicle's front or
    // rear: its length runs along the box's short axis.
    let end_on = d.length <= width * 1.3 && d.width < width * 0.6;
    let (along, across, seen_len, seen_wid, yaw) = if end_on {
        (v, u, d.width, d.length, d.yaw + std::f64::consts::FRAC_PI_2)
    } else {
        (u, v, d.length, d.width, d.yaw)
    };
    let grow = |seen: f64, typical: f64, axis: Vector2<f64>| -> (f64, Vector2<f64>) {
        if seen >= typical {
            return (seen, Vector2::zeros());
        }
        let away = if to_box.dot(&axis) >= 0.0 { 1.0 } else { -1.0 };
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
