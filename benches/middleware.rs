//! Middleware benchmark: raw zenoh and embody side by side, same zenoh configuration, same
//! run. Ping-pong latency between two processes (RTT/2, p50 and p99) at 8 B to 4 MB,
//! throughput at 8 B and 64 KB, and embody's intra-process path against the inter-process one.
//!
//! Run: `cargo bench --bench middleware` (add `-- --quick` for fewer samples, `--rounds N`
//! for N interleaved throughput rounds, 5 by default, `--throughput-only`). The second
//! process is this binary again, started with `EMBODY_BENCH_ROLE`.
//!
//! Fairness of the throughput rows: both receivers do what an application needs to use the
//! message. embody decodes the CDR into an `Arc<UInt8MultiArray>`; the raw `8` row reads its
//! 8 payload bytes; the raw `8 wire` row (same wire bytes as embody: CDR + 33-byte
//! attachment) decodes the CDR into a `UInt8MultiArray` too, so what remains between the two
//! is embody's own work (attachment, `Arc`, stats, dispatch), not decoding that raw zenoh
//! merely skipped. Both senders build a fresh payload per message (raw: a copy of the
//! bytes, embody: the encoding); the raw attachment is a fixed array, as embody's is.
//! Besides msg/s, each row reports the CPU time per message of both processes, which
//! depends far less on other load on the machine than msg/s does.
//!
//! `-- --profile raw|wire|embody [--count N]` runs one side's 8-byte throughput only, for
//! `perf record` or callgrind.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use embody::{Context, ContextOptions, History, QosProfile, Router};
use embody_msgs::Message as _;
use embody_msgs::std_msgs::msg::UInt8MultiArray;
use zenoh::qos::CongestionControl;

const SIZES: [usize; 5] = [8, 1024, 64 * 1024, 1024 * 1024, 4 * 1024 * 1024];

fn qos() -> QosProfile {
    // Reliable keep-all: zenoh blocks rather than drops, like the raw baseline below.
    QosProfile::default().history(History::KeepAll)
}

async fn embody_ctx(ep: &str) -> Context {
    Context::with_options(ContextOptions::router(ep))
        .await
        .expect("context")
}

async fn raw_session(ep: &str) -> zenoh::Session {
    // The very configuration embody's contexts use.
    let opts = ContextOptions::router(ep);
    let config = embody::config::session_config(&opts.session).expect("config");
    zenoh::open(config).await.expect("session")
}

/// One side of a raw ping-pong: a blocking publisher on `bench/{pair}/{out}` and a
/// subscriber on `bench/{pair}/{inp}`. Each raw pair has keys of its own: two pongs on one
/// key would answer every ping twice.
type RawEnds = (
    zenoh::pubsub::Publisher<'static>,
    zenoh::pubsub::Subscriber<zenoh::handlers::FifoChannelHandler<zenoh::sample::Sample>>,
);

async fn raw_ends(s: &zenoh::Session, pair: &str, out: &str, inp: &str) -> RawEnds {
    let publisher = s
        .declare_publisher(format!("bench/{pair}/{out}"))
        .congestion_control(CongestionControl::Block)
        .await
        .unwrap();
    let sub = s
        .declare_subscriber(format!("bench/{pair}/{inp}"))
        .await
        .unwrap();
    (publisher, sub)
}

/// One side of an embody ping-pong: node `name` publishing on `out`, subscribed to `inp`.
async fn embody_ends(
    ctx: &Context,
    name: &str,
    out: &str,
    inp: &str,
) -> (
    embody::Node,
    embody::Publisher<UInt8MultiArray>,
    embody::Subscription<UInt8MultiArray>,
) {
    let node = ctx.create_node(name).await.unwrap();
    let publisher = node
        .create_publisher::<UInt8MultiArray>(out, qos())
        .await
        .unwrap();
    let sub = node
        .create_subscription::<UInt8MultiArray>(inp, qos())
        .await
        .unwrap();
    (node, publisher, sub)
}

