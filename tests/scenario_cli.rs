//! `embody scenario run` as users run it: rows, JSON with the documented fields, `--set`, and
//! errors that name the file and the field.

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

/// `embody scenario run` of the one CCRs run at 30 km/h and 50 % overlap, plus `extra`.
fn ccrs_at_30(extra: &[&str]) -> (bool, String, String) {
    let mut args = vec![
        "scenario",
        "run",
        "scenarios/ncap/ccrs.yaml",
        "--set",
        "ego_speed_kmh=30",
        "--set",
        "impact_percent=50",
    ];
    args.extend_from_slice(extra);
    embody(&args)
}

#[test]
fn a_run_prints_a_row_and_writes_the_documented_json_fields() {
    let json = std::env::temp_dir().join(format!("embody-scenario-{}.json", std::process::id()));
    let (ok, out, err) = ccrs_at_30(&["--json", json.to_str().unwrap()]);
    assert!(ok, "{err}");
    let rows: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{out}");
    assert!(
        rows[0].starts_with("ccrs") && rows[0].contains("collision"),
        "{out}"
    );
    assert!(err.contains("0/1 runs passed"), "{err}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let r = &v[0];
    for field in [
        "scenario",
        "params",
        "collision",
        "impact_speed_kmh",
        "min_gap_m",
        "evasive_manoeuvres",
        "max_lat_accel",
        "max_decel",
        "max_rear_slip_deg",
        "other_collisions",
    ] {
        assert!(r.get(field).is_some(), "{field} missing: {r}");
    }
    // The stand-in driver does not brake: it hits the stationary target at its set speed.
    assert_eq!(r["collision"], true);
    assert!(
        (r["impact_speed_kmh"].as_f64().unwrap() - 30.0).abs() < 0.5,
        "{r}"
    );
    assert_eq!(r["params"]["ego_speed_kmh"], 30.0);
    let _ = std::fs::remove_file(json);
}

#[test]
fn bad_scenarios_and_overrides_name_the_file_and_the_field() {
    let dir = std::env::temp_dir().join(format!("embody-scenario-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.yaml");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/ncap/ccrs.yaml"
    ))
    .unwrap()
    .replace("kind: car", "kind: spaceship");
    std::fs::write(&bad, text).unwrap();
    let (ok, _, err) = embody(&["scenario", "run", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("bad.yaml") && err.contains("actors[0].kind") && err.contains("spaceship"),
        "{err}"
    );
    let (ok, _, err) = embody(&[
        "scenario",
        "run",
        "scenarios/ncap/ccrs.yaml",
        "--set",
        "ego_speeed_kmh=3",
    ]);
    assert!(!ok);
    assert!(
        err.contains("ego_speeed_kmh") && err.contains("ego_speed_kmh"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_same_scenario_twice_records_identical_bags() {
    let base = std::env::temp_dir().join(format!("embody-scenario-bags-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let mut bags = Vec::new();
    for n in 0..2 {
        let dir = base.join(format!("run{n}"));
        let (ok, _, err) = embody(&[
            "scenario",
            "run",
            "scenarios/compound/child_behind_parked_cars.yaml",
            "--set",
            "ego_speed_kmh=40",
            "--set",
            "follower_headway_s=0.8",
            "--set",
            "lead_gap_m=30",
            "--bag",
            dir.to_str().unwrap(),
        ]);
        assert!(ok, "{err}");
        let bag = embody_bag::Bag::open(&dir).unwrap();
        let messages: Vec<(String, u64, Vec<u8>)> = bag
            .messages(None)
            .map(|m| {
                let m = m.unwrap();
                (
                    bag.connections[m.connection].topic.clone(),
                    m.log_time,
                    m.data.to_vec(),
                )
            })
            .collect();
        bags.push(messages);
    }
    assert_eq!(bags[0].len(), bags[1].len());
    assert!(bags[0] == bags[1], "the two recordings differ");
    // What a perception test needs is there: clouds at 10 Hz, ground truth, the lane map.
    let count = |t: &str| bags[0].iter().filter(|m| m.0 == t).count();
    assert!(
        count("/sensing/lidar/points") >= 10,
        "{}",
        count("/sensing/lidar/points")
    );
    assert_eq!(count("/map/lanes"), 1);
    assert_eq!(count("/sim/ground_truth/objects"), count("/clock"));
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn a_stack_from_a_launch_file_drives_the_ego_in_lock_step() {
    let json =
        std::env::temp_dir().join(format!("embody-scenario-stack-{}.json", std::process::id()));
    let bag =
        std::env::temp_dir().join(format!("embody-scenario-stack-bag-{}", std::process::id()));
    let (ok, out, err) = ccrs_at_30(&[
        "--stack",
        "launch/follow_lane.launch.yaml",
        "--json",
        json.to_str().unwrap(),
        "--bag",
        bag.to_str().unwrap(),
    ]);
    assert!(ok, "{out}\n{err}");
    // The bag holds the simulator's topics and the stack's, all at sim time.
    let reader = embody_bag::Bag::open(&bag).expect("the bag");
    let of = |topic: &str| -> Vec<u64> {
        let ids = reader.select(&[topic.to_string()]);
        reader
            .messages(Some(&ids))
            .map(|m| m.expect("readable").log_time)
            .collect()
    };
    let odometry = of("/localization/odometry");
    let commands = of("/control/command");
    assert!(odometry.len() > 150, "{} odometry frames", odometry.len());
    // The last command may still be on its way when the run ends.
    assert!(
        commands.len() + 1 >= odometry.len() && commands.len() <= odometry.len(),
        "{} commands for {} frames",
        commands.len(),
        odometry.len()
    );
    assert_eq!(odometry[0], 0);
    // Written at the frame it answered (or, should the recorder hear it a moment after the
    // simulator did, the next one).
    for (k, (c, o)) in commands.iter().zip(&odometry).enumerate() {
        assert!(
            *c == *o || *c == *o + 20_000_000,
            "command {k} at {c} for the frame at {o}"
        );
    }
    let _ = std::fs::remove_dir_all(&bag);
    assert!(
        err.contains("driven by the stack of launch/follow_lane.launch.yaml in lock-step"),
        "{err}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    // The lane follower holds 30 km/h and does not brake: it meets the target when the
    // stand-in driver does (30 m gap at 8.33 m/s, ≈ 3.6 s + the ego front offset).
    let r = &v[0];
    assert_eq!(r["collision"], true, "{r}");
    assert!(
        (r["impact_speed_kmh"].as_f64().unwrap() - 30.0).abs() < 0.1,
        "{r}"
    );
    // The stand-in driver alone, into its own file (a failed run must not compare stale rows).
    let alone_json = json.with_extension("alone.json");
    let (ok, _, err) = ccrs_at_30(&["--json", alone_json.to_str().unwrap()]);
    assert!(ok, "{err}");
    let alone: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&alone_json).unwrap()).unwrap();
    assert!(
        (alone[0]["sim_time_s"].as_f64().unwrap() - r["sim_time_s"].as_f64().unwrap()).abs()
            < 0.021,
        "stack {r} vs stand-in {}",
        alone[0]
    );
    let _ = std::fs::remove_file(json);
    let _ = std::fs::remove_file(alone_json);
}
