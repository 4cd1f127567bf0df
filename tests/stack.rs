//! The whole vehicle stack (perception → planning → control) drives the simulator's ego in
//! lock-step through a few representative scenario cases: a braking case, an obstructed child
//! with traffic in front and behind, and an evasion at speed. Each must end without a
//! collision of the ego and without other road users colliding.

use std::process::Command;

/// Runs one fully fixed case of `scenario` under `launch/vehicle.launch.yaml` and returns its
/// JSON row.
fn run_case(scenario: &str, set: &[&str]) -> serde_json::Value {
    let json = std::env::temp_dir().join(format!(
        "embody-stack-{}-{}.json",
        std::process::id(),
        scenario.replace('/', "_")
    ));
    let mut args = vec!["scenario", "run", scenario];
    for s in set {
        args.extend(["--set", s]);
    }
    let json_arg = json.to_string_lossy().into_owned();
    args.extend([
        "--stack",
        "launch/vehicle.launch.yaml",
        "--json",
        json_arg.as_str(),
    ]);
    let out = Command::new(env!("CARGO_BIN_EXE_embody"))
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run embody");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let text = std::fs::read_to_string(&json)
        .unwrap_or_else(|e| panic!("{scenario}: no JSON rows ({e}); stderr: {stderr}"));
    let _ = std::fs::remove_file(&json);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text).expect("JSON rows");
    assert_eq!(
        rows.len(),
        1,
        "{scenario} {set:?}: one case expected: {text}"
    );
    let row = rows.into_iter().next().expect("one row");
    assert!(
        row.get("error").is_none(),
        "{scenario} {set:?}: the stack failed: {row}"
    );
    row
}

fn assert_no_collision(row: &serde_json::Value) {
    assert_eq!(row["collision"], false, "ego collision: {row}");
    assert_eq!(
        row["other_collisions"], 0,
        "other road users collided: {row}"
    );
}

#[test]
fn the_stack_brakes_for_a_stationary_car() {
    let row = run_case(
        "scenarios/ncap/ccrs.yaml",
        &["ego_speed_kmh=30", "impact_percent=50"],
    );
    assert_no_collision(&row);
}

#[test]
fn the_stack_avoids_a_child_behind_parked_cars_with_a_close_follower() {
    let row = run_case(
        "scenarios/compound/child_behind_parked_cars.yaml",
        &[
            "ego_speed_kmh=30",
            "follower_headway_s=0.8",
            "lead_gap_m=30",
        ],
    );
    assert_no_collision(&row);
    assert!(
        row["evasive_manoeuvres"].as_u64().is_some_and(|n| n <= 2),
        "{row}"
    );
}

#[test]
fn the_stack_evades_a_crashed_car_at_speed() {
    let row = run_case(
        "scenarios/compound/double_evasion.yaml",
        &["ego_speed_kmh=60", "spacing_m=40", "offset_m=1.8"],
    );
    assert_no_collision(&row);
}
