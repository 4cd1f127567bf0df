//! The manipulation node picks a cup, named by the pixel it shows at in the depth camera's
//! image, and places it in the tray of the simulator's arm world, over zenoh: the sim arm node, the arm control node and the manipulation node in-process, a
//! PickPlace client in a session of its own.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use embody::msgs::embody_msgs::action::{PickPlace, PickPlace_Goal};
use embody::msgs::embody_msgs::msg::{ObjectClassification, PredictedObjects};
use embody::msgs::embody_msgs::srv::{MoveTo, MoveTo_Request};
use embody::qos::QosProfile;
use embody::{Context, ContextOptions, NodeOptions, Router};
use embody_manipulation::node::{Block, NodeConfig, run};
use embody_sim::arm_node::{ArmNodeOptions, run_arm_node};
use embody_sim::scenario::{WorldRun, load_runs};
use nalgebra::{Isometry3, Translation3, UnitQuaternion};
use tokio::sync::watch;

fn config(root: &Path) -> NodeConfig {
    // The geometry of scenarios/arm/cups_to_tray.yaml.
    NodeConfig {
        urdf: root.join("nodes/manipulation/tests/data/robots/ur5/ur5_robot.urdf"),
        base_link: "base_link".into(),
        tip_link: "tool0".into(),
        tcp_offset: 0.15,
        gripper_open: 0.085,
        base_pose: Isometry3::from_parts(
            Translation3::new(0.0, 0.0, 0.75),
            UnitQuaternion::identity(),
        ),
        table: Block {
            x: 0.35,
            y: 0.0,
            length: 1.0,
            width: 1.4,
            height: 0.75,
        },
        tray: Block {
            x: 0.0,
            y: 0.45,
            length: 0.30,
            width: 0.22,
            height: 0.05,
        },
        tray_thickness: 0.01,
        objects_topic: "sim/ground_truth/objects".into(),
        camera_info_topic: "camera/depth/camera_info".into(),
        velocity_scale: 0.5,
        goal_tolerance: 0.01,
        settle_timeout_s: 3.0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_puts_a_cup_into_the_tray() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let set = [
        ("layout_seed".to_string(), "0".to_string()),
        ("run_time_s".to_string(), "40".to_string()),
    ];
    let path = root.join("scenarios/arm/cups_to_tray.yaml");
    let Some(WorldRun::Arm(run_spec)) = load_runs(&path, &set).unwrap().into_iter().next() else {
        panic!("an arm run")
    };
    let home = run_spec.scenario.arm.initial_positions.clone().unwrap();
    // Ground truth is the objects input; the camera's intrinsics and pose let the goal name
    // the cup by a pixel, as an external model pointing at it in the image would.
    let camera = run_spec
        .scenario
        .camera
        .expect("the scenario's depth camera");

    let ep = format!("tcp/127.0.0.1:{}", embody_testkit::free_loopback_port());
    let _router = Router::start(std::slice::from_ref(&ep)).await.unwrap();
    let manip_ctx = Context::with_options(ContextOptions::router(&ep))
        .await
        .unwrap();
    let manip = manip_ctx
        .create_node_with("manipulation", NodeOptions::default())
        .await
        .unwrap();
    let manip_task = tokio::spawn(run(manip, config(root)));
    let control = manip_ctx
        .create_node_with("arm_control", NodeOptions::default())
        .await
        .unwrap();
    let control_config = embody_control::arm_node::ArmNodeConfig {
        joints: Vec::new(),
        controller: embody_control::arm::ArmControllerParams::default(),
    };
    let control_task = tokio::spawn(embody_control::arm_node::run(control, control_config));

    let client_ctx = Context::with_options(ContextOptions::router(&ep))
        .await
        .unwrap();
    let client_node = client_ctx.create_node("client").await.unwrap();
    let client = client_node
        .create_action_client::<PickPlace>("manipulation/pick_place")
        .await
        .unwrap();
    client
        .wait_for_server(Duration::from_secs(30))
        .await
        .unwrap();
    let (tx, mut objects) = watch::channel(None::<PredictedObjects>);
    let _sub = client_node
        .create_subscription_with::<PredictedObjects, _>(
            "sim/ground_truth/objects",
            QosProfile::keep_last(2),
            move |o: Arc<PredictedObjects>| {
                tx.send_replace(Some((*o).clone()));
            },
        )
        .await
        .unwrap();

    // The controller creates its publisher last: once it shows, it hears the first frame.
    let graph = client_ctx.graph().await.unwrap();
    graph
        .wait_until(Duration::from_secs(30), |g| {
            !g.endpoints("/joint_commands", embody::wire::EntityKind::Publisher)
                .is_empty()
        })
        .await
        .expect("the arm controller publishes joint_commands");
    let sim_ctx = Context::with_options(ContextOptions::router(&ep))
        .await
        .unwrap();
    let sim = sim_ctx.create_node("sim").await.unwrap();
    // Twice real time: the node still has the time to plan between sim frames. Lock-step
    // with the arm controller, so every joint state is answered on time.
    let timing = ArmNodeOptions {
        realtime_factor: Some(2.0),
        lockstep: Some(Duration::from_secs(30)),
        builtin_controller: false,
    };
    let sim_task = tokio::spawn(async move { run_arm_node(&sim, &run_spec, timing).await });

    let first = tokio::time::timeout(Duration::from_secs(30), objects.wait_for(|o| o.is_some()))
        .await
        .expect("ground truth within 30 s")
        .unwrap()
        .clone()
        .unwrap();
    let cup = first
        .objects
        .iter()
        .find(|o| o.classification.first().map(|c| c.label) == Some(ObjectClassification::CUP))
        .expect("a cup")
        .clone();
    let mut goal = PickPlace_Goal {
        object_id: cup.object_id,
        ..Default::default()
    };
    goal.place_pose.header.frame_id = "world".into();
    goal.place_pose.pose.position.x = 0.0;
    goal.place_pose.pose.position.y = 0.45;
    // The cup's centre on the tray floor: table 0.75, floor 0.01, half the cup's height.
    goal.place_pose.pose.position.z = 0.75 + 0.01 + 0.5 * cup.dimensions.z;
    goal.place_pose.pose.orientation.w = 1.0;
    // The pixel the cup's centre shows at: f = (w/2) / tan(fov/2), pixel centres at whole
    // coordinates (the principal point half a pixel before the image centre).
    let centre = nalgebra::Point3::new(
        cup.pose.position.x,
        cup.pose.position.y,
        cup.pose.position.z,
    );
    let in_camera = camera.pose.inverse() * centre;
    let f = f64::from(camera.width) / 2.0 / (camera.horizontal_fov / 2.0).tan();
    let pixel_goal = PickPlace_Goal {
        object_id: 0,
        use_pixel: true,
        pixel_u: f * in_camera.x / in_camera.z + f64::from(camera.width) / 2.0 - 0.5,
        pixel_v: f * in_camera.y / in_camera.z + f64::from(camera.height) / 2.0 - 0.5,
        ..goal.clone()
    };
    assert!(pixel_goal.pixel_u > 0.0 && pixel_goal.pixel_u < f64::from(camera.width));
    assert!(pixel_goal.pixel_v > 0.0 && pixel_goal.pixel_v < f64::from(camera.height));
    // A goal naming no object fails at once and says where. The node may not have its first
    // joint state ("start") or objects message ("scene") yet: then ask again, until a deadline.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let refused = loop {
        let missing = PickPlace_Goal {
            object_id: 999,
            ..goal.clone()
        };
        let bad = client
            .send_goal(missing, Duration::from_secs(10))
            .await
            .unwrap()
            .expect("accepted");
        let (_status, refused) = client
            .get_result(&bad, Duration::from_secs(30))
            .await
            .unwrap();
        let waiting = refused.phase == "scene" || refused.phase == "start";
        if !waiting || tokio::time::Instant::now() > deadline {
            break refused;
        }
        // The objects arrive at 50 Hz of sim time: wait for the next one the client sees.
        objects.mark_unchanged();
        let _ = tokio::time::timeout(Duration::from_secs(5), objects.changed()).await;
    };
    assert!(!refused.success);
    assert_eq!(refused.phase, "select object", "{refused:?}");
    assert!(refused.reason.contains("no object 999"), "{refused:?}");

    let id = client
        .send_goal(pixel_goal, Duration::from_secs(10))
        .await
        .unwrap()
        .expect("accepted");
    let (_status, result) = client
        .get_result(&id, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        result.success,
        "failed in {}: {}",
        result.phase, result.reason
    );

    // A single move back to the start pose through manipulation/move_to, then a goal of the
    // wrong length, refused with the joint names.
    let mover = client_node
        .create_client::<MoveTo>("manipulation/move_to")
        .await
        .unwrap();
    let back = mover
        .call(
            &MoveTo_Request {
                joint_goal: home.clone(),
                ..Default::default()
            },
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert!(back.success, "{back:?}");
    assert!(back.duration > 0.5, "{back:?}");
    let short = mover
        .call(
            &MoveTo_Request {
                joint_goal: vec![0.0; 2],
                ..Default::default()
            },
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert!(
        !short.success && short.reason.contains("shoulder_pan_joint"),
        "{short:?}"
    );

    let report = sim_task.await.unwrap().unwrap();
    let q = &report.final_positions;
    for (a, b) in q.iter().zip(&home) {
        assert!((a - b).abs() < 0.02, "back home: {q:?} vs {home:?}");
    }
    manip_task.abort();
    control_task.abort();
    let after = objects.borrow().clone().unwrap();
    let placed = after
        .objects
        .iter()
        .find(|o| o.object_id == cup.object_id)
        .unwrap();
    let p = &placed.pose.position;
    let g = &goal.place_pose.pose.position;
    let error = ((p.x - g.x).powi(2) + (p.y - g.y).powi(2) + (p.z - g.z).powi(2)).sqrt();
    eprintln!(
        "placed {} of {}; error {error:.4} m (node: {:.4} m); {:.1} s of sim time",
        report.result.objects_placed,
        report.result.objects_to_place,
        result.placement_error,
        report.result.sim_time_s
    );
    // The cup the pixel showed is the one at the place pose, in the tray.
    assert!(
        error < 0.01,
        "cup at {p:?}, {error} m from the place pose; {report:?}"
    );
    assert_eq!(report.result.objects_placed, 1, "{report:?}");
    assert_eq!(report.result.arm_collisions, 0, "{report:?}");
}
