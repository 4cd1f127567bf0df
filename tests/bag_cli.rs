//! `embody bag` between processes: record → play round trips, a recorder killed with SIGKILL,
//! playback under sim time with `--clock` and `--start-offset`, and recording 1 kHz small and
//! 30 Hz 4 MB messages without losing any.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use embody::msgs::rosgraph_msgs::msg::Clock as ClockMsg;
use embody::msgs::sensor_msgs::msg::PointCloud2;
use embody::msgs::std_msgs::msg::String as StringMsg;
use embody::qos::{History, QosProfile};
use embody::{Context, ContextOptions, Node, NodeOptions, Router, Time};
use embody_bag::{Bag, BagWriter, WriterOptions};
use embody_msgs::Message;

const WAIT: Duration = Duration::from_secs(30);

async fn router() -> (Router, String) {
    let ep = format!("tcp/127.0.0.1:{}", embody_testkit::free_loopback_port());
    (Router::start(std::slice::from_ref(&ep)).await.unwrap(), ep)
}

async fn node(ep: &str, name: &str, sim: bool) -> (Context, Node) {
    let ctx = Context::with_options(ContextOptions::router(ep))
        .await
        .unwrap();
    let node = ctx
        .create_node_with(name, NodeOptions::default().use_sim_time(sim))
        .await
        .unwrap();
    (ctx, node)
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("embody-bagcli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn embody(ep: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_embody"));
    cmd.args(args).env(
        "ZENOH_CONFIG_OVERRIDE",
        format!("connect/endpoints=[\"{ep}\"];listen/endpoints=[\"tcp/127.0.0.1:0\"]"),
    );
    cmd
}

/// A child process that is killed if the test ends before it does.
struct Proc(Option<Child>);

impl Proc {
    fn spawn(mut cmd: Command) -> Self {
        Self(Some(
            cmd.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn embody"),
        ))
    }

    fn signal(&self, sig: i32) {
        let pid = self.0.as_ref().expect("running").id();
        // SAFETY: sending a signal to our own child process.
        assert_eq!(unsafe { libc::kill(pid as i32, sig) }, 0);
    }

