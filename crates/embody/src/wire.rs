//! The rmw_zenoh wire format: data key expressions, liveliness tokens and attachments. The
//! one place these strings and bytes are built and parsed.

use crate::error::WireError;
use crate::qos::QosProfile;

/// Prefix of every liveliness token.
pub const ADMIN_SPACE: &str = "@ros2_lv";

/// rmw_zenoh's `mangle_name`: `/` becomes `%`, and an empty name becomes `%` because an empty
/// chunk would end the token early.
pub fn mangle(name: &str) -> String {
    if name.is_empty() {
        "%".to_owned()
    } else {
        name.replace('/', "%")
    }
}

/// The inverse of [`mangle`].
pub fn demangle(name: &str) -> String {
    name.replace('%', "/")
}

/// `geometry_msgs/msg/Twist` → `geometry_msgs::msg::dds_::Twist_`.
pub fn dds_type_name(ros_type: &str) -> Option<String> {
    let t = embody_idl::TypeName::parse(ros_type)?;
    Some(embody_idl::dds_type_name(&t))
}

/// `geometry_msgs::msg::dds_::Twist_` → `geometry_msgs/msg/Twist`.
pub fn ros_type_name(dds_type: &str) -> Option<String> {
    let mut parts = dds_type.split("::");
    let (pkg, kind, dds, name) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || dds != "dds_" {
        return None;
    }
    Some(format!("{pkg}/{kind}/{}", name.strip_suffix('_')?))
}

/// The key expression samples and queries of a topic or service travel on:
/// `<domain>/<fully qualified name without the leading slash>/<dds type>/<RIHS01 hash>`.
pub fn data_key(domain: u32, fq_name: &str, dds_type: &str, hash: &str) -> String {
    let n = fq_name.strip_prefix('/').unwrap_or(fq_name);
    let n = n.strip_suffix('/').unwrap_or(n);
    format!("{domain}/{n}/{dds_type}/{hash}")
}

/// What a liveliness token announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityKind {
    /// A node (`NN`).
    Node,
    /// A publisher (`MP`).
    Publisher,
    /// A subscription (`MS`).
    Subscription,
    /// A service server (`SS`).
    ServiceServer,
    /// A service client (`SC`).
    ServiceClient,
}

impl EntityKind {
    /// The two-letter code in tokens.
    pub fn code(self) -> &'static str {
        match self {
            EntityKind::Node => "NN",
            EntityKind::Publisher => "MP",
            EntityKind::Subscription => "MS",
            EntityKind::ServiceServer => "SS",
            EntityKind::ServiceClient => "SC",
        }
    }

    fn from_code(s: &str) -> Option<Self> {
        Some(match s {
            "NN" => EntityKind::Node,
            "MP" => EntityKind::Publisher,
            "MS" => EntityKind::Subscription,
            "SS" => EntityKind::ServiceServer,
            "SC" => EntityKind::ServiceClient,
            _ => return None,
        })
    }
}

/// The topic or service part of an endpoint token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TopicInfo {
    /// Fully qualified name, e.g. `/robot1/chatter`.
    pub name: String,
    /// DDS type name, e.g. `std_msgs::msg::dds_::String_`.
    pub dds_type: String,
    /// `RIHS01_…` (or whatever the peer announced).
    pub type_hash: String,
    /// The endpoint's QoS.
    pub qos: QosProfile,
}

/// A node or endpoint as announced by a liveliness token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entity {
    /// ROS domain id.
    pub domain: u32,
    /// zenoh session id (hex) of the process.
    pub zid: String,
    /// Node id within the session.
    pub nid: String,
    /// Entity id within the session (equal to `nid` for nodes).
    pub eid: String,
    /// Node, publisher, subscription, service server or client.
    pub kind: EntityKind,
    /// Security enclave (`/` by default).
    pub enclave: String,
    /// Node namespace (`/` for the root).
    pub namespace: String,
    /// Node name.
    pub node_name: String,
    /// Topic or service details for endpoints.
    pub topic: Option<TopicInfo>,
}

impl Entity {
    /// The liveliness key expression announcing this entity.
    pub fn liveliness_key(&self) -> String {
        let mut k = format!(
            "{ADMIN_SPACE}/{}/{}/{}/{}/{}/{}/{}/{}",
            self.domain,
            self.zid,
            self.nid,
            self.eid,
            self.kind.code(),
            mangle(&self.enclave),
            mangle(&self.namespace),
            mangle(&self.node_name)
        );
        if let Some(t) = &self.topic {
            k.push_str(&format!(
                "/{}/{}/{}/{}",
                mangle(&t.name),
                mangle(&t.dds_type),
                mangle(&t.type_hash),
                t.qos.to_keyexpr()
            ));
        }
        k
    }

