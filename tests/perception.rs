//! The perception node and its evaluation on bags recorded from the built-in simulator.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use embody::msgs::embody_msgs::msg::PredictedObjects;
use embody::msgs::vision_msgs::msg::Detection3DArray;
use embody::msgs::visualization_msgs::msg::{Marker, MarkerArray};
use embody::wire::EntityKind;
use embody::{Context, ContextOptions, NodeOptions, Router, Time};
use embody_bag::Bag;
use embody_bag::harness::{Replay, ReplayOptions};
use embody_msgs::Message;
use embody_msgs::embody_msgs::msg::ObjectClassification;
use embody_perception::node::{NodeConfig, run};
use embody_perception::pipeline::PerceptionParams;

/// A scratch directory for one test's bag, removed when the test passes (a bag from a failed
/// test stays for a look).
struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn temp_dir(name: &str) -> TempDir {
    let d = std::env::temp_dir().join(format!("embody-perception-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    TempDir(d)
}

fn embody(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_embody"))
        .args(args)
        .output()
        .expect("embody runs");
    assert!(
        out.status.success(),
        "embody {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Records one run of a scenario with fixed parameters as a bag in `dir`.
fn record(scenario: &str, sets: &[&str], dir: &Path) {
    let mut args = vec!["scenario", "run", scenario, "--bag", dir.to_str().unwrap()];
    for s in sets {
        args.extend(["--set", s]);
    }
    embody(&args);
}

fn stamp_ns(t: &embody::msgs::builtin_interfaces::msg::Time) -> i64 {
    Time::from_msg(t).nanos
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_tracks_a_crossing_pedestrian_from_a_replayed_bag() {
    // Euro NCAP CPNA at 20 km/h: an adult walks across the road at 5 km/h from the far side.
    let dir = temp_dir("cpna");
    record(
        "scenarios/ncap/cpna.yaml",
        &["ego_speed_kmh=20", "impact_percent=50"],
        &dir,
    );
    let bag = Bag::open(&dir).unwrap();

    let endpoint = format!("tcp/127.0.0.1:{}", embody_testkit::free_loopback_port());
    let _router = Router::start(std::slice::from_ref(&endpoint))
        .await
        .unwrap();
    let ctx = Context::with_options(ContextOptions::router(&endpoint))
        .await
        .unwrap();
    let node = ctx
        .create_node_with("perception", NodeOptions::default().use_sim_time(true))
        .await
        .unwrap();
    let config = NodeConfig {
        params: PerceptionParams::road(),
        input: "/sensing/lidar/points".into(),
        frame: "odom".into(),
        tf_timeout: Duration::from_secs(5),
        robot_base_frame: String::new(),
        robot_base_radius: 0.0,
    };
    let task = tokio::spawn(run(node, config));
    // The node subscribes in its own task: feeding before its subscriptions exist loses the
    // first clouds (seen on a loaded machine: outputs from 0.5 s on only).
    ctx.graph()
        .await
        .unwrap()
        .wait_until(Duration::from_secs(30), |g| {
            ["/sensing/lidar/points", "/tf", "/tf_static"]
                .iter()
                .all(|t| !g.endpoints(t, EntityKind::Subscription).is_empty())
        })
        .await
        .expect("the perception node subscribes to its inputs");
    let mut replay = Replay::new(&ctx).await.unwrap();
    for (topic, ty) in [
        ("/perception/objects", "embody_msgs/msg/PredictedObjects"),
        ("/perception/detections", "vision_msgs/msg/Detection3DArray"),
        ("/perception/markers", "visualization_msgs/msg/MarkerArray"),
    ] {
        replay.collect(topic, ty).await.unwrap();
    }
    let opts = ReplayOptions {
        topics: vec![
            "/tf".into(),
            "/tf_static".into(),
            "/sensing/lidar/points".into(),
        ],
        ..ReplayOptions::default()
    };
    let outputs = replay.run(&bag, &opts).await.unwrap();
    task.abort();

    // Ground truth and the cloud stamps, from the same bag.
    let mut truth = std::collections::BTreeMap::new();
    let mut ego = std::collections::BTreeMap::new();
    let mut clouds = Vec::new();
    let sel = bag.select(&[
        "/sim/ground_truth/objects".to_owned(),
        "/sensing/lidar/points".to_owned(),
        "/localization/odometry".to_owned(),
    ]);
    for m in bag.messages(Some(&sel)) {
        let m = m.unwrap();
        match bag.connections[m.connection].topic.as_str() {
            "/sensing/lidar/points" => {
                let c = embody::msgs::sensor_msgs::msg::PointCloud2::from_cdr(&m.data).unwrap();
                clouds.push(stamp_ns(&c.header.stamp));
            }
            "/localization/odometry" => {
                let o = embody::msgs::nav_msgs::msg::Odometry::from_cdr(&m.data).unwrap();
                let p = o.pose.pose.position;
                ego.insert(stamp_ns(&o.header.stamp), (p.x, p.y));
            }
            _ => {
                let o = PredictedObjects::from_cdr(&m.data).unwrap();
                truth.insert(stamp_ns(&o.header.stamp), o);
            }
        }
    }
    assert!(clouds.len() >= 20, "{} clouds", clouds.len());

    let objects: Vec<PredictedObjects> = outputs
        .iter()
        .filter(|o| o.topic == "/perception/objects")
        .map(|o| PredictedObjects::from_cdr(&o.data).unwrap())
        .collect();
    // One output per cloud, carrying the cloud's stamp, in the tracking frame.
    assert_eq!(
        objects
            .iter()
            .map(|o| stamp_ns(&o.header.stamp))
            .collect::<Vec<_>>(),
        clouds
    );
    assert!(objects.iter().all(|o| o.header.frame_id == "odom"));
    let detections: Vec<Detection3DArray> = outputs
        .iter()
        .filter(|o| o.topic == "/perception/detections")
        .map(|o| Detection3DArray::from_cdr(&o.data).unwrap())
        .collect();
    assert_eq!(detections.len(), objects.len());
    for (d, o) in detections.iter().zip(&objects) {
        assert_eq!(d.detections.len(), o.objects.len());
    }
    let markers: Vec<MarkerArray> = outputs
        .iter()
        .filter(|o| o.topic == "/perception/markers")
        .map(|o| MarkerArray::from_cdr(&o.data).unwrap())
        .collect();
    assert_eq!(markers.len(), objects.len());
    assert!(
        markers
            .iter()
            .all(|m| m.markers[0].action == Marker::DELETEALL)
    );

    // The pedestrian: found as one track, classified, where it is and as fast as it walks.
    let mut pedestrian_track = None;
    let mut tracked_frames = 0;
    let mut first_tracked = None;
    for o in &objects {
        let t = stamp_ns(&o.header.stamp);
        let gt = &truth[&t].objects[0];
        let near: Vec<_> = o
            .objects
            .iter()
            .filter(|p| {
                (p.pose.position.x - gt.pose.position.x)
                    .hypot(p.pose.position.y - gt.pose.position.y)
                    < 1.0
            })
            .collect();
        let Some(p) = near.first() else {
            continue;
        };
        tracked_frames += 1;
        let id = *pedestrian_track.get_or_insert(p.object_id);
        assert_eq!(p.object_id, id, "the pedestrian keeps its track id");
        // Within 30 m the lidar's rings cover the whole body; farther out an adult can
        // look child-sized, which still counts as a vulnerable road user.
        let (ex, ey) = ego[&t];
        let range = (gt.pose.position.x - ex).hypot(gt.pose.position.y - ey);
        let label = p.classification[0].label;
        if range < 30.0 {
            assert_eq!(
                label,
                ObjectClassification::PEDESTRIAN,
                "at {t} ns, {range} m"
            );
        } else {
            assert!(
                [
                    ObjectClassification::PEDESTRIAN,
                    ObjectClassification::CHILD
                ]
                .contains(&label),
                "at {t} ns, {range} m: label {label}"
            );
        }
        let since = *first_tracked.get_or_insert(t);
        if t - since >= 500_000_000 {
            let dv =
                (p.twist.linear.x - gt.twist.linear.x).hypot(p.twist.linear.y - gt.twist.linear.y);
            assert!(dv < 0.5, "velocity error {dv} m/s at {t} ns");
            assert!(!p.predicted_paths.is_empty());
            let path = &p.predicted_paths[0];
            assert!(path.position_std.windows(2).all(|w| w[1] >= w[0]));
        }
    }
    assert!(
        tracked_frames >= 15,
        "pedestrian tracked in {tracked_frames} frames"
    );
}

/// The evaluation's JSON for a bag.
fn eval_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&embody(&[
        "perception",
        "eval",
        dir.to_str().unwrap(),
        "--json",
    ]))
    .unwrap()
}

/// Recall of a class over the bands up to `max_range`, from the JSON report.
fn recall(report: &serde_json::Value, class: &str, max_range: f64) -> f64 {
    let (mut hit, mut all) = (0u64, 0u64);
    for c in report["counts"].as_array().unwrap() {
        if c["class"] == class && c["range_max_m"].as_f64().unwrap() <= max_range {
            hit += c["truth_matched"].as_u64().unwrap();
            all += c["truth"].as_u64().unwrap();
        }
    }
    assert!(all > 0, "no visible {class} within {max_range} m");
    hit as f64 / all as f64
}

// The targets for the child stepping out behind parked cars. For its first visible
// frames the child shows 1.2 m beyond the parked car's last return along the line of sight,
// within the clustering tolerance stretched along it; the depth-jump test in `cluster.rs`
// keeps them apart. README "Perception" has the figures.
#[test]
fn eval_child_behind_parked_cars_meets_the_targets() {
    let dir = temp_dir("child");
    record(
        "scenarios/compound/child_behind_parked_cars.yaml",
        &[
            "ego_speed_kmh=30",
            "follower_headway_s=1.0",
            "lead_gap_m=30",
        ],
        &dir,
    );
    let r = eval_json(&dir);
    assert!(r["frames"].as_u64().unwrap() >= 50);
    // The child: confirmed within 2 frames of becoming 30 % visible.
    let child = r["first_sight"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["class"] == "child")
        .expect("the child became visible");
    let delay = child["delay_frames"]
        .as_u64()
        .expect("the child was tracked");
    assert!(delay <= 2, "child confirmed after {delay} frames");
    assert_eq!(recall(&r, "child", 30.0), 1.0);
    assert!(recall(&r, "car", 30.0) >= 0.95);
    for class in ["car", "child"] {
        let v = &r["velocity_error_mps"][class];
        assert!(v["mean"].as_f64().unwrap() < 0.5, "{class}: {v}");
    }
}

#[test]
fn eval_ccrm_finds_the_car_ahead_within_60_m() {
    // Euro NCAP CCRm at 60 km/h behind a GVT at 20 km/h: the GVT starts 44 m ahead, where a
    // 32-channel lidar puts a single channel on its rear.
    let dir = temp_dir("ccrm");
    record(
        "scenarios/ncap/ccrm.yaml",
        &["ego_speed_kmh=60", "impact_percent=50"],
        &dir,
    );
    let r = eval_json(&dir);
    assert!(r["frames"].as_u64().unwrap() >= 30);
    let car = recall(&r, "car", 60.0);
    assert!(car >= 0.95, "car recall within 60 m {car}");
    let v = &r["velocity_error_mps"]["car"];
    assert!(v["mean"].as_f64().unwrap() < 0.5, "car: {v}");
    // `--frames` adds the matches behind that mean, one per settled frame.
    let framed: serde_json::Value = serde_json::from_str(&embody(&[
        "perception",
        "eval",
        dir.to_str().unwrap(),
        "--json",
        "--frames",
    ]))
    .unwrap();
    let samples = framed["velocity_samples"].as_array().unwrap();
    let cars: Vec<f64> = samples
        .iter()
        .filter(|s| s["class"] == "car")
        .map(|s| s["error_mps"].as_f64().unwrap())
        .collect();
    assert_eq!(cars.len() as u64, v["n"].as_u64().unwrap());
    let mean = cars.iter().sum::<f64>() / cars.len() as f64;
    assert!((mean - v["mean"].as_f64().unwrap()).abs() < 1e-9);
    let correct: u64 = r["counts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["class"] == "car" && c["range_max_m"].as_f64().unwrap() <= 60.0)
        .map(|c| c["class_correct"].as_u64().unwrap())
        .sum();
    let matched: u64 = r["counts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["class"] == "car" && c["range_max_m"].as_f64().unwrap() <= 60.0)
        .map(|c| c["truth_matched"].as_u64().unwrap())
        .sum();
    assert!(
        correct as f64 >= 0.9 * matched as f64,
        "car classed car in {correct} of {matched} matches"
    );
}

// The velocity target on the hardest bag of the set: a motorcycle at 40 km/h changes lane in
// front of the ego (3.5 m over about 2.5 s) and brakes at 4 m/s². Without a stack the ego
// drives on into it 6 s in, so the settled frames are nearly all manoeuvre. Two-wheelers learn
// their measurement noise (README "Perception", `noise.rs`): at the configured noise the mean
// error was 0.66 / 0.75 / 0.69 m/s for the three cut-in gaps.
#[test]
fn eval_motorcycle_cut_in_follows_the_lane_change() {
    for gap in ["5", "10", "15"] {
        let dir = temp_dir(&format!("moto{gap}"));
        record(
            "scenarios/compound/motorcycle_cut_in_crash.yaml",
            &[
                "ego_speed_kmh=90",
                "crash_gap_m=40",
                &format!("cut_in_gap_m={gap}"),
            ],
            &dir,
        );
        let r = eval_json(&dir);
        let v = &r["velocity_error_mps"]["motorcycle"];
        assert!(v["n"].as_u64().unwrap() >= 20, "gap {gap}: {v}");
        let mean = v["mean"].as_f64().unwrap();
        assert!(mean < 0.5, "gap {gap}: motorcycle velocity error {v}");
    }
}

// Issue 8's tabletop target: every cup found with its centre within 1 cm (the gripper opens
// 0.085 m around a 0.07 m cup). Layout 0 is the one where two cups came out UNKNOWN and 2 cm
// off; in layout 3 the arm hides part of a cup. The offline pipeline over a 2 s bag (30 depth
// clouds, the stand-in arm holding still) is deterministic. README "Perception" has the
// figures over all 20 layouts.
#[test]
fn eval_table_finds_every_cup_within_a_centimetre() {
    for layout in [0, 3] {
        let dir = temp_dir(&format!("cups-{layout}"));
        record(
            "scenarios/arm/cups_to_tray.yaml",
            &[&format!("layout_seed={layout}"), "run_time_s=2"],
            &dir,
        );
        let r = eval_json(&dir);
        assert!(r["frames"].as_u64().unwrap() >= 29, "layout {layout}: {r}");
        let cups: Vec<_> = r["objects"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["class"] == "cup")
            .collect();
        assert_eq!(cups.len(), 3, "layout {layout}: {r}");
        for o in cups {
            let (seen, found) = (
                o["frames_visible"].as_u64().unwrap(),
                o["frames_matched"].as_u64().unwrap(),
            );
            // Found in 85 % of the frames: a track is confirmed by its third hit, so the first
            // two have no output, and a frame whose view of a cup leaves its centre uncertain
            // is left out.
            assert!(
                found as f64 >= 0.85 * seen as f64,
                "layout {layout}: cup {o}"
            );
            assert_eq!(
                o["frames_class_correct"], o["frames_matched"],
                "layout {layout}: {o}"
            );
            let max = o["position_error_m"]["max"].as_f64().unwrap();
            assert!(
                max < 0.01,
                "layout {layout}: cup {} off by {max} m",
                o["id"]
            );
        }
        // Nothing else (arm links, the tray) is reported near the truth or elsewhere.
        let outputs: u64 = r["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["outputs"].as_u64().unwrap() - c["outputs_matched"].as_u64().unwrap())
            .sum();
        assert_eq!(outputs, 0, "layout {layout}: unmatched outputs in {r}");
    }
}

#[test]
fn eval_rejects_a_bag_without_ground_truth() {
    let dir = temp_dir("no-truth");
    let mut w = embody_bag::BagWriter::create(&dir, embody_bag::WriterOptions::default()).unwrap();
    let id = w
        .add_known_topic(
            "/chatter",
            "std_msgs/msg/String",
            vec![embody::QosProfile::default()],
        )
        .unwrap();
    let msg = embody::msgs::std_msgs::msg::String { data: "hi".into() };
    w.write(id, 1, 1, &msg.to_cdr().unwrap()).unwrap();
    w.close().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_embody"))
        .args(["perception", "eval", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no /sim/ground_truth/objects in this bag")
            && err.contains("embody scenario run SCENARIO --bag DIR"),
        "{err}"
    );
}
