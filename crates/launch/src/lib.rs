//! ROS 2 launch files for embody: the XML and YAML frontends read into one tree with source
//! positions, substitutions, the loader that turns a file into a plan of processes, and the
//! supervisor that runs the plan like `ros2 launch`.

mod eval;
pub mod load;
pub mod subst;
pub mod supervisor;
pub mod tree;

use std::path::Path;

pub use load::{LoadOptions, Output, Plan, ProcessSpec, load};
pub use tree::Pos;

/// A problem in a launch file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct LaunchError {
    /// The file.
    pub file: String,
    /// Line (1-based; 0 when the problem is the whole file).
    pub line: usize,
    /// Column (1-based; 0 when unknown).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl LaunchError {
    /// An error at `pos` in `file`.
    pub fn at(file: &Path, pos: Pos, message: impl Into<String>) -> Self {
        Self {
            file: file.display().to_string(),
            line: pos.line,
            column: pos.column,
            message: message.into(),
        }
    }

    fn render(&self) -> String {
        match (self.line, self.column) {
            (0, _) => format!("{}: {}", self.file, self.message),
            (l, 0) => format!("{}:{l}: {}", self.file, self.message),
            (l, c) => format!("{}:{l}:{c}: {}", self.file, self.message),
        }
    }
}
