//! `embody perception eval BAG`: judge perception against the simulator's ground truth in a bag,
//! on the road (lidar) or at the table (depth camera).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use embody::tf::{TfBuffer, isometry_from_msg};
use embody::time::Time;
use embody_bag::Bag;
use embody_msgs::Message;
use embody_msgs::embody_msgs::msg::{ObjectVisibilities, PredictedObjects};
use embody_msgs::sensor_msgs::msg::PointCloud2;
use embody_msgs::tf2_msgs::msg::TFMessage;
use embody_perception::cloud::{read_xyz, transform};
use embody_perception::eval::{EvalFrame, EvalParams, Report, class_name, evaluate};
use embody_perception::pipeline::{Mode, Perception, PerceptionParams};
use embody_perception::ros::{output_objects, predicted_objects, truth_objects};
use embody_perception::segment::KeepOut;

/// Perception commands.
#[derive(Subcommand)]
pub enum PerceptionCommand {
    /// Compare perception's output with the ground truth recorded in a bag.
    Eval(EvalArgs),
}

/// Options of `perception eval`.
#[derive(Args)]
pub struct EvalArgs {
    /// A bag with `sim/ground_truth/objects` (e.g. from `embody scenario run --bag`).
    bag: PathBuf,
    /// Run the perception pipeline over the bag's clouds even if the bag holds
    /// `perception/objects` (without those it always does).
    #[arg(long)]
    offline: bool,
    /// `road` (lidar, range bands 0-30-60-100 m), `table` (depth camera, one band up to
    /// 3 m, per-object centre errors) or `auto`: table when the bag has
    /// `/camera/depth/points` and no `/sensing/lidar/points`.
    #[arg(long, default_value = "auto", value_parser = ["auto", "road", "table"])]
    mode: String,
    /// The recorded perception output topic.
    #[arg(long, default_value = "/perception/objects")]
    objects_topic: String,
    /// The cloud topic for --offline [default: /sensing/lidar/points on the road,
    /// /camera/depth/points at the table].
    #[arg(long)]
    points_topic: Option<String>,
    /// An output within this distance of a true object's centre matches it (m)
    /// [default: 2 on the road, 0.05 at the table: a gripper misses by less].
    #[arg(long)]
    match_distance: Option<f64>,
    /// Share of an object that must be visible for it to count towards recall.
    #[arg(long, default_value_t = 0.5)]
    visible: f64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Also list every missed object and every false output, frame by frame, and every
    /// settled match whose velocity is 0.5 m/s or more off (with --json: every settled
    /// match's velocity, under `velocity_samples`).
    #[arg(long)]
    frames: bool,
}

/// Runs a perception command.
pub fn run(cmd: PerceptionCommand) -> Result<()> {
    match cmd {
        PerceptionCommand::Eval(args) => eval(args),
    }
}

const TRUTH: &str = "/sim/ground_truth/objects";
const VISIBILITY: &str = "/sim/ground_truth/visibility";
const LIDAR: &str = "/sensing/lidar/points";
const DEPTH: &str = "/camera/depth/points";
/// Ground truth up to this much older than a frame stands for it (ns): the arm world publishes
/// truth at 50 Hz and depth clouds at 15 Hz, so most clouds fall between two truth stamps.
const TRUTH_AGE_NS: i64 = 20_000_000;

/// The mode `--mode` names, or the one the bag's topics suggest.
fn mode_of(bag: &Bag, arg: &str) -> Mode {
    let has = |name: &str| bag.connections.iter().any(|c| c.topic == name);
    match arg {
        "road" => Mode::Road,
        "table" => Mode::Table,
        _ if has(DEPTH) && !has(LIDAR) => Mode::Table,
        _ => Mode::Road,
    }
}

/// Everything the evaluation needs from a bag, keyed by header stamp (ns).
#[derive(Default)]
struct Recorded {
    truth: BTreeMap<i64, PredictedObjects>,
    visibility: HashMap<i64, ObjectVisibilities>,
    outputs: BTreeMap<i64, PredictedObjects>,
    clouds: BTreeMap<i64, PointCloud2>,
    tf: TfBuffer,
}

fn stamp_ns(h: &embody_msgs::std_msgs::msg::Header) -> i64 {
    i64::from(h.stamp.sec) * 1_000_000_000 + i64::from(h.stamp.nanosec)
}

