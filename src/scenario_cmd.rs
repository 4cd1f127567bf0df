//! `embody scenario run PATH... [--set k=v]... [--json OUT]`: run driving and arm scenarios
//! in the built-in simulator, one row per run (every combination of the swept parameters).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use embody_sim::arm_run::{self, ArmRunResult};
use embody_sim::run::{RunResult, run};
use embody_sim::scenario::{World, WorldRun, load_runs, parse_set};

use crate::run_bag::RunBag;

/// Scenario commands.
#[derive(Subcommand)]
pub enum ScenarioCommand {
    /// Run scenario files (YAML) and print one row per run.
    Run(RunArgs),
}

/// Options of `scenario run`.
#[derive(Args)]
pub struct RunArgs {
    /// Scenario files or directories (every .yaml below them).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Fix a parameter for every run: `--set ego_speed_kmh=40`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Also write the rows as a JSON array to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Record every run as a rosbag2 bag: DIR itself for one run, DIR/<scenario>_<n> for more.
    /// With --stack the stack's topics are recorded too, logged at the sim time of the frame
    /// they answer.
    #[arg(long)]
    bag: Option<PathBuf>,
    /// Drive the ego (or the arm) with a stack started from this launch file (`embody
    /// launch`), in lock-step: each simulator frame waits for the stack's `control/command`
    /// (the arm: each joint state for its `joint_commands`).
    #[arg(long, value_name = "LAUNCHFILE")]
    stack: Option<PathBuf>,
    /// Draw every run as an SVG into this directory, `<scenario>_<n>.svg`: the road from
    /// above with all paths, ego speed and accelerations over time; for the arm the table
    /// from above at the start and the end.
    #[arg(long, value_name = "DIR")]
    plot: Option<PathBuf>,
    /// With --stack: how long a frame may wait for its command (seconds).
    #[arg(long, default_value_t = 10.0)]
    command_timeout: f64,
    /// With --stack: pace sim time against the wall clock, FACTOR sim seconds per wall second
    /// (1 without a value). Arm stacks are always paced (default 1): the manipulation node
    /// plans in wall time, and an unpaced simulator would charge that time at whatever rate
    /// it happens to run.
    #[arg(long, value_name = "FACTOR", num_args = 0..=1, default_missing_value = "1")]
    realtime: Option<f64>,
}

/// Starts the stack of `launch` (a router of its own on a free loopback port, the stack as an
/// `embody launch` child process), waits until it is up — every process has a node that
/// publishes, and something publishes `command_topic` — and runs `sim` as the simulator's
/// node in this process. The stack is stopped afterwards whatever happened.
async fn with_stack<T, F, Fut>(
    launch: &std::path::Path,
    command_topic: &str,
    bag: Option<&RunBag>,
    sim: F,
) -> Result<T>
where
    F: FnOnce(embody::Node) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    use embody::wire::EntityKind;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let ep = format!("tcp/127.0.0.1:{port}");
    let _router = embody::Router::start(std::slice::from_ref(&ep)).await?;
    let mut stack = tokio::process::Command::new(std::env::current_exe()?)
        .arg("launch")
        .arg(launch)
        .arg("--no-router")
        .env(
            "ZENOH_CONFIG_OVERRIDE",
            format!("connect/endpoints=[\"{ep}\"]"),
        )
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting the stack {}", launch.display()))?;
    let ctx = embody::Context::with_options(embody::ContextOptions::router(&ep)).await?;
    let node = ctx
        .create_node_with(
            "sim",
            embody::NodeOptions::default().parameter_services(false),
        )
        .await?;
    let graph = ctx.graph().await?;
    // Ready when every process of the stack has a node that publishes something besides the
    // logging and parameter topics: embody's nodes subscribe first and create publishers
    // last, so by then their subscriptions exist and the first frame reaches them all.
    let processes = crate::launch_cmd::plan(launch)?.processes.len();
    let me = node.fully_qualified_name();
    let up = graph
        .wait_until(std::time::Duration::from_secs(30), |g| {
            let ready = g
                .node_names()
                .iter()
                .filter(|n| **n != me)
                .filter(|n| {
                    g.node_endpoints(n).iter().any(|e| {
                        e.kind == EntityKind::Publisher
                            && e.topic.as_ref().is_some_and(|t| {
                                t.name != "/rosout" && t.name != "/parameter_events"
                            })
                    })
                })
                .count();
            ready >= processes && !g.endpoints(command_topic, EntityKind::Publisher).is_empty()
        })
        .await;
    let result = match up {
        Ok(()) => {
            // The stack's topics into the bag (the simulator's own come through its tap).
            // No `?` here: the stack must be stopped below whatever fails.
            let followed = match bag {
                Some(b) => b.follow_stack(&node, graph, &me).await,
                None => Ok(()),
            };
            match followed {
                Ok(()) => {
                    let r = sim(node).await;
                    if let Some(b) = bag {
                        b.stop_stack();
                    }
                    r
                }
                Err(e) => Err(e),
            }
        }
        Err(_) => Err(anyhow::anyhow!(
            "the stack from {} did not come up within 30 s (every process's node publishing, \
             and a publisher on {command_topic})",
            launch.display()
        )),
    };
    if let Some(pid) = stack.id() {
        // SAFETY: a signal to our own child process.
        unsafe {
            libc::kill(pid as i32, libc::SIGINT);
        }
    }
    // launch escalates to SIGTERM and SIGKILL itself; 15 s covers both steps.
    if tokio::time::timeout(std::time::Duration::from_secs(15), stack.wait())
        .await
        .is_err()
    {
        let _ = stack.start_kill();
    }
    result
}

