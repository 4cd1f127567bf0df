//! The lane map as reference lines: which lane the ego is in, where its neighbours lie
//! laterally, where the road ends, and where each object is in the ego lane's Frenet frame.

use crate::frenet::{Frenet, ReferenceLine, wrap_angle};
use crate::types::{LaneMap, Object, PlanError, positive};

/// One lane with its reference line.
#[derive(Debug, Clone, PartialEq)]
pub struct LaneLine {
    /// Lane id.
    pub id: u32,
    /// Centre line.
    pub line: ReferenceLine,
    /// Width (m).
    pub width: f64,
    /// Speed limit (m/s).
    pub speed_limit: Option<f64>,
    /// Left neighbour index into [`Lanes::lanes`].
    pub left: Option<usize>,
    /// Right neighbour index.
    pub right: Option<usize>,
}

/// All lanes of the map.
#[derive(Debug, Clone, PartialEq)]
pub struct Lanes {
    /// The lanes, in map order.
    pub lanes: Vec<LaneLine>,
}

/// A lane next to (or equal to) the base lane, placed laterally in the base lane's frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LaneSlot {
    /// Index into [`Lanes::lanes`].
    pub index: usize,
    /// Lateral offset of its centre from the base lane centre (m, left positive).
    pub offset: f64,
    /// Width (m).
    pub width: f64,
}

/// The lanes side by side around the ego lane and the road edges, in its Frenet frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Corridor {
    /// The ego lane's index.
    pub base: usize,
    /// All lanes reachable through neighbour links, right to left.
    pub slots: Vec<LaneSlot>,
    /// Lateral offset of the right road edge (m).
    pub right_edge: f64,
    /// Lateral offset of the left road edge (m).
    pub left_edge: f64,
}

impl Corridor {
    /// The slot whose lane contains lateral offset `d`, if any.
    pub fn slot_at(&self, d: f64) -> Option<&LaneSlot> {
        self.slots
            .iter()
            .find(|l| (d - l.offset).abs() <= l.width / 2.0)
    }

    /// The slot of lane index `index`.
    pub fn slot_of(&self, index: usize) -> Option<&LaneSlot> {
        self.slots.iter().find(|l| l.index == index)
    }
}

/// An object seen in the ego lane's Frenet frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrenetObject {
    /// Index into the inputs' objects.
    pub index: usize,
    /// Position of its centre.
    pub at: Frenet,
    /// Speed along the lane (m/s).
    pub v_s: f64,
    /// Speed across the lane (m/s, left positive).
    pub v_d: f64,
    /// Half its extent along the lane (m).
    pub half_length: f64,
    /// Half its extent across the lane (m).
    pub half_width: f64,
}

impl Lanes {
    /// Builds reference lines for every lane; neighbour ids must exist.
    pub fn new(map: &LaneMap) -> Result<Self, PlanError> {
        if map.lanes.is_empty() {
            return Err(PlanError::NoLanes);
        }
        let index_of = |lane: u32, id: Option<u32>| -> Result<Option<usize>, PlanError> {
            match id {
                None | Some(0) => Ok(None),
                Some(n) => map
                    .lanes
                    .iter()
                    .position(|l| l.id == n)
                    .map(Some)
                    .ok_or(PlanError::UnknownNeighbour { lane, neighbour: n }),
            }
        };
        let mut lanes = Vec::with_capacity(map.lanes.len());
        for l in &map.lanes {
            let line = ReferenceLine::new(&l.centre)
                .map_err(|_| PlanError::DegenerateLane { lane: l.id })?;
            let speed_limit = match l.speed_limit {
                Some(v) if v.is_finite() && v > 0.0 => Some(v),
                _ => None,
            };
            lanes.push(LaneLine {
                id: l.id,
                line,
                width: positive("lane width", l.width)?,
                speed_limit,
                left: index_of(l.id, l.left)?,
                right: index_of(l.id, l.right)?,
            });
        }
        Ok(Self { lanes })
    }

    /// The lane the pose is in (smallest |d| among lanes heading the same way) and its Frenet
    /// coordinates; `None` when the pose is off every lane by more than a lane width.
    pub fn locate(&self, x: f64, y: f64, yaw: f64) -> Option<(usize, Frenet)> {
        let mut best: Option<(usize, Frenet)> = None;
        for (i, lane) in self.lanes.iter().enumerate() {
            let f = lane.line.project(x, y);
            if wrap_angle(yaw - lane.line.heading(f.s)).abs() > std::f64::consts::FRAC_PI_2 {
                continue;
            }
            if f.d.abs() > 1.5 * lane.width {
                continue;
            }
            if best.is_none_or(|(_, b)| f.d.abs() < b.d.abs()) {
                best = Some((i, f));
            }
        }
        best
    }

    /// Lateral offset at `s` of lane `other`'s centre in lane `base`'s frame.
    pub(crate) fn offset(&self, base: usize, other: usize, s: f64) -> f64 {
        let (x, y, _) = self.lanes[base].line.point(s, 0.0);
        let f = self.lanes[other].line.project(x, y);
        let (ox, oy, _) = self.lanes[other].line.point(f.s, 0.0);
        self.lanes[base].line.project(ox, oy).d
    }

    /// The corridor around lane `base` at arc length `s`.
    pub fn corridor(&self, base: usize, s: f64) -> Corridor {
        let mut slots = vec![LaneSlot {
            index: base,
            offset: 0.0,
            width: self.lanes[base].width,
        }];
        // Neighbour links may form cycles in a broken map: stop after every lane was seen once.
        let walk = |start: Option<usize>, left: bool, slots: &mut Vec<LaneSlot>| {
            let mut next = start;
            while let Some(i) = next {
                if slots.iter().any(|l| l.index == i) {
                    break;
                }
                slots.push(LaneSlot {
                    index: i,
                    offset: self.offset(base, i, s),
                    width: self.lanes[i].width,
                });
                next = if left {
                    self.lanes[i].left
                } else {
                    self.lanes[i].right
                };
            }
        };
        walk(self.lanes[base].left, true, &mut slots);
        walk(self.lanes[base].right, false, &mut slots);
        slots.sort_by(|a, b| a.offset.total_cmp(&b.offset));
        let right_edge = slots
            .iter()
            .map(|l| l.offset - l.width / 2.0)
            .fold(f64::INFINITY, f64::min);
        let left_edge = slots
            .iter()
            .map(|l| l.offset + l.width / 2.0)
            .fold(f64::NEG_INFINITY, f64::max);
        Corridor {
            base,
            slots,
            right_edge,
            left_edge,
        }
    }

    /// Every object in lane `base`'s frame.
    pub fn objects(&self, base: usize, objects: &[Object]) -> Vec<FrenetObject> {
        let line = &self.lanes[base].line;
        objects
            .iter()
            .enumerate()
            .map(|(index, o)| {
                let at = line.project(o.pose.x, o.pose.y);
                let h = line.heading(at.s);
                let (c, s) = (h.cos(), h.sin());
                let rel = o.pose.yaw - h;
                let (hl, hw) = (o.length.max(0.0) / 2.0, o.width.max(0.0) / 2.0);
                FrenetObject {
                    index,
                    at,
                    v_s: o.vx * c + o.vy * s,
                    v_d: -o.vx * s + o.vy * c,
                    half_length: hl * rel.cos().abs() + hw * rel.sin().abs(),
                    half_width: hl * rel.sin().abs() + hw * rel.cos().abs(),
                }
            })
            .collect()
    }
}
