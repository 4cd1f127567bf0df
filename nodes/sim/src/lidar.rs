//! A rotating multi-channel 3D lidar (and its single-plane `LaserScan` cut), simulated by
//! casting one ray per channel and azimuth step against a [`Scene`] and keeping the nearest hit,
//! so occlusion is physical: what hides behind another object returns nothing.
//!
//! Sensor frame (REP-103): x forward, y left, z up. Azimuth 0 is +x and grows counter-clockwise
//! (towards +y); elevation is positive above the xy plane. Ring 0 is the lowest channel of an
//! evenly spaced layout (as Velodyne numbers rings), or the first angle of an explicit list.
//!
//! Noise and dropout come from a counter-based generator: every ray draws from a stream keyed
//! by (seed, scan number, ray index), so a scan is reproducible bit for bit and a ray's noise
//! does not change when another object moves.

use std::ops::Range;

use nalgebra::{Isometry3, Matrix3, Point3, Rotation3, Translation3, Vector3};
use thiserror::Error;

// The scene lives in geometry (the depth camera will share it); re-exported for lidar users.
pub use crate::geometry::{ObjectClass, Scene, SceneObject};
use crate::geometry::{Ray, Shape};

/// Invalid lidar parameters.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum LidarError {
    /// The vertical layout has no channels.
    #[error("the lidar needs at least one channel")]
    NoChannels,
    /// More channels than a `u16` ring number can name.
    #[error("{0} channels is more than the 65535 a ring number can name")]
    TooManyChannels(usize),
    /// Evenly spaced channels need finite bounds with -90 <= min <= max <= 90 degrees.
    #[error(
        "vertical field of view must satisfy -90 <= min <= max <= 90 degrees, got min {min}, max {max}"
    )]
    VerticalFov {
        /// Lowest elevation, degrees.
        min: f64,
        /// Highest elevation, degrees.
        max: f64,
    },
    /// An explicit elevation angle outside [-90, 90] degrees or not finite.
    #[error("elevation angle {0} degrees is not finite or outside [-90, 90]")]
    Elevation(f64),
    /// The horizontal field of view must be in (0, 360] degrees.
    #[error("horizontal field of view must be in (0, 360] degrees, got {0}")]
    HorizontalFov(f64),
    /// The azimuth step must be in (0, horizontal field of view] degrees.
    #[error(
        "azimuth resolution must be > 0 and at most the horizontal field of view (degrees), got {0}"
    )]
    AzimuthResolution(f64),
    /// Ranges must be finite with 0 <= min < max.
    #[error("ranges must be finite with 0 <= min < max, got min {min} m, max {max} m")]
    Range {
        /// Minimum range, metres.
        min: f64,
        /// Maximum range, metres.
        max: f64,
    },
    /// The rotation rate must be finite and > 0.
    #[error("rotation rate must be finite and > 0 Hz, got {0}")]
    Rate(f64),
    /// The range noise standard deviation must be finite and >= 0.
    #[error("range noise sigma must be finite and >= 0 m, got {0}")]
    RangeNoise(f64),
    /// The dropout probability must be in [0, 1].
    #[error("dropout probability must be in [0, 1], got {0}")]
    Dropout(f64),
    /// The mounting pose has a non-finite component.
    #[error("the mounting pose must be finite")]
    Mount,
}

/// How the channels are spread vertically.
#[derive(Debug, Clone, PartialEq)]
pub enum VerticalLayout {
    /// `channels` evenly spaced from `min_deg` (ring 0) to `max_deg`; one channel sits midway.
    Uniform {
        /// Number of channels.
        channels: usize,
        /// Elevation of the lowest channel, degrees.
        min_deg: f64,
        /// Elevation of the highest channel, degrees.
        max_deg: f64,
    },
    /// One elevation per channel, degrees, in ring order (need not be sorted).
    Explicit(Vec<f64>),
}

/// Lidar parameters. The defaults model a Velodyne HDL-32E (datasheet: 32 channels from
/// +10.67° to -30.67°, 80-100 m range, < 2 cm accuracy, 5-20 Hz) at 10 Hz with a 0.2° azimuth
/// step (the datasheet gives about 0.16° at 10 Hz; 0.2° gives the 1800 columns the simulator
/// benchmark is specified with), roof-mounted.
#[derive(Debug, Clone, PartialEq)]
pub struct LidarParams {
    /// Vertical channel layout.
    pub vertical: VerticalLayout,
    /// Horizontal field of view, degrees, centred on +x; 360 is a full turn.
    pub horizontal_fov_deg: f64,
    /// Azimuth step, degrees (for a full turn, adjusted so a whole number of steps fills it).
    pub azimuth_resolution_deg: f64,
    /// Returns closer than this are not reported (the object still hides what is behind it), m.
    pub min_range: f64,
    /// Nothing is seen beyond this, m.
    pub max_range: f64,
    /// Rotations per second, Hz.
    pub rate_hz: f64,
    /// Standard deviation of the Gaussian range noise, m (0 = exact).
    pub range_noise_sigma: f64,
    /// Probability that a return is lost.
    pub dropout_probability: f64,
    /// Seed of the noise and dropout streams.
    pub seed: u64,
    /// Sensor pose in the vehicle frame (`base_link` → `lidar`).
    pub mount: Isometry3<f64>,
}

impl Default for LidarParams {
    fn default() -> Self {
        Self {
            vertical: VerticalLayout::Uniform {
                channels: 32,
                min_deg: -30.67,
                max_deg: 10.67,
            },
            horizontal_fov_deg: 360.0,
            azimuth_resolution_deg: 0.2,
            min_range: 1.0,
            max_range: 100.0,
            rate_hz: 10.0,
            range_noise_sigma: 0.02,
            dropout_probability: 0.0,
            seed: 0,
            // base_link on the ground under the rear axle; the sensor on the roof centre of a
            // Euro NCAP-sized ego (bounding box centre 1.35 m ahead of the axle, 1.58 m tall).
            mount: Isometry3::from_parts(Translation3::new(1.35, 0.0, 1.8), Default::default()),
        }
    }
}

/// One lidar return, in the sensor frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LidarPoint {
    /// Forward, m.
    pub x: f32,
    /// Left, m.
    pub y: f32,
    /// Up, m.
    pub z: f32,
    /// Reflectivity × cosine of the incidence angle, in [0, 1].
    pub intensity: f32,
    /// Channel number.
    pub ring: u16,
    /// Azimuth of the beam, radians (0 = +x, counter-clockwise).
    pub azimuth: f32,
    /// Measured distance (with noise), m.
    pub range: f32,
    /// Id of the scene object hit, `None` for the ground.
    pub object_id: Option<u32>,
}

