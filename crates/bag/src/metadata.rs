//! `metadata.yaml` (rosbag2 `BagMetadata`, versions 1 to 9) and the QoS profile lists stored in
//! it and in MCAP channel metadata.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use embody::qos::{Durability, History, Liveliness, QosProfile, Reliability};
use serde_yaml_ng::Value;

use crate::BagError;

/// The version embody writes (Jazzy's).
pub const WRITE_VERSION: u32 = 9;

/// One topic as the bag describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicMetadata {
    /// Topic name.
    pub name: String,
    /// `pkg/msg/Type`.
    pub type_name: String,
    /// `cdr` for ROS 2.
    pub serialization_format: String,
    /// QoS of the publishers seen while recording.
    pub offered_qos_profiles: Vec<QosProfile>,
    /// `RIHS01_…` or empty.
    pub type_description_hash: String,
}

/// A topic with its message count.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicInfo {
    /// The topic.
    pub topic: TopicMetadata,
    /// Messages on it.
    pub message_count: u64,
}

/// One storage file of the bag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// Path relative to the bag directory.
    pub path: String,
    /// Earliest receive time (ns since epoch).
    pub starting_time: u64,
    /// Last minus first receive time (ns).
    pub duration: u64,
    /// Messages in the file.
    pub message_count: u64,
}

/// The contents of `metadata.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct BagMetadata {
    /// Format version (1–9).
    pub version: u32,
    /// `mcap` or `sqlite3`.
    pub storage_identifier: String,
    /// Last minus first receive time (ns).
    pub duration: u64,
    /// Earliest receive time (ns since epoch).
    pub starting_time: u64,
    /// Total messages.
    pub message_count: u64,
    /// Topics with counts.
    pub topics: Vec<TopicInfo>,
    /// `""` or `zstd` (file/message compression; MCAP chunk compression is not listed here).
    pub compression_format: String,
    /// `""`, `file` or `message`.
    pub compression_mode: String,
    /// Storage files, relative to the bag directory.
    pub relative_file_paths: Vec<String>,
    /// Per-file details (version 5 and later).
    pub files: Vec<FileInfo>,
    /// User key/values (version 6 and later).
    pub custom_data: BTreeMap<String, String>,
    /// ROS distribution that wrote the bag (version 8 and later).
    pub ros_distro: String,
}

impl BagMetadata {
    /// An empty v9 description of an MCAP bag.
    pub fn new_mcap() -> Self {
        Self {
            version: WRITE_VERSION,
            storage_identifier: "mcap".into(),
            duration: 0,
            starting_time: 0,
            message_count: 0,
            topics: Vec::new(),
            compression_format: String::new(),
            compression_mode: String::new(),
            relative_file_paths: Vec::new(),
            files: Vec::new(),
            custom_data: BTreeMap::new(),
            ros_distro: "jazzy".into(),
        }
    }

