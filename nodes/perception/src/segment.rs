//! The segmentation pipeline: region of interest, ground removal, voxel downsampling (for
//! dense clouds), clustering, box fitting and classification, from one point cloud to
//! detections.

use std::borrow::Cow;

use nalgebra::{Point3, Vector3};
use thiserror::Error;

use crate::boxfit::{BoxMethod, convex_hull, edge_rms, fit_box, min_area_rect, polygon_area};
use crate::circle::fit_circle;
use crate::classify::{ClassifierMode, Shape, SideFit, classify, may_be_cup};
use crate::cluster::{ClusterError, ClusterParams, DepthJumpParams, euclidean_clusters};
use crate::ground::{
    GroundError, GroundGrid, GroundGridParams, GroundModel, Plane, PointLabel, RansacParams,
    fit_plane,
};
use crate::roofs::{RoofStripParams, join_roof_strips};
use crate::tracker::{Class, Detection};
use crate::voxel::{Downsampled, VoxelError, VoxelGrid};

/// Why segmentation could not be set up or run.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SegmentError {
    /// A parameter is out of range.
    #[error("segment parameter `{name}` = {value} is invalid: {reason}")]
    InvalidParam {
        /// Dotted path of the parameter, e.g. `ground.max_slope`.
        name: String,
        /// The rejected value.
        value: f64,
        /// What the value must satisfy.
        reason: &'static str,
    },
    /// The sensor origin has a non-finite coordinate.
    #[error("sensor origin ({x}, {y}, {z}) is not finite")]
    InvalidOrigin {
        /// Origin x.
        x: f64,
        /// Origin y.
        y: f64,
        /// Origin z.
        z: f64,
    },
    /// The cloud has more points than 32-bit indices can address.
    #[error("{0} points in one cloud; at most 4294967295 are supported")]
    TooManyPoints(usize),
    /// Plane ground removal found no plane (e.g. the table is out of view).
    #[error("no ground plane within the constraints among {points} points")]
    NoGroundPlane {
        /// Points the fit was tried on.
        points: usize,
    },
}

impl SegmentError {
    fn param(prefix: &str, name: &str, value: f64, reason: &'static str) -> Self {
        SegmentError::InvalidParam {
            name: format!("{prefix}{name}"),
            value,
            reason,
        }
    }
}

impl From<ClusterError> for SegmentError {
    fn from(e: ClusterError) -> Self {
        Self::param("cluster.", e.name, e.value, e.reason)
    }
}

/// Region of interest around the sensor; everything outside is ignored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Roi {
    /// Smallest horizontal distance from the sensor (m); hides the ego vehicle or arm.
    pub min_range: f64,
    /// Largest horizontal distance from the sensor (m).
    pub max_range: f64,
    /// Lowest point kept, relative to the sensor height (m, usually negative).
    pub min_dz: f64,
    /// Highest point kept, relative to the sensor height (m).
    pub max_dz: f64,
}

/// How the ground (or table top) is found and removed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GroundMethod {
    /// Polar grid that follows sloped roads (lidar on a vehicle).
    Grid(GroundGridParams),
    /// One RANSAC plane; it and everything below it are removed (table tops, flat floors).
    Plane(RansacParams),
}

/// Which clusters above a table plane are objects standing on it, and where a round object's
/// side is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TableObjectParams {
    /// A cluster is on the table when its lowest point is at most this far above the plane
    /// (m); arm links and a cup held in the air are not. Points within the plane's inlier band
    /// were removed with the table, so an object's lowest kept point lies just above it.
    pub max_base_height: f64,
    /// Tallest object on the table (m, from the plane); a taller cluster (the arm standing on
    /// the table, a person's arm reaching in) is not one.
    pub max_height: f64,
    /// Points within this distance below a cluster's top (m) belong to its top face, not its
    /// side, and are left out of the circle fit.
    pub rim: f64,
    /// Fewest side points (voxels) a circle is fitted to.
    pub min_side_points: usize,
    /// A cup whose circle centre is less certain than this (m, one σ), or a cup-sized cluster
    /// classed neither cup nor box, is left out of the frame: a short arc of a
    /// mostly hidden cup can put it centimetres off, and a track coasting for a frame is
    /// better than one pulled away from where a gripper should go.
    pub max_centre_std: f64,
}

impl TableObjectParams {
    /// Defaults for cups and boxes up to 0.3 m tall seen by a depth camera with ~2 mm noise:
    /// lowest point within 3 cm of the plane (its 8 mm inlier band plus noise and a voxel),
    /// top faces 12 mm deep (the rim's voxels mix top and side), at least 8 side points, cup
    /// centres certain to 2 mm (σ) or left out.
    pub fn table() -> Self {
        Self {
            max_base_height: 0.03,
            max_height: 0.3,
            rim: 0.012,
            min_side_points: 8,
            max_centre_std: 0.003,
        }
    }
}

/// A vertical cylinder in which no object is reported: the base of an arm standing on the
/// table, which once the arm leans away shows as a round, cup-sized cluster on the table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeepOut {
    /// Axis x (m, the points' frame).
    pub x: f64,
    /// Axis y (m).
    pub y: f64,
    /// A cluster whose centre lies within this distance of the axis is no object (m).
    pub radius: f64,
}

impl KeepOut {
    /// Default keep-out radius around an arm's base axis (m): the base's circle centre lies
    /// within a centimetre of its axis, and a cup touching a 5 cm base is 8.5 cm from it.
    pub const ARM_BASE_RADIUS: f64 = 0.06;
}

/// Everything the pipeline needs to know.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmentParams {
    /// Region of interest around the sensor.
    pub roi: Roi,
    /// Edge of the downsampling voxel (m); `None` keeps every point. Downsampling pays off
    /// for dense depth images; a lidar's obstacle returns are sparse (0.1 m voxels merge
    /// only a sixth of them in the 128-channel benchmark) and would cost a quarter of the frame.
    pub voxel_size: Option<f32>,
    /// Ground removal.
    pub ground: GroundMethod,
    /// Clustering of the obstacle points; sizes count sensor points, not voxels.
    pub cluster: ClusterParams,
    /// Factor on z before clustering: 0 clusters in the ground plane only, so that a lidar's
    /// widely spaced rings (0.7 m apart at 30 m for 32 channels) do not split an object.
    pub cluster_z_scale: f32,
    /// How boxes are fitted.
    pub box_method: BoxMethod,
    /// Which classes exist.
    pub classifier: ClassifierMode,
    /// Elevation step between a lidar's channels (rad); 0 for dense sensors. Objects far
    /// away are crossed by few channels, so their measured height is only a lower bound.
    pub vertical_resolution: f64,
    /// With plane ground removal: keep only clusters standing on the plane and fit circles
    /// to their sides; `None` keeps every cluster.
    pub table_objects: Option<TableObjectParams>,
    /// Join a close vehicle's roof strip, seen by one ring metres behind its front, to the
    /// front ([`crate::roofs`]); `None` keeps clusters as they are.
    pub roof_strips: Option<RoofStripParams>,
}

