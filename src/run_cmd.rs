//! `embody run EXECUTABLE [--ros-args ...]`: start one of the node executables built into the
//! `embody` command, the way `ros2 run` starts a package's executable; and `embody compose`,
//! which runs several of them in one process (the container launch uses for composable nodes).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::Args;
use embody::{Context, NodeOptions, QosProfile};
use embody_msgs::std_msgs::msg::String as RosString;

use crate::common::stop_requested;

/// Options of `embody run`. The nodes log like rclcpp (stderr; stdout with
/// `RCUTILS_LOGGING_USE_STDOUT=1`) and on `/rosout`.
#[derive(Args)]
pub struct RunArgs {
    /// The executable (see `embody run --list`).
    #[arg(required_unless_present = "list")]
    executable: Option<String>,
    /// List the executables and what they do.
    #[arg(long)]
    list: bool,
    /// Arguments for the node, e.g. `--ros-args -r chatter:=/other -r __ns:=/robot1`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// Options of `embody compose` (used by `embody launch` for composable nodes).
#[derive(Args)]
pub struct ComposeArgs {
    /// `--node EXEC [ARGS...] --end-node`, repeated.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    nodes: Vec<String>,
}

type NodeFuture = Pin<Box<dyn Future<Output = Result<()>> + Send>>;

/// A node executable of the `embody` command.
#[derive(Debug)]
pub struct Executable {
    /// Name, as in `embody run NAME` and `exec:` in launch files.
    pub name: &'static str,
    /// One line on what it does.
    pub about: &'static str,
    /// Runs the node in `ctx` with `options` until it ends.
    pub main: fn(Context, NodeOptions) -> NodeFuture,
}

/// The executables `embody run` and launch files (`pkg: embody`) know.
pub const EXECUTABLES: &[Executable] = &[
    Executable {
        name: "arm_control",
        about: "arm joint_trajectory_controller: follows arm_controller/joint_trajectory and the arm_controller/follow_joint_trajectory action (control_msgs FollowJointTrajectory), answering each joint_states with joint_commands",
        main: |ctx, opts| Box::pin(arm_control(ctx, opts)),
    },
    Executable {
        name: "control",
        about: "vehicle control: follows planning/trajectory (pure pursuit + PI speed), one control/command per localization/odometry",
        main: |ctx, opts| Box::pin(control(ctx, opts)),
    },
    Executable {
        name: "follow_lane",
        about: "a stand-in controller: holds the lane it starts in (pure pursuit on map/lanes) and its first speed, answering each localization/odometry with control/command",
        main: |ctx, opts| Box::pin(follow_lane(ctx, opts)),
    },
    Executable {
        name: "listener",
        about: "logs every std_msgs/String it hears on `chatter` (ROS 2's demo_nodes_cpp listener)",
        main: |ctx, opts| Box::pin(listener(ctx, opts)),
    },
    Executable {
        name: "manipulation",
        about: "pick and place: the manipulation/pick_place action (embody_msgs PickPlace) planned on sim/ground_truth/objects (-p objects_topic:=perception/objects) and joint_states, run on arm_controller/joint_trajectory and gripper/command",
        main: |ctx, opts| Box::pin(manipulation(ctx, opts)),
    },
    Executable {
        name: "perception",
        about: "obstacles from point clouds: -p mode:=road|table; tracked, predicted objects on perception/objects, Detection3DArray, markers",
        main: |ctx, opts| Box::pin(perception(ctx, opts)),
    },
    Executable {
        name: "planning",
        about: "HAD and AES: plans from map/lanes, localization/odometry and perception/objects; planning/trajectory, planning/path, planning/aes/status",
        main: |ctx, opts| Box::pin(planning(ctx, opts)),
    },
    Executable {
        name: "sim",
        about: "the built-in simulator: -p scenario:=FILE [-p set:=k=v,k=v] [-p lockstep:=true] publishes the vehicle or arm world under sim time (arm: executes joint_commands from arm_control and gripper/command, -p realtime_factor:=1.0; -p builtin_controller:=true follows arm_controller/joint_trajectory itself)",
        main: |ctx, opts| Box::pin(sim(ctx, opts)),
    },
    Executable {
        name: "tabletop_task",
        about: "puts every cup on perception/objects into the tray: manipulation/pick_place goals one at a time, progress on task/status",
        main: |ctx, opts| Box::pin(tabletop_task(ctx, opts)),
    },
    Executable {
        name: "talker",
        about: "publishes `Hello World: N` on `chatter` once a second (ROS 2's demo_nodes_cpp talker)",
        main: |ctx, opts| Box::pin(talker(ctx, opts)),
    },
];

/// Names of the executables.
pub fn executable_names() -> Vec<String> {
    EXECUTABLES.iter().map(|e| e.name.to_owned()).collect()
}

fn find(name: &str) -> Result<&'static Executable> {
    EXECUTABLES
        .iter()
        .find(|e| e.name == name)
        .with_context(|| {
            format!(
                "no executable `{name}` (available: {})",
                executable_names().join(", ")
            )
        })
}

