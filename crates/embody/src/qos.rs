//! Quality of service, and its compact string form in rmw_zenoh liveliness tokens.

use std::time::Duration;

use crate::error::WireError;

/// Whether every sample must arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reliability {
    /// Retransmit until delivered (rmw value 1).
    Reliable,
    /// Drop rather than wait (rmw value 2).
    BestEffort,
}

/// Whether late joiners receive earlier samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Durability {
    /// Late joiners get the last `depth` samples (rmw value 1).
    TransientLocal,
    /// Only samples published after joining (rmw value 2).
    Volatile,
}

/// How many samples are queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum History {
    /// Keep the newest `n` (n >= 1), dropping the oldest.
    KeepLast(usize),
    /// Keep everything (bounded by memory).
    KeepAll,
}

/// How liveliness is asserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Liveliness {
    /// By the middleware (rmw value 1).
    Automatic,
    /// By the publisher publishing (rmw value 3).
    ManualByTopic,
}

/// A QoS profile. `None` durations mean infinite, as in ROS 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QosProfile {
    /// Reliability.
    pub reliability: Reliability,
    /// Durability.
    pub durability: Durability,
    /// History and depth.
    pub history: History,
    /// Expected maximum period between samples.
    pub deadline: Option<Duration>,
    /// How long a sample stays valid.
    pub lifespan: Option<Duration>,
    /// Liveliness kind.
    pub liveliness: Liveliness,
    /// Liveliness lease.
    pub liveliness_lease: Option<Duration>,
}

impl Default for QosProfile {
    /// rclcpp's default: reliable, volatile, keep last 10.
    fn default() -> Self {
        Self {
            reliability: Reliability::Reliable,
            durability: Durability::Volatile,
            history: History::KeepLast(10),
            deadline: None,
            lifespan: None,
            liveliness: Liveliness::Automatic,
            liveliness_lease: None,
        }
    }
}

impl QosProfile {
    /// Reliable, volatile, keep last `depth`.
    pub fn keep_last(depth: usize) -> Self {
        Self {
            history: History::KeepLast(depth.max(1)),
            ..Self::default()
        }
    }

    /// ROS 2's sensor-data profile: best effort, volatile, keep last 5.
    pub fn sensor_data() -> Self {
        Self {
            reliability: Reliability::BestEffort,
            history: History::KeepLast(5),
            ..Self::default()
        }
    }

    /// Reliable, transient local, keep last `depth` (latched topics such as `/tf_static`).
    pub fn transient_local(depth: usize) -> Self {
        Self {
            durability: Durability::TransientLocal,
            history: History::KeepLast(depth.max(1)),
            ..Self::default()
        }
    }

    /// ROS 2's services default: reliable, volatile, keep last 10.
    pub fn services_default() -> Self {
        Self::default()
    }

    /// ROS 2's `/clock` profile: best effort, keep last 1.
    pub fn clock() -> Self {
        Self {
            reliability: Reliability::BestEffort,
            history: History::KeepLast(1),
            ..Self::default()
        }
    }

    /// Returns the profile with `reliability` changed.
    pub fn reliability(mut self, reliability: Reliability) -> Self {
        self.reliability = reliability;
        self
    }

    /// Returns the profile with `durability` changed.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Returns the profile with `history` changed.
    pub fn history(mut self, history: History) -> Self {
        self.history = history;
        self
    }

    /// The queue depth: `n` for keep-last (0, "system default", means 42 as in
    /// rmw_zenoh), `None` for keep-all.
    pub fn depth(&self) -> Option<usize> {
        match self.history {
            History::KeepLast(0) => Some(DEFAULT_DEPTH),
            History::KeepLast(n) => Some(n),
            History::KeepAll => None,
        }
    }

    /// How many samples a transient-local publisher keeps for late joiners (and a late
    /// joiner asks for): the depth, or for keep-all rmw_zenoh's default of 42, so the cache
    /// stays bounded.
    pub fn durable_depth(&self) -> usize {
        self.depth().unwrap_or(DEFAULT_DEPTH)
    }

    /// The QoS chunk of an rmw_zenoh liveliness token: each field is left empty when it
    /// equals rmw_zenoh's default (reliable, volatile, keep last 42, infinite durations,
    /// automatic liveliness).
    pub fn to_keyexpr(&self) -> String {
        let rel = match self.reliability {
            Reliability::Reliable => "",
            Reliability::BestEffort => "2",
        };
        let dur = match self.durability {
            Durability::Volatile => "",
            Durability::TransientLocal => "1",
        };
        let (hist, depth) = match self.history {
            History::KeepLast(n) if n == DEFAULT_DEPTH || n == 0 => ("", String::new()),
            History::KeepLast(n) => ("", n.to_string()),
            History::KeepAll => ("2", String::new()),
        };
        let live = match self.liveliness {
            Liveliness::Automatic => "",
            Liveliness::ManualByTopic => "3",
        };
        format!(
            "{rel}:{dur}:{hist},{depth}:{}:{}:{live},{}",
            duration_fields(self.deadline),
            duration_fields(self.lifespan),
            duration_fields(self.liveliness_lease)
        )
    }