impl SegmentParams {
    /// Road defaults for a roof lidar 1.8 m above the road (the simulator's HDL-32E mount),
    /// points in `odom`: within 80 m and from 15 m below to 5 m above the sensor, no
    /// downsampling, a 0.5 m × 1° polar ground grid allowing 15 % slope between cells (±5 cm
    /// of scatter) and 2 % of grade drift across unseen level road, obstacles from 0.2 m above the local ground, 2D clusters with 0.5 m
    /// tolerance across the line of sight and 10 % of the range (at most 1.6 m) along it (a side
    /// seen at a grazing 5° from 15 m has a return every 0.6 m or more; roof rings lie
    /// farther apart), but not across depth jumps ([`DepthJumpParams::lidar`]: what shows
    /// just past an object's edge is not joined to it along the line of sight),
    /// and at least 5 points, L-shape boxes. For flat ground the grid can be swapped
    /// for [`GroundMethod::Plane`].
    pub fn road() -> Self {
        Self {
            roi: Roi {
                min_range: 0.0,
                max_range: 80.0,
                min_dz: -15.0,
                max_dz: 5.0,
            },
            voxel_size: None,
            ground: GroundMethod::Grid(GroundGridParams {
                ring_width: 0.5,
                sectors: 360,
                max_range: 80.0,
                max_slope: 0.15,
                height_tolerance: 0.05,
                obstacle_height: 0.2,
                noise_depth: 0.3,
                sensor_height: 1.8,
                seed_tolerance: 0.5,
                unseen_grade_drift: 0.02,
            }),
            cluster: ClusterParams {
                tolerance: 0.5,
                radial_growth: 0.1,
                max_radial: 1.6,
                depth_jumps: Some(DepthJumpParams::lidar()),
                min_points: 5,
                max_points: 100_000,
            },
            cluster_z_scale: 0.0,
            box_method: BoxMethod::LShape,
            classifier: ClassifierMode::Road,
            // HDL-32E: 32 channels from -30.67° to +10.67°.
            vertical_resolution: (41.34f64 / 31.0).to_radians(),
            table_objects: None,
            roof_strips: Some(RoofStripParams::road()),
        }
    }

    /// Table defaults for a depth camera up to 1.5 m (horizontally) from the objects, points
    /// in the world frame: 5 mm voxels, the table top as a RANSAC plane within 15° of
    /// horizontal (8 mm inlier band; it and everything below it removed), 3D clusters with
    /// 2 cm tolerance and at least 20 points (a cup half hidden behind the arm 1 m from the
    /// camera keeps 20 to 30), minimum-area boxes, only clusters standing on the
    /// table and at most 0.3 m tall ([`TableObjectParams::table`]), circles fitted to their
    /// sides. The table top should be the largest horizontal surface in view; if the floor
    /// shows more, raise `roi.min_dz` above it.
    pub fn table() -> Self {
        Self {
            roi: Roi {
                min_range: 0.0,
                max_range: 1.5,
                min_dz: -2.5,
                max_dz: 0.5,
            },
            voxel_size: Some(0.005),
            ground: GroundMethod::Plane(RansacParams {
                threshold: 0.008,
                max_iterations: 200,
                expected_normal: Some((Vector3::z(), 15f64.to_radians())),
                seed: 0x5EED,
                score_sample: 4000,
            }),
            cluster: ClusterParams {
                tolerance: 0.02,
                radial_growth: 0.0,
                max_radial: 0.02,
                depth_jumps: None,
                min_points: 20,
                max_points: 500_000,
            },
            cluster_z_scale: 1.0,
            box_method: BoxMethod::MinAreaRect,
            classifier: ClassifierMode::Table,
            vertical_resolution: 0.0,
            table_objects: Some(TableObjectParams::table()),
            roof_strips: None,
        }
    }

    /// Checks every field, naming the bad one.
    pub fn validate(&self) -> Result<(), SegmentError> {
        let r = &self.roi;
        let finite_range = r.min_range.is_finite() && r.min_range >= 0.0;
        if !finite_range {
            return Err(SegmentError::param(
                "roi.",
                "min_range",
                r.min_range,
                "must be finite and at least 0",
            ));
        }
        if !(r.max_range.is_finite() && r.max_range > r.min_range) {
            return Err(SegmentError::param(
                "roi.",
                "max_range",
                r.max_range,
                "must be finite and above min_range",
            ));
        }
        if !r.min_dz.is_finite() {
            return Err(SegmentError::param(
                "roi.",
                "min_dz",
                r.min_dz,
                "must be finite",
            ));
        }
        if let Some((name, value, reason)) = self.roof_strips.as_ref().and_then(|r| r.invalid()) {
            return Err(SegmentError::param(
                "roof_strips.",
                name,
                f64::from(value),
                reason,
            ));
        }
        if !(r.max_dz.is_finite() && r.max_dz > r.min_dz) {
            return Err(SegmentError::param(
                "roi.",
                "max_dz",
                r.max_dz,
                "must be finite and above min_dz",
            ));
        }
        if let Some(Err(VoxelError::InvalidSize(v))) = self.voxel_size.map(VoxelGrid::new) {
            return Err(SegmentError::param(
                "",
                "voxel_size",
                f64::from(v),
                "must be finite and greater than 0",
            ));
        }
        let ground = |e: GroundError| SegmentError::param("ground.", e.name, e.value, e.reason);
        match &self.ground {
            GroundMethod::Grid(g) => g.validate().map_err(ground)?,
            GroundMethod::Plane(p) => p.validate().map_err(ground)?,
        }
        self.cluster.validate()?;
        if !(self.cluster_z_scale.is_finite() && self.cluster_z_scale >= 0.0) {
            return Err(SegmentError::param(
                "",
                "cluster_z_scale",
                f64::from(self.cluster_z_scale),
                "must be finite and at least 0",
            ));
        }
        if let Some(t) = &self.table_objects {
            let positive = |name: &'static str, v: f64| {
                if v.is_finite() && v > 0.0 {
                    Ok(())
                } else {
                    Err(SegmentError::param(
                        "table_objects.",
                        name,
                        v,
                        "must be finite and greater than 0",
                    ))
                }
            };
            positive("max_base_height", t.max_base_height)?;
            positive("max_height", t.max_height)?;
            positive("rim", t.rim)?;
            positive("max_centre_std", t.max_centre_std)?;
            if t.min_side_points < 3 {
                return Err(SegmentError::param(
                    "table_objects.",
                    "min_side_points",
                    t.min_side_points as f64,
                    "must be at least 3 (a circle needs three points)",
                ));
            }
        }
        let v = self.vertical_resolution;
        if !(v.is_finite() && (0.0..0.5).contains(&v)) {
            return Err(SegmentError::param(
                "",
                "vertical_resolution",
                v,
                "must be finite, at least 0 and below 0.5 rad",
            ));
        }
        Ok(())
    }
}