fn msg(size: usize) -> UInt8MultiArray {
    UInt8MultiArray {
        data: vec![7; size].into(),
        ..Default::default()
    }
}

/// The second process: echo pings back, or count what arrives.
async fn child(role: &str, ep: &str, size: usize, count: usize) {
    match role {
        "raw-pong" | "raw-pong-read" => {
            let s = raw_session(ep).await;
            let (pong, sub) = raw_ends(&s, role, "pong", "ping").await;
            println!("ready");
            while let Ok(sample) = sub.recv_async().await {
                pong.put(sample.payload().clone()).await.unwrap();
            }
        }
        "embody-pong" => {
            let c = embody_ctx(ep).await;
            let (_node, publisher, sub) = embody_ends(&c, "pong", "pong", "ping").await;
            println!("ready");
            while let Some(m) = sub.recv().await {
                publisher.publish(m).await.unwrap();
            }
        }
        "raw-sink" | "raw-sink-cdr" | "embody-sink" => {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
            let _keep: Box<dyn std::any::Any> = if role == "raw-sink" {
                // Each side hands the application what it needs to use the message: embody
                // a decoded `Arc<UInt8MultiArray>`, raw zenoh a view of the payload bytes.
                let s = raw_session(ep).await;
                let sub = s
                    .declare_subscriber("bench/tp")
                    .callback(move |sample| {
                        std::hint::black_box(sample.payload().to_bytes());
                        let _ = tx.send(Instant::now());
                    })
                    .await
                    .unwrap();
                Box::new((s, sub))
            } else if role == "raw-sink-cdr" {
                // Raw zenoh carrying CDR: the application decodes it into the message, as
                // embody does (embody's own extra work is the attachment, `Arc`, stats).
                let s = raw_session(ep).await;
                let sub = s
                    .declare_subscriber("bench/tp")
                    .callback(move |sample| {
                        let m = UInt8MultiArray::from_cdr(&sample.payload().to_bytes());
                        std::hint::black_box(m.expect("CDR"));
                        let _ = tx.send(Instant::now());
                    })
                    .await
                    .unwrap();
                Box::new((s, sub))
            } else {
                let c = embody_ctx(ep).await;
                let node = c.create_node("sink").await.unwrap();
                let sub = node
                    .create_subscription_with::<UInt8MultiArray, _>("tp", qos(), move |_| {
                        let _ = tx.send(Instant::now());
                    })
                    .await
                    .unwrap();
                Box::new((c, node, sub))
            };
            println!("ready");
            let first = rx.recv().await.unwrap();
            let cpu0 = cpu_ns();
            let mut last = first;
            let mut n = 1;
            while n < count {
                match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
                    Ok(Some(t)) => {
                        last = t;
                        n += 1;
                    }
                    _ => break,
                }
            }
            let secs = (last - first).as_secs_f64().max(1e-9);
            println!("{n} {secs} {}", cpu_ns() - cpu0);
            let _ = size;
        }
        other => panic!("unknown role {other}"),
    }
}

fn spawn(role: &str, ep: &str, size: usize, count: usize) -> Child {
    let mut c = Command::new(std::env::current_exe().unwrap())
        .env("EMBODY_BENCH_ROLE", role)
        .env("EMBODY_BENCH_ROUTER", ep)
        .env("EMBODY_BENCH_SIZE", size.to_string())
        .env("EMBODY_BENCH_COUNT", count.to_string())
        .envs(
            std::env::args()
                .any(|a| a == "--default-malloc")
                .then_some(("EMBODY_BENCH_DEFAULT_MALLOC", "1")),
        )
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let line = read_line(&mut c);
    assert_eq!(line, "ready");
    c
}

