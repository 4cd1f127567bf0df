//! Runs a plan like `ros2 launch`: output lines prefixed with the process label (or logged),
//! respawn with delay, `on_exit: shutdown`, and shutdown by SIGINT, then SIGTERM, then SIGKILL.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

use crate::load::{Output, Plan, ProcessSpec};

/// How a launch ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Processes that failed (non-zero exit or a signal launch did not send), as messages.
    pub failures: Vec<String>,
    /// Whether launch shut down (signal or `on_exit: shutdown`) rather than everything ending.
    pub shut_down: bool,
}

struct Shared {
    stop: watch::Sender<bool>,
    failures: Mutex<Vec<String>>,
    log_dir: PathBuf,
}

fn say(msg: &str) {
    eprintln!("[INFO] [launch]: {msg}");
}

/// Runs every process of `plan` until they all end, or `shutdown` resolves, or a process with
/// `on_exit: shutdown` exits; then stops the rest.
pub async fn run(plan: &Plan, log_dir: &Path, shutdown: impl Future<Output = ()>) -> Outcome {
    if plan.processes.iter().any(|p| p.output != Output::Screen)
        && let Err(e) = std::fs::create_dir_all(log_dir)
    {
        say(&format!(
            "cannot create log directory {}: {e}",
            log_dir.display()
        ));
    }
    say(&format!(
        "all log files can be found below {}",
        log_dir.display()
    ));
    let shared = Arc::new(Shared {
        stop: watch::Sender::new(false),
        failures: Mutex::new(Vec::new()),
        log_dir: log_dir.to_path_buf(),
    });
    let tasks: Vec<_> = plan
        .processes
        .iter()
        .cloned()
        .map(|spec| tokio::spawn(supervise(spec, shared.clone())))
        .collect();
    let all_done = async {
        for t in tasks {
            let _ = t.await;
        }
    };
    tokio::pin!(all_done);
    let mut stop_rx = shared.stop.subscribe();
    let interrupted = tokio::select! {
        () = &mut all_done => return outcome(&shared),
        () = shutdown => true,
        _ = stop_rx.wait_for(|s| *s) => false,
    };
    if interrupted {
        say("user interrupted with ctrl-c (SIGINT)");
        shared.stop.send_replace(true);
    }
    all_done.await;
    outcome(&shared)
}

fn outcome(shared: &Shared) -> Outcome {
    let shut_down = *shared.stop.borrow();
    let failures = shared
        .failures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Outcome {
        failures,
        shut_down,
    }
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: a signal to a child we started and have not reaped yet.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

fn describe(status: std::process::ExitStatus) -> (bool, String) {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(0), _) => (true, "finished cleanly".into()),
        (Some(c), _) => (false, format!("exit code {c}")),
        (None, Some(s)) => (false, format!("killed by signal {s}")),
        _ => (false, "ended".into()),
    }
}