    /// Parses the QoS chunk of a liveliness token (any peer's, so errors are values).
    pub fn from_keyexpr(s: &str) -> Result<Self, WireError> {
        let bad = |why: &str| WireError::Qos {
            qos: s.to_owned(),
            why: why.to_owned(),
        };
        let fields: Vec<&str> = s.split(':').collect();
        if fields.len() != 6 {
            return Err(bad("expected 6 `:`-separated fields"));
        }
        let reliability = match fields[0] {
            "" | "1" => Reliability::Reliable,
            "2" => Reliability::BestEffort,
            _ => return Err(bad("unknown reliability")),
        };
        let durability = match fields[1] {
            "" | "2" => Durability::Volatile,
            "1" => Durability::TransientLocal,
            _ => return Err(bad("unknown durability")),
        };
        let hist: Vec<&str> = fields[2].split(',').collect();
        if hist.len() != 2 {
            return Err(bad("history needs `kind,depth`"));
        }
        let depth = if hist[1].is_empty() {
            DEFAULT_DEPTH
        } else {
            hist[1].parse().map_err(|_| bad("bad depth"))?
        };
        let history = match hist[0] {
            "" | "1" => History::KeepLast(depth.max(1)),
            "2" => History::KeepAll,
            _ => return Err(bad("unknown history")),
        };
        let deadline = parse_duration(fields[3]).ok_or_else(|| bad("bad deadline"))?;
        let lifespan = parse_duration(fields[4]).ok_or_else(|| bad("bad lifespan"))?;
        let live: Vec<&str> = fields[5].split(',').collect();
        if live.len() != 3 {
            return Err(bad("liveliness needs `kind,sec,nsec`"));
        }
        let liveliness = match live[0] {
            "" | "1" => Liveliness::Automatic,
            "3" => Liveliness::ManualByTopic,
            _ => return Err(bad("unknown liveliness")),
        };
        let lease = parse_duration(&format!("{},{}", live[1], live[2]))
            .ok_or_else(|| bad("bad liveliness lease"))?;
        Ok(Self {
            reliability,
            durability,
            history,
            deadline,
            lifespan,
            liveliness,
            liveliness_lease: lease,
        })
    }
}

/// rmw_zenoh's default depth, which its QoS strings leave out.
const DEFAULT_DEPTH: usize = 42;
/// `RMW_DURATION_INFINITE` as seconds and nanoseconds.
const INFINITE_SEC: u64 = 9_223_372_036;
const INFINITE_NSEC: u32 = 854_775_807;

fn duration_fields(d: Option<Duration>) -> String {
    match d {
        // rcl's "default" {0,0} means infinite, which rmw_zenoh leaves empty.
        None => ",".to_owned(),
        Some(d) if d.is_zero() => ",".to_owned(),
        Some(d) => {
            let s = if d.as_secs() == INFINITE_SEC {
                String::new()
            } else {
                d.as_secs().to_string()
            };
            let n = if d.subsec_nanos() == INFINITE_NSEC {
                String::new()
            } else {
                d.subsec_nanos().to_string()
            };
            format!("{s},{n}")
        }
    }
}

fn parse_duration(field: &str) -> Option<Option<Duration>> {
    let (s, n) = field.split_once(',')?;
    if s.contains(',') || n.contains(',') {
        return None;
    }
    let sec = if s.is_empty() {
        INFINITE_SEC
    } else {
        s.parse().ok()?
    };
    let nsec = if n.is_empty() {
        INFINITE_NSEC
    } else {
        n.parse().ok()?
    };
    if sec == INFINITE_SEC && nsec == INFINITE_NSEC || (sec == 0 && nsec == 0) {
        // rcl's "default" {0,0} means infinite as well.
        return Some(None);
    }
    if nsec >= 1_000_000_000 {
        return None;
    }
    Some(Some(Duration::new(sec, nsec)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_match_rmw_zenoh_reference_cases() {
        assert_eq!(QosProfile::default().to_keyexpr(), "::,10:,:,:,,");
        assert_eq!(QosProfile::keep_last(7).to_keyexpr(), "::,7:,:,:,,");
        assert_eq!(QosProfile::sensor_data().to_keyexpr(), "2::,5:,:,:,,");
        assert_eq!(QosProfile::transient_local(1).to_keyexpr(), ":1:,1:,:,:,,");
        assert_eq!(QosProfile::keep_last(42).to_keyexpr(), "::,:,:,:,,");
        assert_eq!(
            QosProfile::default().history(History::KeepAll).to_keyexpr(),
            "::2,:,:,:,,"
        );
        let with_deadline = QosProfile {
            deadline: Some(Duration::from_millis(1500)),
            ..QosProfile::default()
        };
        assert_eq!(with_deadline.to_keyexpr(), "::,10:1,500000000:,:,,");
        let zero = QosProfile {
            deadline: Some(Duration::ZERO),
            history: History::KeepLast(0),
            ..QosProfile::default()
        };
        assert_eq!(zero.to_keyexpr(), "::,:,:,:,,");
        assert_eq!(zero.depth(), Some(42));
        assert_eq!(
            QosProfile::transient_local(3)
                .history(History::KeepAll)
                .durable_depth(),
            42
        );
    }

    #[test]
    fn strings_parse_back() {
        for q in [
            QosProfile::default(),
            QosProfile::sensor_data(),
            QosProfile::transient_local(3),
            QosProfile::default().history(History::KeepAll),
            QosProfile {
                deadline: Some(Duration::from_millis(1500)),
                liveliness: Liveliness::ManualByTopic,
                ..QosProfile::default()
            },
        ] {
            assert_eq!(
                QosProfile::from_keyexpr(&q.to_keyexpr()).unwrap(),
                q,
                "{}",
                q.to_keyexpr()
            );
        }
        // zenoh-ros2-sdk writes KEEP_ALL as `2,` and always a depth; both parse.
        assert_eq!(
            QosProfile::from_keyexpr("::2,:,:,:,,").unwrap().history,
            History::KeepAll
        );
        assert!(QosProfile::from_keyexpr("::,10:,:,:").is_err());
        assert!(QosProfile::from_keyexpr("9::,10:,:,:,,").is_err());
    }
}
