//! Interop with `zenoh-ros2-sdk` (PyPI, pinned in tests/interop/requirements.txt), an
//! independent Python implementation of rmw_zenoh's protocol: topics both ways, services
//! both ways, and the SDK's discovery API reading embody's liveliness tokens.
//!
//! The Python side is tests/interop/zenoh_ros2_sdk_peer.py. Every test starts its own router
//! on a loopback port; embody and the SDK connect only to it (multicast scouting off, listen
//! on 127.0.0.1 only). The SDK never fetches message definitions: it reads msgs/interfaces,
//! its git clone entry points abort the process, git may only use the `file` protocol, and
//! each test checks that the SDK's cache directory was never created (see the script).

use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use embody::wire::EntityKind;
use embody::{Context, ContextOptions, NodeOptions, QosProfile, Router};
use embody_msgs::example_interfaces::srv::{AddTwoInts, AddTwoInts_Request, AddTwoInts_Response};
use embody_msgs::geometry_msgs::msg::{Twist, Vector3};
use embody_msgs::std_msgs::msg::String as RosString;
use embody_msgs::std_srvs::srv::Trigger;
use embody_msgs::{Message, Service};
use serde_json::{Value, json};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(60);
const SCRIPT: &str = "tests/interop/zenoh_ros2_sdk_peer.py";

/// Doubles that are easy to get subtly wrong: inexact decimals, signed zero, a subnormal.
fn twist() -> Twist {
    Twist {
        linear: Vector3 {
            x: 0.1,
            y: -2.5e-7,
            z: std::f64::consts::PI,
        },
        angular: Vector3 {
            x: -0.0,
            y: 1e300,
            z: f64::from_bits(1),
        },
    }
}

/// The IEEE-754 bit patterns, compared instead of the values so -0.0 != 0.0.
fn twist_bits(t: &Twist) -> Vec<u64> {
    [
        t.linear.x,
        t.linear.y,
        t.linear.z,
        t.angular.x,
        t.angular.y,
        t.angular.z,
    ]
    .iter()
    .map(|v| v.to_bits())
    .collect()
}

async fn router() -> (Router, String, u16) {
    // Build the pinned venv (first use only) before anything starts waiting on a deadline.
    tokio::task::spawn_blocking(embody_testkit::python)
        .await
        .expect("interop venv");
    let port = embody_testkit::free_loopback_port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let router = Router::start(std::slice::from_ref(&endpoint))
        .await
        .expect("router starts");
    (router, endpoint, port)
}

async fn context(endpoint: &str) -> Context {
    Context::with_options(ContextOptions::router(endpoint))
        .await
        .expect("context opens")
}

/// A running zenoh_ros2_sdk_peer.py. Killed when dropped (a failing test leaves nothing).
struct Peer {
    mode: &'static str,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
    cache: PathBuf,
}

