//! The tabletop of the arm world: a table (a box from the floor up), cups (cylinders),
//! boxes and a tray (a floor plate and four walls), with ground-truth object poses and the
//! surface an object released at (x, y) comes to rest on.
//!
//! Objects stand upright: the gripper carries them by their position and heading only, which
//! is all a pick-and-place over a table needs, and it keeps cups the upright cylinders the
//! geometry module ray-casts.

use nalgebra::{Point2, Point3, Vector3};
use thiserror::Error;

use crate::geometry::{Cylinder, GeometryError, Obb, ObjectClass, Scene, SceneObject, Shape};

/// Scene ids: the table, the tray's parts and the objects (from [`FIRST_OBJECT_ID`]).
pub const TABLE_ID: u32 = 1;
/// Scene id of the tray's floor plate; its walls follow it (`TRAY_ID + 1..=TRAY_ID + 4`).
pub const TRAY_ID: u32 = 2;
/// Scene id of the first object; object `i` has `FIRST_OBJECT_ID + i`.
pub const FIRST_OBJECT_ID: u32 = 10;

/// A tabletop that cannot be built.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TableError {
    /// A size or pose is not finite or not positive.
    #[error("{what}: {source}")]
    Geometry {
        /// Which thing.
        what: String,
        /// The problem.
        source: GeometryError,
    },
}

/// What an object is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ObjectShape {
    /// An upright cylinder.
    Cup {
        /// Radius (m).
        radius: f64,
        /// Height (m).
        height: f64,
    },
    /// A box standing on its base.
    Box {
        /// Size along its heading (m).
        length: f64,
        /// Size across (m).
        width: f64,
        /// Height (m).
        height: f64,
    },
}

impl ObjectShape {
    /// The height (m).
    pub fn height(&self) -> f64 {
        match *self {
            ObjectShape::Cup { height, .. } | ObjectShape::Box { height, .. } => height,
        }
    }
}

/// An object on the table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableObject {
    /// Name from the scenario.
    pub name: String,
    /// Its shape and size.
    pub shape: ObjectShape,
    /// Centre of its bottom face (world, m).
    pub base: Point3<f64>,
    /// Heading about z (rad).
    pub yaw: f64,
    /// Whether it should end in the tray (scored as placed or not).
    pub to_tray: bool,
}

impl TableObject {
    /// The solid as the sensors see it.
    pub fn shape(&self) -> Result<Shape, GeometryError> {
        Ok(match self.shape {
            ObjectShape::Cup { radius, height } => {
                Shape::Cylinder(Cylinder::new(self.base, radius, height)?)
            }
            ObjectShape::Box {
                length,
                width,
                height,
            } => Shape::Box(Obb::on_ground(
                self.base.x,
                self.base.y,
                self.base.z,
                self.yaw,
                length,
                width,
                height,
            )?),
        })
    }

    /// Its extent along the horizontal direction `u` (unit): what a parallel gripper closing
    /// along `u` must span.
    pub fn width_along(&self, u: &Vector3<f64>) -> f64 {
        match self.shape {
            ObjectShape::Cup { radius, .. } => 2.0 * radius,
            ObjectShape::Box { length, width, .. } => {
                let (s, c) = self.yaw.sin_cos();
                let (ex, ey) = (Vector3::new(c, s, 0.0), Vector3::new(-s, c, 0.0));
                length * ex.dot(u).abs() + width * ey.dot(u).abs()
            }
        }
    }

    /// The centre of its volume.
    pub fn centre(&self) -> Point3<f64> {
        self.base + Vector3::z() * self.shape.height() / 2.0
    }
}

/// The table: a box from the floor (z = 0) up to its top.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Table {
    /// Centre of the top surface (world).
    pub x: f64,
    /// Centre of the top surface (world).
    pub y: f64,
    /// Heading (rad).
    pub yaw: f64,
    /// Size along its heading (m).
    pub length: f64,
    /// Size across (m).
    pub width: f64,
    /// Height of the top surface (m).
    pub height: f64,
}

impl Table {
    /// The solid.
    pub fn obb(&self) -> Result<Obb, GeometryError> {
        Obb::on_ground(
            self.x,
            self.y,
            0.0,
            self.yaw,
            self.length,
            self.width,
            self.height,
        )
    }

