//! The arm world: an arm on a base pose, a gripper on its tool link, a tabletop with objects
//! and a tray, and a fixed depth camera, stepped together; with the arm's contacts counted.
//!
//! A contact is counted when an arm solid (a link capsule or box, the palm or a finger) starts
//! touching the table, the tray or an object, once per pair and onset. Links rigidly fixed to
//! the base are left out (they stand on their mount), as are the held object and the object
//! between the open jaws (touching that is what grasping is). Self-collision is not checked.

use std::collections::BTreeSet;

use nalgebra::Isometry3;

use crate::arm::{Arm, LinkSolid, Solid};
use crate::capsule::Capsule;
use crate::depth::{DepthCamera, DepthPoint};
use crate::gripper::Gripper;
use crate::table::{FIRST_OBJECT_ID, Tabletop};

/// Solids of the gripper carry this link index (one past the arm's last link).
pub fn gripper_link(arm: &Arm) -> usize {
    arm.link_names().len()
}

/// Everything the arm world holds.
#[derive(Debug, Clone)]
pub struct ArmWorld {
    arm: Arm,
    gripper: Gripper,
    table: Tabletop,
    camera: Option<DepthCamera>,
    time: f64,
    steps: u64,
    step_s: f64,
    next_frame: f64,
    touching: BTreeSet<(usize, u32)>,
    contacts: u64,
    contact_log: Vec<Contact>,
}

/// One counted contact.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    /// Sim time (s).
    pub time: f64,
    /// The arm link (or the gripper) that touched.
    pub link: String,
    /// Scene id of what it touched (table 1, tray 2..6, objects from 10).
    pub object: u32,
}

impl ArmWorld {
    /// A world stepping every `step_s` seconds.
    pub fn new(
        arm: Arm,
        gripper: Gripper,
        table: Tabletop,
        camera: Option<DepthCamera>,
        step_s: f64,
    ) -> Self {
        let mut w = Self {
            arm,
            gripper,
            table,
            camera,
            time: 0.0,
            steps: 0,
            step_s,
            next_frame: 0.0,
            touching: BTreeSet::new(),
            contacts: 0,
            contact_log: Vec::new(),
        };
        // Contacts present at the start count too: a layout that puts a cup in the arm is
        // a scenario bug worth seeing in the row.
        w.check_contacts();
        w
    }

    /// The arm.
    pub fn arm(&self) -> &Arm {
        &self.arm
    }

    /// The arm, to command it.
    pub fn arm_mut(&mut self) -> &mut Arm {
        &mut self.arm
    }

    /// The gripper.
    pub fn gripper(&self) -> &Gripper {
        &self.gripper
    }

    /// The gripper, to command it.
    pub fn gripper_mut(&mut self) -> &mut Gripper {
        &mut self.gripper
    }

    /// The tabletop with the objects' ground-truth poses.
    pub fn table(&self) -> &Tabletop {
        &self.table
    }

    /// The depth camera, if any.
    pub fn camera(&self) -> Option<&DepthCamera> {
        self.camera.as_ref()
    }

    /// Sim time (s).
    pub fn time(&self) -> f64 {
        self.time
    }

    /// The step (s).
    pub fn step_s(&self) -> f64 {
        self.step_s
    }

    /// Contacts counted so far.
    pub fn contacts(&self) -> u64 {
        self.contacts
    }

    /// The counted contacts, in order.
    pub fn contact_log(&self) -> &[Contact] {
        &self.contact_log
    }

    /// The tool link's pose in the world.
    pub fn tool_pose(&self) -> Isometry3<f64> {
        self.arm.tool_pose()
    }

    /// The arm's and the gripper's solids in the world (gripper ones with
    /// [`gripper_link`]'s index).
    pub fn solids(&self) -> Vec<LinkSolid> {
        let mut out = self.arm.solids();
        let g = gripper_link(&self.arm);
        out.extend(
            self.gripper
                .solids(&self.tool_pose())
                .into_iter()
                .map(|c| LinkSolid {
                    link: g,
                    fixed_to_base: false,
                    solid: Solid::Capsule(c),
                }),
        );
        out
    }

