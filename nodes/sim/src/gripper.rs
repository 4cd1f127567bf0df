//! A parallel-jaw gripper on the arm's tool link. The jaws close along the tool's y axis
//! around the tool centre point (TCP), `tcp_offset` along the tool's z (approach) axis.
//!
//! Grasping is a rule, not contact physics: closing on an object that lies between the jaws
//! (and fits the opening it closes from) stops the jaws at the object's width and attaches it;
//! opening wider than the held object releases it, and it drops straight down onto the
//! surface below (tray floor, table top or floor), keeping x, y and heading.

use nalgebra::{Isometry3, Point3, Translation3, Vector3};

use crate::capsule::Capsule;
use crate::table::Tabletop;

/// Gripper geometry and speed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GripperParams {
    /// Widest opening (m).
    pub max_opening: f64,
    /// Jaw speed (m/s, of the opening).
    pub speed: f64,
    /// TCP distance from the tool link origin along its z axis (m).
    pub tcp_offset: f64,
    /// Finger pad length along the approach axis (m), centred on the TCP.
    pub finger_length: f64,
    /// Finger thickness (m); also the slack allowed when centring on an object.
    pub finger_thickness: f64,
}

impl Default for GripperParams {
    /// A Robotiq-2F-85-like gripper: 85 mm stroke, 150 mm/s, TCP 150 mm from the flange.
    fn default() -> Self {
        Self {
            max_opening: 0.085,
            speed: 0.15,
            tcp_offset: 0.15,
            finger_length: 0.04,
            finger_thickness: 0.01,
        }
    }
}

/// The gripper state.
#[derive(Debug, Clone, PartialEq)]
pub struct Gripper {
    params: GripperParams,
    opening: f64,
    target: f64,
    held: Option<Held>,
}

/// A held object and where it sits relative to the tool.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Held {
    index: usize,
    width: f64,
    /// Its base point in the tool frame.
    base_in_tool: Point3<f64>,
    /// Its heading minus the tool's heading.
    yaw_offset: f64,
}

/// The heading of a pose's x axis projected on the horizontal plane.
fn heading(pose: &Isometry3<f64>) -> f64 {
    let x = pose.rotation * Vector3::x();
    x.y.atan2(x.x)
}

impl Gripper {
    /// A fully open gripper.
    pub fn new(params: GripperParams) -> Self {
        Self {
            params,
            opening: params.max_opening,
            target: params.max_opening,
            held: None,
        }
    }

    /// Its parameters.
    pub fn params(&self) -> &GripperParams {
        &self.params
    }

    /// The present jaw opening (m).
    pub fn opening(&self) -> f64 {
        self.opening
    }

    /// Commands an opening (m), clamped to `[0, max_opening]`; non-finite values are ignored.
    pub fn command(&mut self, opening: f64) {
        if opening.is_finite() {
            self.target = opening.clamp(0.0, self.params.max_opening);
        }
    }

    /// The index of the held object.
    pub fn held(&self) -> Option<usize> {
        self.held.map(|h| h.index)
    }

    /// The TCP pose for a tool pose.
    pub fn tcp(&self, tool: &Isometry3<f64>) -> Isometry3<f64> {
        tool * Translation3::new(0.0, 0.0, self.params.tcp_offset)
    }

    /// The object (not held) that lies between the jaws at `tool` and fits the present
    /// opening, if any: what closing now would grasp.
    pub fn between_jaws(&self, tool: &Isometry3<f64>, table: &Tabletop) -> Option<usize> {
        let tcp = self.tcp(tool);
        let close_axis = tcp.rotation * Vector3::y();
        let horizontal = Vector3::new(close_axis.x, close_axis.y, 0.0);
        let u = horizontal.try_normalize(1e-9)?;
        let inv = tcp.inverse();
        let slack = self.params.finger_thickness;
        table
            .objects
            .iter()
            .enumerate()
            .filter(|(i, _)| self.held() != Some(*i))
            .find(|(_, o)| {
                let width = o.width_along(&u);
                if width > self.opening {
                    return false;
                }
                // The point of the object's vertical axis at the TCP's height.
                let z = tcp
                    .translation
                    .z
                    .clamp(o.base.z, o.base.z + o.shape.height());
                let c = inv * Point3::new(o.base.x, o.base.y, z);
                c.y.abs() <= (self.opening - width) / 2.0 + slack
                    && c.x.abs() <= slack
                    && c.z.abs() <= self.params.finger_length / 2.0
            })
            .map(|(i, _)| i)
    }

