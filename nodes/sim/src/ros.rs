//! The simulator's state as ROS 2 messages: lidar points as `sensor_msgs/PointCloud2`
//! (Velodyne-style x, y, z, intensity, ring), the ego as `nav_msgs/Odometry` and
//! `sensor_msgs/Imu`. Pure conversions; the node publishes them.

use embody_msgs::Message;
use embody_msgs::builtin_interfaces::msg::Time;
use embody_msgs::embody_msgs::msg::{
    Lane, LaneBoundary, LaneMap, ObjectClassification, ObjectVisibilities, ObjectVisibility,
    PredictedObject, PredictedObjects,
};
use embody_msgs::geometry_msgs::msg::{
    Point, Pose, PoseWithCovariance, Quaternion, Transform, TransformStamped, Twist,
    TwistWithCovariance, Vector3,
};
use embody_msgs::nav_msgs::msg::Odometry;
use embody_msgs::sensor_msgs::msg::{Imu, PointCloud2, PointField};
use embody_msgs::std_msgs::msg::Header;
use embody_msgs::tf2_msgs::msg::TFMessage;

use crate::lidar::LidarPoint;
use crate::vehicle::Vehicle;

/// Bytes per point: x, y, z, intensity as float32, ring as uint16, 2 bytes padding.
pub const POINT_STEP: u32 = 20;

fn field(name: &str, offset: u32, datatype: u8) -> PointField {
    PointField {
        name: name.into(),
        offset,
        datatype,
        count: 1,
    }
}

/// A header at `stamp_ns` (simulation time) in `frame_id`.
pub fn header(stamp_ns: i64, frame_id: &str) -> Header {
    Header {
        stamp: Time {
            sec: stamp_ns.div_euclid(1_000_000_000) as i32,
            nanosec: stamp_ns.rem_euclid(1_000_000_000) as u32,
        },
        frame_id: frame_id.into(),
    }
}

/// Lidar points (sensor frame) as an unorganised cloud (height 1), little endian.
pub fn point_cloud(points: &[LidarPoint], stamp_ns: i64, frame_id: &str) -> PointCloud2 {
    let mut data = Vec::with_capacity(points.len() * POINT_STEP as usize);
    for p in points {
        for v in [p.x, p.y, p.z, p.intensity] {
            data.extend_from_slice(&v.to_le_bytes());
        }
        data.extend_from_slice(&p.ring.to_le_bytes());
        data.extend_from_slice(&[0, 0]);
    }
    PointCloud2 {
        header: header(stamp_ns, frame_id),
        height: 1,
        width: points.len() as u32,
        fields: vec![
            field("x", 0, PointField::FLOAT32),
            field("y", 4, PointField::FLOAT32),
            field("z", 8, PointField::FLOAT32),
            field("intensity", 12, PointField::FLOAT32),
            field("ring", 16, PointField::UINT16),
        ],
        is_bigendian: false,
        point_step: POINT_STEP,
        row_step: POINT_STEP * points.len() as u32,
        data: data.into(),
        is_dense: true,
    }
}

/// A rotation about z as a quaternion.
pub fn yaw_quaternion(yaw: f64) -> Quaternion {
    Quaternion {
        x: 0.0,
        y: 0.0,
        z: (yaw / 2.0).sin(),
        w: (yaw / 2.0).cos(),
    }
}

/// The yaw of a rotation about z (the inverse of [`yaw_quaternion`]).
pub fn quaternion_yaw(q: &Quaternion) -> f64 {
    2.0 * q.z.atan2(q.w)
}

/// The ego's pose in `odom` and its body-frame velocity in `base_link`.
pub fn odometry(v: &Vehicle, stamp_ns: i64) -> Odometry {
    let p = v.position();
    let vel = v.velocity();
    Odometry {
        header: header(stamp_ns, "odom"),
        child_frame_id: "base_link".into(),
        pose: PoseWithCovariance {
            pose: Pose {
                position: Point {
                    x: p.x,
                    y: p.y,
                    z: 0.0,
                },
                orientation: yaw_quaternion(v.yaw()),
            },
            covariance: [0.0; 36],
        },
        twist: TwistWithCovariance {
            twist: Twist {
                linear: Vector3 {
                    x: vel.x,
                    y: vel.y,
                    z: 0.0,
                },
                angular: Vector3 {
                    x: 0.0,
                    y: 0.0,
                    z: v.yaw_rate(),
                },
            },
            covariance: [0.0; 36],
        },
    }
}