/// A single-plane scan laid out like `sensor_msgs/LaserScan` (REP-117: `+inf` = no return,
/// `-inf` = closer than `range_min`).
#[derive(Debug, Clone, PartialEq)]
pub struct LaserScan {
    /// Azimuth of the first beam, radians.
    pub angle_min: f32,
    /// Azimuth of the last beam, radians.
    pub angle_max: f32,
    /// Azimuth step, radians.
    pub angle_increment: f32,
    /// Time between beams, s.
    pub time_increment: f32,
    /// Time between scans, s.
    pub scan_time: f32,
    /// Minimum reported range, m.
    pub range_min: f32,
    /// Maximum range, m.
    pub range_max: f32,
    /// One range per beam, m.
    pub ranges: Vec<f32>,
    /// One intensity per beam (0 without a return).
    pub intensities: Vec<f32>,
}

/// A small, fast, seedable generator (SplitMix64, Steele et al. 2014); deterministic on every
/// platform.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

/// SplitMix64's output function: a bijective 64-bit mixer, also used to hash stream keys.
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let out = splitmix64(self.state);
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        out
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Box-Muller).
    pub fn next_gaussian(&mut self) -> f64 {
        // 1 - U is in (0, 1], so the logarithm stays finite.
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// The hit buffer marks rays with nothing in range and rays that ended on the ground.
const NO_HIT: u32 = u32::MAX;
const GROUND_HIT: u32 = u32::MAX - 1;

/// A validated lidar with its beam direction tables.
#[derive(Debug, Clone)]
pub struct Lidar {
    params: LidarParams,
    /// Per ring.
    elevations: Vec<f64>,
    cos_el: Vec<f64>,
    sin_el: Vec<f64>,
    /// Rings ordered by elevation, and their elevations, for culling by elevation band.
    rings_by_elevation: Vec<usize>,
    sorted_elevations: Vec<f64>,
    /// Per column.
    azimuths: Vec<f64>,
    cos_az: Vec<f64>,
    sin_az: Vec<f64>,
    azimuth_step: f64,
}

/// Per-ray result of the cast, indexed `column * channels + ring`.
struct CastBuffer {
    t: Vec<f64>,
    hit: Vec<u32>,
    /// Per scene object: rays that would reach it if no other object stood in the way.
    aimed: Vec<u32>,
}

/// How much of one scene object a scan saw: the ground truth perception is judged against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Visibility {
    /// The scene object's id.
    pub object_id: u32,
    /// Rays that would reach the object if no other object stood in the way (the ground and
    /// the maximum range still count).
    pub rays_aimed: u32,
    /// Rays whose first hit is the object.
    pub rays_seen: u32,
}

impl Visibility {
    /// Fraction of the rays aimed at the object that reach it; 0 when none is aimed at it.
    pub fn fraction(&self) -> f64 {
        if self.rays_aimed == 0 {
            0.0
        } else {
            f64::from(self.rays_seen) / f64::from(self.rays_aimed)
        }
    }
}

/// One scan's returns and how visible each scene object was in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    /// The returns, in the sensor frame.
    pub points: Vec<LidarPoint>,
    /// One entry per scene object that at least one ray was aimed at, in scene order.
    pub visibility: Vec<Visibility>,
    /// The single-plane cut of the same scan, when the scenario asks for a `LaserScan`.
    pub laser: Option<LaserScan>,
}

/// Which scene objects a ray may hit is decided per object per scan, from its corners in the
/// sensor frame: an azimuth interval (exact for convex solids) and an elevation band
/// (conservative).
struct Culled {
    columns: [Range<usize>; 2],
    sorted_channels: Range<usize>,
}

impl Lidar {
    /// Validates `params` and precomputes the beam tables.
    pub fn new(params: LidarParams) -> Result<Self, LidarError> {
        let elevations_deg: Vec<f64> = match &params.vertical {
            VerticalLayout::Uniform {
                channels,
                min_deg,
                max_deg,
            } => {
                let (channels, min, max) = (*channels, *min_deg, *max_deg);
                if !(min.is_finite()
                    && max.is_finite()
                    && -90.0 <= min
                    && min <= max
                    && max <= 90.0)
                {
                    return Err(LidarError::VerticalFov { min, max });
                }
                match channels {
                    0 => Vec::new(),
                    1 => vec![(min + max) / 2.0],
                    n => (0..n)
                        .map(|i| min + (max - min) * i as f64 / (n - 1) as f64)
                        .collect(),
                }
            }
            VerticalLayout::Explicit(list) => {
                if let Some(&bad) = list
                    .iter()
                    .find(|e| !(e.is_finite() && (-90.0..=90.0).contains(*e)))
                {
                    return Err(LidarError::Elevation(bad));
                }
                list.clone()
            }
        };
        if elevations_deg.is_empty() {
            return Err(LidarError::NoChannels);
        }
        if elevations_deg.len() > u16::MAX as usize + 1 {
            return Err(LidarError::TooManyChannels(elevations_deg.len()));
        }
        let fov = params.horizontal_fov_deg;
        if !(fov.is_finite() && fov > 0.0 && fov <= 360.0) {
            return Err(LidarError::HorizontalFov(fov));
        }
        let res = params.azimuth_resolution_deg;
        if !(res.is_finite() && res > 0.0 && res <= fov) {
            return Err(LidarError::AzimuthResolution(res));
        }
        let (min, max) = (params.min_range, params.max_range);
        if !(min.is_finite() && max.is_finite() && min >= 0.0 && min < max) {
            return Err(LidarError::Range { min, max });
        }
        if !(params.rate_hz.is_finite() && params.rate_hz > 0.0) {
            return Err(LidarError::Rate(params.rate_hz));
        }
        let sigma = params.range_noise_sigma;
        if !(sigma.is_finite() && sigma >= 0.0) {
            return Err(LidarError::RangeNoise(sigma));
        }
        let p = params.dropout_probability;
        if !(0.0..=1.0).contains(&p) {
            return Err(LidarError::Dropout(p));
        }
        let mount = &params.mount;
        if !(mount.translation.vector.iter().all(|v| v.is_finite())
            && mount.rotation.coords.iter().all(|v| v.is_finite()))
        {
            return Err(LidarError::Mount);
        }

        // A full turn must not repeat its first column at +180°, so it gets a whole number of
        // steps; a partial field of view includes both edges.
        let full_turn = fov >= 360.0 - 1e-9;
        let (columns, azimuth_step) = if full_turn {
            let n = (360.0 / res).round().max(1.0) as usize;
            (n, std::f64::consts::TAU / n as f64)
        } else {
            ((fov / res + 1e-9).floor() as usize + 1, res.to_radians())
        };
        let start = -fov.to_radians() / 2.0;
        let azimuths: Vec<f64> = (0..columns)
            .map(|c| start + c as f64 * azimuth_step)
            .collect();
        let elevations: Vec<f64> = elevations_deg.iter().map(|e| e.to_radians()).collect();
        let mut rings_by_elevation: Vec<usize> = (0..elevations.len()).collect();
        rings_by_elevation.sort_by(|&a, &b| elevations[a].total_cmp(&elevations[b]));
        Ok(Self {
            cos_el: elevations.iter().map(|e| e.cos()).collect(),
            sin_el: elevations.iter().map(|e| e.sin()).collect(),
            sorted_elevations: rings_by_elevation.iter().map(|&r| elevations[r]).collect(),
            rings_by_elevation,
            elevations,
            cos_az: azimuths.iter().map(|a| a.cos()).collect(),
            sin_az: azimuths.iter().map(|a| a.sin()).collect(),
            azimuths,
            azimuth_step,
            params,
        })
    }

