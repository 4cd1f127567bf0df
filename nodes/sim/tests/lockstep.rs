//! The simulator node in lock-step with a controller in another zenoh session: every frame is
//! answered before the world moves on, so a run is deterministic; a silent stack is an error.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use embody::msgs::ackermann_msgs::msg::{AckermannDrive, AckermannDriveStamped};
use embody::msgs::nav_msgs::msg::Odometry;
use embody::qos::{History, QosProfile};
use embody::{Context, ContextOptions, NodeOptions, Router, Time};
use embody_sim::node::{Control, run_node};
use embody_sim::scenario::{Scenario, ScenarioRun};

fn ccrs_at_50() -> ScenarioRun {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/ncap/ccrs.yaml");
    let set = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    let mut runs = Scenario::load(
        &path,
        &[set("ego_speed_kmh", "50"), set("impact_percent", "50")],
    )
    .unwrap();
    assert_eq!(runs.len(), 1);
    runs.remove(0)
}

/// A controller that holds 50 km/h and brakes at 8 m/s² from 0.5 s of sim time on, answering
/// each odometry frame with a command carrying that frame's stamp.
async fn start_controller(ep: &str) -> (Context, embody::Subscription<Odometry>) {
    let ctx = Context::with_options(ContextOptions::router(ep))
        .await
        .unwrap();
    let node = ctx
        .create_node_with("controller", NodeOptions::default().use_sim_time(true))
        .await
        .unwrap();
    let commands = Arc::new(
        node.create_publisher::<AckermannDriveStamped>(
            "control/command",
            QosProfile::default().history(History::KeepAll),
        )
        .await
        .unwrap(),
    );
    let sub = node
        .create_subscription_with::<Odometry, _>(
            "localization/odometry",
            QosProfile::default().history(History::KeepAll),
            move |odom: Arc<Odometry>| {
                let t = Time::from_msg(&odom.header.stamp);
                let braking = t.nanos >= 500_000_000;
                let msg = AckermannDriveStamped {
                    header: odom.header.clone(),
                    drive: AckermannDrive {
                        speed: if braking { 0.0 } else { 50.0 / 3.6 },
                        acceleration: if braking { -8.0 } else { 0.0 },
                        ..AckermannDrive::default()
                    },
                };
                commands.publish_now(msg).unwrap();
            },
        )
        .await
        .unwrap();
    // The caller keeps the subscription (and so the callback) alive.
    (ctx, sub)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_in_another_session_drives_the_ego_in_lock_step_deterministically() {
    let run = ccrs_at_50();
    let mut results = Vec::new();
    for _ in 0..2 {
        let ep = format!("tcp/127.0.0.1:{}", embody_testkit::free_loopback_port());
        let _router = Router::start(std::slice::from_ref(&ep)).await.unwrap();
        let (_controller_ctx, _keep) = start_controller(&ep).await;
        let ctx = Context::with_options(ContextOptions::router(&ep))
            .await
            .unwrap();
        let sim = ctx.create_node("sim").await.unwrap();
        // Both sides must see each other before the first frame goes out.
        let g = ctx.graph().await.unwrap();
        g.wait_until(Duration::from_secs(20), |g| {
            !g.endpoints(
                "/localization/odometry",
                embody::wire::EntityKind::Subscription,
            )
            .is_empty()
        })
        .await
        .unwrap();
        let (result, answered) = run_node(
            &sim,
            &run,
            Control::LockStep {
                timeout: Duration::from_secs(20),
                realtime_factor: None,
            },
        )
        .await
        .unwrap();
        results.push((result, answered));
    }
    let (r, answered) = &results[0];
    // The results repeat; the latencies inside the reports are wall times and do not.
    assert!(
        results[0].0 == results[1].0,
        "same scenario, same stack, same result"
    );
    assert_eq!(results[0].1.answered, results[1].1.answered);
    // Braking at 0.5 s from 13.9 m/s at 8 m/s² stops well before the target 55.6 m ahead.
    assert!(!r.collision && r.passed, "{r:?}");
    assert!((r.max_decel - 8.0).abs() < 0.1, "{r:?}");
    // Gap left: 55.6 − 6.94 (0.5 s) − 12.06 (v²/2a) − ~1.4 (brake lag 0.1 s) ≈ 35 m.
    assert!((r.min_gap_m - 35.2).abs() < 1.0, "{r:?}");
    // Every frame (50 Hz over the whole duration) was answered.
    let frames = (r.sim_time_s / 0.02).round() as u64;
    assert_eq!(answered.answered, frames, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_stack_ends_the_run_with_a_clear_error() {
    let ep = format!("tcp/127.0.0.1:{}", embody_testkit::free_loopback_port());
    let _router = Router::start(std::slice::from_ref(&ep)).await.unwrap();
    let ctx = Context::with_options(ContextOptions::router(&ep))
        .await
        .unwrap();
    let sim = ctx.create_node("sim").await.unwrap();
    let err = run_node(
        &sim,
        &ccrs_at_50(),
        Control::LockStep {
            timeout: Duration::from_millis(200),
            realtime_factor: None,
        },
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("ccrs.yaml") && err.contains("no control/command stamped 0.000 s"),
        "{err}"
    );
}