/// Runs the executable until Ctrl-C or SIGTERM.
pub async fn run(args: RunArgs) -> Result<()> {
    if args.list {
        for e in EXECUTABLES {
            println!("{:<12} {}", e.name, e.about);
        }
        return Ok(());
    }
    let name = args.executable.unwrap_or_default();
    let exe = find(&name)?;
    // `--ros-args` in the node's own arguments (remapping, namespace) apply to its context.
    let mut argv = vec![format!("embody run {name}")];
    argv.extend(args.args);
    let ctx = Context::with_options(embody::ContextOptions {
        args: Some(argv),
        ..Default::default()
    })
    .await?;
    tokio::select! {
        r = (exe.main)(ctx, NodeOptions::default()) => r,
        r = stop_requested() => r,
    }
}

/// Splits `--node EXEC ARGS... --end-node ...` into (executable, its arguments).
fn parse_compose(words: &[String]) -> Result<Vec<(&'static Executable, Vec<String>)>> {
    let mut nodes = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if words[i] != "--node" {
            bail!("expected `--node EXEC ...`, found `{}`", words[i]);
        }
        let exe = find(words.get(i + 1).context("`--node` needs an executable")?)?;
        i += 2;
        let mut args = vec![format!("embody run {}", exe.name)];
        while i < words.len() && words[i] != "--end-node" {
            args.push(words[i].clone());
            i += 1;
        }
        i += 1;
        nodes.push((exe, args));
    }
    if nodes.is_empty() {
        bail!("nothing to compose: give `--node EXEC [ARGS...] --end-node` at least once");
    }
    Ok(nodes)
}

/// Runs several executables in one process and one context, each with its own arguments, so
/// they exchange messages intra-process (an `Arc`, no serialization).
pub async fn compose(args: ComposeArgs) -> Result<()> {
    let nodes = parse_compose(&args.nodes)?;
    let ctx = Context::with_options(embody::ContextOptions {
        args: Some(Vec::new()),
        ..Default::default()
    })
    .await?;
    let mut tasks = tokio::task::JoinSet::new();
    for (exe, argv) in nodes {
        let opts = NodeOptions::default()
            .arguments(&argv)
            .with_context(|| format!("arguments of {}", exe.name))?;
        tasks.spawn((exe.main)(ctx.clone(), opts));
    }
    tokio::select! {
        Some(r) = tasks.join_next() => r?,
        r = stop_requested() => r,
    }
}

/// Holds the nearest lane at the speed of the first odometry, one command per odometry message
/// stamped like it, so the simulator in lock-step gets an answer to every frame.
async fn follow_lane(ctx: Context, opts: NodeOptions) -> Result<()> {
    use embody_msgs::ackermann_msgs::msg::{AckermannDrive, AckermannDriveStamped};
    use embody_msgs::embody_msgs::msg::LaneMap;
    use embody_msgs::nav_msgs::msg::Odometry;
    use embody_sim::Point2;
    use embody_sim::world::pure_pursuit;
    let node = ctx.create_node_with("follow_lane", opts).await?;
    let all = QosProfile::default().history(embody::History::KeepAll);
    let lanes = node
        .create_subscription::<LaneMap>("map/lanes", QosProfile::transient_local(1))
        .await?;
    let odometry = node
        .create_subscription::<Odometry>("localization/odometry", all)
        .await?;
    let commands = node
        .create_publisher::<AckermannDriveStamped>("control/command", all)
        .await?;
    let map = lanes.recv().await.context("map/lanes closed")?;
    let centre_lines: Vec<Vec<Point2<f64>>> = map
        .lanes
        .iter()
        .map(|l| l.centerline.iter().map(|p| Point2::new(p.x, p.y)).collect())
        .collect();
    let mut lane: Option<usize> = None;
    let mut speed = None;
    // CommonRoad vehicle 2's wheelbase, the simulator's default ego.
    const WHEELBASE: f64 = 2.579;
    while let Some(o) = odometry.recv().await {
        let p = &o.pose.pose;
        let (x, y) = (p.position.x, p.position.y);
        let yaw = embody_sim::ros::quaternion_yaw(&p.orientation);
        let v = o.twist.twist.linear.x;
        let target_speed = *speed.get_or_insert(v);
        let lane = *lane.get_or_insert_with(|| {
            let dist = |l: &Vec<Point2<f64>>| {
                l.iter()
                    .map(|q| (q.x - x).powi(2) + (q.y - y).powi(2))
                    .fold(f64::INFINITY, f64::min)
            };
            (0..centre_lines.len())
                .min_by(|&a, &b| dist(&centre_lines[a]).total_cmp(&dist(&centre_lines[b])))
                .unwrap_or(0)
        });
        let path = centre_lines.get(lane).map(Vec::as_slice).unwrap_or(&[]);
        let steering = pure_pursuit(x, y, yaw, WHEELBASE, (v * 1.0).max(5.0), path);
        commands
            .publish(AckermannDriveStamped {
                header: o.header.clone(),
                drive: AckermannDrive {
                    steering_angle: steering as f32,
                    speed: target_speed as f32,
                    ..AckermannDrive::default()
                },
            })
            .await?;
    }
    Ok(())
}