/// Detections of one frame and where the points went.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SegmentOutput {
    /// One per kept cluster, in the points' frame.
    pub detections: Vec<Detection>,
    /// Points on the ground (or the table top).
    pub ground_points: usize,
    /// Points above the ground, before cluster size limits.
    pub obstacle_points: usize,
    /// Points below the ground: noise on roads, everything under the table top on tables.
    pub below_ground_points: usize,
    /// Finite points outside the region of interest.
    pub outside_roi: usize,
    /// Points with a NaN or infinite coordinate, skipped.
    pub dropped_nan: usize,
    /// Clusters within the size limits.
    pub clusters: usize,
    /// Of those, roof strips joined to the vehicle in front of them.
    pub roof_strips: usize,
    /// Of those, clusters not standing on the table, taller than an object on it (table
    /// mode) or centred in a keep-out cylinder: no detection.
    pub off_table: usize,
    /// Of those, cups whose centre the circle fit left too uncertain, and cup-sized clusters
    /// classed neither cup nor box: no detection.
    pub uncertain_cups: usize,
}

/// Whether every coordinate of `p` is finite.
fn is_finite(p: &Point3<f32>) -> bool {
    p.x.is_finite() && p.y.is_finite() && p.z.is_finite()
}

/// The region of interest of one frame, in the points' frame, in `f32`.
struct RoiTest {
    origin: [f32; 2],
    min2: f32,
    max2: f32,
    zlo: f32,
    zhi: f32,
}

impl RoiTest {
    fn new(r: &Roi, o: Point3<f64>) -> Self {
        Self {
            origin: [o.x as f32, o.y as f32],
            min2: (r.min_range * r.min_range) as f32,
            max2: (r.max_range * r.max_range) as f32,
            zlo: (o.z + r.min_dz) as f32,
            zhi: (o.z + r.max_dz) as f32,
        }
    }

    /// Whether `p` is inside; false for non-finite points.
    fn contains(&self, p: &Point3<f32>) -> bool {
        let (dx, dy) = (p.x - self.origin[0], p.y - self.origin[1]);
        let d2 = dx * dx + dy * dy;
        d2 >= self.min2 && d2 <= self.max2 && p.z >= self.zlo && p.z <= self.zhi
    }
}

/// The ground found in one frame, for the bottoms of boxes.
enum Ground {
    Grid(GroundModel),
    Plane(Plane),
}

impl Ground {
    fn height_at(&self, x: f64, y: f64) -> Option<f64> {
        match self {
            Ground::Grid(m) => m.height_at(x, y),
            Ground::Plane(p) => p.height_at(x, y),
        }
    }
}

/// What became of one cluster.
enum Detected {
    /// An object.
    Object(Detection),
    /// Not standing on the table, or too tall for an object on it.
    OffTable,
    /// A cup whose centre is too uncertain, or a cup-sized cluster of no class.
    Uncertain,
    /// No box could be fitted (degenerate points).
    Nothing,
}

/// A cluster standing on the table: how its side fits a circle and a rectangle.
struct OnTable {
    side: Option<SideFit>,
}

/// The ground stage, built from [`GroundMethod`].
#[derive(Debug, Clone)]
enum GroundStage {
    Grid(GroundGrid),
    Plane(RansacParams),
}

/// A configured segmentation pipeline; holds no per-frame state, so it can be shared.
#[derive(Debug, Clone)]
pub struct Segmenter {
    params: SegmentParams,
    voxels: Option<VoxelGrid>,
    /// Cells a tenth of the cluster tolerance, to merge points stacked by a squashed z.
    fine: VoxelGrid,
    ground: GroundStage,
    keep_out: Vec<KeepOut>,
}

impl Segmenter {
    /// A segmenter with validated parameters.
    pub fn new(params: SegmentParams) -> Result<Self, SegmentError> {
        params.validate()?;
        let voxels = params.voxel_size.and_then(|v| VoxelGrid::new(v).ok());
        let ground = match params.ground {
            GroundMethod::Grid(g) => GroundStage::Grid(
                GroundGrid::new(g)
                    .map_err(|e| SegmentError::param("ground.", e.name, e.value, e.reason))?,
            ),
            GroundMethod::Plane(r) => GroundStage::Plane(r),
        };
        let fine = VoxelGrid::new(params.cluster.tolerance / 10.0).map_err(|_| {
            SegmentError::param(
                "cluster.",
                "tolerance",
                f64::from(params.cluster.tolerance),
                "must be finite and greater than 0",
            )
        })?;
        Ok(Self {
            params,
            voxels,
            fine,
            ground,
            keep_out: Vec::new(),
        })
    }

    /// The parameters.
    pub fn params(&self) -> &SegmentParams {
        &self.params
    }

    /// Sets the places where no object is reported (in the points' frame); counted as
    /// `off_table`.
    pub fn set_keep_out(&mut self, keep_out: Vec<KeepOut>) {
        self.keep_out = keep_out;
    }

