//! Fixtures shared by the integration tests.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use embody_manipulation::{Chain, Urdf};

/// The directory of the test fixtures.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// Loads a fixture URDF without package paths.
pub fn load(rel: &str) -> Urdf {
    let path = data_dir().join(rel);
    Urdf::from_file(&path, &HashMap::new()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The hand-written three-joint arm, base to tool.
pub fn arm() -> Chain {
    Chain::new(&load("three_joint_arm.urdf"), "base_link", "tool").expect("arm chain")
}

/// (name, URDF, base, tip) of the third-party arms.
pub const ROBOTS: [(&str, &str, &str, &str); 3] = [
    (
        "panda",
        "robots/panda/panda.urdf",
        "panda_link0",
        "panda_link8",
    ),
    (
        "iiwa14",
        "robots/iiwa14/lbr_iiwa_14_r820.urdf",
        "base_link",
        "tool0",
    ),
    ("ur5", "robots/ur5/ur5_robot.urdf", "base_link", "tool0"),
];

/// The chain of one of [`ROBOTS`].
pub fn robot(name: &str) -> Chain {
    let (_, file, base, tip) = ROBOTS
        .iter()
        .find(|r| r.0 == name)
        .copied()
        .expect("known robot");
    Chain::new(&load(file), base, tip).expect("robot chain")
}

/// The embody arm's URDF.
pub fn embody_arm_urdf() -> Urdf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("robots/embody_arm.urdf");
    Urdf::from_file(&path, &HashMap::new()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
