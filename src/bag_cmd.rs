//! `embody bag`: record, play, info, cat, reindex, convert — rosbag2 bags.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use embody_bag::mcap::Compression;
use embody_bag::play::{PlayOptions, WallPacer};
use embody_bag::record::{RecordOptions, Recorder};
use embody_bag::{Bag, WriterOptions};

use crate::common::{absolute, cli_node, seconds, stop_requested};

/// Bag commands.
#[derive(Subcommand)]
pub enum BagCommand {
    /// Record topics into a rosbag2 bag (MCAP).
    Record(RecordArgs),
    /// Publish a bag's messages at their recorded pace.
    Play(PlayArgs),
    /// Print what a bag holds (like `ros2 bag info`).
    Info(InfoArgs),
    /// Print every message decoded, one per line, with its log time.
    Cat(CatArgs),
    /// Repair a bag whose recorder was killed (rewrites unfinished files, metadata.yaml).
    Reindex(ReindexArgs),
    /// Convert a bag (sqlite3 or MCAP) into an MCAP bag.
    Convert(ConvertArgs),
}

/// `bag record`.
#[derive(Args)]
pub struct RecordArgs {
    /// Topics to record.
    topics: Vec<String>,
    /// Topics to record (same as the positional list).
    #[arg(long = "topics", num_args = 1..)]
    topics_flag: Vec<String>,
    /// Record every topic that has a publisher, including ones that appear later.
    #[arg(short = 'a', long)]
    all: bool,
    /// Topics not to record.
    #[arg(long = "exclude-topics", num_args = 1..)]
    exclude: Vec<String>,
    /// With --all, also record hidden topics (a segment starting with `_`).
    #[arg(long)]
    include_hidden_topics: bool,
    /// Output directory (default rosbag2_YYYY_MM_DD-HH_MM_SS).
    #[arg(short = 'o', long)]
    output: Option<PathBuf>,
    /// Split into a new file at this size in bytes (0: never).
    #[arg(short = 'b', long, default_value_t = 0)]
    max_bag_size: u64,
    /// MCAP chunk compression: none, zstd or lz4.
    #[arg(
        long = "compression-format",
        alias = "compression",
        default_value = "none"
    )]
    compression: Compression,
    /// Stop by itself after this many seconds (otherwise on Ctrl-C or SIGTERM).
    #[arg(long)]
    duration: Option<f64>,
}

/// `bag play`.
#[derive(Args)]
pub struct PlayArgs {
    /// Bag directory or .mcap/.db3 file.
    bag: PathBuf,
    /// Playback speed factor.
    #[arg(short = 'r', long, default_value_t = 1.0)]
    rate: f64,
    /// Start over at the end.
    #[arg(short = 'l', long = "loop")]
    looped: bool,
    /// Skip this many seconds of the bag's beginning.
    #[arg(long, default_value_t = 0.0)]
    start_offset: f64,
    /// Publish /clock from bag time at HZ (40 when given without a value).
    #[arg(long, num_args = 0..=1, default_missing_value = "40")]
    clock: Option<f64>,
    /// Only these topics.
    #[arg(long, num_args = 1..)]
    topics: Vec<String>,
    /// Rename topics: from:=to.
    #[arg(short = 'm', long, num_args = 1..)]
    remap: Vec<String>,
    /// Wait up to SEC for a subscriber on every topic before playing.
    #[arg(long)]
    wait_for_subscribers: Option<f64>,
}

/// `bag info`.
#[derive(Args)]
pub struct InfoArgs {
    /// Bag directory or .mcap/.db3 file.
    bag: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// `bag cat`.
#[derive(Args)]
pub struct CatArgs {
    /// Bag directory or .mcap/.db3 file.
    bag: PathBuf,
    /// Only these topics.
    #[arg(long, num_args = 1..)]
    topics: Vec<String>,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
}

/// `bag reindex`.
#[derive(Args)]
pub struct ReindexArgs {
    /// Bag directory or .mcap file.
    bag: PathBuf,
}

/// `bag convert`.
#[derive(Args)]
pub struct ConvertArgs {
    /// Input bag (sqlite3 or MCAP; directory or single file).
    input: PathBuf,
    /// Output bag directory (must not exist).
    output: PathBuf,
    /// MCAP chunk compression: none, zstd or lz4.
    #[arg(
        long = "compression-format",
        alias = "compression",
        default_value = "none"
    )]
    compression: Compression,
}