fn read_line(c: &mut Child) -> String {
    use std::io::BufRead;
    let out = c.stdout.as_mut().expect("stdout");
    let mut r = std::io::BufReader::new(out);
    let mut l = String::new();
    r.read_line(&mut l).expect("read");
    l.trim().to_owned()
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

struct Lat {
    p50: Duration,
    p99: Duration,
}

fn iterations(size: usize, quick: bool) -> usize {
    let n = if size >= 1024 * 1024 { 100 } else { 2000 };
    if quick { n / 10 } else { n }
}

/// One side of the ping-pong: a pinger in this process and its pong process.
// Two live at a time; boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Pinger {
    Raw {
        _pong: Kill,
        _session: zenoh::Session,
        ping: zenoh::pubsub::Publisher<'static>,
        sub: zenoh::pubsub::Subscriber<zenoh::handlers::FifoChannelHandler<zenoh::sample::Sample>>,
        payload: Vec<u8>,
        /// Make the echoed payload contiguous on receipt, as an application reading it must
        /// (zenoh hands a message larger than a batch over as one slice per fragment).
        read: bool,
    },
    Embody {
        _pong: Kill,
        _ctx: Context,
        _node: embody::Node,
        ping: embody::Publisher<UInt8MultiArray>,
        sub: embody::Subscription<UInt8MultiArray>,
        msg: Arc<UInt8MultiArray>,
    },
}

impl Pinger {
    async fn raw(ep: &str, size: usize, read: bool) -> Self {
        let role = if read { "raw-pong-read" } else { "raw-pong" };
        let pong = Kill(spawn(role, ep, size, 0));
        let session = raw_session(ep).await;
        let (ping, sub) = raw_ends(&session, role, "ping", "pong").await;
        let payload = vec![7u8; size];
        // Until the route exists pings are lost; retry the first one.
        loop {
            ping.put(payload.clone()).await.unwrap();
            if tokio::time::timeout(Duration::from_millis(100), sub.recv_async())
                .await
                .is_ok()
            {
                break;
            }
        }
        while sub.try_recv().ok().flatten().is_some() {}
        Pinger::Raw {
            _pong: pong,
            _session: session,
            ping,
            sub,
            payload,
            read,
        }
    }

    async fn embody(ep: &str, size: usize) -> Self {
        let pong = Kill(spawn("embody-pong", ep, size, 0));
        let ctx = embody_ctx(ep).await;
        let (node, ping, sub) = embody_ends(&ctx, "ping", "ping", "pong").await;
        ping.wait_for_remote_subscriber(Duration::from_secs(20))
            .await
            .unwrap();
        let msg = Arc::new(msg(size));
        loop {
            ping.publish(msg.clone()).await.unwrap();
            if tokio::time::timeout(Duration::from_millis(100), sub.recv())
                .await
                .is_ok()
            {
                break;
            }
        }
        while sub.try_recv().is_some() {}
        Pinger::Embody {
            _pong: pong,
            _ctx: ctx,
            _node: node,
            ping,
            sub,
            msg,
        }
    }

    /// One round trip, halved.
    async fn once(&self) -> Duration {
        let t = Instant::now();
        match self {
            Pinger::Raw {
                ping,
                sub,
                payload,
                read,
                ..
            } => {
                ping.put(payload.clone()).await.unwrap();
                let sample = sub.recv_async().await.unwrap();
                if *read {
                    std::hint::black_box(sample.payload().to_bytes());
                }
            }
            Pinger::Embody { ping, sub, msg, .. } => {
                ping.publish(msg.clone()).await.unwrap();
                sub.recv().await.unwrap();
            }
        }
        t.elapsed() / 2
    }

    /// `n` round trips (RTT/2 each).
    async fn block(&self, n: usize, into: &mut Vec<Duration>) {
        for _ in 0..n {
            into.push(self.once().await);
        }
    }
}

/// Ping-pong latency at one size of raw zenoh (payload untouched), raw zenoh whose pinger
/// makes the echo contiguous, and embody. All three pairs of processes are up at once and take
/// turns in ten blocks, so a change of load on the shared machine during the run falls on
/// every side alike instead of on whichever ran last.
async fn pingpong(ep: &str, size: usize, n: usize) -> [Lat; 3] {
    let sides = [
        Pinger::raw(ep, size, false).await,
        Pinger::raw(ep, size, true).await,
        Pinger::embody(ep, size).await,
    ];
    let mut samples: [Vec<Duration>; 3] = Default::default();
    for side in &sides {
        side.block(n / 10, &mut Vec::new()).await; // warm-up, not counted
    }
    const BLOCKS: usize = 10;
    for _ in 0..BLOCKS {
        for (side, into) in sides.iter().zip(samples.iter_mut()) {
            side.block(n.div_ceil(BLOCKS), into).await;
        }
    }
    samples.map(|mut v| {
        v.sort();
        Lat {
            p50: percentile(&v, 0.5),
            p99: percentile(&v, 0.99),
        }
    })
}

