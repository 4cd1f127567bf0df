//! The replay harness: nodes under sim time fed from a bag in lock-step give the same outputs
//! run after run, timers driven by the bag's clock included, and differences from a golden bag
//! read as a diff.

use std::sync::Arc;
use std::time::Duration;

use embody::msgs::geometry_msgs::msg::{Vector3, Vector3Stamped};
use embody::msgs::sensor_msgs::msg::Imu;
use embody::msgs::std_msgs::msg::{Header, String as StringMsg};
use embody::qos::QosProfile;
use embody::{Context, ContextOptions, Node, NodeOptions, Router, Time, Timer};
use embody_bag::harness::{self, Output, Replay, ReplayOptions};
use embody_bag::{Bag, BagWriter, WriterOptions};
use embody_msgs::Message;

const T0: u64 = 1_700_000_000_000_000_000;
const IMU_PERIOD: u64 = 10_000_000; // 100 Hz

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("embody-replay-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// One second of IMU data accelerating at a known rate: x = 0.5 m/s² + 0.01·k.
fn write_input_bag(dir: &std::path::Path) {
    let mut w = BagWriter::create(dir, WriterOptions::default()).unwrap();
    let imu = w
        .add_known_topic(
            "/imu",
            "sensor_msgs/msg/Imu",
            vec![QosProfile::sensor_data()],
        )
        .unwrap();
    for k in 0..100u64 {
        let t = T0 + k * IMU_PERIOD;
        let m = Imu {
            header: Header {
                stamp: Time::from_nanos(t as i64).to_msg(),
                frame_id: "imu".into(),
            },
            linear_acceleration: Vector3 {
                x: 0.5 + 0.01 * k as f64,
                y: 0.0,
                z: 9.81,
            },
            ..Imu::default()
        };
        w.write(imu, t, t, &m.to_cdr().unwrap()).unwrap();
    }
    w.close().unwrap();
}

/// The node under test: integrates acceleration into velocity (stream-style subscription
/// in its own task, publishing stamped with sim time), and reports at 10 Hz from a sim-time
/// timer how many samples it has integrated.
struct Integrator {
    _task: tokio::task::JoinHandle<()>,
    _timer: Timer,
}

async fn start_integrator(ctx: &Context) -> Integrator {
    let node: Node = ctx
        .create_node_with("integrator", NodeOptions::default().use_sim_time(true))
        .await
        .unwrap();
    let sub = node
        .create_subscription::<Imu>("/imu", QosProfile::sensor_data())
        .await
        .unwrap();
    let velocity = node
        .create_publisher::<Vector3Stamped>("/velocity", QosProfile::default())
        .await
        .unwrap();
    let status = Arc::new(
        node.create_publisher::<StringMsg>("/status", QosProfile::default())
            .await
            .unwrap(),
    );
    let samples = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (n, s2) = (node.clone(), samples.clone());
    let task = tokio::spawn(async move {
        let mut v = 0.0;
        let mut last: Option<Time> = None;
        while let Some(m) = sub.recv().await {
            let t = Time::from_msg(&m.header.stamp);
            if let Some(l) = last {
                v += m.linear_acceleration.x * (t.nanos - l.nanos) as f64 * 1e-9;
            }
            last = Some(t);
            s2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            // A little asynchronous work between receiving and publishing.
            tokio::task::yield_now().await;
            let out = Vector3Stamped {
                header: Header {
                    stamp: n.now().to_msg(),
                    frame_id: "base_link".into(),
                },
                vector: Vector3 {
                    x: v,
                    y: 0.0,
                    z: 0.0,
                },
            };
            velocity.publish(out).await.unwrap();
        }
    });
    let n = node.clone();
    let timer = node.create_timer(Duration::from_millis(100), move |_| {
        let msg = StringMsg {
            data: format!(
                "{} samples at {}",
                samples.load(std::sync::atomic::Ordering::SeqCst),
                n.now().nanos
            ),
        };
        status.publish_now(msg).unwrap();
    });
    Integrator {
        _task: task,
        _timer: timer,
    }
}

/// One full replay in a fresh router, context and node.
async fn replay_once(bag: &Bag) -> Vec<Output> {
    let endpoint = format!("tcp/127.0.0.1:{}", embody_testkit::free_loopback_port());
    let _router = Router::start(std::slice::from_ref(&endpoint))
        .await
        .unwrap();
    let ctx = Context::with_options(ContextOptions::router(&endpoint))
        .await
        .unwrap();
    let _node = start_integrator(&ctx).await;
    let mut replay = Replay::new(&ctx).await.unwrap();
    replay
        .collect("/velocity", "geometry_msgs/msg/Vector3Stamped")
        .await
        .unwrap();
    replay
        .collect("/status", "std_msgs/msg/String")
        .await
        .unwrap();
    replay.run(bag, &ReplayOptions::default()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_is_lock_step_deterministic_and_drives_sim_time_timers() {
    let dir = temp_dir("input");
    write_input_bag(&dir);
    let bag = Bag::open(&dir).unwrap();

    let first = replay_once(&bag).await;
    let second = replay_once(&bag).await;
    assert_eq!(
        first,
        second,
        "{}",
        harness::diff(&first, &second).unwrap_or_default()
    );

    // One velocity per IMU sample, published at that sample's sim time and stamped with it.
    let velocities: Vec<&Output> = first.iter().filter(|o| o.topic == "/velocity").collect();
    assert_eq!(velocities.len(), 100);
    let mut v = 0.0;
    for (k, o) in velocities.iter().enumerate() {
        let t = T0 + k as u64 * IMU_PERIOD;
        assert_eq!(o.time, t);
        let m = Vector3Stamped::from_cdr(&o.data).unwrap();
        assert_eq!(Time::from_msg(&m.header.stamp).nanos as u64, t);
        if k > 0 {
            v += (0.5 + 0.01 * k as f64) * 0.01;
        }
        assert!(
            (m.vector.x - v).abs() < 1e-12,
            "sample {k}: {} vs {v}",
            m.vector.x
        );
    }
    // The 10 Hz timer fires once when the clock jumps to the bag's start, then on its grid
    // up to the last sample (0.99 s): 10 reports, each after that step's sample was handled.
    let status: Vec<(u64, String)> = first
        .iter()
        .filter(|o| o.topic == "/status")
        .map(|o| (o.time, StringMsg::from_cdr(&o.data).unwrap().data))
        .collect();
    let expected: Vec<(u64, String)> = (0..10u64)
        .map(|k| {
            let t = T0 + k * 100_000_000;
            // The clock moves before the message at t is fed, so the timer sees the samples
            // before t.
            (t, format!("{} samples at {t}", k * 10))
        })
        .collect();
    assert_eq!(status, expected);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_bags_round_trip_and_differences_read_as_a_diff() {
    let dir = temp_dir("golden-input");
    write_input_bag(&dir);
    let bag = Bag::open(&dir).unwrap();
    let outputs = replay_once(&bag).await;
    let golden = temp_dir("golden");
    harness::write_bag(&outputs, &golden).unwrap();
    harness::assert_matches_golden(&outputs, &golden).unwrap();

    let mut changed = outputs.clone();
    let i = changed.iter().position(|o| o.topic == "/velocity").unwrap() + 5;
    let mut m = Vector3Stamped::from_cdr(&changed[i].data).unwrap();
    m.vector.x += 1.0;
    changed[i].data = m.to_cdr().unwrap().into();
    changed.pop();
    let err = harness::assert_matches_golden(&changed, &golden)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("first difference at output #{i}")),
        "{err}"
    );
    assert!(err.contains("vector:"), "{err}");
    assert!(err.contains("EMBODY_UPDATE_GOLDEN=1"), "{err}");
    assert!(
        err.contains(&format!(
            "{} expected, {} actual",
            outputs.len(),
            changed.len()
        )),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&golden);
}