/// Runs a bag command.
pub async fn run(cmd: BagCommand) -> Result<()> {
    match cmd {
        BagCommand::Record(a) => record(a).await,
        BagCommand::Play(a) => play(a).await,
        BagCommand::Info(a) => info(a),
        BagCommand::Cat(a) => cat(a),
        BagCommand::Reindex(a) => {
            let r = embody_bag::repair::reindex(&a.bag)?;
            for w in &r.warnings {
                eprintln!("warning: {w}");
            }
            println!(
                "reindexed {}: {} file(s) rewritten, {} messages",
                a.bag.display(),
                r.rewritten.len(),
                r.messages
            );
            Ok(())
        }
        BagCommand::Convert(a) => {
            let opts = WriterOptions {
                compression: a.compression,
                ..WriterOptions::default()
            };
            let r = embody_bag::repair::convert(&a.input, &a.output, opts)?;
            for w in &r.warnings {
                eprintln!("warning: {w}");
            }
            if !r.definitions_added.is_empty() {
                eprintln!(
                    "note: added embody's type definitions for {}",
                    r.definitions_added.join(", ")
                );
            }
            if !r.without_definition.is_empty() {
                eprintln!(
                    "warning: no type definition known for {}",
                    r.without_definition.join(", ")
                );
            }
            println!(
                "converted {} -> {}: {} messages",
                a.input.display(),
                a.output.display(),
                r.messages
            );
            Ok(())
        }
    }
}

fn default_output() -> PathBuf {
    let (y, mo, d, h, mi, s) = embody::time::utc_date_time(embody::wire::now_ns() / 1_000_000_000);
    PathBuf::from(format!(
        "rosbag2_{y:04}_{mo:02}_{d:02}-{h:02}_{mi:02}_{s:02}"
    ))
}

async fn record(a: RecordArgs) -> Result<()> {
    let mut topics: Vec<String> = a
        .topics
        .iter()
        .chain(&a.topics_flag)
        .map(|t| absolute(t))
        .collect();
    topics.dedup();
    if topics.is_empty() && !a.all {
        bail!("say what to record: topic names, or -a/--all");
    }
    let dir = a.output.unwrap_or_else(default_output);
    let (_ctx, node) = cli_node().await?;
    let opts = RecordOptions {
        topics,
        all: a.all,
        exclude: a.exclude.iter().map(|t| absolute(t)).collect(),
        include_hidden: a.include_hidden_topics,
        writer: WriterOptions {
            compression: a.compression,
            max_bag_size: a.max_bag_size,
            ..WriterOptions::default()
        },
    };
    let recorder = Recorder::start(&node, &dir, opts).await?;
    eprintln!("recording to {} (Ctrl-C to stop)", dir.display());
    let tty = std::io::stderr().is_terminal();
    let stop_after = a.duration.map(|d| seconds(d, "--duration")).transpose()?;
    let sleep_for = stop_after.unwrap_or(Duration::MAX);
    let stopped = async {
        tokio::select! {
            r = stop_requested() => r,
            _ = tokio::time::sleep(sleep_for) => Ok(()),
        }
    };
    tokio::pin!(stopped);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            r = &mut stopped => { r?; break; }
            _ = tick.tick() => {
                if recorder.failed() {
                    // The writer stopped (disk full, ...): stop now and report why.
                    break;
                }
                if tty {
                    let p = recorder.progress();
                    eprint!(
                        "\r{} messages, {}, {} topics   ",
                        p.messages.load(Ordering::Relaxed),
                        human_size(p.bytes.load(Ordering::Relaxed)),
                        p.topics.load(Ordering::Relaxed)
                    );
                }
            }
        }
    }
    if tty {
        eprintln!();
    }
    let lost = recorder.progress().lost.load(Ordering::Relaxed);
    let meta = recorder.stop().await?;
    eprintln!(
        "recorded {} messages on {} topics into {} ({} lost in queues)",
        meta.message_count,
        meta.topics.len(),
        dir.display(),
        lost
    );
    Ok(())
}