/// What the raw zenoh side of a throughput run sends.
#[derive(Clone, Copy, PartialEq)]
enum RawLoad {
    /// The payload bytes alone.
    Plain,
    /// The payload bytes with an attachment of rmw_zenoh's size (33 bytes), received as
    /// plain: the protocol's own cost, which every rmw_zenoh message pays.
    Attached,
    /// What embody puts on the wire for the same message (the CDR encoding and the
    /// attachment), decoded on receipt: separates protocol from code cost.
    Wire,
}

/// Messages per second and MB/s seen by the receiving process (`raw` is ignored for embody).
async fn throughput(ep: &str, embody_side: bool, size: usize, count: usize, raw: RawLoad) -> Rate {
    let wire_like = raw == RawLoad::Wire;
    let role = if embody_side {
        "embody-sink"
    } else if wire_like {
        "raw-sink-cdr"
    } else {
        "raw-sink"
    };
    let mut sink = spawn(role, ep, size, count);
    if embody_side {
        let c = embody_ctx(ep).await;
        let node = c.create_node("source").await.unwrap();
        let p = node
            .create_publisher::<UInt8MultiArray>("tp", qos())
            .await
            .unwrap();
        p.wait_for_remote_subscriber(Duration::from_secs(20))
            .await
            .unwrap();
        let m = Arc::new(msg(size));
        let cpu0 = cpu_ns();
        for _ in 0..count {
            p.publish(m.clone()).await.unwrap();
        }
        let line = tokio::task::spawn_blocking(move || {
            let l = read_line(&mut sink);
            let _ = sink.wait();
            l
        })
        .await
        .unwrap();
        parse_rate(&line, size, count, cpu_ns() - cpu0)
    } else {
        let s = raw_session(ep).await;
        let p = s
            .declare_publisher("bench/tp")
            .congestion_control(CongestionControl::Block)
            .await
            .unwrap();
        let matched = async {
            loop {
                if p.matching_status().await.unwrap().matching() {
                    break;
                }
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(20), matched)
            .await
            .unwrap();
        let (payload, attachment) = match raw {
            RawLoad::Wire => (
                embody_msgs::Message::to_cdr(&msg(size)).unwrap(),
                Some([1u8; 33]),
            ),
            RawLoad::Attached => (vec![7u8; size], Some([1u8; 33])),
            RawLoad::Plain => (vec![7u8; size], None),
        };
        let cpu0 = cpu_ns();
        for _ in 0..count {
            p.put(payload.clone()).attachment(attachment).await.unwrap();
        }
        let line = tokio::task::spawn_blocking(move || {
            let l = read_line(&mut sink);
            let _ = sink.wait();
            l
        })
        .await
        .unwrap();
        parse_rate(&line, size, count, cpu_ns() - cpu0)
    }
}

/// CPU time this process has used so far, all threads, in ns (Linux; 0 elsewhere).
/// Unlike msg/s it hardly depends on what else the machine is running.
fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// What one throughput run measured.
#[derive(Clone, Copy)]
struct Rate {
    /// Messages per second at the receiver.
    msgs: f64,
    /// MB/s at the receiver.
    mb: f64,
    /// CPU µs per message of the sending process (publish loop until all arrived).
    send_cpu: f64,
    /// CPU µs per message of the receiving process (first to last message).
    recv_cpu: f64,
}

fn parse_rate(line: &str, size: usize, count: usize, send_cpu_ns: u64) -> Rate {
    let mut it = line.split_whitespace();
    let n: f64 = it.next().and_then(|x| x.parse().ok()).unwrap_or(0.0);
    let secs: f64 = it.next().and_then(|x| x.parse().ok()).unwrap_or(1.0);
    let recv_cpu_ns: f64 = it.next().and_then(|x| x.parse().ok()).unwrap_or(0.0);
    let rate = (n - 1.0).max(0.0) / secs;
    Rate {
        msgs: rate,
        mb: rate * size as f64 / 1e6,
        send_cpu: send_cpu_ns as f64 / 1e3 / count as f64,
        recv_cpu: recv_cpu_ns / 1e3 / (n - 1.0).max(1.0),
    }
}

/// One-way delivery of a 1 MB message inside one process (publish to recv), p50.
async fn intra_latency(ep: &str, size: usize, n: usize) -> Duration {
    let c = embody_ctx(ep).await;
    let node = c.create_node("intra").await.unwrap();
    let sub = node
        .create_subscription::<UInt8MultiArray>("intra", qos())
        .await
        .unwrap();
    let p = node
        .create_publisher::<UInt8MultiArray>("intra", qos())
        .await
        .unwrap();
    let m = Arc::new(msg(size));
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        p.publish(m.clone()).await.unwrap();
        sub.recv().await.unwrap();
        lat.push(t.elapsed());
    }
    lat.sort();
    percentile(&lat, 0.5)
}

