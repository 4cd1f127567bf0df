use std::path::PathBuf;

use embody_idl::TypeSet;
use embody_idl::codegen::Options;

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
            .join("interfaces");
    println!("cargo:rerun-if-changed={}", root.display());
    println!("cargo:interfaces={}", root.display());
    let mut set = TypeSet::new();
    let result = set
        .add_root(&root)
        .and_then(|()| set.check())
        .and_then(|()| {
            let packages = set.packages().into_iter().map(str::to_owned).collect();
            let opts = Options {
                support: "crate".into(),
                packages,
                external_root: "crate".into(),
            };
            embody_idl::build::write_generated(&set, &opts)
        });
    if let Err(e) = result {
        // Cargo shows this line to the user; the file:line in it points at the bad definition.
        println!("cargo:warning=interface compilation failed: {e}");
        std::process::exit(1);
    }
}