/// Runs one vehicle scenario with the stack of `launch` driving in lock-step.
async fn run_with_stack(
    r: &embody_sim::scenario::ScenarioRun,
    launch: &std::path::Path,
    timeout: std::time::Duration,
    realtime_factor: Option<f64>,
    bag: Option<&RunBag>,
) -> Result<(RunResult, Vec<std::time::Duration>)> {
    let tap = bag.map(RunBag::sim_tap);
    with_stack(launch, "/control/command", bag, |node| async move {
        let control = embody_sim::node::Control::LockStep {
            timeout,
            realtime_factor,
        };
        let (res, report) = embody_sim::node::run_node_tapped(&node, r, control, tap).await?;
        Ok((res, report.scan_latencies))
    })
    .await
}

/// Runs one arm scenario with the stack of `launch` (arm control, manipulation, ...) in
/// lock-step with the arm control node, paced at `realtime_factor`.
async fn run_arm_with_stack(
    r: &embody_sim::scenario::arm::ArmScenarioRun,
    launch: &std::path::Path,
    timeout: std::time::Duration,
    realtime_factor: f64,
    bag: Option<&RunBag>,
) -> Result<ArmRunResult> {
    let tap = bag.map(RunBag::sim_tap);
    with_stack(launch, "/joint_commands", bag, |node| async move {
        let options = embody_sim::arm_node::ArmNodeOptions {
            realtime_factor: Some(realtime_factor),
            lockstep: Some(timeout),
            builtin_controller: false,
        };
        Ok(
            embody_sim::arm_node::run_arm_node_tapped(&node, r, options, tap)
                .await?
                .result,
        )
    })
    .await
}

/// Runs one scenario, recording what the simulator publishes into a bag at `dir`.
fn run_into_bag(r: &embody_sim::scenario::ScenarioRun, dir: &std::path::Path) -> Result<RunResult> {
    record_into_bag(dir, |sink| Ok(embody_sim::run::run_recorded(r, sink)?))
}

/// Runs `run` with a sink that writes every message into a new bag at `dir`.
fn record_into_bag<T>(
    dir: &std::path::Path,
    run: impl FnOnce(&mut dyn FnMut(u64, &embody_sim::ros::Output)) -> Result<T>,
) -> Result<T> {
    let bag = RunBag::create(dir)?;
    let res = run(&mut |t, o| bag.write_output(t, o))?;
    bag.close()?;
    Ok(res)
}

fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot read {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            found.sort();
            for f in found {
                if f.is_dir() {
                    out.extend(files(&[f])?);
                } else if f.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                    out.push(f);
                }
            }
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// NeuroNCAP's score (driving-safety §1.5): 5 without a collision, otherwise
/// 4·max(0, 1 − v_impact / v_ref) with v_ref the impact speed without any reaction (the
/// stand-in driver's in the same scenario).
pub fn score(impact_kmh: Option<f64>, reference_kmh: f64) -> f64 {
    match impact_kmh {
        None => 5.0,
        Some(_) if reference_kmh <= 0.0 => 0.0,
        Some(v) => 4.0 * (1.0 - v / reference_kmh).max(0.0),
    }
}