async fn play(a: PlayArgs) -> Result<()> {
    let bag = Bag::open(&a.bag)?;
    for w in &bag.warnings {
        eprintln!("warning: {w}");
    }
    let mut remap = BTreeMap::new();
    for r in &a.remap {
        let (from, to) = r
            .split_once(":=")
            .with_context(|| format!("--remap `{r}` is not from:=to"))?;
        remap.insert(absolute(from), absolute(to));
    }
    let opts = PlayOptions {
        rate: a.rate,
        looped: a.looped,
        start_offset: seconds(a.start_offset, "--start-offset")?,
        clock_hz: a.clock,
        topics: a.topics.iter().map(|t| absolute(t)).collect(),
        remap,
        wait_for_subscribers: a
            .wait_for_subscribers
            .map(|s| seconds(s, "--wait-for-subscribers"))
            .transpose()?,
    };
    let (_ctx, node) = cli_node().await?;
    let mut pacer = WallPacer::new(opts.rate);
    let tty = std::io::stderr().is_terminal();
    let playing = embody_bag::play::play(&node, &bag, &opts, &mut pacer, |r, total| {
        if tty && r.published % 100 == 0 {
            eprint!("\rplayed {}/{total} messages   ", r.published);
        }
    });
    let report = tokio::select! {
        r = playing => r?,
        r = stop_requested() => { r?; eprintln!("\nstopped"); return Ok(()); }
    };
    if tty {
        eprintln!();
    }
    eprintln!(
        "played {} messages ({} /clock, {} unreadable skipped)",
        report.published, report.clock_published, report.skipped
    );
    Ok(())
}

fn human_size(bytes: u64) -> String {
    let b = bytes as f64;
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KiB", b / 1024.0),
        1_048_576..1_073_741_824 => format!("{:.1} MiB", b / 1_048_576.0),
        _ => format!("{:.1} GiB", b / 1_073_741_824.0),
    }
}

/// `Nov 28 2018 18:02:18.600000000 (1543456938.600000000)` in UTC.
fn stamp(ns: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = (ns / 1_000_000_000) as i64;
    let frac = ns % 1_000_000_000;
    let (y, mo, d, h, mi, s) = embody::time::utc_date_time(secs);
    format!(
        "{} {d:>2} {y} {h:02}:{mi:02}:{s:02}.{frac:09} ({secs}.{frac:09})",
        MONTHS[(mo - 1) as usize]
    )
}