fn read_bag(bag: &Bag, args: &EvalArgs, points_topic: &str) -> Result<Recorded> {
    let topic = |name: &str| bag.connections.iter().find(|c| c.topic == name);
    if topic(TRUTH).is_none() {
        bail!(
            "{}: no {TRUTH} in this bag; record one with `embody scenario run SCENARIO --bag DIR`",
            bag.path.display()
        );
    }
    let use_outputs = !args.offline && topic(&args.objects_topic).is_some();
    let mut wanted = vec![TRUTH, VISIBILITY, "/tf", "/tf_static"];
    wanted.push(if use_outputs {
        &args.objects_topic
    } else {
        points_topic
    });
    if !use_outputs && topic(points_topic).is_none() {
        bail!(
            "{}: neither {} nor {} is in this bag",
            bag.path.display(),
            args.objects_topic,
            points_topic
        );
    }
    let names: Vec<String> = wanted.iter().map(|s| s.to_string()).collect();
    let selection = bag.select(&names);
    let mut rec = Recorded {
        tf: TfBuffer::new(std::time::Duration::from_secs(u64::MAX / 4_000_000_000)),
        ..Recorded::default()
    };
    for m in bag.messages(Some(&selection)) {
        let m = m?;
        let topic = bag.connections[m.connection].topic.as_str();
        let what = || format!("decoding a {topic} message");
        match topic {
            TRUTH => {
                let o = PredictedObjects::from_cdr(&m.data).with_context(what)?;
                rec.truth.insert(stamp_ns(&o.header), o);
            }
            VISIBILITY => {
                let v = ObjectVisibilities::from_cdr(&m.data).with_context(what)?;
                rec.visibility.insert(stamp_ns(&v.header), v);
            }
            "/tf" | "/tf_static" => {
                let tf = TFMessage::from_cdr(&m.data).with_context(what)?;
                for t in &tf.transforms {
                    rec.tf.set_transform(
                        &t.header.frame_id,
                        &t.child_frame_id,
                        Time::from_nanos(stamp_ns(&t.header)),
                        isometry_from_msg(&t.transform),
                        topic == "/tf_static",
                    );
                }
            }
            t if use_outputs && t == args.objects_topic => {
                let o = PredictedObjects::from_cdr(&m.data).with_context(what)?;
                rec.outputs.insert(stamp_ns(&o.header), o);
            }
            _ => {
                let c = PointCloud2::from_cdr(&m.data).with_context(what)?;
                rec.clouds.insert(stamp_ns(&c.header), c);
            }
        }
    }
    Ok(rec)
}

/// Runs the pipeline over the recorded clouds, as the node would, in the truth's frame.
fn offline_outputs(rec: &mut Recorded, frame: &str, mode: Mode) -> Result<()> {
    let mut perception = Perception::new(PerceptionParams::for_mode(mode))?;
    // As the node does by default at the table: no object around the arm's base.
    if mode == Mode::Table
        && let Ok((base, _)) = rec.tf.lookup_transform(frame, "base_link", Time::ZERO)
    {
        perception.set_keep_out(vec![KeepOut {
            x: base.translation.x,
            y: base.translation.y,
            radius: KeepOut::ARM_BASE_RADIUS,
        }]);
    }
    let mut skipped = 0usize;
    for (&stamp, cloud) in &rec.clouds {
        let pose = match rec
            .tf
            .lookup_transform(frame, &cloud.header.frame_id, exact(stamp))
        {
            Ok((pose, _)) => pose,
            Err(e) => {
                skipped += 1;
                if skipped == 1 {
                    eprintln!("skipping clouds without a transform: {e}");
                }
                continue;
            }
        };
        let mut xyz = read_xyz(cloud)
            .with_context(|| format!("reading the cloud at {:.3} s", stamp as f64 * 1e-9))?;
        transform(&mut xyz.points, &pose);
        let origin = nalgebra::Point3::from(pose.translation.vector);
        let out = perception.process(&xyz.points, origin, stamp as f64 * 1e-9)?;
        let header = embody_msgs::std_msgs::msg::Header {
            stamp: cloud.header.stamp.clone(),
            frame_id: frame.to_owned(),
        };
        rec.outputs
            .insert(stamp, predicted_objects(&header, &out.tracks, &out.paths));
    }
    Ok(())
}