async fn planning(ctx: Context, opts: NodeOptions) -> Result<()> {
    use embody_planning::node::{NodeConfig, run};
    let node = ctx.create_node_with("planning", opts).await?;
    let config = NodeConfig::from_parameters(&node)?;
    run(node, config).await?;
    Ok(())
}

async fn control(ctx: Context, opts: NodeOptions) -> Result<()> {
    use embody_control::node::{NodeConfig, run};
    let node = ctx.create_node_with("control", opts).await?;
    let config = NodeConfig::from_parameters(&node)?;
    run(node, config).await?;
    Ok(())
}

async fn arm_control(ctx: Context, opts: NodeOptions) -> Result<()> {
    use embody_control::arm_node::{ArmNodeConfig, run};
    let node = ctx.create_node_with("arm_control", opts).await?;
    let config = ArmNodeConfig::from_parameters(&node)?;
    run(node, config).await?;
    Ok(())
}

async fn manipulation(ctx: Context, opts: NodeOptions) -> Result<()> {
    use embody_manipulation::node::{NodeConfig, run};
    let node = ctx.create_node_with("manipulation", opts).await?;
    let config = NodeConfig::from_parameters(&node)?;
    run(node, config).await?;
    Ok(())
}

async fn tabletop_task(ctx: Context, opts: NodeOptions) -> Result<()> {
    use embody_manipulation::task_node::{TaskConfig, run};
    let node = ctx.create_node_with("tabletop_task", opts).await?;
    let config = TaskConfig::from_parameters(&node)?;
    run(node, config).await?;
    Ok(())
}

async fn perception(ctx: Context, opts: NodeOptions) -> Result<()> {
    use embody_perception::node::{NodeConfig, run};
    let node = ctx.create_node_with("perception", opts).await?;
    let config = NodeConfig::from_parameters(&node)?;
    run(node, config).await?;
    Ok(())
}

