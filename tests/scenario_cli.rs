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

#[test]
fn a_run_prints_a_row_and_writes_the_documented_json_fields() {
    let json = std::env::temp_dir().join(format!("embody-scenario-{}.json", std::process::id()));
    let (ok, out, err) = embody(&[
        "scenario",
        "run",
        "scenarios/ncap/ccrs.yaml",
        "--set",
        "ego_speed_kmh=30",
        "--set",
        "impact_percent=50",
        "--json",
        json.to_str().unwrap(),
    ]);
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