/// What an IMU at the centre of gravity measures (gravity included, as real IMUs report).
pub fn imu(v: &Vehicle, stamp_ns: i64) -> Imu {
    let a = v.acceleration();
    Imu {
        header: header(stamp_ns, "imu"),
        orientation: yaw_quaternion(v.yaw()),
        angular_velocity: Vector3 {
            x: 0.0,
            y: 0.0,
            z: v.yaw_rate(),
        },
        linear_acceleration: Vector3 {
            x: a.x,
            y: a.y,
            z: crate::vehicle::GRAVITY,
        },
        ..Imu::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clouds_hold_every_point_in_the_declared_layout() {
        let points = vec![
            LidarPoint {
                x: 1.5,
                y: -2.0,
                z: 0.25,
                intensity: 0.5,
                ring: 7,
                azimuth: 0.0,
                range: 2.5,
                object_id: Some(3),
            };
            3
        ];
        let c = point_cloud(&points, 1_500_000_000, "lidar");
        assert_eq!((c.width, c.row_step, c.data.len()), (3, 60, 60));
        assert_eq!(
            (c.header.stamp.sec, c.header.stamp.nanosec),
            (1, 500_000_000)
        );
        let second = &c.data[20..40];
        assert_eq!(f32::from_le_bytes(second[4..8].try_into().unwrap()), -2.0);
        assert_eq!(u16::from_le_bytes(second[16..18].try_into().unwrap()), 7);
        // The cloud survives a CDR round trip unchanged.
        let back = PointCloud2::from_cdr(&c.to_cdr().unwrap()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn yaw_quaternions_are_unit_rotations_about_z() {
        let q = yaw_quaternion(std::f64::consts::FRAC_PI_2);
        assert!((q.z - 0.5f64.sqrt()).abs() < 1e-12 && (q.w - 0.5f64.sqrt()).abs() < 1e-12);
        assert!((q.x * q.x + q.y * q.y + q.z * q.z + q.w * q.w - 1.0).abs() < 1e-12);
    }
}

/// One serialized message the simulator puts out: topic (relative, per the design's topic
/// map), type name and CDR bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// Topic, e.g. `sensing/lidar/points`.
    pub topic: &'static str,
    /// `pkg/msg/Type`.
    pub type_name: &'static str,
    /// CDR with encapsulation header.
    pub data: Vec<u8>,
}

fn out<M: Message>(topic: &'static str, msg: &M) -> Output {
    Output {
        topic,
        type_name: M::TYPE_NAME,
        // Everything here is built from finite numbers and bounded strings.
        data: msg.to_cdr().expect("simulator messages encode"),
    }
}

/// `base_link` → `lidar` and `base_link` → `imu`, published once (`tf_static`).
pub fn static_transforms(lidar_mount: &nalgebra::Isometry3<f64>) -> Output {
    let t = |child: &str, iso: &nalgebra::Isometry3<f64>| TransformStamped {
        header: header(0, "base_link"),
        child_frame_id: child.into(),
        transform: Transform {
            translation: Vector3 {
                x: iso.translation.x,
                y: iso.translation.y,
                z: iso.translation.z,
            },
            rotation: Quaternion {
                x: iso.rotation.i,
                y: iso.rotation.j,
                z: iso.rotation.k,
                w: iso.rotation.w,
            },
        },
    };
    let msg = TFMessage {
        transforms: vec![
            t("lidar", lidar_mount),
            t("imu", &nalgebra::Isometry3::identity()),
        ],
    };
    out("tf_static", &msg)
}

/// The road as a lane map (`map/lanes`, latched), centre lines and boundaries every `spacing` m.
pub fn lane_map(road: &crate::road::Road, speed_limit: f64, spacing: f64) -> Output {
    use crate::road::Marking;
    let pts = |v: Vec<nalgebra::Point2<f64>>| -> Vec<Point> {
        v.into_iter()
            .map(|p| Point {
                x: p.x,
                y: p.y,
                z: 0.0,
            })
            .collect()
    };
    let marking = |m: Option<&Marking>, edge: bool| match (edge, m) {
        (true, _) => LaneBoundary::ROAD_EDGE,
        (_, Some(Marking::Solid)) => LaneBoundary::SOLID,
        (_, Some(Marking::Dashed)) => LaneBoundary::DASHED,
        _ => LaneBoundary::NONE,
    };
    let n = road.lane_count();
    let lanes = (0..n)
        .map(|i| Lane {
            id: i as u32 + 1,
            centerline: pts(road.lane_centre_line(i, spacing).unwrap_or_default()),
            left: LaneBoundary {
                points: pts(road.boundary_line(i + 1, spacing).unwrap_or_default()),
                marking: marking(road.markings().get(i + 1), i + 1 == n),
            },
            right: LaneBoundary {
                points: pts(road.boundary_line(i, spacing).unwrap_or_default()),
                marking: marking(road.markings().get(i), i == 0),
            },
            left_neighbour_id: if i + 1 < n { i as u32 + 2 } else { 0 },
            right_neighbour_id: i as u32,
            speed_limit,
        })
        .collect();
    out(
        "map/lanes",
        &LaneMap {
            header: header(0, "map"),
            lanes,
        },
    )
}

/// Gaussian noise on odometry and IMU (standard deviations; zero = exact), from a seeded
/// stream so a run is repeatable.
#[derive(Debug, Clone)]
pub struct SensorNoise {
    /// Odometry position (m).
    pub position: f64,
    /// Odometry velocity (m/s).
    pub velocity: f64,
    /// Odometry yaw (rad).
    pub yaw: f64,
    /// IMU linear acceleration (m/s²).
    pub accel: f64,
    /// IMU angular velocity (rad/s).
    pub gyro: f64,
    rng: crate::lidar::SplitMix64,
}

impl SensorNoise {
    /// Noise with these deviations, drawn from a stream seeded with `seed`.
    pub fn new(position: f64, velocity: f64, yaw: f64, accel: f64, gyro: f64, seed: u64) -> Self {
        Self {
            position,
            velocity,
            yaw,
            accel,
            gyro,
            rng: crate::lidar::SplitMix64::new(seed),
        }
    }

    /// No noise.
    pub fn none() -> Self {
        Self::new(0.0, 0.0, 0.0, 0.0, 0.0, 0)
    }

    fn draw(&mut self, sigma: f64) -> f64 {
        // Draw even when sigma is 0, so every sensor's stream stays aligned.
        let g = self.rng.next_gaussian();
        g * sigma
    }

    fn odometry(&mut self, o: &mut Odometry) {
        let p = &mut o.pose.pose.position;
        p.x += self.draw(self.position);
        p.y += self.draw(self.position);
        let q = &o.pose.pose.orientation;
        let yaw = quaternion_yaw(q) + self.draw(self.yaw);
        o.pose.pose.orientation = yaw_quaternion(yaw);
        let t = &mut o.twist.twist.linear;
        t.x += self.draw(self.velocity);
        t.y += self.draw(self.velocity);
        let (pv, vv, yv) = (
            self.position.powi(2),
            self.velocity.powi(2),
            self.yaw.powi(2),
        );
        o.pose.covariance[0] = pv;
        o.pose.covariance[7] = pv;
        o.pose.covariance[35] = yv;
        o.twist.covariance[0] = vv;
        o.twist.covariance[7] = vv;
    }

    fn imu(&mut self, m: &mut Imu) {
        m.linear_acceleration.x += self.draw(self.accel);
        m.linear_acceleration.y += self.draw(self.accel);
        m.linear_acceleration.z += self.draw(self.accel);
        m.angular_velocity.z += self.draw(self.gyro);
        let (av, gv) = (self.accel.powi(2), self.gyro.powi(2));
        m.linear_acceleration_covariance = [av, 0.0, 0.0, 0.0, av, 0.0, 0.0, 0.0, av];
        m.angular_velocity_covariance = [gv, 0.0, 0.0, 0.0, gv, 0.0, 0.0, 0.0, gv];
    }
}

/// A simulated single-plane scan as `sensor_msgs/LaserScan` in the `lidar` frame.
pub fn laser_scan(
    l: &crate::lidar::LaserScan,
    stamp_ns: i64,
) -> embody_msgs::sensor_msgs::msg::LaserScan {
    embody_msgs::sensor_msgs::msg::LaserScan {
        header: header(stamp_ns, "lidar"),
        angle_min: l.angle_min,
        angle_max: l.angle_max,
        angle_increment: l.angle_increment,
        time_increment: l.time_increment,
        scan_time: l.scan_time,
        range_min: l.range_min,
        range_max: l.range_max,
        ranges: l.ranges.clone(),
        intensities: l.intensities.clone(),
    }
}

/// Everything due at sim time `stamp_ns` after a step: `/clock`, odometry, IMU, the
/// `odom → base_link` transform, ground truth, and the lidar cloud when one was taken.
pub fn frame(
    world: &crate::world::World,
    stamp_ns: i64,
    scan: Option<&crate::lidar::Scan>,
    noise: &mut SensorNoise,
) -> Vec<Output> {
    let v = world.ego();
    let p = v.position();
    let mut odom = odometry(v, stamp_ns);
    noise.odometry(&mut odom);
    let mut imu_msg = imu(v, stamp_ns);
    noise.imu(&mut imu_msg);
    let mut outputs = vec![
        out(
            "/clock",
            &embody_msgs::rosgraph_msgs::msg::Clock {
                clock: header(stamp_ns, "").stamp,
            },
        ),
        out("localization/odometry", &odom),
        out("sensing/imu", &imu_msg),
        out(
            "tf",
            &TFMessage {
                transforms: vec![TransformStamped {
                    header: header(stamp_ns, "odom"),
                    child_frame_id: "base_link".into(),
                    transform: Transform {
                        translation: Vector3 {
                            x: p.x,
                            y: p.y,
                            z: 0.0,
                        },
                        rotation: yaw_quaternion(v.yaw()),
                    },
                }],
            },
        ),
    ];
    let objects = world
        .actors()
        .iter()
        .map(|a| PredictedObject {
            object_id: u64::from(a.id),
            classification: vec![ObjectClassification {
                label: class_label(a.kind),
                probability: 1.0,
            }],
            pose: Pose {
                position: Point {
                    x: a.x,
                    y: a.y,
                    z: a.size.height / 2.0,
                },
                orientation: yaw_quaternion(a.yaw),
            },
            dimensions: Vector3 {
                x: a.size.length,
                y: a.size.width,
                z: a.size.height,
            },
            twist: Twist {
                linear: Vector3 {
                    x: a.velocity.x,
                    y: a.velocity.y,
                    z: 0.0,
                },
                angular: Vector3::default(),
            },
            ..PredictedObject::default()
        })
        .collect();
    outputs.push(out(
        "sim/ground_truth/objects",
        &PredictedObjects {
            header: header(stamp_ns, "odom"),
            objects,
        },
    ));
    if let Some(scan) = scan {
        outputs.push(out(
            "sensing/lidar/points",
            &point_cloud(&scan.points, stamp_ns, "lidar"),
        ));
        if let Some(l) = &scan.laser {
            outputs.push(out("sensing/lidar/scan", &laser_scan(l, stamp_ns)));
        }
        outputs.push(out(
            "sim/ground_truth/visibility",
            &ObjectVisibilities {
                header: header(stamp_ns, "lidar"),
                objects: scan
                    .visibility
                    .iter()
                    .map(|v| ObjectVisibility {
                        object_id: u64::from(v.object_id),
                        rays_aimed: v.rays_aimed,
                        rays_seen: v.rays_seen,
                        visible_fraction: v.fraction() as f32,
                    })
                    .collect(),
            },
        ));
    }
    outputs
}

fn class_label(kind: crate::actors::ActorKind) -> u8 {
    use crate::actors::ActorKind as K;
    match kind {
        K::Car | K::CrashedCar | K::ParkedCar => ObjectClassification::CAR,
        K::Truck => ObjectClassification::TRUCK,
        K::Motorcycle => ObjectClassification::MOTORCYCLE,
        K::Cyclist => ObjectClassification::BICYCLE,
        K::AdultPedestrian => ObjectClassification::PEDESTRIAN,
        K::ChildPedestrian => ObjectClassification::CHILD,
    }
}

#[cfg(test)]
mod noise_tests {
    use super::*;

    #[test]
    fn noise_has_the_asked_spread_and_repeats_with_the_seed() {
        let mut a = SensorNoise::new(0.5, 0.0, 0.0, 0.0, 0.0, 11);
        let mut b = SensorNoise::new(0.5, 0.0, 0.0, 0.0, 0.0, 11);
        let draws: Vec<f64> = (0..20_000).map(|_| a.draw(0.5)).collect();
        assert!(
            draws
                .iter()
                .zip((0..20_000).map(|_| b.draw(0.5)))
                .all(|(x, y)| *x == y)
        );
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let sd =
            (draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / draws.len() as f64).sqrt();
        assert!(
            mean.abs() < 0.02 && (sd - 0.5).abs() < 0.02,
            "mean {mean} sd {sd}"
        );
        // Covariances follow the deviations.
        let mut o = Odometry::default();
        o.pose.pose.orientation.w = 1.0;
        a.odometry(&mut o);
        assert_eq!(o.pose.covariance[0], 0.25);
    }
}

/// A transform message body from an isometry.
fn transform(iso: &nalgebra::Isometry3<f64>) -> Transform {
    Transform {
        translation: Vector3 {
            x: iso.translation.x,
            y: iso.translation.y,
            z: iso.translation.z,
        },
        rotation: Quaternion {
            x: iso.rotation.i,
            y: iso.rotation.j,
            z: iso.rotation.k,
            w: iso.rotation.w,
        },
    }
}

/// Frame of the depth camera's points (REP-103 optical frame: z forward, x right, y down).
pub const DEPTH_FRAME: &str = "camera_depth_optical_frame";

/// Bytes per depth point: x, y, z as float32.
pub const DEPTH_POINT_STEP: u32 = 12;

/// The arm's joint positions and velocities (`joint_states`).
pub fn joint_state(
    arm: &crate::arm::Arm,
    stamp_ns: i64,
) -> embody_msgs::sensor_msgs::msg::JointState {
    embody_msgs::sensor_msgs::msg::JointState {
        header: header(stamp_ns, ""),
        name: arm.joint_names().into_iter().map(String::from).collect(),
        position: arm.positions().to_vec(),
        velocity: arm.velocities().to_vec(),
        effort: Vec::new(),
    }
}

/// Depth points (optical frame) as an unorganised x, y, z float32 cloud, little endian.
pub fn depth_cloud(
    points: &[crate::depth::DepthPoint],
    stamp_ns: i64,
    frame_id: &str,
) -> PointCloud2 {
    let mut data = Vec::with_capacity(points.len() * DEPTH_POINT_STEP as usize);
    for p in points {
        for v in [p.x, p.y, p.z] {
            data.extend_from_slice(&v.to_le_bytes());
        }
    }
    PointCloud2 {
        header: header(stamp_ns, frame_id),
        height: 1,
        width: points.len() as u32,
        fields: vec![
            field("x", 0, PointField::FLOAT32),
            field("y", 4, PointField::FLOAT32),
            field("z", 8, PointField::FLOAT32),
        ],
        is_bigendian: false,
        point_step: DEPTH_POINT_STEP,
        row_step: DEPTH_POINT_STEP * points.len() as u32,
        data: data.into(),
        is_dense: true,
    }
}

/// `world` → arm base, `world` → camera and `world` → `table`, published once (`tf_static`).
pub fn arm_static_transforms(world: &crate::arm_world::ArmWorld) -> Output {
    let t = |child: &str, iso: &nalgebra::Isometry3<f64>| TransformStamped {
        header: header(0, "world"),
        child_frame_id: child.into(),
        transform: transform(iso),
    };
    let arm = world.arm();
    let table = &world.table().table;
    let table_top = nalgebra::Isometry3::from_parts(
        nalgebra::Translation3::new(table.x, table.y, table.height),
        nalgebra::UnitQuaternion::from_axis_angle(&nalgebra::Vector3::z_axis(), table.yaw),
    );
    let mut transforms = vec![
        t(arm.chain().base(), &arm.base_pose()),
        t("table", &table_top),
    ];
    if let Some(c) = world.camera() {
        transforms.push(t(DEPTH_FRAME, &c.params().pose));
    }
    out("tf_static", &TFMessage { transforms })
}

/// The ground-truth tabletop objects (`sim/ground_truth/objects`, frame `world`), class CUP
/// or BOX, ids from 1 in scenario order.
pub fn table_objects(table: &crate::table::Tabletop, stamp_ns: i64) -> PredictedObjects {
    use crate::table::ObjectShape;
    let objects = table
        .objects
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let c = o.centre();
            let (label, dims) = match o.shape {
                ObjectShape::Cup { radius, height } => (
                    ObjectClassification::CUP,
                    (2.0 * radius, 2.0 * radius, height),
                ),
                ObjectShape::Box {
                    length,
                    width,
                    height,
                } => (ObjectClassification::BOX, (length, width, height)),
            };
            PredictedObject {
                object_id: i as u64 + 1,
                classification: vec![ObjectClassification {
                    label,
                    probability: 1.0,
                }],
                pose: Pose {
                    position: Point {
                        x: c.x,
                        y: c.y,
                        z: c.z,
                    },
                    orientation: yaw_quaternion(o.yaw),
                },
                dimensions: Vector3 {
                    x: dims.0,
                    y: dims.1,
                    z: dims.2,
                },
                ..PredictedObject::default()
            }
        })
        .collect();
    PredictedObjects {
        header: header(stamp_ns, "world"),
        objects,
    }
}