    /// Whether (x, y) lies over the top, `margin` inside its edges.
    pub fn covers(&self, x: f64, y: f64, margin: f64) -> bool {
        inside_rect(
            x - self.x,
            y - self.y,
            self.yaw,
            self.length,
            self.width,
            margin,
        )
    }
}

/// A tray: a floor plate with four walls, standing on the surface below it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tray {
    /// Centre (world).
    pub x: f64,
    /// Centre (world).
    pub y: f64,
    /// Height of its underside (the surface it stands on).
    pub z: f64,
    /// Heading (rad).
    pub yaw: f64,
    /// Outer length (m).
    pub length: f64,
    /// Outer width (m).
    pub width: f64,
    /// Wall height above its underside (m).
    pub height: f64,
    /// Plate and wall thickness (m).
    pub thickness: f64,
}

impl Tray {
    /// Height of the floor plate's top (where objects rest).
    pub fn floor_top(&self) -> f64 {
        self.z + self.thickness
    }

    /// Whether (x, y) lies inside the walls, `margin` inside them.
    pub fn holds(&self, x: f64, y: f64, margin: f64) -> bool {
        let inner = |s: f64| s - 2.0 * self.thickness;
        inside_rect(
            x - self.x,
            y - self.y,
            self.yaw,
            inner(self.length),
            inner(self.width),
            margin,
        )
    }

    /// Distance from (x, y) to the inside of the walls (0 inside).
    pub fn distance_to_inside(&self, x: f64, y: f64) -> f64 {
        self.rect_distance(x, y, self.thickness)
    }

    /// Distance from (x, y) to the tray's outline (0 over it).
    pub fn distance_to_outside(&self, x: f64, y: f64) -> f64 {
        self.rect_distance(x, y, 0.0)
    }

    fn rect_distance(&self, x: f64, y: f64, inset: f64) -> f64 {
        let (s, c) = self.yaw.sin_cos();
        let (dx, dy) = (x - self.x, y - self.y);
        let (lx, ly) = (c * dx + s * dy, -s * dx + c * dy);
        let hx = self.length / 2.0 - inset;
        let hy = self.width / 2.0 - inset;
        Point2::new((lx.abs() - hx).max(0.0), (ly.abs() - hy).max(0.0))
            .coords
            .norm()
    }

    /// The plate and the four walls.
    pub fn boxes(&self) -> Result<[Obb; 5], GeometryError> {
        let (s, c) = self.yaw.sin_cos();
        let at = |lx: f64, ly: f64| (self.x + c * lx - s * ly, self.y + s * lx + c * ly);
        let t = self.thickness;
        let (hl, hw) = (self.length / 2.0, self.width / 2.0);
        let plate = Obb::on_ground(self.x, self.y, self.z, self.yaw, self.length, self.width, t)?;
        let wall = |lx: f64, ly: f64, l: f64, w: f64| {
            let (x, y) = at(lx, ly);
            Obb::on_ground(x, y, self.z, self.yaw, l, w, self.height)
        };
        Ok([
            plate,
            wall(hl - t / 2.0, 0.0, t, self.width)?,
            wall(-hl + t / 2.0, 0.0, t, self.width)?,
            wall(0.0, hw - t / 2.0, self.length, t)?,
            wall(0.0, -hw + t / 2.0, self.length, t)?,
        ])
    }
}

fn inside_rect(dx: f64, dy: f64, yaw: f64, length: f64, width: f64, margin: f64) -> bool {
    let (s, c) = yaw.sin_cos();
    let (lx, ly) = (c * dx + s * dy, -s * dx + c * dy);
    lx.abs() <= length / 2.0 - margin && ly.abs() <= width / 2.0 - margin
}

/// The table, the tray and the objects.
#[derive(Debug, Clone, PartialEq)]
pub struct Tabletop {
    /// The table.
    pub table: Table,
    /// The tray, if any.
    pub tray: Option<Tray>,
    /// The objects, in scenario order.
    pub objects: Vec<TableObject>,
}

impl Tabletop {
    /// Checks every size and pose by building the solids once.
    pub fn new(
        table: Table,
        tray: Option<Tray>,
        objects: Vec<TableObject>,
    ) -> Result<Self, TableError> {
        let geo = |what: &str| {
            let what = what.to_string();
            move |source| TableError::Geometry { what, source }
        };
        table.obb().map_err(geo("table"))?;
        if let Some(t) = &tray {
            t.boxes().map_err(geo("tray"))?;
        }
        for o in &objects {
            o.shape().map_err(geo(&format!("object `{}`", o.name)))?;
        }
        Ok(Self {
            table,
            tray,
            objects,
        })
    }