    /// Parses `metadata.yaml` text (with its `rosbag2_bagfile_information` top key, or the
    /// bare map stored in an MCAP metadata record).
    pub fn parse(text: &str, origin: &str) -> Result<Self, BagError> {
        let bad = |what: String| BagError::Metadata {
            file: origin.to_owned(),
            reason: what,
        };
        let root: Value = serde_yaml_ng::from_str(text).map_err(|e| bad(e.to_string()))?;
        let info = root.get("rosbag2_bagfile_information").unwrap_or(&root);
        let version = u32_of(info.get("version")).ok_or_else(|| bad("no `version`".into()))?;
        if version == 0 || version > WRITE_VERSION {
            return Err(bad(format!(
                "metadata version {version} is not supported (1 to {WRITE_VERSION})"
            )));
        }
        let str_of = |k: &str| {
            info.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let mut topics = Vec::new();
        for (i, t) in seq(info.get("topics_with_message_count"))
            .iter()
            .enumerate()
        {
            let m = t
                .get("topic_metadata")
                .ok_or_else(|| bad(format!("topic {i} has no topic_metadata")))?;
            let field = |k: &str| {
                m.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let name = field("name");
            let qos = match m.get("offered_qos_profiles") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::String(s)) => parse_qos_list(s)
                    .map_err(|e| bad(format!("topic {name}: offered_qos_profiles: {e}")))?,
                Some(v) => qos_list_from_value(v)
                    .map_err(|e| bad(format!("topic {name}: offered_qos_profiles: {e}")))?,
            };
            topics.push(TopicInfo {
                topic: TopicMetadata {
                    type_name: field("type"),
                    serialization_format: field("serialization_format"),
                    offered_qos_profiles: qos,
                    type_description_hash: field("type_description_hash"),
                    name,
                },
                message_count: u64_of(t.get("message_count")).unwrap_or(0),
            });
        }
        let files = seq(info.get("files"))
            .iter()
            .map(|f| FileInfo {
                path: f
                    .get("path")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                starting_time: nested_u64(f, "starting_time", "nanoseconds_since_epoch"),
                duration: nested_u64(f, "duration", "nanoseconds"),
                message_count: u64_of(f.get("message_count")).unwrap_or(0),
            })
            .collect();
        let custom_data = match info.get("custom_data") {
            Some(Value::Mapping(m)) => m
                .iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), scalar_text(v))))
                .collect(),
            _ => BTreeMap::new(),
        };
        Ok(Self {
            version,
            storage_identifier: str_of("storage_identifier"),
            duration: nested_u64(info, "duration", "nanoseconds"),
            starting_time: nested_u64(info, "starting_time", "nanoseconds_since_epoch"),
            message_count: u64_of(info.get("message_count")).unwrap_or(0),
            topics,
            compression_format: str_of("compression_format"),
            compression_mode: str_of("compression_mode"),
            relative_file_paths: seq(info.get("relative_file_paths"))
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            files,
            custom_data,
            ros_distro: str_of("ros_distro"),
        })
    }

    /// The YAML body (without the top key), as stored in the MCAP `rosbag2` metadata record.
    pub fn to_yaml_body(&self, indent: usize) -> String {
        let p = " ".repeat(indent);
        let mut o = String::new();
        let _ = writeln!(o, "{p}version: {}", self.version);
        let _ = writeln!(o, "{p}storage_identifier: {}", q(&self.storage_identifier));
        let _ = writeln!(o, "{p}duration:\n{p}  nanoseconds: {}", self.duration);
        let _ = writeln!(
            o,
            "{p}starting_time:\n{p}  nanoseconds_since_epoch: {}",
            self.starting_time
        );
        let _ = writeln!(o, "{p}message_count: {}", self.message_count);
        let _ = write!(o, "{p}topics_with_message_count:");
        if self.topics.is_empty() {
            o.push_str(" []");
        }
        o.push('\n');
        for t in &self.topics {
            let m = &t.topic;
            let _ = writeln!(o, "{p}  - topic_metadata:");
            let _ = writeln!(o, "{p}      name: {}", q(&m.name));
            let _ = writeln!(o, "{p}      type: {}", q(&m.type_name));
            let _ = writeln!(
                o,
                "{p}      serialization_format: {}",
                q(&m.serialization_format)
            );
            let _ = write!(o, "{p}      offered_qos_profiles:");
            if m.offered_qos_profiles.is_empty() {
                o.push_str(" []\n");
            } else {
                o.push('\n');
                o.push_str(&qos_list_yaml(&m.offered_qos_profiles, indent + 8));
            }
            let _ = writeln!(
                o,
                "{p}      type_description_hash: {}",
                q(&m.type_description_hash)
            );
            let _ = writeln!(o, "{p}    message_count: {}", t.message_count);
        }
        let _ = writeln!(o, "{p}compression_format: {}", q(&self.compression_format));
        let _ = writeln!(o, "{p}compression_mode: {}", q(&self.compression_mode));
        let _ = write!(o, "{p}relative_file_paths:");
        if self.relative_file_paths.is_empty() {
            o.push_str(" []");
        }
        o.push('\n');
        for f in &self.relative_file_paths {
            let _ = writeln!(o, "{p}  - {}", q(f));
        }
        let _ = write!(o, "{p}files:");
        if self.files.is_empty() {
            o.push_str(" []");
        }
        o.push('\n');
        for f in &self.files {
            let _ = writeln!(o, "{p}  - path: {}", q(&f.path));
            let _ = writeln!(
                o,
                "{p}    starting_time:\n{p}      nanoseconds_since_epoch: {}",
                f.starting_time
            );
            let _ = writeln!(o, "{p}    duration:\n{p}      nanoseconds: {}", f.duration);
            let _ = writeln!(o, "{p}    message_count: {}", f.message_count);
        }
        if self.custom_data.is_empty() {
            let _ = writeln!(o, "{p}custom_data: ~");
        } else {
            let _ = writeln!(o, "{p}custom_data:");
            for (k, v) in &self.custom_data {
                let _ = writeln!(o, "{p}  {}: {}", q(k), q(v));
            }
        }
        let _ = writeln!(o, "{p}ros_distro: {}", q(&self.ros_distro));
        o
    }

    /// Sets the storage files and derives from them the message count, the start and the
    /// duration (files without messages do not move the start).
    pub fn set_files(&mut self, files: Vec<FileInfo>) {
        let with_msgs = || files.iter().filter(|f| f.message_count > 0);
        self.message_count = files.iter().map(|f| f.message_count).sum();
        self.starting_time = with_msgs().map(|f| f.starting_time).min().unwrap_or(0);
        let end = with_msgs()
            .map(|f| f.starting_time + f.duration)
            .max()
            .unwrap_or(0);
        self.duration = end.saturating_sub(self.starting_time);
        self.relative_file_paths = files.iter().map(|f| f.path.clone()).collect();
        self.files = files;
    }

    /// The whole `metadata.yaml` file.
    pub fn to_yaml(&self) -> String {
        format!("rosbag2_bagfile_information:\n{}", self.to_yaml_body(2))
    }
}