    /// The 16-byte GID rmw_zenoh derives from the token: XXH3-128 of it, low half first.
    pub fn gid(&self) -> [u8; 16] {
        let h = xxhash_rust::xxh3::xxh3_128(self.liveliness_key().as_bytes());
        let mut gid = [0u8; 16];
        gid[..8].copy_from_slice(&(h as u64).to_le_bytes());
        gid[8..].copy_from_slice(&((h >> 64) as u64).to_le_bytes());
        gid
    }

    /// Parses a liveliness key expression from any peer.
    pub fn parse(key: &str) -> Result<Self, WireError> {
        let bad = |why: &str| WireError::Token {
            token: key.to_owned(),
            why: why.to_owned(),
        };
        let parts: Vec<&str> = key.split('/').collect();
        if parts.first() != Some(&ADMIN_SPACE) {
            return Err(bad("does not start with @ros2_lv"));
        }
        if parts.len() < 9 || parts.iter().any(|p| p.is_empty()) {
            return Err(bad("expected at least 9 non-empty chunks"));
        }
        let kind = EntityKind::from_code(parts[5]).ok_or_else(|| bad("unknown entity kind"))?;
        let domain = parts[1]
            .parse()
            .map_err(|_| bad("domain is not a number"))?;
        let topic = if kind == EntityKind::Node {
            None
        } else {
            if parts.len() < 13 {
                return Err(bad("an endpoint token needs 13 chunks"));
            }
            Some(TopicInfo {
                name: demangle(parts[9]),
                dds_type: demangle(parts[10]),
                type_hash: demangle(parts[11]),
                qos: QosProfile::from_keyexpr(parts[12])?,
            })
        };
        Ok(Self {
            domain,
            zid: parts[2].to_owned(),
            nid: parts[3].to_owned(),
            eid: parts[4].to_owned(),
            kind,
            enclave: demangle(parts[6]),
            namespace: demangle(parts[7]),
            node_name: demangle(parts[8]),
            topic,
        })
    }

    /// `namespace` + `/` + `node_name`.
    pub fn node_fq_name(&self) -> String {
        crate::names::node_fq_name(&self.namespace, &self.node_name)
    }
}

/// The 33 bytes rmw_zenoh attaches to every sample, query and reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attachment {
    /// Per-publisher (or per-client) sequence number, from 1.
    pub sequence_number: i64,
    /// Source timestamp, ns since the UNIX epoch.
    pub source_timestamp: i64,
    /// Publisher or client GID.
    pub gid: [u8; 16],
}

impl Attachment {
    /// Encoded size.
    pub const LEN: usize = 33;

    /// `seq` i64 LE, `ts` i64 LE, LEB128 length 16, then the GID.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[..8].copy_from_slice(&self.sequence_number.to_le_bytes());
        b[8..16].copy_from_slice(&self.source_timestamp.to_le_bytes());
        b[16] = 16;
        b[17..].copy_from_slice(&self.gid);
        b
    }

    /// Parses an attachment from the network.
    pub fn parse(b: &[u8]) -> Result<Self, WireError> {
        if b.len() != Self::LEN || b[16] != 16 {
            return Err(WireError::Attachment { len: b.len() });
        }
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&b[..8]);
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&b[8..16]);
        let mut gid = [0u8; 16];
        gid.copy_from_slice(&b[17..]);
        Ok(Self {
            sequence_number: i64::from_le_bytes(seq),
            source_timestamp: i64::from_le_bytes(ts),
            gid,
        })
    }
}