fn eval(args: EvalArgs) -> Result<()> {
    let bag = Bag::open(&args.bag).with_context(|| format!("opening {}", args.bag.display()))?;
    let mode = mode_of(&bag, &args.mode);
    let points_topic = args.points_topic.clone().unwrap_or_else(|| {
        match mode {
            Mode::Road => LIDAR,
            Mode::Table => DEPTH,
        }
        .to_owned()
    });
    let mut rec = read_bag(&bag, &args, &points_topic)?;
    let frame = rec
        .truth
        .values()
        .next()
        .map(|t| t.header.frame_id.clone())
        .unwrap_or_else(|| "odom".into());
    let offline = rec.outputs.is_empty();
    if offline {
        offline_outputs(&mut rec, &frame, mode)?;
    }
    let mut frames = Vec::new();
    for (stamp, output) in &rec.outputs {
        // The truth at the frame's stamp, else the latest one shortly before it.
        let Some((_, truth)) = rec
            .truth
            .range(..=*stamp)
            .next_back()
            .filter(|(t, _)| *stamp - **t <= TRUTH_AGE_NS)
        else {
            continue;
        };
        let sensor_frame = rec
            .clouds
            .get(stamp)
            .map_or("base_link", |c| c.header.frame_id.as_str());
        let sensor = rec
            .tf
            .lookup_transform(&frame, sensor_frame, exact(*stamp))
            .map(|(p, _)| (p.translation.x, p.translation.y))
            .unwrap_or((0.0, 0.0));
        frames.push(EvalFrame {
            t: *stamp as f64 * 1e-9,
            sensor,
            truth: truth_objects(truth, rec.visibility.get(stamp)),
            output: output_objects(output),
        });
    }
    if frames.is_empty() {
        bail!(
            "{}: no perception output shares a stamp with the ground truth",
            args.bag.display()
        );
    }
    let mut params = EvalParams {
        visible_for_recall: args.visible,
        ..EvalParams::default()
    };
    if mode == Mode::Table {
        // Everything on a table is within reach of the camera: one band.
        params.range_bands = vec![3.0];
        params.match_distance = 0.05;
    }
    if let Some(d) = args.match_distance {
        params.match_distance = d;
    }
    let report = evaluate(&frames, &params);
    if args.json {
        let mut json = report_json(&report);
        if args.frames {
            json["velocity_samples"] = velocity_samples_json(&report);
        }
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print_report(&report, offline);
        if mode == Mode::Table {
            print_objects(&report);
        }
        if args.frames {
            print_unmatched(&report);
            print_velocity_errors(&report);
        }
    }
    Ok(())
}

fn opt(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.3}"))
}

fn band_name(bands: &[f64], i: usize) -> String {
    let lo = if i == 0 { 0.0 } else { bands[i - 1] };
    format!("{lo:.0}-{:.0} m", bands[i])
}

fn print_report(r: &Report, offline: bool) {
    println!(
        "{} frames ({})",
        r.frames,
        if offline {
            "pipeline run over the bag's clouds"
        } else {
            "recorded perception output"
        }
    );
    println!(
        "{:<11} {:<9} {:>7} {:>7} {:>9} {:>9} {:>9}",
        "class", "range", "truth", "outputs", "recall", "precision", "class ok"
    );
    for ((class, band), c) in &r.counts {
        println!(
            "{:<11} {:<9} {:>7} {:>7} {:>9} {:>9} {:>9}",
            class,
            band_name(&r.range_bands, *band),
            c.truth_visible,
            c.outputs,
            opt(c.recall()),
            opt(c.precision()),
            opt((c.truth_matched > 0).then(|| c.class_correct as f64 / c.truth_matched as f64)),
        );
    }
    println!("position error (m) / velocity error after settling (m/s):");
    for (class, p) in &r.position_error {
        let v = r.velocity_error.get(class).copied().unwrap_or_default();
        println!(
            "  {class:<11} pos mean {:.3} p95 {:.3} max {:.3} (n {})   vel mean {:.3} p95 {:.3} max {:.3} (n {})",
            p.mean, p.p95, p.max, p.n, v.mean, v.p95, v.max, v.n
        );
    }
    println!("id switches: {}", r.id_switches);
    println!("first confirmed track after becoming 30 % visible:");
    for s in &r.first_sight {
        println!(
            "  id {:<4} {:<11} visible at {:>6.2} s, {:>5.1} m: {}",
            s.id,
            class_name(s.class),
            s.visible_at,
            s.range,
            match (s.delay_frames, s.delay_s) {
                (Some(f), Some(t)) => format!("{f} frames ({t:.2} s)"),
                _ => "never".into(),
            }
        );
        if let Some(g) = s.glimpsed_at {
            println!(
                "         (glimpsed at {g:.2} s, then hidden again: counted from {:.2} s)",
                s.visible_at
            );
        }
    }
}