    /// Finds the objects in `points` (z up); `sensor_origin` is the sensor position in the
    /// same frame.
    pub fn segment(
        &self,
        points: &[Point3<f32>],
        sensor_origin: Point3<f64>,
    ) -> Result<SegmentOutput, SegmentError> {
        let o = sensor_origin;
        if !(o.x.is_finite() && o.y.is_finite() && o.z.is_finite()) {
            return Err(SegmentError::InvalidOrigin {
                x: o.x,
                y: o.y,
                z: o.z,
            });
        }
        // Clustering indexes points with u32 to halve its memory traffic.
        if u32::try_from(points.len()).is_err() {
            return Err(SegmentError::TooManyPoints(points.len()));
        }
        let mut out = SegmentOutput::default();
        let roi = RoiTest::new(&self.params.roi, o);

        // The grid works on raw points: binning is cheaper than voxel sorting, and it removes
        // most of a lidar cloud before any downsampling. A plane fit wants the downsampled
        // cloud: a dense depth image would make every hypothesis expensive.
        let (obstacles, ground) = match &self.ground {
            GroundStage::Grid(grid) => {
                let mut labels = Vec::new();
                let model = grid.classify_where(points, o, &mut labels, |p| roi.contains(p));
                let mut above = Vec::with_capacity(points.len() / 4);
                for (p, l) in points.iter().zip(&labels) {
                    match l {
                        PointLabel::Ground => out.ground_points += 1,
                        PointLabel::Obstacle => above.push(*p),
                        PointLabel::Noise => out.below_ground_points += 1,
                        PointLabel::Outside if !is_finite(p) => out.dropped_nan += 1,
                        PointLabel::Outside => out.outside_roi += 1,
                    }
                }
                out.obstacle_points = above.len();
                (self.downsample(above), Ground::Grid(model))
            }
            GroundStage::Plane(ransac) => {
                // The plane is fitted to and removed from the raw points, so only what stands
                // on it is downsampled: a depth image is mostly table.
                let kept = self.region_of_interest(points, &roi, &mut out);
                let fit = fit_plane(&kept, ransac)
                    .ok_or(SegmentError::NoGroundPlane { points: kept.len() })?;
                let mut above = Vec::with_capacity(kept.len() / 4);
                for p in &kept {
                    let d = fit.plane.signed_distance(p);
                    if d > ransac.threshold {
                        above.push(*p);
                    } else if d >= -ransac.threshold {
                        out.ground_points += 1;
                    } else {
                        out.below_ground_points += 1;
                    }
                }
                out.obstacle_points = above.len();
                (self.downsample(above), Ground::Plane(fit.plane))
            }
        };

        let scale = self.params.cluster_z_scale;
        let sensor = Point3::new(o.x as f32, o.y as f32, (o.z as f32) * scale);
        let clustered: Cow<[Point3<f32>]> = if scale == 1.0 {
            Cow::Borrowed(&obstacles.points)
        } else {
            obstacles
                .points
                .iter()
                .map(|p| Point3::new(p.x, p.y, p.z * scale))
                .collect()
        };
        // Each cluster's points (indices into `obstacles.points`) and sensor-point weight.
        let mut found: Vec<(Vec<u32>, usize)> = if scale == 1.0 {
            let clusters = euclidean_clusters(
                &clustered,
                Some(&obstacles.counts),
                &self.params.cluster,
                sensor,
            )?;
            (0..clusters.len())
                .map(|k| (clusters.members(k).to_vec(), clusters.weight(k)))
                .collect()
        } else {
            // Squashing z stacks each lidar column's returns on one spot: clustering one
            // centroid per fine cell instead of every point keeps the point-pair tests few;
            // the boxes still see every point.
            let cells = self.fine.index(&clustered);
            let mut reps = Vec::with_capacity(cells.len());
            let mut rep_weights = Vec::with_capacity(cells.len());
            for c in 0..cells.len() {
                let m = cells.members(c);
                let (mut x, mut y, mut z, mut w) = (0.0f32, 0.0f32, 0.0f32, 0u32);
                for &i in m {
                    let q = clustered[i as usize];
                    x += q.x;
                    y += q.y;
                    z += q.z;
                    w += obstacles.counts[i as usize];
                }
                let n = m.len() as f32;
                reps.push(Point3::new(x / n, y / n, z / n));
                rep_weights.push(w);
            }
            let clusters =
                euclidean_clusters(&reps, Some(&rep_weights), &self.params.cluster, sensor)?;
            (0..clusters.len())
                .map(|k| {
                    let members = clusters
                        .members(k)
                        .iter()
                        .flat_map(|&c| cells.members(c as usize).iter().copied())
                        .collect();
                    (members, clusters.weight(k))
                })
                .collect()
        };
        out.clusters = found.len();
        if let Some(roofs) = &self.params.roof_strips {
            let eye = Point3::new(o.x as f32, o.y as f32, o.z as f32);
            out.roof_strips = join_roof_strips(&obstacles.points, &mut found, eye, roofs);
        }
        for (members, weight) in &found {
            match self.detect(&obstacles.points, members, *weight, &ground, o) {
                Detected::Object(d) => out.detections.push(d),
                Detected::OffTable => out.off_table += 1,
                Detected::Uncertain => out.uncertain_cups += 1,
                Detected::Nothing => {}
            }
        }
        Ok(out)
    }

    /// Voxel centroids of `points`, or the points themselves without a voxel size.
    fn downsample(&self, points: Vec<Point3<f32>>) -> Downsampled {
        match &self.voxels {
            Some(v) => v.downsample(&points),
            None => Downsampled {
                counts: vec![1; points.len()],
                points,
                skipped: 0,
            },
        }
    }

    /// Finite points inside the region of interest; counts the rest.
    fn region_of_interest(
        &self,
        points: &[Point3<f32>],
        roi: &RoiTest,
        out: &mut SegmentOutput,
    ) -> Vec<Point3<f32>> {
        let mut kept = Vec::with_capacity(points.len());
        for p in points {
            if !is_finite(p) {
                out.dropped_nan += 1;
            } else if roi.contains(p) {
                kept.push(*p);
            } else {
                out.outside_roi += 1;
            }
        }
        kept
    }

    /// How far above `top` the next channel passes at the object's range (m): the true top
    /// lies in between (uniformly spaced channels assumed).
    fn height_slack(&self, x: f64, y: f64, top: f64, sensor: Point3<f64>) -> f64 {
        let step = self.params.vertical_resolution;
        if step <= 0.0 {
            return 0.0;
        }
        let range = (x - sensor.x).hypot(y - sensor.y);
        let elevation = (top - sensor.z).atan2(range);
        let next = (elevation + step).min(std::f64::consts::FRAC_PI_2 - 0.01);
        (range * (next.tan() - elevation.tan())).max(0.0)
    }

    /// Whether a cluster stands on the table plane and is no taller than an object on it
    /// (`None` if not), and the circle through its side points: those below its top face,
    /// projected on the plane (assumed near horizontal, as the fit requires).
    fn on_table(
        t: &TableObjectParams,
        plane: &Plane,
        points: &[Point3<f32>],
        members: &[u32],
    ) -> Option<OnTable> {
        let (mut base, mut top) = (f64::INFINITY, f64::NEG_INFINITY);
        for &i in members {
            let h = plane.signed_distance(&points[i as usize]);
            base = base.min(h);
            top = top.max(h);
        }
        if base > t.max_base_height || top > t.max_height {
            return None;
        }
        let side: Vec<[f64; 2]> = members
            .iter()
            .map(|&i| points[i as usize])
            .filter(|p| plane.signed_distance(p) < top - t.rim)
            .map(|p| [f64::from(p.x), f64::from(p.y)])
            .collect();
        let fit = if side.len() >= t.min_side_points {
            fit_circle(&side).and_then(|circle| {
                let rect = min_area_rect(&side)?;
                Some(SideFit {
                    circle,
                    edge_rms: edge_rms(&side, &rect),
                })
            })
        } else {
            None
        };
        Some(OnTable { side: fit })
    }

