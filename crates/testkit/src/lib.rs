//! Test support shared across the workspace.
//!
//! Interop tests check embody against tools nobody here wrote (Python `rosbags`, `mcap`,
//! `zenoh-ros2-sdk`, ...). [`python`] gives them an interpreter from a venv under `target/`
//! holding exactly the versions pinned in `tests/interop/requirements.txt`, creating it on
//! first use, so `cargo test --workspace` works on a fresh machine with only `python3`.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root exists")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Path to the Python interpreter of the interop venv, creating or updating the venv when
/// the pinned requirements changed. Panics with the installer's output when that fails:
/// an interop test that cannot run must fail, not pass.
pub fn python() -> PathBuf {
    let target = target_dir();
    std::fs::create_dir_all(&target).expect("create target dir");
    let venv = target.join("interop-venv");
    let requirements = workspace_root().join("tests/interop/requirements.txt");
    let wanted =
        std::fs::read_to_string(&requirements).expect("tests/interop/requirements.txt is readable");
    let stamp = venv.join("embody-requirements.txt");
    let py = venv.join("bin/python");

    // Several test binaries may get here at once; one builds the venv, the others wait.
    let lock = File::create(target.join("interop-venv.lock")).expect("create venv lock file");
    lock.lock().expect("lock the venv");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) && py.exists() {
        return py;
    }
    eprintln!(
        "embody-testkit: creating the interop venv at {} (pinned: {})",
        venv.display(),
        requirements.display()
    );
    let _ = std::fs::remove_dir_all(&venv);
    run(
        Command::new("python3").arg("-m").arg("venv").arg(&venv),
        "python3 -m venv",
    );
    run(
        Command::new(&py)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements),
        "pip install -r tests/interop/requirements.txt",
    );
    std::fs::write(&stamp, wanted).expect("write venv stamp");
    py
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `script` (a path relative to the workspace root) with the venv's Python, feeding
/// `input` on stdin, and returns stdout. Panics with stderr when the script fails.
pub fn run_python_script(script: &str, input: &[u8]) -> Vec<u8> {
    let py = python();
    let path = workspace_root().join(script);
    let mut child = Command::new(py)
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", path.display()));
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = input.to_vec();
    // Write from another thread so a script that prints a lot cannot deadlock us.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("wait for python");
    writer.join().expect("stdin writer").expect("write stdin");
    assert!(
        out.status.success(),
        "{} failed:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A TCP port on 127.0.0.1 that was free a moment ago, for a test's own zenoh router.
pub fn free_loopback_port() -> u16 {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral loopback port");
    listener.local_addr().expect("local address").port()
}

/// A fresh directory under the system temp dir, unique per process and call, removed when
/// the test passes (kept after a failure, to look at).
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `<tmp>/embody-<name>-<pid>-<n>`.
    pub fn new(name: &str) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "embody-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create a temp directory");
        Self(p)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
