//! TF across sessions: a latched static broadcaster joined late, a dynamic broadcaster, and
//! a listener that waits for what it needs.

mod common;

use std::time::Duration;

use embody::Time;
use embody::tf::{
    StaticTransformBroadcaster, TfError, TransformBroadcaster, TransformListener,
    transform_stamped, yaw,
};
use nalgebra::{Isometry3, Point3, Translation3, Vector3};

use common::WAIT;

fn pose(x: f64, y: f64, heading: f64) -> Isometry3<f64> {
    Isometry3::from_parts(Translation3::new(x, y, 0.0), yaw(heading))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_follows_static_and_dynamic_broadcasters() {
    let (_router, ep) = common::router().await;
    let robot = common::context(&ep).await;
    let node = robot.create_node("state_publisher").await.unwrap();
    let statics = StaticTransformBroadcaster::new(&node).await.unwrap();
    statics
        .send(vec![transform_stamped(
            "map",
            "odom",
            Time::ZERO,
            &pose(100.0, 0.0, 0.0),
        )])
        .await
        .unwrap();
    statics
        .send(vec![transform_stamped(
            "base_link",
            "lidar",
            Time::ZERO,
            &pose(1.5, 0.0, 0.0),
        )])
        .await
        .unwrap();

    // The listener joins after the static transforms were sent: both come from the one
    // latched message.
    let viewer = common::context(&ep).await;
    let listener = TransformListener::new(&viewer.create_node("viewer").await.unwrap())
        .await
        .unwrap();
    let (t, _) = listener
        .wait_for_transform("map", "odom", Time::ZERO, WAIT)
        .await
        .expect("static map->odom arrives");
    assert!((t.translation.vector - Vector3::new(100.0, 0.0, 0.0)).norm() < 1e-12);
    let e = listener
        .wait_for_transform("map", "lidar", Time::ZERO, Duration::from_millis(50))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        TfError::Unconnected {
            target: "map".into(),
            from: "lidar".into()
        },
        "base_link is not linked to odom yet"
    );

    let dynamic = TransformBroadcaster::new(&node).await.unwrap();
    dynamic.publisher_ready(WAIT).await.unwrap();
    for (secs, x, heading) in [(1.0, 0.0, 0.0), (2.0, 10.0, std::f64::consts::FRAC_PI_2)] {
        dynamic
            .send(vec![transform_stamped(
                "odom",
                "base_link",
                Time::from_secs_f64(secs),
                &pose(x, 0.0, heading),
            )])
            .await
            .unwrap();
    }
    let (t, stamp) = listener
        .wait_for_transform("map", "lidar", Time::from_secs_f64(2.0), WAIT)
        .await
        .unwrap();
    assert_eq!(stamp, Time::from_secs_f64(2.0));
    let p = t * Point3::origin();
    assert!(
        (p.coords - Vector3::new(110.0, 1.5, 0.0)).norm() < 1e-9,
        "{p}"
    );
    let (mid, _) = listener
        .lookup_transform("map", "base_link", Time::from_secs_f64(1.5))
        .unwrap();
    assert!((mid.translation.vector.x - 105.0).abs() < 1e-9);
    assert!((mid.rotation.angle() - std::f64::consts::FRAC_PI_4).abs() < 1e-12);
}