fn json_row(r: &RunResult, score: f64) -> serde_json::Value {
    serde_json::json!({
        "score": score,
        "scenario": r.scenario,
        "params": r.params,
        "collision": r.collision,
        "collided_with": r.collided_with,
        "impact_speed_kmh": r.impact_speed_kmh,
        "min_gap_m": if r.min_gap_m.is_finite() { Some(r.min_gap_m) } else { None },
        "evasive_manoeuvres": r.evasive_manoeuvres,
        "max_lat_accel": r.max_lat_accel,
        "max_decel": r.max_decel,
        "max_rear_slip_deg": r.max_rear_slip_deg,
        "other_collisions": r.other_collisions,
        "passed": r.passed,
        "sim_time_s": r.sim_time_s,
    })
}

fn arm_json_row(r: &ArmRunResult) -> serde_json::Value {
    serde_json::json!({
        "scenario": r.scenario,
        "world": "arm",
        "params": r.params,
        "objects_placed": r.objects_placed,
        "objects_to_place": r.objects_to_place,
        "placement_error_m": r.placement_error_m,
        "arm_collisions": r.arm_collisions,
        "limit_violations": r.limit_violations,
        "passed": r.passed,
        "sim_time_s": r.sim_time_s,
        "depth_frames": r.frames,
    })
}

fn vehicle_header(out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<28} {:<44} {:>9} {:>8} {:>8} {:>6} {:>7} {:>7} {:>6} {:>5} {:>6}",
        "scenario",
        "parameters",
        "outcome",
        "impact",
        "min gap",
        "manoeu",
        "max lat",
        "max dec",
        "slip°",
        "other",
        "pass"
    )
}

fn arm_header(out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<28} {:<44} {:>7} {:>9} {:>10} {:>10} {:>6}",
        "scenario", "parameters", "placed", "place err", "collisions", "limit viol", "pass"
    )
}

/// The row of a run whose stack failed (did not start, stopped answering): one failed run,
/// not the end of a sweep.
fn error_row(
    out: &mut impl Write,
    rows: &mut Vec<serde_json::Value>,
    scenario: &str,
    params: &std::collections::BTreeMap<String, f64>,
    e: &anyhow::Error,
) -> Result<()> {
    let list: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    writeln!(out, "{scenario:<28} {:<44} {:>9}", list.join(" "), "error")?;
    rows.push(serde_json::json!({
        "scenario": scenario,
        "params": params,
        "passed": false,
        "error": format!("{e:#}"),
    }));
    Ok(())
}

/// Writes run `i` as an SVG into `dir`.
fn plot(dir: &std::path::Path, i: usize, res: &RunResult) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let file = dir.join(format!("{}_{i}.svg", res.scenario));
    let params: Vec<String> = res.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let title = format!(
        "{} {}: {}",
        res.scenario,
        params.join(" "),
        if res.collision {
            format!("collision at {:.1} km/h", res.impact_speed_kmh)
        } else {
            "avoided".into()
        }
    );
    std::fs::write(&file, embody_sim::plot::svg(&title, &res.trace))
        .with_context(|| format!("cannot write {}", file.display()))
}

/// Writes arm run `i` as an SVG into `dir`: the table from above at the start and the end.
fn arm_plot(dir: &std::path::Path, i: usize, res: &ArmRunResult) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let file = dir.join(format!("{}_{i}.svg", res.scenario));
    let params: Vec<String> = res.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let title = format!(
        "{} {}: {}/{} placed, {} arm contacts",
        res.scenario,
        params.join(" "),
        res.objects_placed,
        res.objects_to_place,
        res.arm_collisions
    );
    let (start, end) = &res.tabletop;
    std::fs::write(
        &file,
        embody_sim::plot::arm_svg(&title, start, end, res.base_xy),
    )
    .with_context(|| format!("cannot write {}", file.display()))
}