/// Per truth object: how often found and how far off, in mm (what a grasp cares about).
fn print_objects(r: &Report) {
    println!("per object: frames matched / counted, centre error (mm):");
    for o in &r.objects {
        let e = o.position_error;
        println!(
            "  id {:<4} {:<8} {:>4} / {:<4} class ok {:>4}   mean {:>5.1} p95 {:>5.1} max {:>5.1}",
            o.id,
            class_name(o.class),
            o.frames_matched,
            o.frames_visible,
            o.frames_class_correct,
            e.mean * 1e3,
            e.p95 * 1e3,
            e.max * 1e3
        );
    }
}

fn print_unmatched(r: &Report) {
    println!("misses (truth without output) and false outputs, by frame:");
    for u in &r.unmatched {
        println!(
            "  {:>7.2} s  {:<6} id {:<4} {:<11} at ({:>7.2}, {:>6.2}), nearest {} {:.2} m",
            u.t,
            if u.is_truth { "missed" } else { "false" },
            u.id,
            class_name(u.class),
            u.x,
            u.y,
            if u.is_truth { "output" } else { "truth" },
            u.nearest
        );
    }
}

/// Issue 8's velocity target (m/s): settled matches this far off are listed by `--frames`.
const VELOCITY_LISTED_FROM: f64 = 0.5;

fn print_velocity_errors(r: &Report) {
    println!(
        "velocity errors of {VELOCITY_LISTED_FROM} m/s or more after settling, by frame (truth -> track, m/s):"
    );
    for v in r
        .velocity_samples
        .iter()
        .filter(|v| v.error >= VELOCITY_LISTED_FROM)
    {
        println!(
            "  {:>7.2} s  id {:<4} {:<11} ({:>6.2}, {:>6.2}) -> track {:<4} ({:>6.2}, {:>6.2}): {:.2}",
            v.t,
            v.id,
            class_name(v.class),
            v.truth.0,
            v.truth.1,
            v.track,
            v.output.0,
            v.output.1,
            v.error
        );
    }
}

fn velocity_samples_json(r: &Report) -> serde_json::Value {
    r.velocity_samples
        .iter()
        .map(|v| {
            serde_json::json!({"t": v.t, "id": v.id, "class": class_name(v.class),
                "track": v.track, "truth_mps": [v.truth.0, v.truth.1],
                "output_mps": [v.output.0, v.output.1], "error_mps": v.error})
        })
        .collect::<Vec<_>>()
        .into()
}

fn report_json(r: &Report) -> serde_json::Value {
    use serde_json::json;
    let counts: Vec<_> = r
        .counts
        .iter()
        .map(|((class, band), c)| {
            json!({
                "class": class, "range": band_name(&r.range_bands, *band),
                "range_max_m": r.range_bands[*band],
                "truth": c.truth_visible, "truth_matched": c.truth_matched,
                "outputs": c.outputs, "outputs_matched": c.output_matched,
                "class_correct": c.class_correct,
                "recall": c.recall(), "precision": c.precision(),
            })
        })
        .collect();
    let stats = |m: &BTreeMap<String, embody_perception::eval::ErrorStats>| -> serde_json::Value {
        m.iter()
            .map(|(k, s)| {
                (
                    k.clone(),
                    json!({"n": s.n, "mean": s.mean, "p95": s.p95, "max": s.max}),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let sights: Vec<_> = r
        .first_sight
        .iter()
        .map(|s| {
            json!({"id": s.id, "class": class_name(s.class), "visible_at": s.visible_at,
                   "range_m": s.range, "glimpsed_at": s.glimpsed_at,
                   "delay_frames": s.delay_frames, "delay_s": s.delay_s})
        })
        .collect();
    let objects: Vec<_> = r
        .objects
        .iter()
        .map(|o| {
            let e = o.position_error;
            json!({"id": o.id, "class": class_name(o.class), "frames_visible": o.frames_visible,
                   "frames_matched": o.frames_matched,
                   "frames_class_correct": o.frames_class_correct,
                   "position_error_m": {"n": e.n, "mean": e.mean, "p95": e.p95, "max": e.max}})
        })
        .collect();
    json!({
        "frames": r.frames,
        "objects": objects,
        "counts": counts,
        "position_error_m": stats(&r.position_error),
        "velocity_error_mps": stats(&r.velocity_error),
        "id_switches": r.id_switches,
        "first_sight": sights,
    })
}

/// A lookup time for `stamp`: tf reads time zero as "the latest", but simulations start at
/// zero, so the first frame asks one nanosecond later (interpolated, the same pose).
fn exact(stamp: i64) -> Time {
    Time::from_nanos(stamp.max(1))
}