/// Nanoseconds since the UNIX epoch by the system clock.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRING_HASH: &str =
        "RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18";

    fn endpoint(
        kind: EntityKind,
        zid: &str,
        node: &str,
        topic: &str,
        dds: &str,
        hash: &str,
        qos: QosProfile,
    ) -> Entity {
        Entity {
            domain: 2,
            zid: zid.into(),
            nid: "0".into(),
            eid: "10".into(),
            kind,
            enclave: "/".into(),
            namespace: "/".into(),
            node_name: node.into(),
            topic: Some(TopicInfo {
                name: topic.into(),
                dds_type: dds.into(),
                type_hash: hash.into(),
                qos,
            }),
        }
    }

    #[test]
    fn data_keys_match_the_design_examples() {
        let dds = dds_type_name("std_msgs/msg/String").unwrap();
        assert_eq!(dds, "std_msgs::msg::dds_::String_");
        assert_eq!(
            data_key(0, "/chatter", &dds, STRING_HASH),
            format!("0/chatter/std_msgs::msg::dds_::String_/{STRING_HASH}")
        );
        assert_eq!(
            data_key(0, "/robot1/chatter", &dds, STRING_HASH),
            format!("0/robot1/chatter/std_msgs::msg::dds_::String_/{STRING_HASH}")
        );
        assert_eq!(
            data_key(
                2,
                "/add_two_ints",
                "example_interfaces::srv::dds_::AddTwoInts_",
                "RIHS01_e118de6bf5eeb66a2491b5bda11202e7b68f198d6f67922cf30364858239c81a"
            ),
            "2/add_two_ints/example_interfaces::srv::dds_::AddTwoInts_/RIHS01_e118de6bf5eeb66a2491b5bda11202e7b68f198d6f67922cf30364858239c81a"
        );
        assert_eq!(
            ros_type_name("example_interfaces::srv::dds_::AddTwoInts_").unwrap(),
            "example_interfaces/srv/AddTwoInts"
        );
        assert_eq!(ros_type_name("nonsense"), None);
    }

    #[test]
    fn tokens_match_the_design_examples() {
        let node = Entity {
            domain: 2,
            zid: "aac3178e146ba6f1fc6e6a4085e77f21".into(),
            nid: "0".into(),
            eid: "0".into(),
            kind: EntityKind::Node,
            enclave: "/".into(),
            namespace: "/".into(),
            node_name: "listener".into(),
            topic: None,
        };
        assert_eq!(
            node.liveliness_key(),
            "@ros2_lv/2/aac3178e146ba6f1fc6e6a4085e77f21/0/0/NN/%/%/listener"
        );
        let sub = endpoint(
            EntityKind::Subscription,
            "aac3178e146ba6f1fc6e6a4085e77f21",
            "listener",
            "/chatter",
            "std_msgs::msg::dds_::String_",
            STRING_HASH,
            QosProfile::keep_last(10),
        );
        assert_eq!(
            sub.liveliness_key(),
            format!(
                "@ros2_lv/2/aac3178e146ba6f1fc6e6a4085e77f21/0/10/MS/%/%/listener/%chatter/std_msgs::msg::dds_::String_/{STRING_HASH}/::,10:,:,:,,"
            )
        );
        let publ = endpoint(
            EntityKind::Publisher,
            "8b20917502ee955ac4476e0266340d5c",
            "talker",
            "/chatter",
            "std_msgs::msg::dds_::String_",
            STRING_HASH,
            QosProfile::keep_last(7),
        );
        assert_eq!(
            publ.liveliness_key(),
            format!(
                "@ros2_lv/2/8b20917502ee955ac4476e0266340d5c/0/10/MP/%/%/talker/%chatter/std_msgs::msg::dds_::String_/{STRING_HASH}/::,7:,:,:,,"
            )
        );
        let server = endpoint(
            EntityKind::ServiceServer,
            "f9980ee0495eaafb3e38f0d19e2eae12",
            "add_two_ints_server",
            "/add_two_ints",
            "example_interfaces::srv::dds_::AddTwoInts_",
            "RIHS01_e118de6bf5eeb66a2491b5bda11202e7b68f198d6f67922cf30364858239c81a",
            QosProfile::services_default(),
        );
        assert_eq!(
            server.liveliness_key(),
            "@ros2_lv/2/f9980ee0495eaafb3e38f0d19e2eae12/0/10/SS/%/%/add_two_ints_server/%add_two_ints/example_interfaces::srv::dds_::AddTwoInts_/RIHS01_e118de6bf5eeb66a2491b5bda11202e7b68f198d6f67922cf30364858239c81a/::,10:,:,:,,"
        );
        for e in [node, sub, publ, server] {
            assert_eq!(Entity::parse(&e.liveliness_key()).unwrap(), e);
        }
        let namespaced = Entity {
            namespace: "/robot1".into(),
            ..Entity::parse("@ros2_lv/0/z/1/1/NN/%/%/n").unwrap()
        };
        assert_eq!(
            namespaced.liveliness_key(),
            "@ros2_lv/0/z/1/1/NN/%/%robot1/n"
        );
        assert_eq!(namespaced.node_fq_name(), "/robot1/n");
    }

    #[test]
    fn bad_tokens_are_errors() {
        assert!(Entity::parse("@ros2_lv/0/z/1/1/XX/%/%/n").is_err());
        assert!(Entity::parse("@ros2_lv/0/z/1/1/NN/%/%").is_err());
        assert!(Entity::parse("@ros2_lv/x/z/1/1/NN/%/%/n").is_err());
        assert!(Entity::parse("@ros2_lv/0/z/1/1/MP/%/%/n/%t/T/H").is_err());
        assert!(Entity::parse("@other/0/z/1/1/NN/%/%/n").is_err());
    }

    #[test]
    fn attachment_matches_the_reference_bytes() {
        let mut gid = [0u8; 16];
        for (i, g) in gid.iter_mut().enumerate() {
            *g = i as u8;
        }
        let a = Attachment {
            sequence_number: 1,
            source_timestamp: 1_700_000_000_123_456_789,
            gid,
        };
        let b = a.to_bytes();
        assert_eq!(
            b.to_vec(),
            [
                vec![1, 0, 0, 0, 0, 0, 0, 0],
                vec![0x15, 0xcd, 0x85, 0x3d, 0xfe, 0x9c, 0x97, 0x17],
                vec![0x10],
                (0u8..16).collect::<Vec<_>>()
            ]
            .concat()
        );
        assert_eq!(Attachment::parse(&b).unwrap(), a);
        assert_eq!(
            Attachment::parse(&b[..32]),
            Err(WireError::Attachment { len: 32 })
        );
    }
}