/// One round's throughput row: raw, embody, their ratio.
fn print_rate_row(row: &str, raw: &Rate, e: &Rate, note: &str) {
    let ratio = e.msgs / raw.msgs;
    println!(
        "{row:>9} | {:>12.0} {:>10.1} | {:>12.0} {:>10.1} | {ratio:>8.2}x{note}",
        raw.msgs, raw.mb, e.msgs, e.mb
    );
}

/// Median of a non-empty sample (mean of the middle two for an even count).
fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    // Same process-wide allocator settings for raw zenoh and embody (and the child);
    // `--default-malloc` measures glibc's defaults instead.
    let default_malloc = std::env::args().any(|a| a == "--default-malloc")
        || std::env::var("EMBODY_BENCH_DEFAULT_MALLOC").is_ok();
    if !default_malloc
        && !embody::tune_allocator_for_large_messages()
        && std::env::var("EMBODY_BENCH_ROLE").is_err()
    {
        eprintln!(
            "note: allocator tuning does not apply here (not glibc); measuring with the default allocator"
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Ok(role) = std::env::var("EMBODY_BENCH_ROLE") {
        let ep = std::env::var("EMBODY_BENCH_ROUTER").unwrap();
        let size = std::env::var("EMBODY_BENCH_SIZE").unwrap().parse().unwrap();
        let count = std::env::var("EMBODY_BENCH_COUNT")
            .unwrap()
            .parse()
            .unwrap();
        rt.block_on(child(&role, &ep, size, count));
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    // `--sizes 8,1048576` limits the latency table; `--latency-only` skips the rest.
    let sizes: Vec<usize> = args
        .iter()
        .position(|a| a == "--sizes")
        .and_then(|i| args.get(i + 1))
        .map(|l| l.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| SIZES.to_vec());
    let latency_only = args.iter().any(|a| a == "--latency-only");
    let throughput_only = args.iter().any(|a| a == "--throughput-only");
    rt.block_on(async {
        let port = embody_testkit::free_loopback_port();
        let ep = format!("tcp/127.0.0.1:{port}");
        let _router = Router::start(std::slice::from_ref(&ep)).await.unwrap();
        // `--profile raw|wire|embody [--count N]`: one 8-byte throughput run of one side
        // only, for profilers (`perf record`, `valgrind --tool=callgrind`).
        if let Some(side) = args.iter().position(|a| a == "--profile").and_then(|i| args.get(i + 1)) {
            let count = args.iter().position(|a| a == "--count").and_then(|i| args.get(i + 1)).and_then(|c| c.parse().ok()).unwrap_or(200_000);
            let load = if side == "wire" { RawLoad::Wire } else { RawLoad::Plain };
            let r = throughput(&ep, side == "embody", 8, count, load).await;
            println!("{side} 8 B: {:.0} msg/s, CPU us/msg send {:.2} receive {:.2}", r.msgs, r.send_cpu, r.recv_cpu);
            return;
        }
        let mut csv = Vec::new();
        let malloc = if std::env::args().any(|a| a == "--default-malloc") { "glibc defaults" } else { "tuned (embody::tune_allocator_for_large_messages)" };
        println!("malloc: {malloc}");
        println!("ping-pong latency between two processes (RTT/2), reliable, through a local router (peer-to-peer data)");
        println!("(\"read\": raw zenoh's pinger makes each echo contiguous, as embody must to hand over a message)");
        println!("{:>9} | {:>12} {:>12} | {:>12} | {:>12} {:>12} | {:>9} {:>9} | {:>10}", "size", "raw p50 us", "raw p99 us", "read p50", "embody p50", "embody p99", "p50 ratio", "p99 ratio", "vs read");
        let mut inter_1mb = Duration::ZERO;
        for size in sizes.into_iter().filter(|_| !throughput_only) {
            let n = iterations(size, quick);
            let [raw, read, emb] = pingpong(&ep, size, n).await;
            if size == 1024 * 1024 {
                inter_1mb = emb.p50;
            }
            let (r50, r99) = (us(emb.p50) / us(raw.p50), us(emb.p99) / us(raw.p99));
            let rr50 = us(emb.p50) / us(read.p50);
            println!("{size:>9} | {:>12.1} {:>12.1} | {:>12.1} | {:>12.1} {:>12.1} | {r50:>8.2}x {r99:>8.2}x | {rr50:>9.2}x", us(raw.p50), us(raw.p99), us(read.p50), us(emb.p50), us(emb.p99));
            csv.push(format!("BENCH_CSV,latency,{size},{:.1},{:.1},{:.1},{:.1},{r50:.3},{r99:.3}", us(raw.p50), us(raw.p99), us(emb.p50), us(emb.p99)));
            csv.push(format!("BENCH_CSV,latency_read,{size},{:.1},{:.1},{:.1},{:.1},{rr50:.3},{:.3}", us(read.p50), us(read.p99), us(emb.p50), us(emb.p99), us(emb.p99) / us(read.p99)));
        }
        if latency_only {
            return;
        }
        // Throughput on a shared 2-core machine moves by ±0.15 from run to run, so the rows
        // repeat raw and embody back to back `--rounds N` times and the verdict is the median
        // ratio of the rounds, each round's pair having seen the same load.
        let rounds: usize = args.iter().position(|a| a == "--rounds").and_then(|i| args.get(i + 1)).and_then(|r| r.parse().ok()).unwrap_or(if quick { 1 } else { 5 }).max(1);
        println!("\nthroughput, one publisher to a subscriber in another process ({rounds} interleaved rounds)");
        println!("{:>9} | {:>12} {:>10} | {:>12} {:>10} | {:>9}", "size", "raw msg/s", "raw MB/s", "embody msg/s", "MB/s", "ratio");
        let mut cpu_rows: Vec<(String, Vec<Rate>, Vec<Rate>)> = Vec::new();
        for (size, count) in [(8usize, if quick { 20_000 } else { 200_000 }), (64 * 1024, if quick { 500 } else { 5_000 })] {
            let mut rows: Vec<(&str, Vec<(Rate, Rate)>)> = vec![(if size == 8 { "8" } else { "65536" }, Vec::new())];
            if size == 8 {
                rows.push(("8 wire", Vec::new()));
                rows.push(("8 attach", Vec::new()));
            }
            for _ in 0..rounds {
                let raw = throughput(&ep, false, size, count, RawLoad::Plain).await;
                let e = throughput(&ep, true, size, count, RawLoad::Plain).await;
                print_rate_row(rows[0].0, &raw, &e, "");
                rows[0].1.push((raw, e));
                if size == 8 {
                    // The same raw zenoh, sending embody's wire bytes (CDR + attachment) and
                    // decoding the CDR on receipt: what is left of the ratio is embody's
                    // code, not the rmw_zenoh protocol.
                    let wire = throughput(&ep, false, size, count, RawLoad::Wire).await;
                    print_rate_row("8 wire", &wire, &e, "  (raw sends the same wire bytes)");
                    rows[1].1.push((wire, e));
                    // What rmw_zenoh's attachment alone costs raw zenoh: the "embody" column
                    // of this row is raw zenoh with the attachment, against raw without.
                    let attached = throughput(&ep, false, size, count, RawLoad::Attached).await;
                    print_rate_row("8 attach", &raw, &attached, "  (right: raw with a 33-byte attachment)");
                    rows[2].1.push((raw, attached));
                }
            }
            for (row, pairs) in rows {
                let ratios: Vec<f64> = pairs.iter().map(|(r, e)| e.msgs / r.msgs).collect();
                let med = median(&ratios);
                let (lo, hi) = (ratios.iter().cloned().fold(f64::MAX, f64::min), ratios.iter().cloned().fold(0.0, f64::max));
                let raw_med = median(&pairs.iter().map(|(r, _)| r.msgs).collect::<Vec<_>>());
                let e_med = median(&pairs.iter().map(|(_, e)| e.msgs).collect::<Vec<_>>());
                println!("{row:>9} | median of {rounds}: raw {raw_med:.0} msg/s, embody {e_med:.0} msg/s, ratio {med:.2}x (rounds {lo:.2}x to {hi:.2}x)");
                csv.push(format!("BENCH_CSV,throughput,{row},{raw_med:.0},{:.1},{e_med:.0},{:.1},{med:.3}", raw_med * size as f64 / 1e6, e_med * size as f64 / 1e6));
                cpu_rows.push((row.to_owned(), pairs.iter().map(|p| p.0).collect(), pairs.iter().map(|p| p.1).collect()));
            }
        }
        // msg/s depends on whatever else the machine runs; CPU time per message much less.
        println!("\nCPU time per message (us), sending + receiving process, median of the rounds");
        println!("{:>9} | {:>8} {:>8} | {:>8} {:>8} | {:>9}", "size", "raw send", "recv", "embody", "recv", "raw/embody");
        for (row, raw, e) in cpu_rows {
            let m = |v: &[Rate], f: fn(&Rate) -> f64| median(&v.iter().map(f).collect::<Vec<_>>());
            let (rs, rr, es, er) = (m(&raw, |r| r.send_cpu), m(&raw, |r| r.recv_cpu), m(&e, |r| r.send_cpu), m(&e, |r| r.recv_cpu));
            let ratio = (rs + rr) / (es + er);
            println!("{row:>9} | {rs:>8.2} {rr:>8.2} | {es:>8.2} {er:>8.2} | {ratio:>8.2}x");
            csv.push(format!("BENCH_CSV,throughput_cpu,{row},{rs:.3},{rr:.3},{es:.3},{er:.3},{ratio:.3}"));
        }
        let intra = intra_latency(&ep, 1024 * 1024, if quick { 100 } else { 1000 }).await;
        if inter_1mb.is_zero() {
            // No 1 MB ping-pong ran (`--throughput-only`, or `--sizes` without 1 MB): there is
            // nothing between processes to compare with.
            println!("\nintra-process 1 MB delivery p50 {:.3} us (no 1 MB ping-pong between processes ran to compare)", us(intra));
            csv.push(format!("BENCH_CSV,intra,1048576,{:.1},,", us(intra)));
        } else {
            let speedup = us(inter_1mb) / us(intra);
            println!("\nintra-process 1 MB delivery p50 {:.3} us vs between processes {:.1} us: {speedup:.0}x faster", us(intra), us(inter_1mb));
            csv.push(format!("BENCH_CSV,intra,1048576,{:.1},{:.1},{speedup:.1}", us(intra), us(inter_1mb)));
        }
        println!();
        for l in csv {
            println!("{l}");
        }
    });
}