    /// Advances arm, gripper and carried objects by one step and counts new contacts.
    pub fn step(&mut self) {
        self.arm.step(self.step_s);
        let tool = self.arm.tool_pose();
        self.gripper.step(self.step_s, &tool, &mut self.table);
        // Time from the step count, so long runs land on the step grid without drift.
        self.steps += 1;
        self.time = self.steps as f64 * self.step_s;
        self.check_contacts();
    }

    /// A camera frame when one is due (at the camera rate, from t = 0).
    pub fn capture_if_due(&mut self) -> Option<Vec<DepthPoint>> {
        let rate = self.camera.as_ref()?.params().rate_hz;
        if self.time + 1e-9 < self.next_frame {
            return None;
        }
        // Frames on the 1/rate grid, whatever the step.
        self.next_frame = ((self.time + 1e-9) * rate).floor() / rate + 1.0 / rate;
        let scene = self.table.scene();
        let solids: Vec<(usize, Solid)> = self
            .solids()
            .into_iter()
            .map(|s| (s.link, s.solid))
            .collect();
        self.camera.as_mut().map(|c| c.capture(&scene, &solids))
    }

    fn check_contacts(&mut self) {
        let tool = self.arm.tool_pose();
        let mut skip = BTreeSet::new();
        if let Some(i) = self.gripper.held() {
            skip.insert(FIRST_OBJECT_ID + i as u32);
        }
        if let Some(i) = self.gripper.between_jaws(&tool, &self.table) {
            skip.insert(FIRST_OBJECT_ID + i as u32);
        }
        let fixtures = self.table.fixtures();
        let mut now = BTreeSet::new();
        for (k, s) in self.solids().iter().enumerate() {
            if s.fixed_to_base {
                continue;
            }
            let cap = as_capsule(&s.solid);
            for (id, b) in &fixtures {
                if cap.touches_box(b) {
                    now.insert((k, *id));
                }
            }
            for (i, o) in self.table.objects.iter().enumerate() {
                let id = FIRST_OBJECT_ID + i as u32;
                if skip.contains(&id) {
                    continue;
                }
                let hit = match o.shape() {
                    Ok(crate::geometry::Shape::Cylinder(c)) => cap.touches_cylinder(&c),
                    Ok(crate::geometry::Shape::Box(b)) => cap.touches_box(&b),
                    Err(_) => false,
                };
                if hit {
                    now.insert((k, id));
                }
            }
        }
        let solids = self.solids();
        for pair in now.difference(&self.touching) {
            self.contacts += 1;
            let link = solids[pair.0].link;
            self.contact_log.push(Contact {
                time: self.time,
                link: self
                    .arm
                    .link_names()
                    .get(link)
                    .cloned()
                    .unwrap_or_else(|| "gripper".into()),
                object: pair.1,
            });
        }
        self.touching = now;
    }
}

/// A box solid as the capsule along its longest axis whose radius covers the other two: a
/// conservative stand-in, since contact tests are capsule-based.
fn as_capsule(s: &Solid) -> Capsule {
    match s {
        Solid::Capsule(c) => *c,
        Solid::Box(b) => {
            let h = b.half_extents();
            let r = b.rotation();
            let (axis, len, rad) = if h.x >= h.y && h.x >= h.z {
                (r * nalgebra::Vector3::x(), h.x, h.y.hypot(h.z))
            } else if h.y >= h.z {
                (r * nalgebra::Vector3::y(), h.y, h.x.hypot(h.z))
            } else {
                (r * nalgebra::Vector3::z(), h.z, h.x.hypot(h.y))
            };
            let c = b.center();
            Capsule {
                a: c - axis * (len - rad).max(0.0),
                b: c + axis * (len - rad).max(0.0),
                radius: rad,
            }
        }
    }
}