    /// The parameters.
    pub fn params(&self) -> &LidarParams {
        &self.params
    }

    /// Number of channels (rings).
    pub fn channels(&self) -> usize {
        self.elevations.len()
    }

    /// Number of azimuth steps per scan.
    pub fn columns(&self) -> usize {
        self.azimuths.len()
    }

    /// Rays cast per scan.
    pub fn rays_per_scan(&self) -> usize {
        self.channels() * self.columns()
    }

    /// Elevation of each ring, radians.
    pub fn elevations(&self) -> &[f64] {
        &self.elevations
    }

    /// Azimuth of each column, radians, in scan order.
    pub fn azimuths(&self) -> &[f64] {
        &self.azimuths
    }

    /// Time per rotation, s.
    pub fn scan_period(&self) -> f64 {
        1.0 / self.params.rate_hz
    }

    /// The sensor pose in the world for a vehicle at `vehicle_pose_world`.
    pub fn sensor_pose(&self, vehicle_pose_world: &Isometry3<f64>) -> Isometry3<f64> {
        vehicle_pose_world * self.params.mount
    }

    /// Scan number 0 from `sensor_pose_world` (see [`Lidar::scan_numbered`]).
    pub fn scan(&self, sensor_pose_world: &Isometry3<f64>, scene: &Scene) -> Vec<LidarPoint> {
        self.scan_numbered(sensor_pose_world, scene, 0)
    }

    /// One full scan, taken instantaneously from `sensor_pose_world`; `scan_index` (e.g. the
    /// frame counter) selects the noise so consecutive scans differ but reruns repeat. Points
    /// come column by column in azimuth order, rings ascending within a column.
    pub fn scan_numbered(
        &self,
        sensor_pose_world: &Isometry3<f64>,
        scene: &Scene,
        scan_index: u64,
    ) -> Vec<LidarPoint> {
        self.scan_with_visibility(sensor_pose_world, scene, scan_index)
            .points
    }

    /// [`Lidar::scan_numbered`] plus, per scene object, how many rays were aimed at it and
    /// how many reached it (dropouts and noise aside), so occlusion can be measured.
    pub fn scan_with_visibility(
        &self,
        sensor_pose_world: &Isometry3<f64>,
        scene: &Scene,
        scan_index: u64,
    ) -> Scan {
        let channels = self.channels();
        let cast = self.cast(sensor_pose_world, scene, 0..channels);
        let rotation = sensor_pose_world.rotation.to_rotation_matrix();
        let origin = Point3::from(sensor_pose_world.translation.vector);
        let scan_key = splitmix64(self.params.seed ^ splitmix64(scan_index));
        let mut points = Vec::with_capacity(cast.hit.iter().filter(|&&h| h != NO_HIT).count());
        for column in 0..self.columns() {
            for ring in 0..channels {
                let index = column * channels + ring;
                let Some((range, intensity)) =
                    self.measure(&cast, index, scan_key, scene, &origin, &rotation)
                else {
                    continue;
                };
                if range < self.params.min_range {
                    continue;
                }
                let d = self.sensor_direction(ring, column);
                let hit = cast.hit[index];
                points.push(LidarPoint {
                    x: (range * d.x) as f32,
                    y: (range * d.y) as f32,
                    z: (range * d.z) as f32,
                    intensity: intensity as f32,
                    ring: ring as u16,
                    azimuth: self.azimuths[column] as f32,
                    range: range as f32,
                    object_id: (hit != GROUND_HIT).then(|| scene.objects[hit as usize].id),
                });
            }
        }
        let mut seen = vec![0u32; scene.objects.len()];
        for &hit in &cast.hit {
            if hit != NO_HIT && hit != GROUND_HIT {
                seen[hit as usize] += 1;
            }
        }
        let visibility = scene
            .objects
            .iter()
            .zip(cast.aimed.iter().zip(&seen))
            .filter(|(_, (aimed, _))| **aimed > 0)
            .map(|(object, (&rays_aimed, &rays_seen))| Visibility {
                object_id: object.id,
                rays_aimed,
                rays_seen,
            })
            .collect();
        Scan {
            points,
            visibility,
            laser: None,
        }
    }