    /// Height of the surface under (x, y): the tray's floor, the table top or the floor (0).
    pub fn surface_below(&self, x: f64, y: f64) -> f64 {
        if let Some(t) = &self.tray
            && t.holds(x, y, 0.0)
        {
            return t.floor_top();
        }
        if self.table.covers(x, y, 0.0) {
            self.table.height
        } else {
            0.0
        }
    }

    /// Whether object `i` rests inside the tray.
    pub fn in_tray(&self, i: usize) -> bool {
        let o = &self.objects[i];
        self.tray.as_ref().is_some_and(|t| {
            t.holds(o.base.x, o.base.y, 0.0) && (o.base.z - t.floor_top()).abs() < 1e-6
        })
    }

    /// The static solids (table, tray) as (scene id, box).
    pub fn fixtures(&self) -> Vec<(u32, Obb)> {
        let mut out = Vec::with_capacity(6);
        if let Ok(b) = self.table.obb() {
            out.push((TABLE_ID, b));
        }
        if let Some(Ok(boxes)) = self.tray.as_ref().map(Tray::boxes) {
            out.extend(
                boxes
                    .into_iter()
                    .enumerate()
                    .map(|(i, b)| (TRAY_ID + i as u32, b)),
            );
        }
        out
    }

    /// Everything as a sensor scene with a floor at z = 0 (objects by their scene ids).
    pub fn scene(&self) -> Scene {
        let mut scene = Scene::with_flat_ground(0.0).unwrap_or_default();
        for (id, b) in self.fixtures() {
            scene.push(SceneObject::new(id, ObjectClass::Obstacle, Shape::Box(b)));
        }
        for (i, o) in self.objects.iter().enumerate() {
            if let Ok(shape) = o.shape() {
                scene.push(SceneObject::new(
                    FIRST_OBJECT_ID + i as u32,
                    ObjectClass::Obstacle,
                    shape,
                ));
            }
        }
        scene
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn tabletop() -> Tabletop {
        let table = Table {
            x: 0.5,
            y: 0.0,
            yaw: 0.0,
            length: 1.0,
            width: 1.2,
            height: 0.75,
        };
        let tray = Tray {
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
                radius: 0.04,
                height: 0.1,
            },
            base: Point3::new(0.5, -0.2, 0.75),
            yaw: 0.0,
            to_tray: true,
        };
        Tabletop::new(table, Some(tray), vec![cup]).unwrap()
    }

    #[test]
    fn surfaces_are_the_tray_floor_the_table_top_and_the_floor() {
        let t = tabletop();
        assert!((t.surface_below(0.5, 0.4) - 0.76).abs() < 1e-12);
        assert_eq!(t.surface_below(0.5, -0.2), 0.75);
        assert_eq!(t.surface_below(2.0, 0.0), 0.0);
        assert!(!t.in_tray(0));
        let tray = t.tray.unwrap();
        assert!((tray.distance_to_inside(0.5, -0.2) - (0.6 - 0.09)).abs() < 1e-12);
        assert_eq!(tray.distance_to_inside(0.5, 0.4), 0.0);
    }

    #[test]
    fn the_scene_holds_table_tray_and_objects() {
        let t = tabletop();
        let s = t.scene();
        assert_eq!(s.objects.len(), 1 + 5 + 1);
        let ray = crate::geometry::Ray::new(Point3::new(0.5, -0.2, 2.0), -Vector3::z()).unwrap();
        let hit = s.cast_ray(&ray, 0.0, 10.0).unwrap();
        assert_eq!(hit.object_id, Some(FIRST_OBJECT_ID));
        assert!((hit.t - (2.0 - 0.85)).abs() < 1e-9);
        let b = TableObject {
            name: "box".into(),
            shape: ObjectShape::Box {
                length: 0.1,
                width: 0.05,
                height: 0.05,
            },
            base: Point3::origin(),
            yaw: std::f64::consts::FRAC_PI_2,
            to_tray: false,
        };
        assert!((b.width_along(&Vector3::x()) - 0.05).abs() < 1e-12);
        assert!((b.width_along(&Vector3::y()) - 0.1).abs() < 1e-12);
    }
}
