//! `embody ik bench` as users run it: JSON with the documented fields on the UR5, the table,
//! and errors that name the link.

use std::process::Command;

const UR5: &str = "nodes/manipulation/tests/data/robots/ur5/ur5_robot.urdf";

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

#[test]
fn bench_json_on_the_ur5_has_the_documented_fields() {
    // A generous budget keeps the debug build from timing out; the figures that matter are
    // measured in release (README).
    let (ok, out, err) = embody(&[
        "ik",
        "bench",
        "--urdf",
        UR5,
        "--tip",
        "tool0",
        "--samples",
        "50",
        "--timeout-ms",
        "2000",
        "--seed",
        "random",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(v["base"], "world", "--base defaults to the URDF root link");
    assert_eq!(v["tip"], "tool0");
    assert_eq!(v["dof"], 6);
    assert_eq!(v["seed"], "random");
    assert_eq!(v["samples"], 50);
    assert_eq!(v["successes"], 50);
    assert_eq!(v["success_rate"], 1.0);
    assert_eq!(v["verification_failures"], 0);
    assert_eq!(v["tolerance"], 1e-5);
    for key in [
        "mean_ms",
        "median_ms",
        "p95_ms",
        "p99_ms",
        "mean_success_ms",
    ] {
        let t = v[key].as_f64().unwrap_or(-1.0);
        assert!(t > 0.0, "{key} = {}", v[key]);
    }
    let pe = v["max_position_error"].as_f64().unwrap_or(1.0);
    let oe = v["max_orientation_error"].as_f64().unwrap_or(1.0);
    assert!(pe <= 1e-5 && oe <= 1e-5, "{pe} {oe}");
}

#[test]
fn bench_prints_a_table_for_an_explicit_base() {
    let (ok, out, err) = embody(&[
        "ik",
        "bench",
        "--urdf",
        UR5,
        "--base",
        "base_link",
        "--tip",
        "ee_link",
        "--samples",
        "20",
        "--timeout-ms",
        "2000",
    ]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].contains("success%"), "{out}");
    assert!(lines[1].starts_with("base_link → ee_link"), "{out}");
    assert!(lines[1].contains("100.00"), "{out}");
}

#[test]
fn bench_errors_name_the_link_and_the_file() {
    let (ok, _, err) = embody(&["ik", "bench", "--urdf", UR5, "--tip", "gripper"]);
    assert!(!ok);
    assert!(err.contains("link 'gripper' is not in the model"), "{err}");
    let (ok, _, err) = embody(&["ik", "bench", "--urdf", "missing.urdf", "--tip", "tool0"]);
    assert!(!ok);
    assert!(err.contains("cannot read URDF missing.urdf"), "{err}");
    let (ok, _, err) = embody(&[
        "ik", "bench", "--urdf", UR5, "--tip", "tool0", "--seed", "sideways",
    ]);
    assert!(!ok);
    assert!(err.contains("expected 'nominal' or 'random'"), "{err}");
}
