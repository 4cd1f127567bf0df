//! The whole arm stack from `launch/arm.launch.yaml` (perception in table mode on the depth
//! camera, manipulation, arm control, the tabletop task) puts the three cups of
//! `scenarios/arm/cups_to_tray.yaml` into the tray through `embody scenario run --stack`: the
//! simulator in lock-step with the arm controller, paced at real time because the
//! manipulation node plans in wall time.

use std::process::Command;

#[test]
fn the_arm_stack_puts_three_cups_into_the_tray() {
    let json = std::env::temp_dir().join(format!("embody-arm-stack-{}.json", std::process::id()));
    let plots = std::env::temp_dir().join(format!("embody-arm-stack-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_embody"))
        .args([
            "scenario",
            "run",
            "scenarios/arm/cups_to_tray.yaml",
            "--set",
            "layout_seed=0",
            // Sim time to spare for a debug build planning on a loaded machine: the three
            // picks take about 26 s of it in a release build.
            "--set",
            "run_time_s=45",
            "--stack",
            "launch/arm.launch.yaml",
            "--realtime",
            "--plot",
        ])
        .arg(&plots)
        .arg("--json")
        .arg(&json)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run embody");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let text = std::fs::read_to_string(&json)
        .unwrap_or_else(|e| panic!("no JSON rows ({e}); stderr: {stderr}"));
    let _ = std::fs::remove_file(&json);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text).expect("JSON rows");
    let [row] = rows.as_slice() else {
        panic!("one run expected: {text}")
    };
    assert!(
        row.get("error").is_none(),
        "the stack failed: {row}; {stderr}"
    );
    assert_eq!(row["objects_placed"], 3, "{row}");
    assert_eq!(row["arm_collisions"], 0, "{row}");
    assert_eq!(row["limit_violations"], 0, "{row}");
    assert_eq!(row["placement_error_m"], 0.0, "{row}");
    assert!(out.status.success(), "{stderr}");
    // The end panel shows where each cup started, dashed: all three moved.
    let svg = std::fs::read_to_string(plots.join("cups_to_tray_0.svg")).expect("the plot");
    assert_eq!(svg.matches("stroke-dasharray").count(), 3);
    let _ = std::fs::remove_dir_all(&plots);
    assert!(stderr.contains("1/1 runs passed"), "{stderr}");
    assert!(
        stderr.contains("the arm by the stack of launch/arm.launch.yaml"),
        "{stderr}"
    );
}