/// What the arm world publishes at `stamp_ns`: `/clock`; with `state`, `joint_states`, the
/// links' `tf` (each chain link from the one before it) and ground truth; and the depth cloud
/// when a frame was taken.
pub fn arm_frame(
    world: &crate::arm_world::ArmWorld,
    stamp_ns: i64,
    state: bool,
    depth: Option<&[crate::depth::DepthPoint]>,
) -> Vec<Output> {
    let clock = out(
        "/clock",
        &embody_msgs::rosgraph_msgs::msg::Clock {
            clock: header(stamp_ns, "").stamp,
        },
    );
    let mut outputs = vec![clock];
    if state {
        outputs.extend(arm_state(world, stamp_ns));
    }
    if let Some(points) = depth {
        outputs.push(out(
            "camera/depth/points",
            &depth_cloud(points, stamp_ns, DEPTH_FRAME),
        ));
        if let Some(camera) = world.camera() {
            outputs.push(out(
                "camera/depth/camera_info",
                &camera_info(camera, stamp_ns),
            ));
        }
    }
    outputs
}

/// The depth camera's intrinsics as `sensor_msgs/CameraInfo` (pinhole, no distortion). ROS
/// puts pixel centres at whole coordinates, the camera's rays go through `index + 0.5`, so
/// the principal point is half a pixel before the image centre.
pub fn camera_info(
    camera: &crate::depth::DepthCamera,
    stamp_ns: i64,
) -> embody_msgs::sensor_msgs::msg::CameraInfo {
    let p = camera.params();
    let f = camera.focal_px();
    let (cx, cy) = (
        f64::from(p.width) / 2.0 - 0.5,
        f64::from(p.height) / 2.0 - 0.5,
    );
    embody_msgs::sensor_msgs::msg::CameraInfo {
        header: header(stamp_ns, DEPTH_FRAME),
        height: p.height,
        width: p.width,
        distortion_model: "plumb_bob".into(),
        d: vec![0.0; 5],
        k: [f, 0.0, cx, 0.0, f, cy, 0.0, 0.0, 1.0],
        r: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        p: [f, 0.0, cx, 0.0, 0.0, f, cy, 0.0, 0.0, 0.0, 1.0, 0.0],
        ..Default::default()
    }
}

