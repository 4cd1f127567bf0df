//! A standard tabletop scene for tests, benchmarks and demos: the arm's base stands on a
//! table (its top is the base frame's z = 0), with a box obstacle, two cups and a tray.

use nalgebra::{Isometry3, Vector3};

use crate::collision::Convex;
use crate::scene::{Scene, SceneError, SceneObject};

/// Cup radius, metres.
pub const CUP_RADIUS: f64 = 0.035;
/// Cup height, metres.
pub const CUP_HEIGHT: f64 = 0.10;

/// Where the objects go, in the robot's base frame (z = 0 is the table top).
#[derive(Debug, Clone)]
pub struct TabletopLayout {
    /// Table size (x, y) and the x of its centre; the top is at z = 0.
    pub table_size: (f64, f64),
    /// x of the table centre.
    pub table_x: f64,
    /// Centre (x, y) and size (x, y, z) of the box obstacle standing on the table.
    pub obstacle: Option<((f64, f64), Vector3<f64>)>,
    /// Cups standing on the table: (id, x, y).
    pub cups: Vec<(String, f64, f64)>,
    /// Centre (x, y) of the tray, if any.
    pub tray: Option<(f64, f64)>,
}

impl Default for TabletopLayout {
    fn default() -> Self {
        Self {
            table_size: (1.2, 1.6),
            table_x: 0.3,
            obstacle: Some(((0.45, 0.05), Vector3::new(0.12, 0.25, 0.30))),
            cups: vec![("cup_1".into(), 0.45, -0.28), ("cup_2".into(), 0.25, -0.45)],
            tray: Some((0.35, 0.38)),
        }
    }
}

/// Tray outer size (x, y), wall height and thickness, metres.
pub const TRAY: (f64, f64, f64, f64) = (0.24, 0.18, 0.04, 0.01);

/// The pose of a cup standing at (x, y): its frame is at its centre.
pub fn cup_pose(x: f64, y: f64) -> Isometry3<f64> {
    Isometry3::translation(x, y, 0.5 * CUP_HEIGHT)
}

/// Height of the tray floor's top above the table, metres.
pub fn tray_floor() -> f64 {
    TRAY.3
}

/// Adds the table and the layout's objects to `scene`; the table may touch `base_link`.
pub fn populate(
    scene: &mut Scene,
    layout: &TabletopLayout,
    base_link: &str,
) -> Result<(), SceneError> {
    let (tx, ty) = layout.table_size;
    let thickness = 0.05;
    scene.add_object(SceneObject::new(
        "table",
        Isometry3::translation(layout.table_x, 0.0, -0.5 * thickness),
        Convex::cuboid(tx, ty, thickness),
    ))?;
    scene.allow("table", base_link);
    if let Some(((x, y), size)) = layout.obstacle {
        scene.add_object(SceneObject::new(
            "obstacle",
            Isometry3::translation(x, y, 0.5 * size.z),
            Convex::cuboid(size.x, size.y, size.z),
        ))?;
    }
    for (id, x, y) in &layout.cups {
        scene.add_object(SceneObject::new(
            id,
            cup_pose(*x, *y),
            Convex::cylinder(CUP_RADIUS, CUP_HEIGHT),
        ))?;
    }
    if let Some((x, y)) = layout.tray {
        let (sx, sy, h, t) = TRAY;
        let wall = |dx: f64, dy: f64, lx: f64, ly: f64| {
            (
                Isometry3::translation(dx, dy, 0.5 * h),
                Convex::cuboid(lx, ly, h),
            )
        };
        let shapes = vec![
            (
                Isometry3::translation(0.0, 0.0, 0.5 * t),
                Convex::cuboid(sx, sy, t),
            ),
            wall(0.5 * (sx - t), 0.0, t, sy),
            wall(-0.5 * (sx - t), 0.0, t, sy),
            wall(0.0, 0.5 * (sy - t), sx, t),
            wall(0.0, -0.5 * (sy - t), sx, t),
        ];
        scene.add_object(SceneObject::compound(
            "tray",
            Isometry3::translation(x, y, 0.0),
            shapes,
        ))?;
    }
    Ok(())
}
