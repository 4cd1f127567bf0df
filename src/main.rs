//! The `embody` command.

mod bag_cmd;
mod common;
mod ik_cmd;
mod interface;
mod launch_cmd;
mod node_cmd;
mod param_cmd;
mod perception_cmd;
mod router_cmd;
mod run_bag;
mod run_cmd;
mod scenario_cmd;
mod service_cmd;
mod topic;

use clap::{Parser, Subcommand};

/// embody: a ROS 2-compatible robotics middleware and node stack in Rust.
#[derive(Parser)]
#[command(name = "embody", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Inspect the interface types (messages, services, actions) embody was built with.
    #[command(subcommand)]
    Interface(interface::InterfaceCommand),
    /// Run a node executable built into embody (`talker`, `listener`), like `ros2 run`.
    Run(run_cmd::RunArgs),
    /// Run a zenoh router (interchangeable with rmw_zenohd).
    Router(router_cmd::RouterArgs),
    /// Topics: list, info, echo, pub, hz.
    #[command(subcommand)]
    Topic(topic::TopicCommand),
    /// Nodes: list, info.
    #[command(subcommand)]
    Node(node_cmd::NodeCommand),
    /// Parameters of a node: list, get, set, dump.
    #[command(subcommand)]
    Param(param_cmd::ParamCommand),
    /// Services: list, call.
    #[command(subcommand)]
    Service(service_cmd::ServiceCommand),
    /// Start a robot from a ROS 2 launch file (XML or YAML).
    Launch(launch_cmd::LaunchArgs),
    /// Run several node executables in one process (launch's container for composable nodes).
    #[command(hide = true)]
    Compose(run_cmd::ComposeArgs),
    /// Run driving and arm scenarios in the built-in simulator.
    #[command(subcommand)]
    Scenario(scenario_cmd::ScenarioCommand),
    /// Record, play and inspect rosbag2 bags.
    #[command(subcommand)]
    Bag(bag_cmd::BagCommand),
    /// Perception tools: evaluate against the simulator's ground truth.
    #[command(subcommand)]
    Perception(perception_cmd::PerceptionCommand),
    /// Inverse kinematics: benchmark a URDF chain.
    #[command(subcommand)]
    Ik(ik_cmd::IkCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // The command moves whole messages around (echo, pub, and the node executables to
    // come); see the function's docs for why and what it costs.
    embody::tune_allocator_for_large_messages();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("warn,zenoh=error,rosout=off")
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Interface(cmd) => interface::run(cmd),
        Command::Scenario(cmd) => scenario_cmd::run_cmd(cmd),
        Command::Perception(cmd) => perception_cmd::run(cmd),
        Command::Ik(cmd) => ik_cmd::run(cmd),
        other => match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(async move {
                match other {
                    Command::Router(a) => router_cmd::run(a).await,
                    Command::Run(a) => run_cmd::run(a).await,
                    Command::Topic(c) => topic::run(c).await,
                    Command::Node(c) => node_cmd::run(c).await,
                    Command::Service(c) => service_cmd::run(c).await,
                    Command::Param(c) => param_cmd::run(c).await,
                    Command::Bag(c) => bag_cmd::run(c).await,
                    Command::Launch(a) => launch_cmd::run(a).await,
                    Command::Compose(a) => run_cmd::compose(a).await,
                    Command::Interface(_)
                    | Command::Scenario(_)
                    | Command::Perception(_)
                    | Command::Ik(_) => Ok(()),
                }
            }),
            Err(e) => Err(e.into()),
        },
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