    /// Waits for exit; returns (success, stdout, stderr).
    async fn wait(mut self) -> (bool, String, String) {
        let child = self.0.take().expect("running");
        let out = tokio::task::spawn_blocking(move || child.wait_with_output().expect("wait"));
        let out = tokio::time::timeout(WAIT, out)
            .await
            .expect("embody exits in time")
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

async fn run(ep: &str, args: &[&str]) -> String {
    let (ok, out, err) = Proc::spawn(embody(ep, args)).wait().await;
    assert!(ok, "embody {args:?} failed:\n{out}\n{err}");
    out
}

/// Waits until the (possibly unfinished) bag holds at least `n` readable messages.
async fn wait_for_messages(dir: &Path, n: u64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let have = Bag::open(dir)
            .map(|b| b.metadata.message_count)
            .unwrap_or(0);
        if have >= n {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "bag {} holds {have} of {n} messages after {WAIT:?}",
            dir.display()
        );
        // The recorder closes a chunk every second; look again a little later.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn strings(bag: &Bag, topic: &str) -> Vec<String> {
    let sel = bag.select(&[topic.to_owned()]);
    bag.messages(Some(&sel))
        .map(|m| StringMsg::from_cdr(&m.unwrap().data).unwrap().data)
        .collect()
}

fn keep_all() -> QosProfile {
    QosProfile::default().history(History::KeepAll)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_then_play_between_processes() {
    let (_r, ep) = router().await;
    let (_ctx, node) = node(&ep, "bag_source", false).await;
    let dir = temp_dir("roundtrip");
    let publisher = node
        .create_publisher::<StringMsg>("/bag_test", keep_all())
        .await
        .unwrap();
    let recorder = Proc::spawn(embody(
        &ep,
        &["bag", "record", "/bag_test", "-o", dir.to_str().unwrap()],
    ));
    publisher.wait_for_remote_subscriber(WAIT).await.unwrap();
    const N: usize = 500;
    for i in 0..N {
        publisher
            .publish(StringMsg {
                data: format!("m{i}"),
            })
            .await
            .unwrap();
    }
    wait_for_messages(&dir, N as u64).await;
    recorder.signal(libc::SIGINT);
    let (ok, _, err) = recorder.wait().await;
    assert!(ok, "recorder failed: {err}");
    assert!(err.contains(&format!("recorded {N} messages")), "{err}");

    let bag = Bag::open(&dir).unwrap();
    assert!(
        bag.has_metadata_file && !bag.is_unfinished(),
        "{:?}",
        bag.warnings
    );
    let expected: Vec<String> = (0..N).map(|i| format!("m{i}")).collect();
    assert_eq!(strings(&bag, "/bag_test"), expected);
    let conn = &bag.connections[bag
        .select(&["/bag_test".into()])
        .into_iter()
        .next()
        .unwrap()];
    assert_eq!(conn.type_hash, StringMsg::TYPE_HASH);
    assert_eq!(conn.offered_qos_profiles, vec![keep_all()]);

    // Play it back under another name into a subscriber of this process.
    let sub = node
        .create_subscription::<StringMsg>("/replayed", keep_all())
        .await
        .unwrap();
    let out = run(
        &ep,
        &[
            "bag",
            "play",
            dir.to_str().unwrap(),
            "--remap",
            "/bag_test:=/replayed",
            "--rate",
            "50",
            "--wait-for-subscribers",
            "30",
        ],
    )
    .await;
    let _ = out;
    let mut got = Vec::new();
    while got.len() < N {
        let m = tokio::time::timeout(WAIT, sub.recv())
            .await
            .expect("replayed message")
            .unwrap();
        got.push(m.data.clone());
    }
    assert_eq!(got, expected);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorder_killed_with_sigkill_leaves_a_readable_bag_that_reindex_repairs() {
    let (_r, ep) = router().await;
    let (_ctx, node) = node(&ep, "bag_source", false).await;
    let dir = temp_dir("killed");
    let publisher = node
        .create_publisher::<StringMsg>("/bulk", keep_all())
        .await
        .unwrap();
    let recorder = Proc::spawn(embody(
        &ep,
        &["bag", "record", "/bulk", "-o", dir.to_str().unwrap()],
    ));
    publisher.wait_for_remote_subscriber(WAIT).await.unwrap();
    // 3000 × 1 KiB: several 768 KiB chunks close while recording.
    let pad = "x".repeat(1024);
    for i in 0..3000 {
        publisher
            .publish(StringMsg {
                data: format!("{i:05}{pad}"),
            })
            .await
            .unwrap();
    }
    wait_for_messages(&dir, 1500).await;
    recorder.signal(libc::SIGKILL);
    let (ok, _, _) = recorder.wait().await;
    assert!(!ok, "SIGKILL ends the recorder");
    assert!(
        !dir.join("metadata.yaml").exists(),
        "a killed recorder never wrote metadata.yaml"
    );

    let info = run(&ep, &["bag", "info", dir.to_str().unwrap()]).await;
    assert!(info.contains("Status:            unfinished"), "{info}");
    let cat = run(&ep, &["bag", "cat", dir.to_str().unwrap()]).await;
    let read: Vec<&str> = cat.lines().collect();
    assert!(read.len() >= 1500, "only {} messages readable", read.len());
    // What was read is the start of what was sent, in order, nothing invented.
    for (i, line) in read.iter().enumerate() {
        assert!(
            line.contains(&format!("\"data\":\"{i:05}x")),
            "line {i}: {line}"
        );
    }

    let out = run(&ep, &["bag", "reindex", dir.to_str().unwrap()]).await;
    assert!(out.contains("1 file(s) rewritten"), "{out}");
    assert!(out.contains(&format!("{} messages", read.len())), "{out}");
    let info = run(&ep, &["bag", "info", dir.to_str().unwrap()]).await;
    assert!(info.contains("Status:            complete"), "{info}");
    assert!(
        info.contains(&format!("Messages:          {}", read.len())),
        "{info}"
    );
    let bag = Bag::open(&dir).unwrap();
    assert!(bag.has_metadata_file && !bag.is_unfinished());
    assert_eq!(strings(&bag, "/bulk").len(), read.len());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn play_with_clock_and_start_offset_drives_sim_time() {
    const T0: u64 = 1_700_000_000_000_000_000;
    let dir = temp_dir("simtime");
    let mut w = BagWriter::create(&dir, WriterOptions::default()).unwrap();
    let topic = w
        .add_known_topic("/ticks", "std_msgs/msg/String", vec![keep_all()])
        .unwrap();
    for k in 0..20u64 {
        let t = T0 + k * 100_000_000;
        let data = StringMsg {
            data: format!("m{k}"),
        }
        .to_cdr()
        .unwrap();
        w.write(topic, t, t, &data).unwrap();
    }
    w.close().unwrap();

    let (_r, ep) = router().await;
    let (_ctx, node) = node(&ep, "sim_listener", true).await;
    let clocks = Arc::new(Mutex::new(Vec::new()));
    let c2 = clocks.clone();
    let _clock_sub = node
        .create_subscription_with::<ClockMsg, _>(
            "/clock",
            QosProfile::clock(),
            move |m: Arc<ClockMsg>| {
                c2.lock()
                    .unwrap()
                    .push(Time::from_msg(&m.clock).nanos as u64);
            },
        )
        .await
        .unwrap();
    let sub = node
        .create_subscription::<StringMsg>("/ticks", keep_all())
        .await
        .unwrap();
    run(
        &ep,
        &[
            "bag",
            "play",
            dir.to_str().unwrap(),
            "--clock",
            "100",
            "--start-offset",
            "1.0",
            "--rate",
            "4",
            "--wait-for-subscribers",
            "30",
        ],
    )
    .await;
    // Only what was logged from 1.0 s on is played.
    let mut got = Vec::new();
    while got.len() < 10 {
        got.push(
            tokio::time::timeout(WAIT, sub.recv())
                .await
                .expect("tick")
                .unwrap()
                .data
                .clone(),
        );
    }
    assert_eq!(got, (10..20).map(|k| format!("m{k}")).collect::<Vec<_>>());
    assert!(sub.try_recv().is_none());
    // /clock came from bag time, never before the start offset or past the last message,
    // and the node's sim clock followed it.
    let clocks = clocks.lock().unwrap().clone();
    assert!(!clocks.is_empty());
    let (lo, hi) = (T0 + 1_000_000_000, T0 + 1_900_000_000);
    assert!(clocks.iter().all(|t| (lo..=hi).contains(t)), "{clocks:?}");
    assert!(clocks.windows(2).all(|w| w[0] <= w[1]), "{clocks:?}");
    let now = node.now().nanos as u64;
    assert!((lo..=hi).contains(&now), "sim time {now}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_1khz_small_and_30hz_4mb_messages_loses_nothing() {
    let (_r, ep) = router().await;
    let (_ctx, node) = node(&ep, "sensors", false).await;
    let dir = temp_dir("load");
    let small = node
        .create_publisher::<StringMsg>("/fast", keep_all())
        .await
        .unwrap();
    let big = node
        .create_publisher::<PointCloud2>("/cloud", keep_all())
        .await
        .unwrap();
    let recorder = Proc::spawn(embody(
        &ep,
        &[
            "bag",
            "record",
            "/fast",
            "/cloud",
            "-o",
            dir.to_str().unwrap(),
        ],
    ));
    small.wait_for_remote_subscriber(WAIT).await.unwrap();
    big.wait_for_remote_subscriber(WAIT).await.unwrap();
    // One second of load: 1000 small messages at 1 kHz, 30 clouds of 4 MiB at 30 Hz.
    let fast = async {
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        for i in 0..1000 {
            tick.tick().await;
            small
                .publish(StringMsg {
                    data: format!("s{i}"),
                })
                .await
                .unwrap();
        }
    };
    let clouds = async {
        let mut tick = tokio::time::interval(Duration::from_micros(33_333));
        for i in 0..30u8 {
            tick.tick().await;
            let c = PointCloud2 {
                height: 1,
                width: 262_144,
                point_step: 16,
                row_step: 16 * 262_144,
                data: vec![i; 4 << 20].into(),
                ..PointCloud2::default()
            };
            big.publish(c).await.unwrap();
        }
    };
    tokio::join!(fast, clouds);
    wait_for_messages(&dir, 1030).await;
    recorder.signal(libc::SIGINT);
    let (ok, _, err) = recorder.wait().await;
    assert!(ok, "{err}");
    assert!(err.contains("(0 lost in queues)"), "{err}");
    let bag = Bag::open(&dir).unwrap();
    let count = |t: &str| {
        bag.connections
            .iter()
            .find(|c| c.topic == t)
            .map(|c| c.message_count)
    };
    assert_eq!((count("/fast"), count("/cloud")), (Some(1000), Some(30)));
    assert_eq!(
        strings(&bag, "/fast"),
        (0..1000).map(|i| format!("s{i}")).collect::<Vec<_>>()
    );
    let sel = bag.select(&["/cloud".into()]);
    for (i, m) in bag.messages(Some(&sel)).enumerate() {
        let c = PointCloud2::from_cdr(&m.unwrap().data).unwrap();
        assert_eq!(c.data.len(), 4 << 20);
        assert!(c.data.iter().all(|b| *b == i as u8), "cloud {i} corrupted");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