/// A YAML scalar for any string: plain when that reads back unchanged, double-quoted otherwise.
fn q(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_.-".contains(c))
        && !s.starts_with(['-', '.'])
        && s.parse::<f64>().is_err()
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n" | "~"
        );
    if plain {
        s.to_owned()
    } else {
        serde_json::to_string(s).expect("strings serialize")
    }
}

fn seq(v: Option<&Value>) -> &[Value] {
    match v {
        Some(Value::Sequence(s)) => s,
        _ => &[],
    }
}

fn u64_of(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64().or_else(|| n.as_i64().map(|i| i.max(0) as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn u32_of(v: Option<&Value>) -> Option<u32> {
    u64_of(v).and_then(|n| u32::try_from(n).ok())
}

fn nested_u64(v: &Value, outer: &str, inner: &str) -> u64 {
    u64_of(v.get(outer).and_then(|o| o.get(inner))).unwrap_or(0)
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// rmw's "infinite" duration as rosbag2 writes it.
const INFINITE_SEC: i64 = 9_223_372_036;
const INFINITE_NSEC: u32 = 854_775_807;

/// Parses the QoS list text found in `offered_qos_profiles` (YAML with integer or string enums).
pub fn parse_qos_list(text: &str) -> Result<Vec<QosProfile>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let v: Value = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
    qos_list_from_value(&v)
}

fn qos_list_from_value(v: &Value) -> Result<Vec<QosProfile>, String> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Sequence(items) => items.iter().map(qos_from_value).collect(),
        _ => Err("not a list".into()),
    }
}

fn enum_of(v: Option<&Value>) -> Option<EnumVal> {
    match v? {
        Value::Number(n) => n.as_u64().map(EnumVal::Int),
        Value::String(s) => Some(EnumVal::Str(s.clone())),
        _ => None,
    }
}

enum EnumVal {
    Int(u64),
    Str(String),
}

fn duration_of(v: Option<&Value>) -> Option<Duration> {
    let v = v?;
    let sec = v.get("sec").and_then(Value::as_i64).unwrap_or(0);
    let nsec = v.get("nsec").and_then(Value::as_u64).unwrap_or(0);
    // 0 means "unspecified" and the rmw maximum (and Foxy's 0x7FFFFFFF…) mean infinite.
    if (sec == 0 && nsec == 0) || sec >= INFINITE_SEC || sec >= i64::from(i32::MAX) || sec < 0 {
        return None;
    }
    Some(Duration::new(sec as u64, nsec.min(999_999_999) as u32))
}

fn qos_from_value(v: &Value) -> Result<QosProfile, String> {
    let mut q = QosProfile::default();
    let depth = u64_of(v.get("depth")).unwrap_or(0) as usize;
    q.history = match enum_of(v.get("history")) {
        Some(EnumVal::Int(2)) => History::KeepAll,
        Some(EnumVal::Str(s)) if s == "keep_all" => History::KeepAll,
        // keep_last, system_default and unknown: keep last `depth` (rclcpp's 10 when 0).
        _ => History::KeepLast(if depth == 0 { 10 } else { depth }),
    };
    q.reliability = match enum_of(v.get("reliability")) {
        Some(EnumVal::Int(2)) => Reliability::BestEffort,
        Some(EnumVal::Str(s)) if s == "best_effort" => Reliability::BestEffort,
        _ => Reliability::Reliable,
    };
    q.durability = match enum_of(v.get("durability")) {
        Some(EnumVal::Int(1)) => Durability::TransientLocal,
        Some(EnumVal::Str(s)) if s == "transient_local" => Durability::TransientLocal,
        _ => Durability::Volatile,
    };
    q.liveliness = match enum_of(v.get("liveliness")) {
        Some(EnumVal::Int(3)) => Liveliness::ManualByTopic,
        Some(EnumVal::Str(s)) if s == "manual_by_topic" => Liveliness::ManualByTopic,
        _ => Liveliness::Automatic,
    };
    q.deadline = duration_of(v.get("deadline"));
    q.lifespan = duration_of(v.get("lifespan"));
    q.liveliness_lease = duration_of(v.get("liveliness_lease_duration"));
    Ok(q)
}

fn duration_yaml(o: &mut String, p: &str, key: &str, d: Option<Duration>) {
    let (sec, nsec) = match d {
        Some(d) => (d.as_secs() as i64, d.subsec_nanos()),
        None => (INFINITE_SEC, INFINITE_NSEC),
    };
    let _ = writeln!(o, "{p}  {key}:\n{p}    sec: {sec}\n{p}    nsec: {nsec}");
}

/// Writes a QoS list as version-9 YAML (string enums), each line indented by `indent`.
pub fn qos_list_yaml(list: &[QosProfile], indent: usize) -> String {
    let p = " ".repeat(indent);
    let mut o = String::new();
    for q in list {
        let (history, depth) = match q.history {
            History::KeepLast(n) => ("keep_last", n),
            History::KeepAll => ("keep_all", 0),
        };
        let _ = writeln!(o, "{p}- history: {history}\n{p}  depth: {depth}");
        let reliability = match q.reliability {
            Reliability::Reliable => "reliable",
            Reliability::BestEffort => "best_effort",
        };
        let durability = match q.durability {
            Durability::TransientLocal => "transient_local",
            Durability::Volatile => "volatile",
        };
        let _ = writeln!(
            o,
            "{p}  reliability: {reliability}\n{p}  durability: {durability}"
        );
        duration_yaml(&mut o, &p, "deadline", q.deadline);
        duration_yaml(&mut o, &p, "lifespan", q.lifespan);
        let liveliness = match q.liveliness {
            Liveliness::Automatic => "automatic",
            Liveliness::ManualByTopic => "manual_by_topic",
        };
        let _ = writeln!(o, "{p}  liveliness: {liveliness}");
        duration_yaml(&mut o, &p, "liveliness_lease_duration", q.liveliness_lease);
        let _ = writeln!(o, "{p}  avoid_ros_namespace_conventions: false");
    }
    o
}

/// The QoS a player offers: the recorded one when every publisher agreed, rosbag2's default
/// (reliable, volatile, keep last 10) otherwise.
pub fn playback_qos(offered: &[QosProfile]) -> QosProfile {
    match offered.split_first() {
        Some((first, rest)) if rest.iter().all(|q| q == first) => *first,
        _ => QosProfile::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HUMBLE: &str = r#"rosbag2_bagfile_information:
  version: 5
  storage_identifier: sqlite3
  relative_file_paths: [talker_0.db3]
  duration: {nanoseconds: 4531096768}
  starting_time: {nanoseconds_since_epoch: 1585866235112411371}
  message_count: 20
  topics_with_message_count:
  - message_count: 10
    topic_metadata:
      name: /topic
      type: std_msgs/msg/String
      serialization_format: cdr
      offered_qos_profiles: "- history: 3\n  depth: 0\n  reliability: 2\n  durability: 1\n  deadline:\n    sec: 0\n    nsec: 0\n  lifespan:\n    sec: 0\n    nsec: 0\n  liveliness: 1\n  liveliness_lease_duration:\n    sec: 0\n    nsec: 0\n  avoid_ros_namespace_conventions: false"
  compression_format: ''
  compression_mode: ''
  files:
  - path: talker_0.db3
    starting_time: {nanoseconds_since_epoch: 1585866235112411371}
    duration: {nanoseconds: 4531096768}
    message_count: 20
"#;

    #[test]
    fn reads_a_humble_v5_file_with_integer_qos() {
        let m = BagMetadata::parse(HUMBLE, "metadata.yaml").unwrap();
        assert_eq!(m.version, 5);
        assert_eq!(m.storage_identifier, "sqlite3");
        assert_eq!(m.duration, 4_531_096_768);
        assert_eq!(m.starting_time, 1_585_866_235_112_411_371);
        assert_eq!(m.relative_file_paths, ["talker_0.db3"]);
        assert_eq!(m.files[0].message_count, 20);
        let t = &m.topics[0];
        assert_eq!((t.topic.name.as_str(), t.message_count), ("/topic", 10));
        let q = t.topic.offered_qos_profiles[0];
        assert_eq!(q.reliability, Reliability::BestEffort);
        assert_eq!(q.durability, Durability::TransientLocal);
        assert_eq!(q.deadline, None);
    }

    #[test]
    fn v9_round_trips_through_our_writer() {
        let mut m = BagMetadata::new_mcap();
        m.duration = 70_653_944;
        m.starting_time = 1_699_345_836_270_074_454;
        m.message_count = 10;
        let mut qos = QosProfile::keep_last(7).durability(Durability::TransientLocal);
        qos.deadline = Some(Duration::from_millis(250));
        m.topics.push(TopicInfo {
            topic: TopicMetadata {
                name: "/chatter".into(),
                type_name: "std_msgs/msg/String".into(),
                serialization_format: "cdr".into(),
                offered_qos_profiles: vec![qos],
                type_description_hash: "RIHS01_df66".into(),
            },
            message_count: 10,
        });
        m.relative_file_paths.push("my bag_0.mcap".into());
        m.files.push(FileInfo {
            path: "my bag_0.mcap".into(),
            starting_time: m.starting_time,
            duration: m.duration,
            message_count: 10,
        });
        m.custom_data.insert("robot".into(), "true".into());
        let text = m.to_yaml();
        assert!(text.contains("      - history: keep_last\n"), "{text}");
        assert!(text.contains("sec: 9223372036\n"), "{text}");
        assert_eq!(BagMetadata::parse(&text, "x").unwrap(), m);
    }

    #[test]
    fn newer_versions_and_garbage_are_refused_with_the_file_name() {
        let e = BagMetadata::parse(
            "rosbag2_bagfile_information: {version: 10}",
            "b/metadata.yaml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("b/metadata.yaml"), "{e}");
        assert!(e.to_string().contains("version 10"), "{e}");
        assert!(BagMetadata::parse("[", "m").is_err());
    }

    #[test]
    fn playback_uses_the_recorded_qos_only_when_publishers_agree() {
        let a = QosProfile::sensor_data();
        assert_eq!(playback_qos(&[a, a]), a);
        assert_eq!(
            playback_qos(&[a, QosProfile::default()]),
            QosProfile::default()
        );
        assert_eq!(playback_qos(&[]), QosProfile::default());
    }
}