    /// Moves the jaws for `dt` seconds with the tool at `tool`, grasping, carrying or
    /// releasing objects of `table`.
    pub fn step(&mut self, dt: f64, tool: &Isometry3<f64>, table: &mut Tabletop) {
        let travel = self.params.speed * dt.max(0.0);
        if self.target > self.opening {
            self.opening = (self.opening + travel).min(self.target);
        } else if self.held.is_none() {
            let candidate = self.between_jaws(tool, table);
            let next = (self.opening - travel).max(self.target);
            let closing_on = candidate.and_then(|i| {
                let u = (self.tcp(tool).rotation * Vector3::y()).xy();
                let u = Vector3::new(u.x, u.y, 0.0).try_normalize(1e-9)?;
                let width = table.objects[i].width_along(&u);
                (next <= width).then_some((i, width))
            });
            match closing_on {
                Some((index, width)) => {
                    let o = &table.objects[index];
                    self.opening = width;
                    self.held = Some(Held {
                        index,
                        width,
                        base_in_tool: tool.inverse() * o.base,
                        yaw_offset: o.yaw - heading(tool),
                    });
                }
                None => self.opening = next,
            }
        }
        let Some(h) = self.held else {
            return;
        };
        if self.opening > h.width + 1e-9 {
            // Opened past the object: it drops onto whatever is below.
            self.held = None;
            let (x, y) = (table.objects[h.index].base.x, table.objects[h.index].base.y);
            table.objects[h.index].base.z = table.surface_below(x, y);
            return;
        }
        let o = &mut table.objects[h.index];
        o.base = tool * h.base_in_tool;
        o.yaw = heading(tool) + h.yaw_offset;
    }