/// Runs one scenario run as the `sim` node: with `lockstep` the stack's `control/command`
/// drives the ego (each frame waits for its command), otherwise the stand-in driver does.
async fn sim(ctx: Context, opts: NodeOptions) -> Result<()> {
    use embody::params::ParameterDescriptor;
    let node = ctx.create_node_with("sim", opts).await?;
    let p = node.parameters();
    let path = p.declare("scenario", "", ParameterDescriptor::default())?;
    let sets = p.declare("set", "", ParameterDescriptor::default())?;
    let lockstep = p.declare("lockstep", false, ParameterDescriptor::default())?;
    let timeout = p.declare("command_timeout_s", 10.0, ParameterDescriptor::default())?;
    let (
        embody::params::ParameterValue::String(path),
        embody::params::ParameterValue::String(sets),
    ) = (path, sets)
    else {
        bail!("parameters `scenario` and `set` are strings");
    };
    if path.is_empty() {
        bail!("give the scenario: embody run sim --ros-args -p scenario:=scenarios/ncap/ccrs.yaml");
    }
    let mut overrides = Vec::new();
    for kv in sets.split(',').filter(|s| !s.trim().is_empty()) {
        overrides.push(
            embody_sim::scenario::parse_set(kv.trim())
                .with_context(|| format!("`set` entry `{kv}` is not key=value"))?,
        );
    }
    let runs = embody_sim::scenario::load_runs(std::path::Path::new(&path), &overrides)?;
    let [run] = runs.as_slice() else {
        bail!(
            "{path} has {} runs (swept parameters); fix them with -p set:=name=value,...",
            runs.len()
        );
    };
    let run = match run {
        embody_sim::scenario::WorldRun::Vehicle(run) => run,
        embody_sim::scenario::WorldRun::Arm(run) => {
            // The arm executes joint_commands (from the arm control node) and gripper/command,
            // at real time unless realtime_factor says otherwise; lock-step on request; with
            // builtin_controller it follows joint trajectories itself.
            let factor = p.declare("realtime_factor", 1.0, ParameterDescriptor::default())?;
            let embody::params::ParameterValue::Double(factor) = factor else {
                bail!("parameter `realtime_factor` is a number");
            };
            let options = embody_sim::arm_node::ArmNodeOptions {
                realtime_factor: Some(factor),
                lockstep: match (lockstep, timeout) {
                    (
                        embody::params::ParameterValue::Bool(true),
                        embody::params::ParameterValue::Double(t),
                    ) => Some(crate::common::seconds(t, "command_timeout_s")?),
                    _ => None,
                },
                builtin_controller: match p.declare(
                    "builtin_controller",
                    false,
                    ParameterDescriptor::new(
                        "follow arm_controller/joint_trajectory without the arm control node",
                    ),
                )? {
                    embody::params::ParameterValue::Bool(b) => b,
                    _ => bail!("parameter `builtin_controller` is a boolean"),
                },
            };
            let report = embody_sim::arm_node::run_arm_node(&node, run, options).await?;
            let r = &report.result;
            node.logger().info(&format!(
                "{}: {}/{} placed, placement error {:.3} m, {} arm contacts, {} limit violations, {} joint commands ({} refused), {:.1} s simulated",
                run.label(),
                r.objects_placed,
                r.objects_to_place,
                r.placement_error_m,
                r.arm_collisions,
                r.limit_violations,
                report.commands,
                report.refused,
                r.sim_time_s
            ));
            return Ok(());
        }
    };
    let control = match (lockstep, timeout) {
        (embody::params::ParameterValue::Bool(true), embody::params::ParameterValue::Double(t)) => {
            embody_sim::node::Control::LockStep {
                timeout: crate::common::seconds(t, "command_timeout_s")?,
                realtime_factor: None,
            }
        }
        _ => embody_sim::node::Control::StandIn,
    };
    let (r, _) = embody_sim::node::run_node(&node, run, control).await?;
    node.logger().info(&format!(
        "{}: {} (impact {:.1} km/h, min gap {:.2} m, {:.1} s simulated)",
        run.label(),
        if r.collision { "collision" } else { "avoided" },
        r.impact_speed_kmh,
        r.min_gap_m,
        r.sim_time_s
    ));
    Ok(())
}

/// Publishes `Hello World: N` on `chatter` once a second (QoS keep last 7, as demo_nodes_cpp).
async fn talker(ctx: Context, opts: NodeOptions) -> Result<()> {
    let node = ctx.create_node_with("talker", opts).await?;
    let publisher = node
        .create_publisher::<RosString>("chatter", QosProfile::keep_last(7))
        .await?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    for count in 1u64.. {
        tick.tick().await;
        let data = format!("Hello World: {count}");
        node.logger().info(&format!("Publishing: '{data}'"));
        publisher.publish(RosString { data }).await?;
    }
    Ok(())
}

/// Logs every `std_msgs/String` it hears on `chatter`.
async fn listener(ctx: Context, opts: NodeOptions) -> Result<()> {
    let node = ctx.create_node_with("listener", opts).await?;
    let sub = node
        .create_subscription::<RosString>("chatter", QosProfile::keep_last(10))
        .await?;
    while let Some(m) = sub.recv().await {
        node.logger().info(&format!("I heard: [{}]", m.data));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_arguments_split_per_node() {
        let w = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
        let nodes = parse_compose(&w(
            "--node talker --ros-args -r __ns:=/a --end-node --node listener --end-node",
        ))
        .unwrap();
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0].0.name, "talker");
        // The first word is the program name the node's argument parser skips.
        assert_eq!(nodes[0].1[0], "embody run talker");
        assert_eq!(nodes[0].1[1..], w("--ros-args -r __ns:=/a"));
        assert_eq!(nodes[1].1, ["embody run listener"]);
        let err = parse_compose(&w("--node nope --end-node"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("no executable `nope` (available: arm_control, control, follow_lane, ")
                && err.contains(&format!("available: {})", executable_names().join(", "))),
            "{err}"
        );
        assert!(parse_compose(&[]).is_err());
    }
}
