//! The tabletop task: which object to move next and where in the tray it goes. Pure
//! decisions over the objects as perception reports them; `task_node.rs` turns them into
//! `manipulation/pick_place` goals.

/// The tray, in the world frame (m).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrayGeometry {
    /// Centre x.
    pub x: f64,
    /// Centre y.
    pub y: f64,
    /// Outer size along x.
    pub length: f64,
    /// Outer size along y.
    pub width: f64,
    /// Height of the tray floor's top surface.
    pub floor_z: f64,
    /// Wall thickness.
    pub wall: f64,
}

impl TrayGeometry {
    /// Whether a point lies over the tray's floor, inside its walls.
    pub fn holds(&self, x: f64, y: f64) -> bool {
        (x - self.x).abs() <= 0.5 * self.length - self.wall
            && (y - self.y).abs() <= 0.5 * self.width - self.wall
    }
}

/// An object on the table as the task sees it (world frame).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskObject {
    /// Track id (what the PickPlace goal names).
    pub id: u64,
    /// Centre x.
    pub x: f64,
    /// Centre y.
    pub y: f64,
    /// Height of the object (m).
    pub height: f64,
    /// Radius of its footprint (m).
    pub radius: f64,
}

/// How objects are packed into the tray.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Packing {
    /// Distance from an object's centre the open gripper reaches (half its outer span, m):
    /// nothing else may be that close, or the fingers hit it when they open.
    pub keep_out: f64,
    /// Extra room beyond that (m).
    pub margin: f64,
    /// Candidate spacing (m).
    pub grid: f64,
}

impl Default for Packing {
    fn default() -> Self {
        // The simulator's gripper: 0.085 m opening plus two 0.01 m fingers.
        Self {
            keep_out: 0.0525,
            margin: 0.004,
            grid: 0.005,
        }
    }
}

/// Where the next object of footprint `radius` goes in the tray: among the places where the
/// open gripper clears the walls, the one farthest from what is already in the tray (so the
/// first goes to a corner and the rest spread out), provided the fingers clear every object
/// there. `None` when the tray is full.
pub fn next_slot(
    tray: &TrayGeometry,
    radius: f64,
    in_tray: &[TaskObject],
    packing: &Packing,
) -> Option<(f64, f64)> {
    let reach = packing.keep_out.max(radius) + packing.margin;
    let hx = 0.5 * tray.length - tray.wall - reach;
    let hy = 0.5 * tray.width - tray.wall - reach;
    // A grid that is not a positive number (NaN included) places nothing.
    if hx < 0.0 || hy < 0.0 || packing.grid.is_nan() || packing.grid <= 0.0 {
        return None;
    }
    let nx = (2.0 * hx / packing.grid).floor() as i64;
    let ny = (2.0 * hy / packing.grid).floor() as i64;
    let mut best: Option<((f64, f64), f64)> = None;
    for i in 0..=nx {
        for j in 0..=ny {
            let x = tray.x - hx + i as f64 * packing.grid;
            let y = tray.y - hy + j as f64 * packing.grid;
            // The fingers around the new object must clear the others, and the others'
            // fingers (when they were placed) no longer matter: they are gone.
            let clearance = in_tray
                .iter()
                .map(|o| (o.x - x).hypot(o.y - y) - o.radius - reach)
                .fold(f64::INFINITY, f64::min);
            if clearance < 0.0 {
                continue;
            }
            // With nothing in the tray, the corner nearest its minimum: a fixed, repeatable
            // start that leaves the most room.
            let score = if in_tray.is_empty() {
                -((x - (tray.x - hx)).hypot(y - (tray.y - hy)))
            } else {
                clearance
            };
            if best.is_none_or(|(_, s)| score > s) {
                best = Some(((x, y), score));
            }
        }
    }
    best.map(|(p, _)| p)
}

/// What occupies the tray: the objects seen in it, and the ones this task put there that are
/// not seen (a camera may not reach the tray, or see it partly), each once — a placement
/// within `same` (m) of a seen object is that object.
pub fn occupied(seen: &[TaskObject], placed: &[TaskObject], same: f64) -> Vec<TaskObject> {
    let mut all = seen.to_vec();
    for p in placed {
        if !seen.iter().any(|o| (o.x - p.x).hypot(o.y - p.y) <= same) {
            all.push(*p);
        }
    }
    all
}