    /// A `LaserScan` of the channel closest to 0° elevation (the only one of a planar
    /// scanner), with the same noise and dropout as [`Lidar::scan_numbered`].
    pub fn laser_scan(
        &self,
        sensor_pose_world: &Isometry3<f64>,
        scene: &Scene,
        scan_index: u64,
    ) -> LaserScan {
        let channels = self.channels();
        let sorted = self
            .sorted_elevations
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .map(|(i, _)| i)
            .unwrap_or(0);
        let ring = self.rings_by_elevation[sorted];
        let cast = self.cast(sensor_pose_world, scene, sorted..sorted + 1);
        let rotation = sensor_pose_world.rotation.to_rotation_matrix();
        let origin = Point3::from(sensor_pose_world.translation.vector);
        let scan_key = splitmix64(self.params.seed ^ splitmix64(scan_index));
        let mut ranges = Vec::with_capacity(self.columns());
        let mut intensities = Vec::with_capacity(self.columns());
        for column in 0..self.columns() {
            let index = column * channels + ring;
            match self.measure(&cast, index, scan_key, scene, &origin, &rotation) {
                Some((range, _)) if range < self.params.min_range => {
                    ranges.push(f32::NEG_INFINITY);
                    intensities.push(0.0);
                }
                Some((range, intensity)) => {
                    ranges.push(range as f32);
                    intensities.push(intensity as f32);
                }
                None => {
                    ranges.push(f32::INFINITY);
                    intensities.push(0.0);
                }
            }
        }
        let period = self.scan_period();
        LaserScan {
            angle_min: self.azimuths[0] as f32,
            angle_max: self.azimuths[self.columns() - 1] as f32,
            angle_increment: self.azimuth_step as f32,
            time_increment: (self.azimuth_step / std::f64::consts::TAU * period) as f32,
            scan_time: period as f32,
            range_min: self.params.min_range as f32,
            range_max: self.params.max_range as f32,
            ranges,
            intensities,
        }
    }

    /// Beam direction in the sensor frame.
    fn sensor_direction(&self, ring: usize, column: usize) -> Vector3<f64> {
        Vector3::new(
            self.cos_el[ring] * self.cos_az[column],
            self.cos_el[ring] * self.sin_az[column],
            self.sin_el[ring],
        )
    }

    /// Noisy range and intensity of one ray, or `None` for no return or a dropout.
    fn measure(
        &self,
        cast: &CastBuffer,
        index: usize,
        scan_key: u64,
        scene: &Scene,
        origin: &Point3<f64>,
        rotation: &Rotation3<f64>,
    ) -> Option<(f64, f64)> {
        let hit = cast.hit[index];
        if hit == NO_HIT {
            return None;
        }
        let mut rng = SplitMix64::new(splitmix64(scan_key ^ index as u64));
        let p = self.params.dropout_probability;
        if p > 0.0 && rng.next_f64() < p {
            return None;
        }
        let t = cast.t[index];
        let channels = self.channels();
        let direction = rotation * self.sensor_direction(index % channels, index / channels);
        let (normal, reflectivity) = if hit == GROUND_HIT {
            let ground = scene.ground.as_ref()?;
            (ground.plane.normal(), ground.reflectivity)
        } else {
            let object = &scene.objects[hit as usize];
            let at = origin + direction * t;
            (object.shape.normal_at(&at), object.reflectivity)
        };
        let intensity = (reflectivity * normal.dot(&direction).abs()).clamp(0.0, 1.0);
        let sigma = self.params.range_noise_sigma;
        let range = if sigma > 0.0 {
            (t + sigma * rng.next_gaussian()).max(0.0)
        } else {
            t
        };
        Some((range, intensity))
    }

    /// Casts the rays of the rings at `sorted_channels` (positions in elevation order) and
    /// records the nearest hit of each within the maximum range. Objects are visited one at a
    /// time, each only over the beams its angular bounds allow, against a depth buffer.
    fn cast(
        &self,
        pose: &Isometry3<f64>,
        scene: &Scene,
        sorted_channels: Range<usize>,
    ) -> CastBuffer {
        let channels = self.channels();
        let columns = self.columns();
        let mut buffer = CastBuffer {
            t: vec![self.params.max_range; channels * columns],
            hit: vec![NO_HIT; channels * columns],
            aimed: vec![0; scene.objects.len()],
        };
        let rotation = pose.rotation.to_rotation_matrix();
        let r = rotation.matrix();
        let (rx, ry, rz): (Vector3<f64>, Vector3<f64>, Vector3<f64>) =
            (r.column(0).into(), r.column(1).into(), r.column(2).into());
        let origin = Point3::from(pose.translation.vector);
        // The world direction of a beam is cos(el)·h[column] + sin(el)·rz, with h the
        // horizontal beam direction: 6 multiplications per ray instead of a matrix product.
        let horizontal: Vec<Vector3<f64>> = (0..columns)
            .map(|c| rx * self.cos_az[c] + ry * self.sin_az[c])
            .collect();
        let rings = &self.rings_by_elevation[sorted_channels.clone()];

        if let Some(ground) = &scene.ground {
            let n = ground.plane.normal();
            let height = ground.plane.signed_distance(&origin);
            let n_rz = n.dot(&rz);
            for (column, h) in horizontal.iter().enumerate() {
                let n_h = n.dot(h);
                for &ring in rings {
                    let denom = self.cos_el[ring] * n_h + self.sin_el[ring] * n_rz;
                    if denom.abs() < 1e-12 {
                        continue;
                    }
                    let t = -height / denom;
                    let index = column * channels + ring;
                    if t > 0.0 && t <= buffer.t[index] {
                        buffer.t[index] = t;
                        buffer.hit[index] = GROUND_HIT;
                    }
                }
            }
        }

        // What each ray would reach with only the ground in the way: the reference for
        // counting the rays aimed at an object.
        let open = buffer.t.clone();
        let to_sensor = pose.inverse();
        for (k, object) in scene.objects.iter().enumerate() {
            let mut aimed = 0u32;
            let Some(culled) = self.cull(&to_sensor, &object.shape, sorted_channels.clone()) else {
                continue;
            };
            let rings = &self.rings_by_elevation[culled.sorted_channels];
            match &object.shape {
                Shape::Box(obb) => {
                    // Work in the box frame: the origin moves once per object, each column's
                    // horizontal direction once per object and column.
                    let rt: Matrix3<f64> = obb.rotation().matrix().transpose();
                    let origin_local = rt * (origin - obb.center());
                    let rz_local = rt * rz;
                    for column in culled.columns.iter().cloned().flatten() {
                        let h_local = rt * horizontal[column];
                        for &ring in rings {
                            let index = column * channels + ring;
                            let d = h_local * self.cos_el[ring] + rz_local * self.sin_el[ring];
                            if let Some(t) =
                                obb.ray_intersect_local(&origin_local, &d, 0.0, open[index])
                            {
                                aimed += 1;
                                if t <= buffer.t[index] {
                                    buffer.t[index] = t;
                                    buffer.hit[index] = k as u32;
                                }
                            }
                        }
                    }
                }
                shape @ Shape::Cylinder(_) => {
                    for column in culled.columns.iter().cloned().flatten() {
                        for &ring in rings {
                            let index = column * channels + ring;
                            let d = horizontal[column] * self.cos_el[ring] + rz * self.sin_el[ring];
                            let ray = Ray::new_unit_unchecked(origin, d);
                            if let Some(t) = shape.ray_intersect(&ray, 0.0, open[index]) {
                                aimed += 1;
                                if t <= buffer.t[index] {
                                    buffer.t[index] = t;
                                    buffer.hit[index] = k as u32;
                                }
                            }
                        }
                    }
                }
            }
            buffer.aimed[k] = aimed;
        }
        buffer
    }