    /// The jaws and palm as capsules in the world (for the depth camera and contacts): the
    /// palm from the tool origin to the finger roots, and one capsule per finger.
    pub fn solids(&self, tool: &Isometry3<f64>) -> Vec<Capsule> {
        let p = &self.params;
        let r = p.finger_thickness / 2.0;
        let root = p.tcp_offset - p.finger_length / 2.0;
        let tip = p.tcp_offset + p.finger_length / 2.0;
        let y = self.opening / 2.0 + r;
        let mut out = Vec::with_capacity(3);
        let palm_r = (p.max_opening / 2.0 + p.finger_thickness).max(0.01);
        if let Ok(c) = Capsule::new(
            tool * Point3::origin(),
            tool * Point3::new(0.0, 0.0, (root - palm_r).max(0.0)),
            palm_r,
        ) {
            out.push(c);
        }
        for side in [-1.0, 1.0] {
            if let Ok(c) = Capsule::new(
                tool * Point3::new(0.0, side * y, root),
                tool * Point3::new(0.0, side * y, tip - r),
                r,
            ) {
                out.push(c);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{ObjectShape, Table, TableObject};
    use nalgebra::UnitQuaternion;

    fn table_with_cup() -> Tabletop {
        let table = Table {
            x: 0.5,
            y: 0.0,
            yaw: 0.0,
            length: 1.0,
            width: 1.2,
            height: 0.75,
        };
        let tray = crate::table::Tray {
            x: 0.5,
            y: 0.4,
            z: 0.75,
            yaw: 0.0,
            length: 0.3,
            width: 0.2,
            height: 0.05,
            thickness: 0.01,
        };
        let cup = TableObject {
            name: "cup".into(),
            shape: ObjectShape::Cup {
                radius: 0.035,
                height: 0.1,
            },
            base: Point3::new(0.5, -0.2, 0.75),
            yaw: 0.0,
            to_tray: true,
        };
        Tabletop::new(table, Some(tray), vec![cup]).unwrap()
    }

    /// A tool pointing down (z down) with its TCP at (x, y, z).
    fn tool_at(g: &Gripper, x: f64, y: f64, z: f64) -> Isometry3<f64> {
        let down = UnitQuaternion::from_axis_angle(&Vector3::x_axis(), std::f64::consts::PI);
        Isometry3::from_parts(Translation3::new(x, y, z + g.params().tcp_offset), down)
    }

    fn settle(g: &mut Gripper, tool: &Isometry3<f64>, t: &mut Tabletop) {
        for _ in 0..100 {
            g.step(0.01, tool, t);
        }
    }

    #[test]
    fn closing_around_a_cup_attaches_it_and_opening_drops_it_into_the_tray() {
        let mut t = table_with_cup();
        let mut g = Gripper::new(GripperParams::default());
        let at_cup = tool_at(&g, 0.5, -0.2 + 0.005, 0.8);
        assert_eq!(g.between_jaws(&at_cup, &t), Some(0));
        g.command(0.0);
        settle(&mut g, &at_cup, &mut t);
        assert_eq!(g.held(), Some(0));
        assert!((g.opening() - 0.07).abs() < 1e-12, "jaws stop at the cup");
        // Carried up and over the tray, 5 mm of the offset kept.
        let above = tool_at(&g, 0.52, 0.4, 0.95);
        g.step(0.01, &above, &mut t);
        let cup = &t.objects[0];
        assert!(
            (cup.base - Point3::new(0.52, 0.395, 0.9)).norm() < 1e-9,
            "{:?}",
            cup.base
        );
        g.command(0.085);
        g.step(0.01, &above, &mut t);
        assert_eq!(g.held(), None);
        let cup = &t.objects[0];
        assert!(
            (cup.base - Point3::new(0.52, 0.395, 0.76)).norm() < 1e-9,
            "{:?}",
            cup.base
        );
        assert!(t.in_tray(0));
    }

    #[test]
    fn no_grasp_when_off_centre_too_high_or_too_narrow() {
        let mut t = table_with_cup();
        let mut g = Gripper::new(GripperParams::default());
        // 3 cm beside the cup along the jaw axis: 0.085 − 0.07 leaves 7.5 mm + 10 mm slack.
        let beside = tool_at(&g, 0.5, -0.2 + 0.03, 0.8);
        assert_eq!(g.between_jaws(&beside, &t), None);
        // Above the cup's rim by more than half a finger.
        let above = tool_at(&g, 0.5, -0.2, 0.88);
        assert_eq!(g.between_jaws(&above, &t), None);
        g.command(0.0);
        settle(&mut g, &above, &mut t);
        assert_eq!((g.held(), g.opening()), (None, 0.0));
        // Closed jaws cannot take the cup even when lowered onto it.
        let at_cup = tool_at(&g, 0.5, -0.2, 0.8);
        assert_eq!(g.between_jaws(&at_cup, &t), None);
        // Opening around it first works.
        g.command(0.085);
        settle(&mut g, &at_cup, &mut t);
        g.command(0.0);
        settle(&mut g, &at_cup, &mut t);
        assert_eq!(g.held(), Some(0));
    }

    #[test]
    fn a_cup_released_beside_the_table_falls_to_the_floor() {
        let mut t = table_with_cup();
        let mut g = Gripper::new(GripperParams::default());
        let at_cup = tool_at(&g, 0.5, -0.2, 0.8);
        g.command(0.0);
        settle(&mut g, &at_cup, &mut t);
        let off = tool_at(&g, 1.5, 0.0, 1.0);
        g.step(0.01, &off, &mut t);
        g.command(0.08);
        g.step(0.01, &off, &mut t);
        assert!((t.objects[0].base - Point3::new(1.5, 0.0, 0.0)).norm() < 1e-12);
    }
}
