//! Node logging as rclcpp does it: a console line `[LEVEL] [sec.nsec] [node]: message` (on
//! stderr, or stdout with `RCUTILS_LOGGING_USE_STDOUT=1`) and an `rcl_interfaces/Log` on
//! `/rosout` for tools, filtered by `--ros-args --log-level`. Every record is also a
//! `tracing` event (target `rosout`, field `node`), so a program's tracing subscriber can
//! collect them; filter that target out (`rosout=off`) if the subscriber prints to the
//! console too, as the `embody` command does.

use std::io::Write as _;
use std::sync::Arc;

use embody_msgs::rcl_interfaces::msg::Log;

use crate::publisher::Publisher;

/// Severity, with rcl's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// 10
    Debug = 10,
    /// 20
    Info = 20,
    /// 30
    Warn = 30,
    /// 40
    Error = 40,
    /// 50
    Fatal = 50,
}

impl Level {
    /// Parses `--log-level` values (`debug`, `INFO`, ...).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "debug" => Level::Debug,
            "info" => Level::Info,
            "warn" | "warning" => Level::Warn,
            "error" => Level::Error,
            "fatal" => Level::Fatal,
            _ => return None,
        })
    }

    fn label(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
        }
    }
}

/// Lets one message through per period (wall time), so a stream of bad input logs a line now
/// and then instead of flooding; what it suppresses, the caller counts.
#[derive(Debug)]
pub struct Throttle {
    period: std::time::Duration,
    last: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Throttle {
    /// At most one message per `period`.
    pub const fn new(period: std::time::Duration) -> Self {
        Self {
            period,
            last: std::sync::Mutex::new(None),
        }
    }

    /// True when a message may be logged now (and starts a new period).
    pub fn ready(&self) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_none_or(|t| t.elapsed() >= self.period) {
            *last = Some(std::time::Instant::now());
            true
        } else {
            false
        }
    }
}

impl Default for Throttle {
    /// One message per 5 s.
    fn default() -> Self {
        Self::new(std::time::Duration::from_secs(5))
    }
}

/// A node's logger. Cheap to clone.
#[derive(Clone)]
pub struct Logger {
    name: String,
    min: Level,
    rosout: Option<Arc<Publisher<Log>>>,
    clock: crate::time::Clock,
}

impl Logger {
    pub(crate) fn new(
        name: String,
        min: Level,
        rosout: Option<Arc<Publisher<Log>>>,
        clock: crate::time::Clock,
    ) -> Self {
        Self {
            name,
            min,
            rosout,
            clock,
        }
    }

    /// The logger's name (the node's, with `.` for namespaces, as rclcpp names it).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Logs `msg` at `level` if the level is enabled.
    pub fn log(&self, level: Level, msg: &str) {
        if level < self.min {
            return;
        }
        let stamp = self.clock.now();
        let node = self.name.as_str();
        match level {
            Level::Debug => tracing::debug!(target: "rosout", node, "{msg}"),
            Level::Info => tracing::info!(target: "rosout", node, "{msg}"),
            Level::Warn => tracing::warn!(target: "rosout", node, "{msg}"),
            Level::Error | Level::Fatal => tracing::error!(target: "rosout", node, "{msg}"),
        }
        let line = format!(
            "[{}] [{}.{:09}] [{}]: {msg}\n",
            level.label(),
            stamp.nanos.div_euclid(1_000_000_000),
            stamp.nanos.rem_euclid(1_000_000_000),
            self.name
        );
        if std::env::var("RCUTILS_LOGGING_USE_STDOUT").is_ok_and(|v| v == "1") {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        } else {
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
        if let (Some(rosout), Ok(rt)) = (&self.rosout, tokio::runtime::Handle::try_current()) {
            let log = Log {
                stamp: stamp.to_msg(),
                level: level as u8,
                name: self.name.clone(),
                msg: msg.to_owned(),
                ..Default::default()
            };
            let rosout = rosout.clone();
            rt.spawn(async move {
                // A failed /rosout publish must not log again (it would recurse).
                let _ = rosout.publish(log).await;
            });
        }
    }

    /// Logs at DEBUG.
    pub fn debug(&self, msg: &str) {
        self.log(Level::Debug, msg);
    }

    /// Logs at INFO.
    pub fn info(&self, msg: &str) {
        self.log(Level::Info, msg);
    }

    /// Logs at WARN.
    pub fn warn(&self, msg: &str) {
        self.log(Level::Warn, msg);
    }

    /// Logs at ERROR.
    pub fn error(&self, msg: &str) {
        self.log(Level::Error, msg);
    }

    /// Logs at FATAL.
    pub fn fatal(&self, msg: &str) {
        self.log(Level::Fatal, msg);
    }
}