fn arm_state(world: &crate::arm_world::ArmWorld, stamp_ns: i64) -> [Output; 3] {
    let arm = world.arm();
    let names = arm.link_names();
    let poses = arm.link_poses();
    let transforms = (1..poses.len())
        .map(|k| TransformStamped {
            header: header(stamp_ns, &names[k - 1]),
            child_frame_id: names[k].clone(),
            transform: transform(&(poses[k - 1].inverse() * poses[k])),
        })
        .collect();
    [
        out("joint_states", &joint_state(arm, stamp_ns)),
        out("tf", &TFMessage { transforms }),
        out(
            "sim/ground_truth/objects",
            &table_objects(world.table(), stamp_ns),
        ),
    ]
}

/// The opening (m) a `control_msgs/action/GripperCommand` goal asks for: `command.position`,
/// the gap between the fingers of a parallel gripper.
pub fn gripper_opening_from_goal(
    goal: &embody_msgs::control_msgs::action::GripperCommand_Goal,
) -> f64 {
    goal.command.position
}

/// The `GripperCommand` result for a gripper commanded to `target` (m): stalled when its jaws
/// stopped on a held object short of the target, which for a grasp is success.
pub fn gripper_result(
    gripper: &crate::gripper::Gripper,
    target: f64,
) -> embody_msgs::control_msgs::action::GripperCommand_Result {
    let opening = gripper.opening();
    let stalled = gripper.held().is_some() && opening > target + 1e-9;
    embody_msgs::control_msgs::action::GripperCommand_Result {
        position: opening,
        effort: 0.0,
        stalled,
        reached_goal: stalled || (opening - target).abs() < 1e-9,
    }
}