    /// Box and class of one cluster.
    fn detect(
        &self,
        points: &[Point3<f32>],
        members: &[u32],
        weight: usize,
        ground: &Ground,
        sensor: Point3<f64>,
    ) -> Detected {
        let table = match (&self.params.table_objects, ground) {
            (Some(t), Ground::Plane(plane)) => match Self::on_table(t, plane, points, members) {
                Some(on) => Some(on),
                None => return Detected::OffTable,
            },
            _ => None,
        };
        let n = members.len() as f64;
        let (sx, sy) = members.iter().fold((0.0, 0.0), |(x, y), &i| {
            let p = points[i as usize];
            (x + f64::from(p.x), y + f64::from(p.y))
        });
        let floor = ground.height_at(sx / n, sy / n);
        let Some(b) = fit_box(points, members, floor, self.params.box_method) else {
            return Detected::Nothing;
        };
        let fill = if self.params.classifier == ClassifierMode::Table && b.length * b.width > 0.0 {
            let xy: Vec<[f64; 2]> = members
                .iter()
                .map(|&i| {
                    [
                        f64::from(points[i as usize].x),
                        f64::from(points[i as usize].y),
                    ]
                })
                .collect();
            polygon_area(&convex_hull(&xy)) / (b.length * b.width)
        } else {
            1.0
        };
        let shape = Shape {
            length: b.length,
            width: b.width,
            height: b.height,
            points: weight,
            fill,
            height_slack: self.height_slack(sx / n, sy / n, b.center.z + 0.5 * b.height, sensor),
            side: table.and_then(|t| t.side),
        };
        let (class, confidence) = classify(self.params.classifier, &shape);
        let mut d = Detection {
            x: b.center.x,
            y: b.center.y,
            z: b.center.z,
            yaw: b.yaw,
            length: b.length,
            width: b.width,
            height: b.height,
            class,
            confidence,
            seen_depth: b.length.min(b.width),
            points: weight,
        };
        // A cup is where its circle is, and as wide as it: the box covers only the part seen.
        if let Some(t) = &self.params.table_objects
            && may_be_cup(&shape)
            && (class == Class::Unknown
                || shape
                    .side
                    .is_some_and(|f| f.circle.centre_std > t.max_centre_std))
        {
            return Detected::Uncertain;
        }
        if let (Class::Cup, Some(SideFit { circle: c, .. })) = (class, shape.side) {
            (d.x, d.y) = (c.cx, c.cy);
        }
        if self
            .keep_out
            .iter()
            .any(|k| (d.x - k.x).hypot(d.y - k.y) < k.radius)
        {
            return Detected::OffTable;
        }
        if let (Class::Cup, Some(SideFit { circle: c, .. })) = (class, shape.side) {
            (d.x, d.y, d.yaw) = (c.cx, c.cy, 0.0);
            (d.length, d.width) = (2.0 * c.radius, 2.0 * c.radius);
        }
        Detected::Object(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An upright box standing on z = `z0`.
    struct Solid {
        cx: f64,
        cy: f64,
        yaw: f64,
        l: f64,
        w: f64,
        h: f64,
        z0: f64,
    }

    /// Distance along the unit ray `o + t·d` to the first hit of `s`, if any.
    fn hit(s: &Solid, o: [f64; 3], d: [f64; 3]) -> Option<f64> {
        let (sn, cs) = (-s.yaw).sin_cos();
        let (px, py) = (o[0] - s.cx, o[1] - s.cy);
        let lo = [px * cs - py * sn, px * sn + py * cs, o[2]];
        let ld = [d[0] * cs - d[1] * sn, d[0] * sn + d[1] * cs, d[2]];
        let min = [-s.l / 2.0, -s.w / 2.0, s.z0];
        let max = [s.l / 2.0, s.w / 2.0, s.z0 + s.h];
        let (mut t0, mut t1) = (0.0f64, f64::INFINITY);
        for k in 0..3 {
            if ld[k].abs() < 1e-12 {
                if lo[k] < min[k] || lo[k] > max[k] {
                    return None;
                }
                continue;
            }
            let (a, b) = ((min[k] - lo[k]) / ld[k], (max[k] - lo[k]) / ld[k]);
            t0 = t0.max(a.min(b));
            t1 = t1.min(a.max(b));
        }
        (t0 <= t1 && t0 > 0.0).then_some(t0)
    }

    /// A spinning lidar at `o` over flat ground z = 0: `channels` rows from −30° to +10°.
    fn lidar(o: [f64; 3], channels: usize, az_step_deg: f64, solids: &[Solid]) -> Vec<Point3<f32>> {
        lidar_on_slope(o, channels, az_step_deg, solids, 0.0)
    }

    /// [`lidar`] over the ground z = `slope`·x.
    fn lidar_on_slope(
        o: [f64; 3],
        channels: usize,
        az_step_deg: f64,
        solids: &[Solid],
        slope: f64,
    ) -> Vec<Point3<f32>> {
        let mut pts = Vec::new();
        let columns = (360.0 / az_step_deg).round() as usize;
        for c in 0..channels {
            let el = (-30.0 + 40.0 * c as f64 / (channels - 1) as f64).to_radians();
            for a in 0..columns {
                let az = (a as f64 * az_step_deg).to_radians();
                let d = [el.cos() * az.cos(), el.cos() * az.sin(), el.sin()];
                let denom = d[2] - slope * d[0];
                let mut t = if denom < 0.0 {
                    -(o[2] - slope * o[0]) / denom
                } else {
                    f64::INFINITY
                };
                for s in solids {
                    if let Some(ts) = hit(s, o, d) {
                        t = t.min(ts);
                    }
                }
                if t < 100.0 {
                    pts.push(Point3::new(
                        (o[0] + t * d[0]) as f32,
                        (o[1] + t * d[1]) as f32,
                        (o[2] + t * d[2]) as f32,
                    ));
                }
            }
        }
        pts
    }

    #[test]
    fn a_car_close_behind_is_one_detection_with_its_roof_strip() {
        // Front face 9.5 m behind the sensor: the ring at -2.9° meets it at 1.32 m, the next
        // one (-1.6°) passes over its edge and lands on the 1.43 m roof 13.1 m out.
        let car = Solid {
            cx: -11.75,
            cy: 0.0,
            yaw: 0.0,
            l: 4.5,
            w: 1.8,
            h: 1.43,
            z0: 0.0,
        };
        let pts = lidar([0.0, 0.0, 1.8], 32, 0.2, &[car]);
        let origin = Point3::new(0.0, 0.0, 1.8);
        let split = SegmentParams {
            roof_strips: None,
            ..SegmentParams::road()
        };
        let out = Segmenter::new(split)
            .unwrap()
            .segment(&pts, origin)
            .unwrap();
        assert_eq!(out.detections.len(), 2, "{:?}", out.detections);
        let out = Segmenter::new(SegmentParams::road())
            .unwrap()
            .segment(&pts, origin)
            .unwrap();
        assert_eq!(out.roof_strips, 1);
        let [d] = out.detections.as_slice() else {
            panic!("{:?}", out.detections)
        };
        assert_eq!(d.class, Class::Car);
        // Face at -9.5 m, strip at -13.1 m: the box spans both.
        assert!(
            d.x - d.length / 2.0 < -13.0 && d.x + d.length / 2.0 > -9.6,
            "{d:?}"
        );
    }

    #[test]
    fn road_scene_finds_car_pedestrian_and_cyclist() {
        let solids = [
            // Euro NCAP GVT, pedestrian and bicycle targets (nodes/sim/src/actors.rs).
            Solid {
                cx: 15.0,
                cy: 3.0,
                yaw: 20f64.to_radians(),
                l: 4.023,
                w: 1.712,
                h: 1.427,
                z0: 0.0,
            },
            Solid {
                cx: 8.0,
                cy: -4.0,
                yaw: 0.0,
                l: 0.6,
                w: 0.5,
                h: 1.8,
                z0: 0.0,
            },
            Solid {
                cx: 12.0,
                cy: -9.0,
                yaw: 0.0,
                l: 1.89,
                w: 0.5,
                h: 1.2,
                z0: 0.0,
            },
        ];
        let mut pts = lidar([0.0, 0.0, 1.8], 64, 0.2, &solids);
        pts.push(Point3::new(f32::NAN, 0.0, 0.0));
        pts.push(Point3::new(1.0, f32::INFINITY, 0.0));
        let seg = Segmenter::new(SegmentParams::road()).unwrap();
        let out = seg.segment(&pts, Point3::new(0.0, 0.0, 1.8)).unwrap();
        assert_eq!(out.dropped_nan, 2);
        assert_eq!(out.clusters, 3, "{:?}", out.detections);
        let find = |x: f64, y: f64| {
            out.detections
                .iter()
                .find(|d| (d.x - x).abs() < 0.5 && (d.y - y).abs() < 0.5)
                .unwrap_or_else(|| panic!("nothing at ({x}, {y}): {:?}", out.detections))
        };
        let car = find(15.0, 3.0);
        assert_eq!(car.class, Class::Car);
        assert!(
            (car.yaw - 20f64.to_radians()).abs() < 2f64.to_radians(),
            "{car:?}"
        );
        // The left side is seen at a grazing 5°, one return per 0.6 m: its far end is missed,
        // so the length is the visible extent, short of the true 4.023 m.
        assert!(
            (3.3..4.1).contains(&car.length) && (car.width - 1.712).abs() < 0.1,
            "{car:?}"
        );
        assert!(
            (car.height - 1.427).abs() < 0.1 && (car.z - 0.71).abs() < 0.1,
            "{car:?}"
        );
        assert_eq!(find(8.0, -4.0).class, Class::Pedestrian);
        assert_eq!(find(12.0, -9.0).class, Class::Bicycle);
        let total = out.ground_points
            + out.obstacle_points
            + out.below_ground_points
            + out.outside_roi
            + out.dropped_nan;
        assert_eq!(total, pts.len());
    }

    /// A parked car (4.4 m × 1.8 m, its side 1.1 m right of the sensor) and, when
    /// `behind` is given, a child-sized box that far behind the car's front inner corner along
    /// the ray through it, a third of its width hidden behind the car.
    fn car_and_child_behind_its_corner(behind: Option<f64>) -> Vec<Solid> {
        let mut solids = vec![Solid {
            cx: 15.0,
            cy: -2.0,
            yaw: 0.0,
            l: 4.4,
            w: 1.8,
            h: 1.5,
            z0: 0.0,
        }];
        if let Some(behind) = behind {
            let corner = [17.2f64, -1.1];
            let r = corner[0].hypot(corner[1]);
            let (ux, uy) = (corner[0] / r, corner[1] / r);
            // The child's near face `behind` beyond the corner, shifted 5 cm to the left of
            // the ray (out of the car's shadow), so 0.2 m of its 0.3 m width is in view.
            let along = behind + 0.15;
            solids.push(Solid {
                cx: corner[0] + along * ux - 0.05 * uy,
                cy: corner[1] + along * uy + 0.05 * ux,
                yaw: 0.0,
                l: 0.3,
                w: 0.3,
                h: 1.15,
                z0: 0.0,
            });
        }
        solids
    }

    #[test]
    fn child_behind_a_parked_cars_corner_is_its_own_cluster() {
        let o = Point3::new(0.0, 0.0, 1.8);
        // Farther behind, the gap to the car's last return outgrows the stretched tolerance.
        for behind in [0.5, 0.7, 0.9] {
            let solids = car_and_child_behind_its_corner(Some(behind));
            let pts = lidar([0.0, 0.0, 1.8], 64, 0.2, &solids);
            let out = Segmenter::new(SegmentParams::road())
                .unwrap()
                .segment(&pts, o)
                .unwrap();
            assert_eq!(out.clusters, 2, "{behind} m: {:?}", out.detections);
            let child = out
                .detections
                .iter()
                .find(|d| d.x > 17.5)
                .unwrap_or_else(|| panic!("{behind} m: no child: {:?}", out.detections));
            assert!(child.length.max(child.width) < 0.4, "{behind} m: {child:?}");
            let car = out.detections.iter().find(|d| d.x < 17.5).unwrap();
            assert_eq!(car.class, Class::Car, "{behind} m: {car:?}");
            // Without the depth-jump test the stretched tolerance (1.6 m along the line of
            // sight at 17 m) joins the child to the car's side.
            let mut p = SegmentParams::road();
            p.cluster.depth_jumps = None;
            let merged = Segmenter::new(p).unwrap().segment(&pts, o).unwrap();
            assert_eq!(merged.clusters, 1, "{behind} m: {:?}", merged.detections);
        }
    }

    #[test]
    fn parked_car_seen_at_a_grazing_angle_stays_one_cluster() {
        // The car alone: its side is seen at 3.7° to 4.9°, a return every 0.5 m to 0.9 m,
        // its rear nearly head-on; the corner between them is no depth jump.
        let o = Point3::new(0.0, 0.0, 1.8);
        let pts = lidar(
            [0.0, 0.0, 1.8],
            64,
            0.2,
            &car_and_child_behind_its_corner(None),
        );
        let out = Segmenter::new(SegmentParams::road())
            .unwrap()
            .segment(&pts, o)
            .unwrap();
        assert_eq!(out.clusters, 1, "{:?}", out.detections);
        let car = &out.detections[0];
        assert_eq!(car.class, Class::Car, "{car:?}");
        assert!((car.width - 1.8).abs() < 0.1, "{car:?}");
        // The side's far end falls between two returns, 0.9 m apart there.
        assert!((3.4..4.5).contains(&car.length), "{car:?}");
    }

    #[test]
    fn road_scene_on_an_eight_percent_slope() {
        let slope = 0.08;
        let solids = [
            Solid {
                cx: 20.0,
                cy: 0.0,
                yaw: 0.0,
                l: 4.023,
                w: 1.712,
                h: 1.427,
                z0: slope * 20.0,
            },
            Solid {
                cx: 12.0,
                cy: 4.0,
                yaw: 0.0,
                l: 0.6,
                w: 0.5,
                h: 1.8,
                z0: slope * 12.0,
            },
            Solid {
                cx: -15.0,
                cy: -3.0,
                yaw: 0.3,
                l: 4.023,
                w: 1.712,
                h: 1.427,
                z0: slope * -15.0,
            },
        ];
        let pts = lidar_on_slope([0.0, 0.0, 1.8], 64, 0.2, &solids, slope);
        let seg = Segmenter::new(SegmentParams::road()).unwrap();
        let out = seg.segment(&pts, Point3::new(0.0, 0.0, 1.8)).unwrap();
        // Uphill and downhill, the road is ground and only the three actors stand on it.
        assert_eq!(out.clusters, 3, "{:?}", out.detections);
        for s in &solids {
            // The car straight ahead shows only its rear, so its box centre is there.
            let d = out
                .detections
                .iter()
                .find(|d| (d.x - s.cx).abs() < s.l / 2.0 + 0.2 && (d.y - s.cy).abs() < 0.5)
                .unwrap_or_else(|| panic!("nothing at ({}, {}): {:?}", s.cx, s.cy, out.detections));
            let class = if s.l > 1.0 {
                Class::Car
            } else {
                Class::Pedestrian
            };
            assert_eq!(d.class, class, "{d:?}");
            // The test boxes stay level on the slope, so their ends are up to 16 cm off the
            // road surface that the ground model follows.
            assert!((d.height - s.h).abs() < 0.2, "{d:?}");
            assert!((d.z - (s.z0 + s.h / 2.0)).abs() < 0.2, "{d:?}");
        }
        let downhill = out.detections.iter().find(|d| d.x < 0.0).unwrap();
        assert!(
            (downhill.yaw - 0.3).abs() < 2f64.to_radians(),
            "{downhill:?}"
        );
        assert!((downhill.length - 4.023).abs() < 0.2, "{downhill:?}");
    }

    #[test]
    fn table_scene_finds_three_cups() {
        let cups = [(0.5, 0.1), (0.7, -0.15), (0.45, -0.2)];
        let (top, radius, height) = (0.75f32, 0.04f32, 0.1f32);
        let mut pts = Vec::new();
        for i in 0..=80 {
            for j in 0..=80 {
                let (x, y) = (0.2 + i as f32 * 0.01, -0.4 + j as f32 * 0.01);
                let under_cup = cups.iter().any(|&(cx, cy)| (x - cx).hypot(y - cy) < radius);
                if !under_cup {
                    pts.push(Point3::new(x, y, top));
                }
            }
        }
        for &(cx, cy) in &cups {
            for k in 0..144 {
                let a = (k as f32 * 2.5).to_radians();
                for r in 0..=20 {
                    let z = top + r as f32 * height / 20.0;
                    pts.push(Point3::new(cx + radius * a.cos(), cy + radius * a.sin(), z));
                }
            }
        }
        // The floor under the table must go with everything else below the top.
        let mut floor = 0;
        for i in 0..25 {
            for j in 0..25 {
                pts.push(Point3::new(i as f32 * 0.05, -0.6 + j as f32 * 0.05, 0.0));
                floor += 1;
            }
        }
        let seg = Segmenter::new(SegmentParams::table()).unwrap();
        let out = seg.segment(&pts, Point3::new(0.0, 0.0, 1.4)).unwrap();
        assert_eq!(out.below_ground_points, floor);
        assert_eq!(out.detections.len(), 3, "{:?}", out.detections);
        for &(cx, cy) in &cups {
            let d = out
                .detections
                .iter()
                .find(|d| (d.x - f64::from(cx)).hypot(d.y - f64::from(cy)) < 0.01)
                .unwrap_or_else(|| panic!("no cup at ({cx}, {cy}): {:?}", out.detections));
            assert_eq!(d.class, Class::Cup, "{d:?}");
            assert!((d.z - 0.8).abs() < 0.01, "{d:?}");
            assert!((d.height - 0.1).abs() < 0.01, "{d:?}");
            assert!((d.length - 0.08).abs() < 0.01, "{d:?}");
        }
    }

    /// What a depth camera at `cam` sees of a table top at z = `top` (x −0.15..0.85, y −0.4..0.4)
    /// and solid upright cylinders `(cx, cy, radius, z0, z1)`: rays every 0.2° over ±24° in
    /// azimuth and ±30° in elevation around (0.45, −0.1, top), each hit moved along its ray
    /// by Gaussian noise of 2 mm.
    fn depth_view(
        cam: [f64; 3],
        top: f64,
        cylinders: &[(f64, f64, f64, f64, f64)],
    ) -> Vec<Point3<f32>> {
        let mut seed = 0x1234_5678_u64;
        let mut normal = move || {
            let mut u = || {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((seed >> 11) as f64 + 0.5) / (1u64 << 53) as f64
            };
            let (a, b) = (u(), u());
            (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
        };
        let look = [0.45 - cam[0], -0.1 - cam[1], top - cam[2]];
        let (az0, el0) = (
            look[1].atan2(look[0]),
            look[2].atan2(look[0].hypot(look[1])),
        );
        let mut pts = Vec::new();
        for i in -120..=120 {
            for j in -150..=150 {
                let (az, el) = (
                    az0 + (i as f64 * 0.2).to_radians(),
                    el0 + (j as f64 * 0.2).to_radians(),
                );
                let d = [el.cos() * az.cos(), el.cos() * az.sin(), el.sin()];
                let mut t = if d[2] < 0.0 {
                    (top - cam[2]) / d[2]
                } else {
                    f64::INFINITY
                };
                let at = |t: f64| [cam[0] + t * d[0], cam[1] + t * d[1], cam[2] + t * d[2]];
                let on_table =
                    |p: [f64; 3]| (-0.15..0.85).contains(&p[0]) && (-0.4..0.4).contains(&p[1]);
                if !on_table(at(t)) {
                    t = f64::INFINITY;
                }
                for &(cx, cy, r, z0, z1) in cylinders {
                    // Side: |o + t d − c| = r in the plane.
                    let (ox, oy) = (cam[0] - cx, cam[1] - cy);
                    let a = d[0] * d[0] + d[1] * d[1];
                    let b = ox * d[0] + oy * d[1];
                    let c = ox * ox + oy * oy - r * r;
                    let disc = b * b - a * c;
                    if disc >= 0.0 {
                        let ts = (-b - disc.sqrt()) / a;
                        let z = cam[2] + ts * d[2];
                        if ts > 0.0 && (z0..=z1).contains(&z) {
                            t = t.min(ts);
                        }
                    }
                    // Top disc.
                    if d[2] < 0.0 {
                        let tt = (z1 - cam[2]) / d[2];
                        let p = at(tt);
                        if (p[0] - cx).hypot(p[1] - cy) <= r {
                            t = t.min(tt);
                        }
                    }
                }
                if t.is_finite() {
                    let p = at(t + 0.002 * normal());
                    pts.push(Point3::new(p[0] as f32, p[1] as f32, p[2] as f32));
                }
            }
        }
        pts
    }

    #[test]
    fn table_cups_are_centred_by_their_circle_and_only_what_stands_on_the_table_counts() {
        // The arm world's camera, 1.4 m up at the front right; a 35 mm cup of which it sees
        // the top and the near half of the side; a 5 cm arm link hanging 25 cm above the
        // table; a 0.5 m column standing on it (the arm's base and upper arm); a cup held 4 cm
        // above the table.
        let top = 0.75;
        let cup = (0.45, -0.2, 0.035);
        let scene = [
            (cup.0, cup.1, cup.2, top, top + 0.1),
            (0.45, 0.15, 0.05, top + 0.25, top + 0.45),
            (0.25, 0.3, 0.05, top, top + 0.5),
            (0.7, 0.05, 0.035, top + 0.04, top + 0.14),
        ];
        let pts = depth_view([1.2, -0.6, 1.4], top, &scene);
        let seg = Segmenter::new(SegmentParams::table()).unwrap();
        let out = seg.segment(&pts, Point3::new(1.2, -0.6, 1.4)).unwrap();
        assert_eq!(out.detections.len(), 1, "{:?}", out.detections);
        assert_eq!(out.off_table, 3, "{out:?}");
        let d = &out.detections[0];
        assert_eq!(d.class, Class::Cup, "{d:?}");
        let off = (d.x - cup.0).hypot(d.y - cup.1);
        assert!(off < 0.003, "centre {off} m off: {d:?}");
        assert!(
            (d.length - 0.07).abs() < 0.006 && d.width == d.length,
            "{d:?}"
        );
        assert!((d.height - 0.1).abs() < 0.01, "{d:?}");
        // Without the support test the link, the column and the held cup are objects too.
        let mut all = SegmentParams::table();
        all.table_objects = None;
        let out = Segmenter::new(all)
            .unwrap()
            .segment(&pts, Point3::new(1.2, -0.6, 1.4))
            .unwrap();
        assert_eq!(out.detections.len(), 4, "{:?}", out.detections);
    }

    #[test]
    fn the_arm_base_on_the_table_is_no_cup_once_kept_out() {
        // The arm leaning away leaves its base, a 5 cm capsule 0.14 m tall, alone on the table
        // at the origin: round and cup-sized. A cup 18 cm from its axis stays a cup.
        let top = 0.75;
        let scene = [
            (0.0, 0.0, 0.05, top, top + 0.14),
            (0.1, 0.15, 0.035, top, top + 0.1),
        ];
        let pts = depth_view([1.2, -0.6, 1.4], top, &scene);
        let mut seg = Segmenter::new(SegmentParams::table()).unwrap();
        let cam = Point3::new(1.2, -0.6, 1.4);
        let out = seg.segment(&pts, cam).unwrap();
        assert_eq!(out.detections.len(), 2, "{out:?}");
        seg.set_keep_out(vec![KeepOut {
            x: 0.0,
            y: 0.0,
            radius: KeepOut::ARM_BASE_RADIUS,
        }]);
        let out = seg.segment(&pts, cam).unwrap();
        assert_eq!(out.detections.len(), 1, "{:?}", out.detections);
        assert_eq!(out.off_table, 1);
        let d = &out.detections[0];
        assert!(
            d.class == Class::Cup && (d.x - 0.1).hypot(d.y - 0.15) < 0.003,
            "{d:?}"
        );
    }

    #[test]
    fn table_without_a_table_is_an_error() {
        let seg = Segmenter::new(SegmentParams::table()).unwrap();
        let wall: Vec<Point3<f32>> = (0..100)
            .map(|i| Point3::new(0.5, (i % 10) as f32 * 0.02, 1.0 + (i / 10) as f32 * 0.02))
            .collect();
        let e = seg.segment(&wall, Point3::new(0.0, 0.0, 1.4)).unwrap_err();
        assert!(matches!(e, SegmentError::NoGroundPlane { .. }), "{e}");
    }

    #[test]
    fn bad_inputs_are_named() {
        let seg = Segmenter::new(SegmentParams::road()).unwrap();
        let e = seg
            .segment(&[], Point3::new(f64::NAN, 0.0, 0.0))
            .unwrap_err();
        assert!(matches!(e, SegmentError::InvalidOrigin { .. }));
        let name = |p: SegmentParams| match Segmenter::new(p).unwrap_err() {
            SegmentError::InvalidParam { name, .. } => name,
            e => panic!("{e}"),
        };
        let mut p = SegmentParams::road();
        p.voxel_size = Some(0.0);
        assert_eq!(name(p), "voxel_size");
        let mut p = SegmentParams::road();
        p.roi.max_range = -1.0;
        assert_eq!(name(p), "roi.max_range");
        let mut p = SegmentParams::road();
        if let GroundMethod::Grid(g) = &mut p.ground {
            g.max_slope = f64::NAN;
        }
        assert_eq!(name(p), "ground.max_slope");
        let mut p = SegmentParams::table();
        p.cluster.tolerance = -0.1;
        assert_eq!(name(p), "cluster.tolerance");
        let mut p = SegmentParams::table();
        if let GroundMethod::Plane(r) = &mut p.ground {
            r.max_iterations = 0;
        }
        assert_eq!(name(p), "ground.max_iterations");
        let empty = seg.segment(&[], Point3::origin()).unwrap();
        assert_eq!(empty, SegmentOutput::default());
    }
}