async fn supervise(spec: ProcessSpec, shared: Arc<Shared>) {
    let mut stop = shared.stop.subscribe();
    if !spec.delay.is_zero() {
        tokio::select! {
            () = tokio::time::sleep(spec.delay) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
    let mut retries = 0i64;
    loop {
        if *stop.borrow() {
            return;
        }
        let mut child = match start(&spec, &shared.log_dir) {
            Ok(c) => c,
            Err(e) => {
                let msg = format!(
                    "process[{}]: cannot start {}: {e}",
                    spec.label,
                    spec.program.display()
                );
                say(&msg);
                shared
                    .failures
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(msg);
                if spec.on_exit_shutdown {
                    shared.stop.send_replace(true);
                }
                return;
            }
        };
        let pid = child.id().unwrap_or(0);
        say(&format!("process started with pid [{pid}]: {}", spec.label));
        let exited = tokio::select! {
            s = child.wait() => Some(s),
            _ = stop.wait_for(|s| *s) => None,
        };
        let (status, stopped_by_us) = match exited {
            // An exit racing with the shutdown is the shutdown's doing, not a failure.
            Some(s) => (s, *stop.borrow()),
            None => (stop_child(&spec, &mut child, pid).await, true),
        };
        let (clean, how) = match status {
            Ok(s) => describe(s),
            Err(e) => (false, e.to_string()),
        };
        say(&format!("process[{}]: {how} [pid {pid}]", spec.label));
        if !clean && !stopped_by_us {
            let msg = format!("process[{}] ({}) died: {how}", spec.label, spec.origin);
            shared
                .failures
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(msg);
        }
        if stopped_by_us || *stop.borrow() {
            return;
        }
        if spec.on_exit_shutdown {
            say(&format!(
                "process[{}] has on_exit: shutdown; shutting down",
                spec.label
            ));
            shared.stop.send_replace(true);
            return;
        }
        if !spec.respawn || (spec.respawn_max_retries >= 0 && retries >= spec.respawn_max_retries) {
            return;
        }
        retries += 1;
        tokio::select! {
            () = tokio::time::sleep(spec.respawn_delay) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        say(&format!(
            "respawning process[{}] (retry {retries})",
            spec.label
        ));
    }
}

/// SIGINT, SIGTERM after `sigterm_timeout`, SIGKILL after `sigkill_timeout` more.
async fn stop_child(
    spec: &ProcessSpec,
    child: &mut Child,
    pid: u32,
) -> std::io::Result<std::process::ExitStatus> {
    signal(pid, libc::SIGINT);
    if let Ok(s) = tokio::time::timeout(spec.sigterm_timeout, child.wait()).await {
        return s;
    }
    say(&format!(
        "process[{}] failed to terminate {:?} after SIGINT, sending SIGTERM",
        spec.label, spec.sigterm_timeout
    ));
    signal(pid, libc::SIGTERM);
    if let Ok(s) = tokio::time::timeout(spec.sigkill_timeout, child.wait()).await {
        return s;
    }
    say(&format!(
        "process[{}] failed to terminate {:?} after SIGTERM, sending SIGKILL",
        spec.label, spec.sigkill_timeout
    ));
    child.start_kill()?;
    child.wait().await
}

type LogFile = Arc<tokio::sync::Mutex<tokio::fs::File>>;

fn start(spec: &ProcessSpec, log_dir: &Path) -> std::io::Result<Child> {
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A group of its own: Ctrl-C in the terminal reaches launch only, which then stops
        // every process in order (SIGINT, SIGTERM, SIGKILL) instead of racing them.
        .process_group(0)
        .kill_on_drop(true);
    // SAFETY: the closure only makes one async-signal-safe system call between fork and exec.
    // It asks the kernel to send SIGTERM to the child if launch itself dies (even by SIGKILL),
    // so no node outlives the launch that started it.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    for (k, v) in &spec.env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    if let Some(cwd) = &spec.cwd {
        cmd.current_dir(cwd);
    }
    // The log file first: a process must not start when its output has nowhere to go.
    let log: Option<LogFile> = match spec.output {
        Output::Screen => None,
        Output::Log | Output::Both => {
            let path = log_dir.join(format!("{}.log", spec.label));
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| {
                    std::io::Error::new(e.kind(), format!("log file {}: {e}", path.display()))
                })?;
            Some(Arc::new(tokio::sync::Mutex::new(
                tokio::fs::File::from_std(f),
            )))
        }
    };
    let mut child = cmd.spawn()?;
    let (out_screen, err_screen) = match spec.output {
        Output::Screen | Output::Both => (true, true),
        Output::Log => (false, true),
    };
    if let Some(out) = child.stdout.take() {
        tokio::spawn(pump(
            out,
            spec.label.clone(),
            out_screen,
            false,
            log.clone(),
        ));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(pump(err, spec.label.clone(), err_screen, true, log));
    }
    Ok(child)
}

/// Copies a child's output line by line to the screen (prefixed) and/or its log file.
async fn pump(
    stream: impl AsyncRead + Unpin,
    label: String,
    screen: bool,
    stderr: bool,
    log: Option<LogFile>,
) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        if screen {
            if stderr {
                eprintln!("[{label}] {text}");
            } else {
                println!("[{label}] {text}");
            }
        }
        if let Some(f) = &log {
            let _ = f
                .lock()
                .await
                .write_all(format!("{text}\n").as_bytes())
                .await;
        }
    }
}