#[cfg(test)]
mod arm_tests {
    use super::*;

    #[test]
    fn depth_clouds_hold_xyz() {
        let p = crate::depth::DepthPoint {
            x: 0.5,
            y: -0.25,
            z: 1.0,
            object_id: None,
        };
        let c = depth_cloud(&[p, p], 0, DEPTH_FRAME);
        assert_eq!((c.width, c.row_step, c.data.len()), (2, 24, 24));
        assert_eq!(
            f32::from_le_bytes(c.data[16..20].try_into().unwrap()),
            -0.25
        );
        assert_eq!(PointCloud2::from_cdr(&c.to_cdr().unwrap()).unwrap(), c);
    }

    #[test]
    fn gripper_goals_are_openings_and_a_grasp_stalls_short_of_the_target() {
        use embody_msgs::control_msgs::action::GripperCommand_Goal;
        let mut goal = GripperCommand_Goal::default();
        goal.command.position = 0.02;
        assert_eq!(gripper_opening_from_goal(&goal), 0.02);
        let mut g = crate::gripper::Gripper::new(crate::gripper::GripperParams::default());
        let open = gripper_result(&g, 0.085);
        assert!(open.reached_goal && !open.stalled && open.position == 0.085);
        g.command(0.0);
        let nothing = crate::table::Tabletop::new(
            crate::table::Table {
                x: 0.0,
                y: 0.0,
                yaw: 0.0,
                length: 1.0,
                width: 1.0,
                height: 0.5,
            },
            None,
            Vec::new(),
        )
        .unwrap();
        let mut t = nothing;
        for _ in 0..100 {
            g.step(0.01, &nalgebra::Isometry3::identity(), &mut t);
        }
        let closed = gripper_result(&g, 0.0);
        assert!(closed.reached_goal && !closed.stalled && closed.position == 0.0);
    }
}
