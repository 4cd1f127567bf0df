//! `embody topic`: list, info, echo, pub, hz.

use std::io::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use clap::Subcommand;
use embody::qos::{Durability, History, Reliability};
use embody::wire::EntityKind;
use embody::{QosProfile, RawSubscription};
use embody_idl::dynamic;

use crate::common::{
    absolute, cli_node, dynamic_type, graph, message_type, parse_yaml, print_names_and_types,
    seconds, topic_type,
};

/// `embody topic` subcommands.
#[derive(Subcommand)]
pub enum TopicCommand {
    /// List topics.
    List {
        /// Show each topic's type.
        #[arg(short = 't', long)]
        show_types: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a topic's type and endpoints.
    Info {
        /// The topic.
        topic: String,
        /// Show every endpoint with its node, hash, GID and QoS.
        #[arg(short = 'v', long)]
        verbose: bool,
    },
    /// Print messages on a topic (YAML, or JSON lines with --json).
    Echo {
        /// The topic.
        topic: String,
        /// Its type, if it is not published yet.
        message_type: Option<String>,
        /// Print one message and exit.
        #[arg(long)]
        once: bool,
        /// Exit after this many messages.
        #[arg(long)]
        count: Option<u64>,
        /// One JSON object per line instead of YAML.
        #[arg(long)]
        json: bool,
        /// How long to wait for the topic to appear when no type is given (seconds).
        #[arg(long, default_value_t = 5.0)]
        timeout: f64,
    },
    /// Publish a message given as YAML.
    Pub {
        /// The topic.
        topic: String,
        /// The message type, e.g. std_msgs/msg/String.
        message_type: String,
        /// The message as YAML, e.g. "{data: hello}" (default: all fields at their defaults).
        #[arg(default_value = "")]
        values: String,
        /// Publish once and exit.
        #[arg(short = '1', long)]
        once: bool,
        /// Publish this many times and exit.
        #[arg(short = 't', long)]
        times: Option<u64>,
        /// Publishing rate in Hz.
        #[arg(short = 'r', long, default_value_t = 1.0)]
        rate: f64,
        /// Wait for this many subscriptions before publishing (default 1 with --once/--times).
        #[arg(short = 'w', long)]
        wait_matching_subscriptions: Option<usize>,
        /// Publish transient local (latched) with this depth.
        #[arg(long)]
        transient_local: Option<usize>,
    },
    /// Print the rate messages arrive at.
    Hz {
        /// The topic.
        topic: String,
        /// Number of intervals the statistics cover.
        #[arg(short = 'w', long, default_value_t = 10000)]
        window: usize,
        /// Stop after this many reports.
        #[arg(long)]
        reports: Option<u64>,
    },
}

/// Runs one `embody topic` subcommand.
pub async fn run(cmd: TopicCommand) -> Result<()> {
    let (ctx, node) = cli_node().await?;
    let mut out = std::io::stdout().lock();
    match cmd {
        TopicCommand::List { show_types, json } => {
            let topics = graph(&ctx).await?.topic_names_and_types();
            print_names_and_types(&mut out, &topics, show_types, json)?;
        }
        TopicCommand::Info { topic, verbose } => {
            let topic = absolute(&topic);
            let g = graph(&ctx).await?;
            let Some(types) = g.topic_names_and_types().remove(&topic) else {
                bail!("unknown topic `{topic}`");
            };
            let pubs = g.endpoints(&topic, EntityKind::Publisher);
            let subs = g.endpoints(&topic, EntityKind::Subscription);
            writeln!(
                out,
                "Type: {}",
                types.into_iter().collect::<Vec<_>>().join(", ")
            )?;
            writeln!(out, "Publisher count: {}", pubs.len())?;
            if verbose {
                print_endpoints(&mut out, &pubs, "PUBLISHER")?;
            }
            writeln!(out, "Subscription count: {}", subs.len())?;
            if verbose {
                print_endpoints(&mut out, &subs, "SUBSCRIPTION")?;
            }
        }
        TopicCommand::Echo {
            topic,
            message_type: ty,
            once,
            count,
            json,
            timeout,
        } => {
            let topic = absolute(&topic);
            let ty = match ty {
                Some(t) => t,
                None => topic_type(&ctx, &topic, seconds(timeout, "--timeout")?).await?,
            };
            let info = message_type(&ty)?;
            let (set, name) = dynamic_type(info)?;
            let qos = echo_qos(&ctx, &topic).await?;
            let sub = node
                .create_raw_subscription(&topic, info.name, info.hash, qos)
                .await?;
            let limit = if once { Some(1) } else { count };
            let mut printed = 0;
            while limit.is_none_or(|n| printed < n) {
                let Some(m) = next(&sub).await? else { break };
                match dynamic::decode(&set, &name, &m.payload) {
                    Ok(v) if json => writeln!(out, "{}", v.to_json())?,
                    Ok(v) => writeln!(out, "{}---", v.to_yaml())?,
                    Err(e) => eprintln!("warning: {e}"),
                }
                out.flush()?;
                printed += 1;
            }
        }
        TopicCommand::Pub {
            topic,
            message_type: ty,
            values,
            once,
            times,
            rate,
            wait_matching_subscriptions,
            transient_local,
        } => {
            let info = message_type(&ty)?;
            let (set, name) = dynamic_type(info)?;
            let value = dynamic::from_json(&set, &name, &parse_yaml(&values)?)?;
            let payload = dynamic::encode(&set, &name, &value)?;
            let qos = match transient_local {
                Some(d) => QosProfile::transient_local(d),
                None => QosProfile::default(),
            };
            let publisher = node
                .create_raw_publisher(&topic, info.name, info.hash, qos)
                .await?;
            let total = if once { Some(1) } else { times };
            let wait_for =
                wait_matching_subscriptions.unwrap_or(if total.is_some() { 1 } else { 0 });
            if wait_for > 0 {
                let fq = publisher.topic().to_owned();
                eprintln!("Waiting for at least {wait_for} matching subscription(s)...");
                graph(&ctx)
                    .await?
                    .wait_until(Duration::from_secs(3600), |g| {
                        g.endpoints(&fq, EntityKind::Subscription).len() >= wait_for
                    })
                    .await?;
                // The token is in the graph a moment before zenoh has a route to it.
                publisher
                    .wait_for_remote_subscriber(Duration::from_secs(3600))
                    .await?;
            }
            writeln!(out, "publisher: beginning loop")?;
            let period = Duration::try_from_secs_f64(1.0 / rate)
                .ok()
                .filter(|p| !p.is_zero())
                .ok_or_else(|| anyhow::anyhow!("--rate {rate} is not a positive rate in Hz"))?;
            let mut tick = tokio::time::interval(period);
            let mut sent = 0u64;
            while total.is_none_or(|n| sent < n) {
                if !(once || total == Some(1)) {
                    tick.tick().await;
                }
                publisher.publish(payload.clone()).await?;
                sent += 1;
                writeln!(out, "publishing #{sent}: {}", value.to_json())?;
            }
            // Closing the session drains its send queues, so reliable samples are out
            // before the process exits.
            drop(publisher);
            drop(node);
            ctx.session()
                .close()
                .await
                .map_err(|e| anyhow::anyhow!("closing the session: {e}"))?;
        }
        TopicCommand::Hz {
            topic,
            window,
            reports,
        } => {
            let topic = absolute(&topic);
            let ty = topic_type(&ctx, &topic, Duration::from_secs(5)).await?;
            let info = message_type(&ty)?;
            let sub = node
                .create_raw_subscription(
                    &topic,
                    info.name,
                    info.hash,
                    QosProfile::sensor_data().history(History::KeepAll),
                )
                .await?;
            let mut stamps: std::collections::VecDeque<Instant> = std::collections::VecDeque::new();
            let mut report = tokio::time::interval(Duration::from_secs(1));
            report.tick().await;
            let mut done = 0;
            loop {
                tokio::select! {
                    m = sub.recv() => {
                        if m.is_none() { break; }
                        stamps.push_back(Instant::now());
                        if stamps.len() > window + 1 { stamps.pop_front(); }
                    }
                    _ = report.tick() => {
                        if let Some(line) = rate_report(&stamps) {
                            writeln!(out, "{line}")?;
                            out.flush()?;
                            done += 1;
                            if reports.is_some_and(|r| done >= r) { break; }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

async fn next(sub: &RawSubscription) -> Result<Option<embody::RawMessage>> {
    tokio::select! {
        m = sub.recv() => Ok(m),
        _ = tokio::signal::ctrl_c() => Ok(None),
    }
}

/// Subscribe the way the publishers publish, as `ros2 topic echo` adapts to them.
async fn echo_qos(ctx: &embody::Context, topic: &str) -> Result<QosProfile> {
    let pubs = graph(ctx).await?.endpoints(topic, EntityKind::Publisher);
    let qos: Vec<QosProfile> = pubs
        .iter()
        .filter_map(|e| e.topic.as_ref().map(|t| t.qos))
        .collect();
    let mut profile = QosProfile::keep_last(10);
    if !qos.is_empty()
        && qos
            .iter()
            .all(|q| q.durability == Durability::TransientLocal)
    {
        let depth = qos.iter().filter_map(QosProfile::depth).max().unwrap_or(1);
        profile = QosProfile::transient_local(depth);
    }
    if qos.iter().any(|q| q.reliability == Reliability::BestEffort) {
        profile = profile.reliability(Reliability::BestEffort);
    }
    Ok(profile)
}

fn rate_report(stamps: &std::collections::VecDeque<Instant>) -> Option<String> {
    if stamps.len() < 2 {
        return None;
    }
    let gaps: Vec<f64> = stamps
        .iter()
        .zip(stamps.iter().skip(1))
        .map(|(a, b)| (*b - *a).as_secs_f64())
        .collect();
    let n = gaps.len() as f64;
    let mean = gaps.iter().sum::<f64>() / n;
    let min = gaps.iter().copied().fold(f64::INFINITY, f64::min);
    let max = gaps.iter().copied().fold(0.0, f64::max);
    let std = (gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / n).sqrt();
    Some(format!(
        "average rate: {:.3}\n\tmin: {min:.3}s max: {max:.3}s std dev: {std:.5}s window: {}",
        1.0 / mean,
        gaps.len() + 1
    ))
}

fn print_endpoints(
    out: &mut impl std::io::Write,
    endpoints: &[embody::wire::Entity],
    kind: &str,
) -> Result<()> {
    for e in endpoints {
        let Some(t) = &e.topic else { continue };
        writeln!(out)?;
        writeln!(out, "Node name: {}", e.node_name)?;
        writeln!(out, "Node namespace: {}", e.namespace)?;
        writeln!(
            out,
            "Topic type: {}",
            embody::wire::ros_type_name(&t.dds_type).unwrap_or_else(|| t.dds_type.clone())
        )?;
        writeln!(out, "Topic type hash: {}", t.type_hash)?;
        writeln!(out, "Endpoint type: {kind}")?;
        let gid: Vec<String> = e.gid().iter().map(|b| format!("{b:02x}")).collect();
        writeln!(out, "GID: {}", gid.join("."))?;
        writeln!(out, "QoS profile:")?;
        let q = t.qos;
        writeln!(
            out,
            "  Reliability: {}",
            if q.reliability == Reliability::Reliable {
                "RELIABLE"
            } else {
                "BEST_EFFORT"
            }
        )?;
        match q.history {
            History::KeepLast(n) => writeln!(out, "  History (Depth): KEEP_LAST ({n})")?,
            History::KeepAll => writeln!(out, "  History (Depth): KEEP_ALL")?,
        }
        writeln!(
            out,
            "  Durability: {}",
            if q.durability == Durability::Volatile {
                "VOLATILE"
            } else {
                "TRANSIENT_LOCAL"
            }
        )?;
        let inf = |d: Option<Duration>| {
            d.map_or("Infinite".to_owned(), |d| {
                format!("{} nanoseconds", d.as_nanos())
            })
        };
        writeln!(out, "  Lifespan: {}", inf(q.lifespan))?;
        writeln!(out, "  Deadline: {}", inf(q.deadline))?;
        writeln!(
            out,
            "  Liveliness: {}",
            if q.liveliness == embody::qos::Liveliness::Automatic {
                "AUTOMATIC"
            } else {
                "MANUAL_BY_TOPIC"
            }
        )?;
        writeln!(
            out,
            "  Liveliness lease duration: {}",
            inf(q.liveliness_lease)
        )?;
    }
    Ok(())
}