fn vehicle_row(out: &mut impl Write, res: &RunResult) -> std::io::Result<()> {
    let params: Vec<String> = res.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    writeln!(
        out,
        "{:<28} {:<44} {:>9} {:>8} {:>8} {:>6} {:>7} {:>7} {:>6} {:>5} {:>6}",
        res.scenario,
        params.join(" "),
        if res.collision {
            "collision"
        } else {
            "avoided"
        },
        format!("{:.1}", res.impact_speed_kmh),
        if res.min_gap_m.is_finite() {
            format!("{:.2}", res.min_gap_m)
        } else {
            "-".into()
        },
        res.evasive_manoeuvres,
        format!("{:.2}", res.max_lat_accel),
        format!("{:.2}", res.max_decel),
        format!("{:.1}", res.max_rear_slip_deg),
        res.other_collisions,
        if res.passed { "yes" } else { "no" },
    )
}

fn arm_row(out: &mut impl Write, res: &ArmRunResult) -> std::io::Result<()> {
    let params: Vec<String> = res.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    writeln!(
        out,
        "{:<28} {:<44} {:>7} {:>9} {:>10} {:>10} {:>6}",
        res.scenario,
        params.join(" "),
        format!("{}/{}", res.objects_placed, res.objects_to_place),
        format!("{:.3}", res.placement_error_m),
        res.arm_collisions,
        res.limit_violations,
        if res.passed { "yes" } else { "no" },
    )
}

