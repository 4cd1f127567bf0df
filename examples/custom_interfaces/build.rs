fn main() {
    embody_idl::build::compile_interfaces("interfaces").unwrap_or_else(|e| panic!("{e}"));
}
