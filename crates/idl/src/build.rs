//! Helpers for build scripts that compile interface packages into Rust.
//!
//! A crate with its own interfaces needs one line in `build.rs`:
//!
//! ```no_run
//! embody_idl::build::compile_interfaces("interfaces").expect("interfaces compile");
//! ```
//!
//! and one in `lib.rs`: `embody_msgs::include_interfaces!();`. Standard packages are found
//! through the `DEP_EMBODY_MSGS_INTERFACES` variable that `embody-msgs` exports to crates
//! depending on it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::codegen::{Options, generate};
use crate::set::{IdlError, TypeSet};

/// The file name, inside `OUT_DIR`, that `include_interfaces!` includes.
pub const GENERATED_FILE: &str = "embody_interfaces.rs";

/// Compiles every package folder under `root` (relative to the crate) together with the
/// standard packages shipped by `embody-msgs`, and writes Rust for the crate's own packages.
pub fn compile_interfaces(root: impl AsRef<Path>) -> Result<PathBuf, IdlError> {
    let root = root.as_ref();
    println!("cargo:rerun-if-changed={}", root.display());
    let mut own = TypeSet::new();
    own.add_root(root)?;
    let packages: BTreeSet<String> = own.packages().into_iter().map(str::to_owned).collect();
    let mut set = own;
    if let Ok(std_root) = std::env::var("DEP_EMBODY_MSGS_INTERFACES") {
        let std_root = PathBuf::from(std_root);
        for pkg in list_dirs(&std_root)? {
            let name = pkg
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            if !packages.contains(&name) {
                set.add_package_dir(&pkg)?;
            }
        }
    }
    set.check()?;
    let opts = Options {
        support: "::embody_msgs".into(),
        packages,
        external_root: "::embody_msgs".into(),
    };
    write_generated(&set, &opts)
}

/// Writes generated code for `opts.packages` to `OUT_DIR/embody_interfaces.rs`.
pub fn write_generated(set: &TypeSet, opts: &Options) -> Result<PathBuf, IdlError> {
    let out_dir = std::env::var("OUT_DIR").map_err(|_| IdlError::Io {
        path: "OUT_DIR".into(),
        source: std::io::Error::other("OUT_DIR is not set; call this from a build script"),
    })?;
    let path = PathBuf::from(out_dir).join(GENERATED_FILE);
    let code = generate(set, opts)?;
    std::fs::write(&path, code).map_err(|source| IdlError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(path)
}

fn list_dirs(root: &Path) -> Result<Vec<PathBuf>, IdlError> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(|source| IdlError::Io {
            path: root.display().to_string(),
            source,
        })?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    Ok(dirs)
}