/// Runs `scenario run`.
pub fn run_cmd(cmd: ScenarioCommand) -> Result<()> {
    let ScenarioCommand::Run(a) = cmd;
    let mut overrides = Vec::new();
    for s in &a.set {
        overrides.push(parse_set(s).with_context(|| format!("--set `{s}` is not KEY=VALUE"))?);
    }
    let mut runs = Vec::new();
    for f in files(&a.paths)? {
        runs.extend(load_runs(&f, &overrides)?);
    }
    if runs.is_empty() {
        bail!("no scenarios found in {:?}", a.paths);
    }
    let tty = std::io::stderr().is_terminal();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let rt = match &a.stack {
        Some(_) => Some(
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?,
        ),
        None => None,
    };
    let timeout = crate::common::seconds(a.command_timeout, "--command-timeout")?;
    match (a.realtime, &a.stack) {
        (Some(f), Some(_)) if !(f.is_finite() && f > 0.0) => {
            bail!("--realtime {f}: the factor must be a positive number")
        }
        (Some(_), None) => bail!(
            "--realtime paces a --stack run against the wall clock; stand-in runs publish nothing to pace"
        ),
        _ => {}
    }
    let mut rows = Vec::new();
    let mut latencies: Vec<std::time::Duration> = Vec::new();
    let (mut passed, total) = (0, runs.len());
    let (mut vehicles, mut arms) = (0, 0);
    // Each world has its own columns: a header whenever the world changes.
    let mut last_world = None;
    let started = std::time::Instant::now();
    for (i, world_run) in runs.iter().enumerate() {
        if tty {
            eprint!("\r[{}/{total}] {}   ", i + 1, world_run.label());
        }
        let bag_dir = a.bag.as_ref().map(|dir| {
            if runs.len() == 1 {
                dir.clone()
            } else {
                dir.join(format!("{}_{i}", world_run.name()))
            }
        });
        match world_run {
            WorldRun::Vehicle(r) => {
                let res = match (&bag_dir, &a.stack, &rt) {
                    (_, Some(launch), Some(rt)) => {
                        let bag = bag_dir.as_deref().map(RunBag::create).transpose()?;
                        let outcome = rt.block_on(run_with_stack(
                            r,
                            launch,
                            timeout,
                            a.realtime,
                            bag.as_ref(),
                        ));
                        if let Some(b) = bag {
                            b.close()?;
                        }
                        match outcome {
                            Ok((res, lat)) => {
                                latencies.extend(lat);
                                res
                            }
                            // One stack that fails (does not start, stops answering) is one
                            // failed run, not the end of a sweep: the row says so and the
                            // rest still runs.
                            Err(e) => {
                                if tty {
                                    eprintln!();
                                }
                                eprintln!("error: {}: {e:#}", r.label());
                                if last_world != Some(World::Vehicle) {
                                    vehicle_header(&mut out)?;
                                    last_world = Some(World::Vehicle);
                                }
                                error_row(&mut out, &mut rows, &r.scenario.name, &r.params, &e)?;
                                vehicles += 1;
                                continue;
                            }
                        }
                    }
                    (None, _, _) => run(r)?,
                    (Some(dir), _, _) => run_into_bag(r, dir)?,
                };
                if let Some(dir) = &a.plot {
                    plot(dir, i, &res)?;
                }
                if last_world != Some(World::Vehicle) {
                    vehicle_header(&mut out)?;
                    last_world = Some(World::Vehicle);
                }
                vehicle_row(&mut out, &res)?;
                vehicles += 1;
                passed += usize::from(res.passed);
                let reference = match (&a.stack, res.collision) {
                    // Only a collision needs the reaction-free impact speed; with the stand-in
                    // driver the run itself is that reference.
                    (Some(_), true) => run(r)?.impact_speed_kmh,
                    _ => res.impact_speed_kmh,
                };
                let impact = res.collision.then_some(res.impact_speed_kmh);
                rows.push(json_row(&res, score(impact, reference)));
            }
            WorldRun::Arm(r) => {
                let res = match (&bag_dir, &a.stack, &rt) {
                    (_, Some(launch), Some(rt)) => {
                        let factor = a.realtime.unwrap_or(1.0);
                        let bag = bag_dir.as_deref().map(RunBag::create).transpose()?;
                        let outcome = rt.block_on(run_arm_with_stack(
                            r,
                            launch,
                            timeout,
                            factor,
                            bag.as_ref(),
                        ));
                        if let Some(b) = bag {
                            b.close()?;
                        }
                        match outcome {
                            Ok(res) => res,
                            Err(e) => {
                                if tty {
                                    eprintln!();
                                }
                                eprintln!("error: {}: {e:#}", r.label());
                                if last_world != Some(World::Arm) {
                                    arm_header(&mut out)?;
                                    last_world = Some(World::Arm);
                                }
                                error_row(&mut out, &mut rows, &r.scenario.name, &r.params, &e)?;
                                arms += 1;
                                continue;
                            }
                        }
                    }
                    (Some(dir), _, _) => {
                        record_into_bag(dir, |sink| Ok(arm_run::run_recorded(r, sink)?))?
                    }
                    (None, _, _) => arm_run::run(r)?,
                };
                if let Some(dir) = &a.plot {
                    arm_plot(dir, i, &res)?;
                }
                if last_world != Some(World::Arm) {
                    arm_header(&mut out)?;
                    last_world = Some(World::Arm);
                }
                arm_row(&mut out, &res)?;
                arms += 1;
                passed += usize::from(res.passed);
                rows.push(arm_json_row(&res));
            }
        }
    }
    if tty {
        eprintln!();
    }
    let sim: f64 = rows.iter().filter_map(|r| r["sim_time_s"].as_f64()).sum();
    let wall = started.elapsed().as_secs_f64();
    let mut drivers = Vec::new();
    if vehicles > 0 {
        drivers.push(match &a.stack {
            Some(l) => format!(
                "the ego was driven by the stack of {} in lock-step",
                l.display()
            ),
            None => "the ego was driven by the stand-in driver (holds lane and speed)".to_owned(),
        });
    }
    if arms > 0 {
        drivers.push(match &a.stack {
            Some(l) => format!(
                "the arm by the stack of {} in lock-step, at {}x real time",
                l.display(),
                a.realtime.unwrap_or(1.0)
            ),
            None => "the arm by the stand-in driver (holds still)".to_owned(),
        });
    }
    eprintln!(
        "{passed}/{total} runs passed; {sim:.1} s simulated in {wall:.1} s ({:.0}x real time); {}",
        sim / wall.max(1e-9),
        drivers.join("; ")
    );
    if !latencies.is_empty() {
        latencies.sort();
        let at = |q: f64| {
            latencies[((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1]
                .as_secs_f64()
                * 1e3
        };
        eprintln!(
            "lidar frame to control command, wall time (perception + planning + control + transport): \
             median {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} frames",
            at(0.5),
            at(0.99),
            at(1.0),
            latencies.len()
        );
    }
    if let Some(path) = a.json {
        std::fs::write(&path, serde_json::to_string_pretty(&rows)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::score;

    #[test]
    fn neuroncap_score() {
        assert_eq!(score(None, 50.0), 5.0);
        assert_eq!(score(Some(50.0), 50.0), 0.0);
        assert!((score(Some(20.0), 50.0) - 2.4).abs() < 1e-12);
        // Faster than without reacting, or no reference collision: nothing.
        assert_eq!(score(Some(60.0), 50.0), 0.0);
        assert_eq!(score(Some(10.0), 0.0), 0.0);
    }
}