fn info(a: InfoArgs) -> Result<()> {
    let bag = Bag::open(&a.bag)?;
    let m = &bag.metadata;
    let end = m.starting_time + m.duration;
    let status = if bag.is_unfinished() {
        "unfinished (recorder did not close it; `embody bag reindex` repairs it)"
    } else if !bag.has_metadata_file && bag.path.is_dir() {
        "no metadata.yaml (rebuilt from the storage files)"
    } else {
        "complete"
    };
    if a.json {
        let topics: Vec<serde_json::Value> = bag
            .connections
            .iter()
            .map(|c| {
                serde_json::json!({
                    "name": c.topic, "type": c.type_name, "count": c.message_count,
                    "serialization_format": c.serialization_format, "type_hash": c.type_hash,
                    "qos": embody_bag::metadata::qos_list_yaml(&c.offered_qos_profiles, 0),
                })
            })
            .collect();
        let v = serde_json::json!({
            "path": bag.path.display().to_string(),
            "files": m.relative_file_paths,
            "size_bytes": bag.size_bytes(),
            "storage_id": bag.storage.id(),
            "ros_distro": m.ros_distro,
            "version": m.version,
            "duration_ns": m.duration,
            "start_ns": m.starting_time,
            "end_ns": end,
            "message_count": m.message_count,
            "status": status,
            "warnings": bag.warnings,
            "topics": topics,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    for w in &bag.warnings {
        eprintln!("warning: {w}");
    }
    let mut o = String::new();
    use std::fmt::Write as _;
    let label = |o: &mut String, l: &str, v: &str| {
        let _ = writeln!(o, "{:<19}{v}", format!("{l}:"));
    };
    o.push('\n');
    label(
        &mut o,
        "Files",
        &m.relative_file_paths.join("\n                   "),
    );
    label(&mut o, "Bag size", &human_size(bag.size_bytes()));
    label(&mut o, "Storage id", bag.storage.id());
    label(
        &mut o,
        "ROS Distro",
        if m.ros_distro.is_empty() {
            "unknown"
        } else {
            &m.ros_distro
        },
    );
    label(
        &mut o,
        "Duration",
        &format!(
            "{}.{:09}s",
            m.duration / 1_000_000_000,
            m.duration % 1_000_000_000
        ),
    );
    label(&mut o, "Start", &stamp(m.starting_time));
    label(&mut o, "End", &stamp(end));
    label(&mut o, "Messages", &m.message_count.to_string());
    label(&mut o, "Status", status);
    let (services, topics): (Vec<_>, Vec<_>) = bag
        .connections
        .iter()
        .partition(|c| c.topic.ends_with("/_service_event"));
    let lines: Vec<String> = topics
        .iter()
        .map(|c| {
            format!(
                "Topic: {} | Type: {} | Count: {} | Serialization Format: {}",
                c.topic, c.type_name, c.message_count, c.serialization_format
            )
        })
        .collect();
    label(
        &mut o,
        "Topic information",
        &lines.join("\n                   "),
    );
    label(&mut o, "Service", &services.len().to_string());
    let lines: Vec<String> = services
        .iter()
        .map(|c| {
            format!(
                "Service: {} | Type: {} | Event Count: {}",
                c.topic.trim_end_matches("/_service_event"),
                c.type_name.trim_end_matches("_Event"),
                c.message_count
            )
        })
        .collect();
    let _ = writeln!(
        o,
        "Service information: {}",
        lines.join("\n                     ")
    );
    print!("{o}");
    Ok(())
}

fn cat(a: CatArgs) -> Result<()> {
    let bag = Bag::open(&a.bag)?;
    for w in &bag.warnings {
        eprintln!("warning: {w}");
    }
    let topics: Vec<String> = a.topics.iter().map(|t| absolute(t)).collect();
    let selected = bag.select(&topics);
    if selected.is_empty() {
        bail!(
            "{}: none of the topics {topics:?} is in the bag",
            a.bag.display()
        );
    }
    let mut decoder = embody_bag::decode::Decoder::new();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut errors = 0u64;
    let mut reported = std::collections::BTreeSet::new();
    for m in bag.messages(Some(&selected)) {
        let m = match m {
            Ok(m) => m,
            Err(e) => {
                eprintln!("error: {e}");
                errors += 1;
                continue;
            }
        };
        let conn = &bag.connections[m.connection];
        let value = match decoder.decode(conn, &m.data) {
            Ok(v) => v.to_json(),
            Err(e) => {
                errors += 1;
                // One line per topic, not per message.
                if reported.insert(conn.id) {
                    eprintln!("error: {e}");
                }
                continue;
            }
        };
        let t = m.log_time;
        let line = if a.json {
            serde_json::json!({
                "log_time_ns": t, "topic": conn.topic, "type": conn.type_name, "message": value,
            })
            .to_string()
        } else {
            format!(
                "{}.{:09} {} {}",
                t / 1_000_000_000,
                t % 1_000_000_000,
                conn.topic,
                value
            )
        };
        if writeln!(out, "{line}").is_err() {
            // The reader went away (`| head`): stop quietly.
            return Ok(());
        }
    }
    out.flush().ok();
    if errors > 0 {
        bail!("{errors} message(s) could not be read or decoded");
    }
    Ok(())
}