/// The object to pick next: of those not yet in the tray and not given up on, the one that
/// failed least often so far, and of those the nearest the arm's base (short moves first; a
/// far one may be blocked by a near one, and one that failed may work once others moved).
pub fn next_object(
    objects: &[TaskObject],
    tray: &TrayGeometry,
    base: (f64, f64),
    failures: &std::collections::HashMap<u64, u32>,
    given_up: &[u64],
) -> Option<TaskObject> {
    let key = |o: &TaskObject| {
        (
            failures.get(&o.id).copied().unwrap_or(0),
            (o.x - base.0).hypot(o.y - base.1),
        )
    };
    objects
        .iter()
        .filter(|o| !tray.holds(o.x, o.y) && !given_up.contains(&o.id))
        .min_by(|a, b| {
            let (fa, da) = key(a);
            let (fb, db) = key(b);
            fa.cmp(&fb).then(da.total_cmp(&db))
        })
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tray() -> TrayGeometry {
        // scenarios/arm/cups_to_tray.yaml: 0.30 × 0.22 m at (0, 0.45), 1 cm walls.
        TrayGeometry {
            x: 0.0,
            y: 0.45,
            length: 0.30,
            width: 0.22,
            floor_z: 0.76,
            wall: 0.01,
        }
    }

    fn cup(id: u64, x: f64, y: f64) -> TaskObject {
        TaskObject {
            id,
            x,
            y,
            height: 0.1,
            radius: 0.035,
        }
    }

    #[test]
    fn slots_spread_out_until_the_tray_is_full() {
        let t = tray();
        let p = Packing::default();
        let mut placed = Vec::new();
        for id in 0..3 {
            let (x, y) = next_slot(&t, 0.035, &placed, &p).expect("room");
            assert!(t.holds(x, y));
            placed.push(cup(id, x, y));
        }
        // Reach 0.0565 m: the free rectangle is ±0.0835 × ±0.0435 around the centre. The
        // first goes to its (−x, −y) corner, the second to the opposite corner, the third
        // where the perpendicular bisector of those two meets the rectangle's edge, about
        // 0.106 m from both.
        let near =
            |a: &TaskObject, b: (f64, f64)| (a.x - b.0).abs() < 0.003 && (a.y - b.1).abs() < 0.003;
        assert!(near(&placed[0], (-0.0835, 0.4065)), "{placed:?}");
        assert!(near(&placed[1], (0.0835, 0.4935)), "{placed:?}");
        let third = &placed[2];
        let d0 = (third.x - placed[0].x).hypot(third.y - placed[0].y);
        let d1 = (third.x - placed[1].x).hypot(third.y - placed[1].y);
        assert!(d0 > 0.103 && d1 > 0.103, "{placed:?}");
        assert!(
            (third.y - 0.45).abs() > 0.04,
            "on the long edge: {placed:?}"
        );
        // A fourth still fits in the corner the third left; then the tray is full.
        while let Some((x, y)) = next_slot(&t, 0.035, &placed, &p) {
            placed.push(cup(placed.len() as u64, x, y));
            assert!(placed.len() <= 4, "{placed:?}");
        }
        assert_eq!(placed.len(), 4);
        // Every pair is far enough apart for the fingers.
        for a in &placed {
            for b in &placed {
                if a.id != b.id {
                    assert!((a.x - b.x).hypot(a.y - b.y) >= 0.035 + 0.0565);
                }
            }
        }
    }

    #[test]
    fn placements_the_camera_does_not_see_still_occupy_the_tray() {
        let seen = [cup(7, -0.08, 0.41)];
        let placed = [cup(1, -0.083, 0.406), cup(2, 0.083, 0.494)];
        let all = occupied(&seen, &placed, 0.03);
        // The first placement is the cup seen there; the second is not seen but is there.
        assert_eq!(all.iter().map(|o| o.id).collect::<Vec<_>>(), [7, 2]);
        let t = tray();
        let (x, y) = next_slot(&t, 0.035, &all, &Packing::default()).unwrap();
        for o in &all {
            assert!(
                (o.x - x).hypot(o.y - y) >= 0.035 + 0.0565,
                "{x} {y} vs {o:?}"
            );
        }
    }

    #[test]
    fn the_nearest_cup_outside_the_tray_comes_first_failures_last() {
        let t = tray();
        let objects = [cup(1, 0.6, -0.3), cup(2, 0.35, 0.0), cup(3, 0.0, 0.45)];
        let none = std::collections::HashMap::new();
        let first = next_object(&objects, &t, (0.0, 0.0), &none, &[]).unwrap();
        assert_eq!(first.id, 2);
        let second = next_object(&objects, &t, (0.0, 0.0), &none, &[2]).unwrap();
        assert_eq!(second.id, 1, "3 is in the tray");
        assert_eq!(next_object(&objects, &t, (0.0, 0.0), &none, &[1, 2]), None);
        // After a failure the other one goes first.
        let failed_once = std::collections::HashMap::from([(2, 1)]);
        let retry = next_object(&objects, &t, (0.0, 0.0), &failed_once, &[]).unwrap();
        assert_eq!(retry.id, 1);
    }
}