    /// The beams that can possibly hit `shape`, or `None` if none can.
    fn cull(
        &self,
        to_sensor: &Isometry3<f64>,
        shape: &Shape,
        sorted_channels: Range<usize>,
    ) -> Option<Culled> {
        let corners = shape.hull_corners().map(|c| to_sensor * c);
        let (mut lo, mut hi) = (corners[0], corners[0]);
        for c in &corners[1..] {
            lo = lo.inf(c);
            hi = hi.sup(c);
        }
        // Nearest point of the bounds: too far means invisible.
        let nearest = Vector3::new(
            0.0f64.clamp(lo.x, hi.x),
            0.0f64.clamp(lo.y, hi.y),
            0.0f64.clamp(lo.z, hi.z),
        );
        if nearest.norm() > self.params.max_range {
            return None;
        }
        let near_xy = nearest.xy().norm();
        let far_xy = corners
            .iter()
            .map(|c| c.coords.xy().norm())
            .fold(0.0, f64::max);
        // Elevation band: every point has z in [lo.z, hi.z] and horizontal distance in
        // [near_xy, far_xy], which bounds its elevation (corner elevations alone would not:
        // a box edge can bulge above its end points in elevation).
        const MARGIN: f64 = 1e-9;
        let top = if hi.z >= 0.0 {
            hi.z.atan2(near_xy)
        } else {
            hi.z.atan2(far_xy)
        } + MARGIN;
        let bottom = if lo.z <= 0.0 {
            lo.z.atan2(near_xy)
        } else {
            lo.z.atan2(far_xy)
        } - MARGIN;
        let first = self.sorted_elevations.partition_point(|&e| e < bottom);
        let last = self.sorted_elevations.partition_point(|&e| e <= top);
        let channels = first.max(sorted_channels.start)..last.min(sorted_channels.end);
        if channels.is_empty() {
            return None;
        }

        let columns = self.columns();
        let surrounds_axis = lo.x <= 0.0 && hi.x >= 0.0 && lo.y <= 0.0 && hi.y >= 0.0;
        if surrounds_axis {
            return Some(Culled {
                columns: [0..columns, 0..0],
                sorted_channels: channels,
            });
        }
        // The sensor's z axis misses the solid, so its azimuths span less than a half turn and
        // the corners bound them exactly (azimuth is monotonic along each edge). Measure them
        // relative to the centroid's azimuth to stay clear of the ±π wrap.
        let centre = corners.iter().fold(Vector3::zeros(), |s, c| s + c.coords) / 8.0;
        let reference = centre.y.atan2(centre.x);
        let (mut rel_lo, mut rel_hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for c in &corners {
            let rel = wrap_angle(c.y.atan2(c.x) - reference);
            rel_lo = rel_lo.min(rel);
            rel_hi = rel_hi.max(rel);
        }
        let start = self.azimuths[0];
        let offset = (reference + rel_lo - start).rem_euclid(std::f64::consts::TAU);
        let span = rel_hi - rel_lo;
        let to_columns = |from: f64, to: f64| {
            let first = ((from - MARGIN) / self.azimuth_step).ceil().max(0.0);
            let last = ((to + MARGIN) / self.azimuth_step)
                .floor()
                .min(columns as f64 - 1.0);
            if last < first {
                0..0
            } else {
                first as usize..last as usize + 1
            }
        };
        // The interval may straddle the start of the scan: check it also one turn earlier.
        let tau = std::f64::consts::TAU;
        Some(Culled {
            columns: [
                to_columns(offset, offset + span),
                to_columns(offset - tau, offset + span - tau),
            ],
            sorted_channels: channels,
        })
    }
}

/// Maps an angle to (-π, π].
fn wrap_angle(a: f64) -> f64 {
    let tau = std::f64::consts::TAU;
    let w = a.rem_euclid(tau);
    if w > std::f64::consts::PI { w - tau } else { w }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{Cylinder, Obb};
    use nalgebra::UnitQuaternion;

    fn car_box(id: u32, x: f64, y: f64, yaw: f64) -> SceneObject {
        SceneObject::new(
            id,
            ObjectClass::Car,
            Shape::Box(Obb::on_ground(x, y, 0.0, yaw, 4.5, 1.8, 1.5).unwrap()),
        )
    }

    fn child(id: u32, x: f64, y: f64) -> SceneObject {
        SceneObject::new(
            id,
            ObjectClass::Pedestrian,
            Shape::Box(Obb::on_ground(x, y, 0.0, 0.0, 0.5, 0.3, 1.15).unwrap()),
        )
    }

    fn at_height(z: f64) -> Isometry3<f64> {
        Isometry3::translation(0.0, 0.0, z)
    }

    fn exact() -> LidarParams {
        LidarParams {
            range_noise_sigma: 0.0,
            ..LidarParams::default()
        }
    }

    #[test]
    fn default_is_hdl32e() {
        let lidar = Lidar::new(LidarParams::default()).unwrap();
        assert_eq!(lidar.channels(), 32);
        assert_eq!(lidar.columns(), 1800);
        assert_eq!(lidar.rays_per_scan(), 57_600);
        assert!((lidar.elevations()[0].to_degrees() + 30.67).abs() < 1e-9);
        assert!((lidar.elevations()[31].to_degrees() - 10.67).abs() < 1e-9);
        // 41.34° over 31 gaps.
        let step = (lidar.elevations()[1] - lidar.elevations()[0]).to_degrees();
        assert!((step - 41.34 / 31.0).abs() < 1e-9);
        assert!((lidar.azimuths()[0] + std::f64::consts::PI).abs() < 1e-12);
        assert!((lidar.azimuths()[900]).abs() < 1e-12);
        assert!((lidar.scan_period() - 0.1).abs() < 1e-15);
        let pose = lidar.sensor_pose(&Isometry3::translation(10.0, 0.0, 0.0));
        assert_eq!(pose.translation.vector, Vector3::new(11.35, 0.0, 1.8));
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        let bad = |f: fn(&mut LidarParams)| {
            let mut p = LidarParams::default();
            f(&mut p);
            Lidar::new(p).unwrap_err()
        };
        assert_eq!(
            bad(|p| p.vertical = VerticalLayout::Explicit(vec![])),
            LidarError::NoChannels
        );
        assert_eq!(
            bad(|p| p.vertical = VerticalLayout::Uniform {
                channels: 4,
                min_deg: 10.0,
                max_deg: -10.0
            }),
            LidarError::VerticalFov {
                min: 10.0,
                max: -10.0
            }
        );
        assert_eq!(
            bad(|p| p.vertical = VerticalLayout::Explicit(vec![0.0, 95.0])),
            LidarError::Elevation(95.0)
        );
        assert_eq!(
            bad(|p| p.horizontal_fov_deg = 0.0),
            LidarError::HorizontalFov(0.0)
        );
        assert_eq!(
            bad(|p| p.azimuth_resolution_deg = -0.1),
            LidarError::AzimuthResolution(-0.1)
        );
        assert_eq!(
            bad(|p| p.min_range = 200.0),
            LidarError::Range {
                min: 200.0,
                max: 100.0
            }
        );
        assert_eq!(bad(|p| p.rate_hz = 0.0), LidarError::Rate(0.0));
        assert_eq!(
            bad(|p| p.range_noise_sigma = f64::NAN).to_string(),
            "range noise sigma must be finite and >= 0 m, got NaN"
        );
        assert_eq!(
            bad(|p| p.dropout_probability = 1.5),
            LidarError::Dropout(1.5)
        );
    }

    #[test]
    fn box_ahead_is_seen_by_the_channels_that_reach_it() {
        // Car 4.5 × 1.8 × 1.5 m centred 10 m ahead; sensor 1.8 m up, no ground. The near face
        // is at x = 10 - 2.25 = 7.75. A channel at elevation e meets it at z = 1.8 + 7.75 tan e
        // (on the centre line), inside [0, 1.5] for e in [-13.08°, -2.22°]: HDL-32E rings 14
        // (-11.999°) to 21 (-2.665°). Ring 22 (-1.33°) passes over the whole box (z = 1.515 at
        // its far end) and ring 13 (-13.33°) under it. Columns: |y| <= 0.9 at x = 7.75 means
        // |azimuth| <= atan(0.9 / 7.75) = 6.62°, so 0°, ±0.2°, ..., ±6.6°: 67 columns.
        let lidar = Lidar::new(exact()).unwrap();
        let mut scene = Scene::new();
        scene.push(car_box(5, 10.0, 0.0, 0.0));
        let points = lidar.scan(&at_height(1.8), &scene);
        assert_eq!(points.len(), 8 * 67);
        assert!(points.iter().all(|p| (14..=21).contains(&p.ring)));
        assert!(points.iter().all(|p| p.object_id == Some(5)));
        assert!(
            points.iter().all(|p| (p.x - 7.75).abs() < 1e-5),
            "near face only"
        );
        for ring in 14..=21u16 {
            let straight = points
                .iter()
                .find(|p| p.ring == ring && p.azimuth == 0.0)
                .unwrap();
            let e = lidar.elevations()[ring as usize];
            let expected = 7.75 / e.cos();
            assert!((straight.range as f64 - expected).abs() < 1e-5);
            assert!((straight.z as f64 - 7.75 * e.tan()).abs() < 1e-5);
        }
        // Intensity: 0.5 × cos(incidence); straight ahead on ring 21 that is 0.5·cos(2.665°).
        let p = points
            .iter()
            .find(|p| p.ring == 21 && p.azimuth == 0.0)
            .unwrap();
        assert!((p.intensity as f64 - 0.5 * 2.665f64.to_radians().cos()).abs() < 1e-3);
    }

    #[test]
    fn ground_ring_at_minus_15_degrees() {
        // From 1.8 m up, a -15° beam meets flat ground 1.8 / tan 15° = 6.718 m away
        // horizontally (range 1.8 / sin 15° = 6.955 m); the +5° channel never returns.
        let lidar = Lidar::new(LidarParams {
            vertical: VerticalLayout::Explicit(vec![-15.0, 5.0]),
            ..exact()
        })
        .unwrap();
        let scene = Scene::with_flat_ground(0.0).unwrap();
        let points = lidar.scan(&at_height(1.8), &scene);
        assert_eq!(points.len(), 1800);
        for p in &points {
            assert_eq!(p.ring, 0);
            assert_eq!(p.object_id, None);
            let horizontal = (p.x as f64).hypot(p.y as f64);
            assert!((horizontal - 6.7177).abs() < 1e-3, "{horizontal}");
            assert!((p.range - 6.9546).abs() < 1e-3);
            assert!((p.z + 1.8).abs() < 1e-5);
            // Asphalt 0.1 × cos(incidence) = 0.1 · sin 15°.
            assert!((p.intensity - 0.025882).abs() < 1e-5);
        }
    }

    #[test]
    fn child_behind_car_is_hidden_until_it_steps_out() {
        // Sensor 1.8 m up at the origin; car centred at x = 10 (far face x = 12.25), child
        // 0.5 × 0.3 × 1.15 m centred at x = 13 behind it. The sight line over the car's rear
        // top edge (12.25, 1.5) is still at z = 1.49 above the child's front face (x = 12.75),
        // well over its 1.15 m head, and the car is ±4.2° wide against the child's ±0.7°.
        let lidar = Lidar::new(LidarParams::default()).unwrap();
        let pose = at_height(1.8);
        let mut scene = Scene::with_flat_ground(0.0).unwrap();
        scene.push(car_box(1, 10.0, 0.0, 0.0));
        scene.push(child(2, 13.0, 0.0));
        let points = lidar.scan(&pose, &scene);
        assert_eq!(points.iter().filter(|p| p.object_id == Some(2)).count(), 0);
        assert!(points.iter().filter(|p| p.object_id == Some(1)).count() > 400);

        // Stepped out 3 m to the left, the child is in plain view.
        scene.objects[1] = child(2, 13.0, 3.0);
        let points = lidar.scan(&pose, &scene);
        let seen: Vec<_> = points.iter().filter(|p| p.object_id == Some(2)).collect();
        assert!(seen.len() > 20, "{}", seen.len());
        // On its near face (x = 12.75) or left side, within 2 cm noise.
        assert!(
            seen.iter()
                .all(|p| p.x > 12.65 && p.x < 13.35 && p.y > 2.75 && p.y < 3.25)
        );
    }

    #[test]
    fn visibility_counts_the_rays_that_reach_an_object() {
        // The scene of the test above: hidden, half hidden at the car's silhouette, in view.
        let lidar = Lidar::new(LidarParams::default()).unwrap();
        let pose = at_height(1.8);
        let mut scene = Scene::with_flat_ground(0.0).unwrap();
        scene.push(car_box(1, 10.0, 0.0, 0.0));
        scene.push(child(2, 13.0, 0.0));
        let of =
            |scan: &Scan, id: u32| *scan.visibility.iter().find(|v| v.object_id == id).unwrap();

        let scan = lidar.scan_with_visibility(&pose, &scene, 0);
        let (car, kid) = (of(&scan, 1), of(&scan, 2));
        assert_eq!(
            car.rays_seen, car.rays_aimed,
            "nothing stands before the car"
        );
        assert_eq!(car.fraction(), 1.0);
        assert!(kid.rays_aimed > 20, "{kid:?}");
        assert_eq!((kid.rays_seen, kid.fraction()), (0, 0.0));

        // The car's left silhouette edge is at y = 0.9 m over x = 7.75 m (its near face): at
        // x = 12.75 m that line is at y = 1.48 m, so a child centred there is half covered.
        scene.objects[1] = child(2, 13.0, 0.9 * 12.75 / 7.75);
        let scan = lidar.scan_with_visibility(&pose, &scene, 0);
        let kid = of(&scan, 2);
        assert!(kid.fraction() > 0.3 && kid.fraction() < 0.7, "{kid:?}");
        let returns = scan
            .points
            .iter()
            .filter(|p| p.object_id == Some(2))
            .count();
        assert_eq!(
            returns as u32, kid.rays_seen,
            "no dropout in the default model"
        );

        scene.objects[1] = child(2, 13.0, 3.0);
        let scan = lidar.scan_with_visibility(&pose, &scene, 0);
        assert_eq!(of(&scan, 2).fraction(), 1.0);
        // Objects no ray is aimed at are left out.
        scene.push(car_box(3, 200.0, 0.0, 0.0));
        let scan = lidar.scan_with_visibility(&pose, &scene, 0);
        assert!(scan.visibility.iter().all(|v| v.object_id != 3));
    }

    #[test]
    fn noise_is_deterministic_per_seed_and_scan() {
        let params = LidarParams {
            range_noise_sigma: 0.05,
            dropout_probability: 0.1,
            seed: 42,
            ..LidarParams::default()
        };
        let lidar = Lidar::new(params.clone()).unwrap();
        let mut scene = Scene::with_flat_ground(0.0).unwrap();
        scene.push(car_box(1, 10.0, 0.0, 0.3));
        let pose = at_height(1.8);
        let a = lidar.scan(&pose, &scene);
        assert_eq!(a, lidar.scan(&pose, &scene));
        assert_ne!(a, lidar.scan_numbered(&pose, &scene, 1));
        let other = Lidar::new(LidarParams { seed: 43, ..params }).unwrap();
        let b = other.scan(&pose, &scene);
        assert_ne!(a, b);
        // Dropout really removes returns: the exact, dropout-free sensor sees more.
        let exact_lidar = Lidar::new(exact()).unwrap();
        let clean = exact_lidar.scan(&pose, &scene);
        assert!(clean.len() > a.len(), "dropout removes points");
    }

    #[test]
    fn range_noise_has_the_requested_sigma() {
        // One ring on flat ground: every ray's exact range is 1.8 / sin 15°.
        let lidar = Lidar::new(LidarParams {
            vertical: VerticalLayout::Explicit(vec![-15.0]),
            azimuth_resolution_deg: 0.05,
            range_noise_sigma: 0.1,
            ..LidarParams::default()
        })
        .unwrap();
        let scene = Scene::with_flat_ground(0.0).unwrap();
        let points = lidar.scan(&at_height(1.8), &scene);
        assert_eq!(points.len(), 7200);
        let truth = 1.8 / 15f64.to_radians().sin();
        let errors: Vec<f64> = points.iter().map(|p| p.range as f64 - truth).collect();
        let mean = errors.iter().sum::<f64>() / errors.len() as f64;
        let sd =
            (errors.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / errors.len() as f64).sqrt();
        // Standard error of the mean is 0.1 / √7200 = 0.0012; of the sd about 0.0008.
        assert!(mean.abs() < 0.005, "{mean}");
        assert!((sd - 0.1).abs() < 0.005, "{sd}");
    }

    #[test]
    fn dropout_fraction_matches_probability() {
        // The sensor inside a 40 m cube sees a wall on every one of the 57 600 beams.
        let lidar = Lidar::new(LidarParams {
            dropout_probability: 0.1,
            seed: 7,
            ..exact()
        })
        .unwrap();
        let mut scene = Scene::new();
        scene.push(SceneObject::new(
            9,
            ObjectClass::Obstacle,
            Shape::Box(Obb::new(Point3::origin(), Vector3::repeat(20.0), 0.0).unwrap()),
        ));
        let points = lidar.scan(&Isometry3::identity(), &scene);
        let dropped = lidar.rays_per_scan() - points.len();
        assert_eq!(dropped, DROPPED_WITH_SEED_7);
        let fraction = dropped as f64 / lidar.rays_per_scan() as f64;
        assert!((fraction - 0.1).abs() < 0.01, "{fraction}");
    }
    const DROPPED_WITH_SEED_7: usize = 5767;

    #[test]
    fn culled_cast_matches_brute_force() {
        // Objects all around (including across the ±180° seam behind the sensor, one
        // straddling the sensor's vertical axis, one tilted, cylinders) and a tilted sensor;
        // every beam must find exactly what `Scene::cast_ray` finds.
        let lidar = Lidar::new(exact()).unwrap();
        let mut scene = Scene::with_flat_ground(0.0).unwrap();
        scene.push(car_box(1, 10.0, 0.0, 0.0));
        scene.push(car_box(2, -8.0, 0.2, 0.4));
        scene.push(car_box(3, -6.0, -0.5, 1.3));
        scene.push(car_box(4, 3.0, 6.0, -0.7));
        scene.push(car_box(5, 0.5, -5.0, 2.0));
        scene.push(child(6, 14.0, 3.0));
        scene.push(SceneObject::new(
            7,
            ObjectClass::Obstacle,
            Shape::Box(
                Obb::with_rotation(
                    Point3::new(5.0, -3.0, 1.0),
                    Vector3::new(1.0, 0.5, 0.8),
                    Rotation3::from_euler_angles(0.4, 0.3, 0.2),
                )
                .unwrap(),
            ),
        ));
        scene.push(SceneObject::new(
            8,
            ObjectClass::Pedestrian,
            Shape::Cylinder(Cylinder::new(Point3::new(-3.0, 4.0, 0.0), 0.3, 1.8).unwrap()),
        ));
        scene.push(SceneObject::new(
            9,
            ObjectClass::Obstacle,
            Shape::Cylinder(Cylinder::new(Point3::new(2.0, 0.0, 2.3), 0.5, 0.2).unwrap()),
        ));
        // A wide roof over the sensor (surrounds its vertical axis).
        scene.push(SceneObject::new(
            10,
            ObjectClass::Obstacle,
            Shape::Box(
                Obb::new(Point3::new(0.5, 0.0, 2.7), Vector3::new(8.0, 8.0, 0.1), 0.3).unwrap(),
            ),
        ));
        let pose = Isometry3::from_parts(
            Translation3::new(0.0, 0.0, 1.8),
            UnitQuaternion::from_euler_angles(0.05, -0.08, 0.3),
        );
        let cast = lidar.cast(&pose, &scene, 0..lidar.channels());
        let rotation = pose.rotation.to_rotation_matrix();
        let origin = Point3::from(pose.translation.vector);
        let mut per_object = [0usize; 11];
        for column in 0..lidar.columns() {
            for ring in 0..lidar.channels() {
                let index = column * lidar.channels() + ring;
                let d = rotation * lidar.sensor_direction(ring, column);
                let ray = Ray::new(origin, d).unwrap();
                let brute = scene.cast_ray(&ray, 0.0, lidar.params().max_range);
                match (brute, cast.hit[index]) {
                    (None, hit) => assert_eq!(hit, NO_HIT, "ray {ring}/{column}"),
                    (Some(b), hit) => {
                        let id = match hit {
                            GROUND_HIT => None,
                            NO_HIT => panic!("culled cast missed ray {ring}/{column}"),
                            k => Some(scene.objects[k as usize].id),
                        };
                        assert_eq!(id, b.object_id, "ray {ring}/{column}");
                        assert!((cast.t[index] - b.t).abs() < 1e-9);
                        if let Some(id) = id {
                            per_object[id as usize] += 1;
                        }
                    }
                }
            }
        }
        // Every object is actually hit somewhere, so the comparison exercised each of them.
        assert!(per_object[1..].iter().all(|&n| n > 0), "{per_object:?}");
    }

    #[test]
    fn laser_scan_of_a_planar_scanner() {
        // 270° planar scanner at 0.5°, 0.3 m up; a 0.4 m post 5 m ahead and a wall 3 m to the
        // left; nothing else within 20 m.
        let lidar = Lidar::new(LidarParams {
            vertical: VerticalLayout::Uniform {
                channels: 1,
                min_deg: 0.0,
                max_deg: 0.0,
            },
            horizontal_fov_deg: 270.0,
            azimuth_resolution_deg: 0.5,
            min_range: 0.1,
            max_range: 20.0,
            ..exact()
        })
        .unwrap();
        let mut scene = Scene::with_flat_ground(0.0).unwrap();
        scene.push(SceneObject::new(
            1,
            ObjectClass::Obstacle,
            Shape::Cylinder(Cylinder::new(Point3::new(5.0, 0.0, 0.0), 0.2, 1.0).unwrap()),
        ));
        scene.push(SceneObject::new(
            2,
            ObjectClass::Obstacle,
            Shape::Box(
                Obb::new(
                    Point3::new(0.0, 3.5, 1.0),
                    Vector3::new(30.0, 0.5, 1.0),
                    0.0,
                )
                .unwrap(),
            ),
        ));
        let scan = lidar.laser_scan(&at_height(0.3), &scene, 0);
        assert_eq!(scan.ranges.len(), 541);
        assert!((scan.angle_min as f64 + 135f64.to_radians()).abs() < 1e-6);
        assert!((scan.angle_max as f64 - 135f64.to_radians()).abs() < 1e-6);
        // Beam 270 points straight ahead at the post's near side: 4.8 m.
        assert!((scan.ranges[270] - 4.8).abs() < 1e-5);
        // Beam 450 (+90°) hits the wall at 3 m; at +45° (beam 360) 3 / sin 45°.
        assert!((scan.ranges[450] - 3.0).abs() < 1e-5);
        assert!((scan.ranges[360] as f64 - 3.0 * 2f64.sqrt()).abs() < 1e-5);
        // Straight right (-90°, beam 90): nothing within 20 m.
        assert_eq!(scan.ranges[90], f32::INFINITY);
        assert_eq!(scan.intensities[90], 0.0);
    }

    /// Timing of the benchmark configuration (HDL-32E, 57 600 beams at 10 Hz, 20 cars and
    /// pedestrians plus the ground). Not asserted, since this machine's timings are noise:
    /// `cargo test -p embody-sim --release --lib lidar::tests::scan_timing -- --ignored --nocapture`.
    #[test]
    #[ignore = "prints timing; run in release"]
    fn scan_timing() {
        let lidar = Lidar::new(LidarParams {
            dropout_probability: 0.01,
            ..LidarParams::default()
        })
        .unwrap();
        let mut scene = Scene::with_flat_ground(0.0).unwrap();
        for i in 0..20u32 {
            let angle = i as f64 * 0.7;
            let distance = 6.0 + 2.5 * i as f64;
            let (x, y) = (distance * angle.cos(), distance * angle.sin());
            scene.push(if i % 4 == 3 {
                child(i, x, y)
            } else {
                car_box(i, x, y, angle)
            });
        }
        let pose = at_height(1.8);
        let scans = 50;
        let start = std::time::Instant::now();
        let mut total = 0;
        for n in 0..scans {
            total += lidar.scan_numbered(&pose, &scene, n).len();
        }
        let per_scan = start.elapsed().as_secs_f64() / scans as f64;
        println!(
            "lidar scan: {:.3} ms per scan of {} beams ({} points), {:.0}× the {} Hz real-time budget",
            per_scan * 1e3,
            lidar.rays_per_scan(),
            total / scans as usize,
            lidar.scan_period() / per_scan,
            lidar.params().rate_hz
        );
    }
}
