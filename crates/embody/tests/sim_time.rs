//! Simulation time: a node with `use_sim_time` follows `/clock` from another session, and its
//! timers fire on that clock, in lock-step with the ticks.

mod common;

use std::time::Duration;

use embody::{ClockKind, QosProfile, Time};
use embody_msgs::rosgraph_msgs::msg::Clock as ClockMsg;

use common::WAIT;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_follow_clock_from_another_session() {
    let (_router, ep) = common::router().await;
    let sim = common::context(&ep).await;
    let clock_pub = sim
        .create_node("sim")
        .await
        .unwrap()
        .create_publisher::<ClockMsg>("/clock", QosProfile::clock())
        .await
        .unwrap();

    // `--ros-args -p use_sim_time:=true`, as a launch file would pass it.
    let ctx = common::context_with_args(&ep, &["-p", "use_sim_time:=true"]).await;
    let node = ctx.create_node("planner").await.unwrap();
    assert_eq!(node.clock().kind(), ClockKind::Sim);
    assert_eq!(node.now(), Time::ZERO, "zero until the first tick");

    clock_pub.wait_for_remote_subscriber(WAIT).await.unwrap();
    let tick = |secs: f64| ClockMsg {
        clock: Time::from_secs_f64(secs).to_msg(),
    };
    clock_pub.publish(tick(5.0)).await.unwrap();
    tokio::time::timeout(WAIT, node.clock().sleep_until(Time::from_secs_f64(5.0)))
        .await
        .expect("clock reaches 5 s");
    assert_eq!(node.now(), Time::from_secs_f64(5.0));

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let _timer = node.create_timer(Duration::from_millis(100), move |e| {
        let _ = tx.send(e);
    });
    // Step the clock; the 10 Hz timer fires exactly when a tick reaches its next due time.
    for (t, fires) in [
        (5.05, None),
        (5.1, Some(5.1)),
        (5.15, None),
        (5.2, Some(5.2)),
        (5.5, Some(5.3)),
        (5.6, Some(5.6)),
    ] {
        clock_pub.publish(tick(t)).await.unwrap();
        tokio::time::timeout(WAIT, node.clock().sleep_until(Time::from_secs_f64(t)))
            .await
            .unwrap();
        match fires {
            Some(due) => {
                let e = tokio::time::timeout(WAIT, rx.recv())
                    .await
                    .expect("timer fires")
                    .unwrap();
                assert_eq!(e.expected, Time::from_secs_f64(due), "at clock {t}");
            }
            // Not due yet, and the clock stands still: it cannot fire now.
            None => assert!(rx.try_recv().is_err(), "fired early at clock {t}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameter_files_configure_nodes_and_their_clock() {
    let (_router, ep) = common::router().await;
    let dir = std::env::temp_dir().join(format!("embody-sim-params-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("planner.yaml");
    std::fs::write(&file, "/**:\n  ros__parameters:\n    use_sim_time: true\n/robot1/planner:\n  ros__parameters:\n    max_speed: 8.3\n").unwrap();
    let file_arg = file.display().to_string();
    let ctx = common::context_with_args(&ep, &["--params-file", &file_arg]).await;
    let node = ctx
        .create_node_with("planner", embody::NodeOptions::namespace("/robot1"))
        .await
        .unwrap();
    assert_eq!(node.clock().kind(), ClockKind::Sim);
    assert!(node.parameters().get_bool("use_sim_time").unwrap());
    let p = node
        .parameters()
        .declare(
            "max_speed",
            13.9,
            embody::params::ParameterDescriptor::new("m/s").range(0.0, 40.0),
        )
        .unwrap();
    assert_eq!(p, embody::params::ParameterValue::Double(8.3));
    // A wrong type in the file is an error naming the parameter and the file.
    std::fs::write(
        &file,
        "/**:\n  ros__parameters:\n    use_sim_time: sometimes\n",
    )
    .unwrap();
    let e = ctx
        .create_node("other")
        .await
        .err()
        .expect("bad use_sim_time is refused");
    assert_eq!(
        e.to_string(),
        format!(
            "parameter `use_sim_time` ({}): expected bool, got string",
            file.display()
        )
    );
}
