//! `embody scenario run` on arm scenarios: the row and JSON fields of the arm world, the
//! `--plot` picture, `--bag` recording the arm's topics the same way twice, and `--realtime`
//! refused without a stack.

use std::process::Command;

fn embody(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_embody"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run embody");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One layout of the shipped arm scenario, 2 s long, plus `extra`.
fn cups(extra: &[&str]) -> (bool, String, String) {
    let mut args = vec![
        "scenario",
        "run",
        "scenarios/arm/cups_to_tray.yaml",
        "--set",
        "layout_seed=4",
        "--set",
        "run_time_s=2",
    ];
    args.extend_from_slice(extra);
    embody(&args)
}

#[test]
fn an_arm_run_prints_its_row_and_writes_the_arm_fields() {
    let json =
        std::env::temp_dir().join(format!("embody-arm-scenario-{}.json", std::process::id()));
    let plots = std::env::temp_dir().join(format!("embody-arm-plots-{}", std::process::id()));
    let (ok, out, err) = cups(&[
        "--json",
        json.to_str().unwrap(),
        "--plot",
        plots.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    // The table from above at the start and the end: each cup in both panels, none moved
    // (no dashed outline of a start position).
    let svg = std::fs::read_to_string(plots.join("cups_to_tray_0.svg")).expect("the plot");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for cup in ["cup_red", "cup_green", "cup_blue"] {
        assert_eq!(svg.matches(&format!(">{cup}<")).count(), 2, "{cup}");
    }
    assert_eq!(
        svg.matches("<circle").count(),
        2 * (3 + 1),
        "cups and the base"
    );
    assert!(!svg.contains("stroke-dasharray"));
    let _ = std::fs::remove_dir_all(&plots);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].contains("placed") && lines[0].contains("collisions"),
        "{out}"
    );
    assert!(
        lines[1].starts_with("cups_to_tray") && lines[1].contains("0/3"),
        "{out}"
    );
    assert!(
        err.contains("0/1 runs passed") && err.contains("holds still"),
        "{err}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let r = &v[0];
    // The stand-in driver holds still: nothing placed, nothing touched, no limit asked for.
    assert_eq!(r["world"], "arm");
    assert_eq!(r["objects_placed"], 0);
    assert_eq!(r["objects_to_place"], 3);
    assert!(r["placement_error_m"].as_f64().unwrap() > 0.1, "{r}");
    assert_eq!(r["arm_collisions"], 0);
    assert_eq!(r["limit_violations"], 0);
    assert_eq!(r["passed"], false);
    assert_eq!(r["sim_time_s"], 2.0);
    // 15 Hz over 2 s, the first frame at 0.
    assert_eq!(r["depth_frames"], 30);
    assert_eq!(r["params"]["layout_seed"], 4.0);
    let _ = std::fs::remove_file(json);
}

#[test]
fn an_arm_run_records_the_arm_topics_identically_twice() {
    let base = std::env::temp_dir().join(format!("embody-arm-bags-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let mut bags = Vec::new();
    for n in 0..2 {
        let dir = base.join(format!("run{n}"));
        let (ok, _, err) = cups(&["--bag", dir.to_str().unwrap()]);
        assert!(ok, "{err}");
        let bag = embody_bag::Bag::open(&dir).unwrap();
        let messages: Vec<(String, String, u64, Vec<u8>)> = bag
            .messages(None)
            .map(|m| {
                let m = m.unwrap();
                let c = &bag.connections[m.connection];
                (
                    c.topic.clone(),
                    c.type_name.clone(),
                    m.log_time,
                    m.data.to_vec(),
                )
            })
            .collect();
        bags.push(messages);
    }
    assert!(bags[0] == bags[1], "the two recordings differ");
    let count = |t: &str| bags[0].iter().filter(|m| m.0 == t).count();
    let type_of = |t: &str| {
        bags[0]
            .iter()
            .find(|m| m.0 == t)
            .map(|m| m.1.clone())
            .unwrap_or_default()
    };
    // 50 Hz joint states, TF and ground truth over 2 s; 15 Hz depth; the static TF once.
    assert_eq!(count("/joint_states"), 100);
    assert_eq!(count("/tf"), 100);
    assert_eq!(count("/sim/ground_truth/objects"), 100);
    assert_eq!(count("/camera/depth/points"), 30);
    assert_eq!(count("/tf_static"), 1);
    assert_eq!(type_of("/joint_states"), "sensor_msgs/msg/JointState");
    assert_eq!(
        type_of("/camera/depth/points"),
        "sensor_msgs/msg/PointCloud2"
    );
    assert_eq!(
        type_of("/sim/ground_truth/objects"),
        "embody_msgs/msg/PredictedObjects"
    );
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn realtime_without_a_stack_is_refused() {
    let (ok, _, err) = cups(&["--realtime"]);
    assert!(!ok);
    assert!(err.contains("--realtime paces a --stack run"), "{err}");
    let (ok, _, err) = cups(&[
        "--realtime",
        "0",
        "--stack",
        "launch/arm_ground_truth.launch.yaml",
    ]);
    assert!(!ok);
    assert!(err.contains("must be a positive number"), "{err}");
}