impl Peer {
    fn spawn(mode: &'static str, port: u16, domain: u32, spec: Value) -> Self {
        // Where the SDK would clone message repositories to; it must never appear.
        let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "zenoh-ros2-sdk-cache-{}-{mode}-{port}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&cache);
        let mut child = Command::new(embody_testkit::python())
            .arg(embody_testkit::workspace_root().join(SCRIPT))
            .args([mode.to_owned(), port.to_string(), domain.to_string()])
            .arg(spec.to_string())
            .env("ZENOH_ROS2_SDK_CACHE", &cache)
            .env("GIT_ALLOW_PROTOCOL", "file")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("PYTHONUTF8", "1")
            .env_remove("ZENOH_SESSION_CONFIG_URI")
            .env_remove("ZENOH_CONFIG_OVERRIDE")
            .env_remove("ROS_DOMAIN_ID")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {SCRIPT}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line.trim().to_owned()).is_err() {
                    break;
                }
            }
        });
        Self {
            mode,
            stdin: child.stdin.take(),
            child: Some(child),
            lines,
            cache,
        }
    }

    /// The next line the peer prints, waiting at most [`WAIT`].
    async fn line(&mut self) -> String {
        tokio::time::timeout(WAIT, self.lines.recv())
            .await
            .unwrap_or_else(|_| panic!("{} printed nothing for {WAIT:?}", self.mode))
            .unwrap_or_else(|| panic!("{} ended its output early (see stderr)", self.mode))
    }

    /// Closes stdin (the peer's "done" signal), waits for a successful exit, returns the
    /// lines not read yet, and checks the SDK did not create its git cache.
    async fn finish(mut self) -> Vec<String> {
        drop(self.stdin.take());
        let mut child = self.child.take().expect("running");
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut poll = tokio::time::interval(Duration::from_millis(20));
        let status = loop {
            poll.tick().await;
            if let Some(status) = child.try_wait().expect("poll peer") {
                break status;
            }
            if tokio::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{} did not exit within {WAIT:?}", self.mode);
            }
        };
        assert!(
            status.success(),
            "{} failed: {status} (see stderr)",
            self.mode
        );
        let mut rest = Vec::new();
        while let Some(line) = tokio::time::timeout(WAIT, self.lines.recv())
            .await
            .expect("peer output ends")
        {
            rest.push(line);
        }
        assert!(
            !self.cache.exists(),
            "the SDK created its message cache {} (a git clone was attempted)",
            self.cache.display()
        );
        rest
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_publisher_reaches_embody_subscriptions() {
    const TEXT: &str = "from zenoh-ros2-sdk: ünïcödé ✓ 🤖";
    let (_router, ep, port) = router().await;
    let ctx = context(&ep).await;
    let node = ctx.create_node("embody_listener").await.unwrap();
    let strings = node
        .create_subscription::<RosString>("sdk_chatter", QosProfile::default())
        .await
        .unwrap();
    let twists = node
        .create_subscription::<Twist>("sdk_cmd_vel", QosProfile::default())
        .await
        .unwrap();
    let spec = json!({
        "string_topic": "/sdk_chatter",
        "twist_topic": "/sdk_cmd_vel",
        "text": TEXT,
        "twist_bits": twist_bits(&twist()),
    });
    let mut peer = Peer::spawn("talker", port, ctx.domain_id(), spec);
    assert_eq!(peer.line().await, "ready");

    let s = tokio::time::timeout(WAIT, strings.recv())
        .await
        .expect("a String from the SDK")
        .unwrap();
    assert_eq!(s.data, TEXT);
    let t = tokio::time::timeout(WAIT, twists.recv())
        .await
        .expect("a Twist from the SDK")
        .unwrap();
    assert_eq!(twist_bits(&t), twist_bits(&twist()));
    assert_eq!(*t, twist());

    // Our graph reads the SDK's tokens: same type names and hashes as ours.
    let graph = ctx.graph().await.unwrap();
    let announced = |topic: &str, dds: &str, hash: &str| {
        let (topic, dds, hash) = (topic.to_owned(), dds.to_owned(), hash.to_owned());
        move |g: &embody::Graph| {
            g.endpoints(&topic, EntityKind::Publisher).iter().any(|e| {
                let t = e.topic.as_ref().unwrap();
                e.node_name == "sdk_talker"
                    && e.namespace == "/"
                    && t.dds_type == dds
                    && t.type_hash == hash
                    && t.qos == QosProfile::default()
            })
        }
    };
    graph
        .wait_until(
            WAIT,
            announced(
                "/sdk_chatter",
                RosString::DDS_TYPE_NAME,
                RosString::TYPE_HASH,
            ),
        )
        .await
        .expect("the SDK's String publisher in embody's graph");
    graph
        .wait_until(
            WAIT,
            announced("/sdk_cmd_vel", Twist::DDS_TYPE_NAME, Twist::TYPE_HASH),
        )
        .await
        .expect("the SDK's Twist publisher in embody's graph");
    peer.finish().await;

    for stats in [strings.stats(), twists.stats()] {
        assert_eq!(
            (
                stats.decode_errors,
                stats.missing_attachment,
                stats.hash_mismatch
            ),
            (0, 0, 0),
            "every SDK sample has our hash, a valid attachment and decodes"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embody_publisher_reaches_sdk_subscribers() {
    const TEXT: &str = "from embody: ünïcödé ✓ 🤖";
    let (_router, ep, port) = router().await;
    let ctx = context(&ep).await;
    let node = ctx.create_node("embody_talker").await.unwrap();
    let strings = node
        .create_publisher::<RosString>("embody_chatter", QosProfile::default())
        .await
        .unwrap();
    let twists = node
        .create_publisher::<Twist>("embody_cmd_vel", QosProfile::default())
        .await
        .unwrap();
    let spec = json!({"string_topic": "/embody_chatter", "twist_topic": "/embody_cmd_vel"});
    let mut peer = Peer::spawn("listener", port, ctx.domain_id(), spec);
    assert_eq!(peer.line().await, "ready");
    // zenoh matches a subscriber only on the exact key, hash included: this alone shows the
    // SDK computed our type hashes.
    strings
        .wait_for_remote_subscriber(WAIT)
        .await
        .expect("the SDK's String subscriber matches");
    twists
        .wait_for_remote_subscriber(WAIT)
        .await
        .expect("the SDK's Twist subscriber matches");

    // Volatile topics: publish until the SDK reports it heard both (bounded by WAIT).
    let heard = tokio::time::timeout(WAIT, async {
        loop {
            strings
                .publish(RosString { data: TEXT.into() })
                .await
                .unwrap();
            twists.publish(twist()).await.unwrap();
            match tokio::time::timeout(Duration::from_millis(20), peer.lines.recv()).await {
                Ok(Some(line)) => break line,
                Ok(None) => panic!("listener ended its output early (see stderr)"),
                Err(_) => continue,
            }
        }
    })
    .await
    .expect("the SDK hears both topics");
    let heard: Value = serde_json::from_str(&heard).expect("listener prints JSON");
    assert_eq!(heard["string"], TEXT);
    let bits: Vec<u64> = serde_json::from_value(heard["twist_bits"].clone()).unwrap();
    assert_eq!(bits, twist_bits(&twist()));
    assert_eq!(peer.finish().await, Vec::<String>::new());
}

const REQUESTS: [(i64, i64); 5] = [
    (2, 3),
    (-7, 4),
    (i64::MAX - 1, 1),
    (i64::MIN, 0),
    (-(1 << 40), 123_456_789),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_client_calls_embody_server() {
    let (_router, ep, port) = router().await;
    let ctx = context(&ep).await;
    let node = ctx.create_node("embody_adder").await.unwrap();
    let server = node
        .create_service::<AddTwoInts, _>("embody_add_two_ints", |r: AddTwoInts_Request| {
            AddTwoInts_Response {
                sum: r.a.wrapping_add(r.b),
            }
        })
        .await
        .unwrap();
    let spec = json!({"service": "/embody_add_two_ints", "requests": REQUESTS});
    let peer = Peer::spawn("client", port, ctx.domain_id(), spec);
    let out = peer.finish().await;
    let out: Value = serde_json::from_str(out.last().expect("client prints the sums")).unwrap();
    let sums: Vec<i64> = serde_json::from_value(out["sums"].clone()).unwrap();
    let expected: Vec<i64> = REQUESTS.iter().map(|(a, b)| a + b).collect();
    assert_eq!(sums, expected);
    assert_eq!(
        server.rejected(),
        0,
        "every SDK request carried a valid attachment"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embody_client_calls_sdk_server() {
    let (_router, ep, port) = router().await;
    let ctx = context(&ep).await;
    let spec = json!({"service": "/sdk_add_two_ints"});
    let mut peer = Peer::spawn("server", port, ctx.domain_id(), spec);
    assert_eq!(peer.line().await, "ready");
    let node = ctx.create_node("embody_caller").await.unwrap();
    let client = node
        .create_client::<AddTwoInts>("sdk_add_two_ints")
        .await
        .unwrap();
    client.wait_for_service(WAIT).await.unwrap();
    // The SDK announces its server before declaring the queryable, so the first call may
    // find no one; retry it until the deadline. Later calls must succeed at once.
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut attempts = 0;
    let mut sums = Vec::new();
    for (i, (a, b)) in REQUESTS.into_iter().enumerate() {
        let request = AddTwoInts_Request { a, b };
        let response = loop {
            attempts += 1;
            match client.call(&request, Duration::from_secs(10)).await {
                Ok(r) => break r,
                Err(e) if i == 0 && tokio::time::Instant::now() < deadline => {
                    eprintln!("first call to the SDK server: {e}; retrying");
                }
                Err(e) => panic!("call {a} + {b}: {e}"),
            }
        };
        sums.push(response.sum);
    }
    let expected: Vec<i64> = REQUESTS.iter().map(|(a, b)| a + b).collect();
    assert_eq!(sums, expected);

    // Our graph reads the SDK's server token with our service type hash.
    let graph = ctx.graph().await.unwrap();
    let servers = graph.endpoints("/sdk_add_two_ints", EntityKind::ServiceServer);
    assert_eq!(servers.len(), 1, "{servers:?}");
    assert_eq!(servers[0].node_name, "sdk_adder");
    let t = servers[0].topic.as_ref().unwrap();
    assert_eq!(
        (t.dds_type.as_str(), t.type_hash.as_str()),
        (AddTwoInts::DDS_TYPE_NAME, AddTwoInts::TYPE_HASH)
    );

    let out = peer.finish().await;
    let handled: usize = out
        .last()
        .and_then(|l| l.strip_prefix("handled "))
        .expect("server prints `handled N`")
        .parse()
        .unwrap();
    // Only the first call may have been retried, and a retry that reached no queryable
    // was never handled.
    assert!(
        (REQUESTS.len()..=attempts).contains(&handled),
        "handled {handled}, calls {}, attempts {attempts}",
        REQUESTS.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_discovery_lists_embody_node_topics_types_and_hashes() {
    let (_router, ep, port) = router().await;
    let ctx = context(&ep).await;
    let node = ctx
        .create_node_with(
            "graph_probe",
            // Only the endpoints declared below, not the parameter services and /rosout
            // publisher every node has.
            NodeOptions::namespace("/interop")
                .parameter_services(false)
                .rosout(false),
        )
        .await
        .unwrap();
    let publisher = node
        .create_publisher::<RosString>("chatter", QosProfile::default())
        .await
        .unwrap();
    let subscription = node
        .create_subscription::<Twist>("cmd_vel", QosProfile::sensor_data())
        .await
        .unwrap();
    let _server = node
        .create_service::<AddTwoInts, _>("add_two_ints", |r: AddTwoInts_Request| {
            AddTwoInts_Response { sum: r.a + r.b }
        })
        .await
        .unwrap();
    let _client = node.create_client::<Trigger>("reset").await.unwrap();

    let spec = json!({
        "topics": {"/interop/chatter": 1, "/interop/cmd_vel": 1},
        "services": {"/interop/add_two_ints": 1, "/interop/reset": 1},
        "nodes": [["/interop", "graph_probe"]],
    });
    let peer = Peer::spawn("discover", port, ctx.domain_id(), spec);
    let out = peer.finish().await;
    let seen: Value = serde_json::from_str(out.last().expect("discover prints JSON")).unwrap();

    let endpoint = |ty: &str, hash: &str, qos: &QosProfile| {
        json!({
            "node_name": "graph_probe",
            "node_namespace": "/interop",
            "type": ty,
            "type_hash": hash,
            "qos": qos.to_keyexpr(),
        })
    };
    let qos_of = |e: &embody::wire::Entity| e.topic.as_ref().unwrap().qos;

    // The node (the SDK has no node list; its session reads our NN token).
    assert_eq!(seen["nodes"], json!([["/interop", "graph_probe"]]));
    // Topics and types, as `get_topic_names_and_types` lists them.
    assert_eq!(
        seen["topics"],
        json!([
            ["/interop/chatter", ["std_msgs/msg/String"]],
            ["/interop/cmd_vel", ["geometry_msgs/msg/Twist"]],
        ])
    );
    // Per endpoint: node, namespace, type, type hash and QoS, from `get_topic_info -v`.
    assert_eq!(
        seen["topic_info"]["/interop/chatter"],
        json!({
            "types": ["std_msgs/msg/String"],
            "publishers": [endpoint(
                RosString::TYPE_NAME,
                RosString::TYPE_HASH,
                &qos_of(publisher.entity())
            )],
            "subscribers": [],
        })
    );
    assert_eq!(
        seen["topic_info"]["/interop/cmd_vel"],
        json!({
            "types": ["geometry_msgs/msg/Twist"],
            "publishers": [],
            "subscribers": [endpoint(
                Twist::TYPE_NAME,
                Twist::TYPE_HASH,
                &qos_of(subscription.entity())
            )],
        })
    );
    // Services, their types and hashes.
    assert_eq!(
        seen["services"],
        json!([
            [
                "/interop/add_two_ints",
                ["example_interfaces/srv/AddTwoInts"]
            ],
            ["/interop/reset", ["std_srvs/srv/Trigger"]],
        ])
    );
    let services_qos = QosProfile::services_default();
    assert_eq!(
        seen["service_info"]["/interop/add_two_ints"],
        json!({
            "types": ["example_interfaces/srv/AddTwoInts"],
            "servers": [endpoint(AddTwoInts::TYPE_NAME, AddTwoInts::TYPE_HASH, &services_qos)],
            "clients": [],
        })
    );
    assert_eq!(
        seen["service_info"]["/interop/reset"],
        json!({
            "types": ["std_srvs/srv/Trigger"],
            "servers": [],
            "clients": [endpoint(Trigger::TYPE_NAME, Trigger::TYPE_HASH, &services_qos)],
        })
    );
}
