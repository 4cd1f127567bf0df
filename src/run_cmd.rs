//! `embody run EXECUTABLE [--ros-args ...]`: start one of the node executables built into the
//! `embody` command, the way `ros2 run` starts a package's executable.

use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;
use embody::{Context, QosProfile};
use embody_msgs::std_msgs::msg::String as RosString;

/// Options of `embody run`. The nodes log like rclcpp (stderr; stdout with
/// `RCUTILS_LOGGING_USE_STDOUT=1`) and on `/rosout`.
#[derive(Args)]
pub struct RunArgs {
    /// The executable: `talker` or `listener` (ROS 2's demo_nodes_cpp pair on `chatter`).
    executable: String,
    /// Arguments for the node, e.g. `--ros-args -r chatter:=/other -r __ns:=/robot1`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// The executables `embody run` knows.
pub const EXECUTABLES: &[&str] = &["listener", "talker"];

/// Runs the executable until Ctrl-C.
pub async fn run(args: RunArgs) -> Result<()> {
    if !EXECUTABLES.contains(&args.executable.as_str()) {
        bail!(
            "no executable `{}` (available: {})",
            args.executable,
            EXECUTABLES.join(", ")
        );
    }
    // `--ros-args` in the node's own arguments (remapping, namespace) apply to its context.
    let mut argv = vec![format!("embody run {}", args.executable)];
    argv.extend(args.args);
    let ctx = Context::with_options(embody::ContextOptions {
        args: Some(argv),
        ..Default::default()
    })
    .await?;
    let work = async {
        match args.executable.as_str() {
            "talker" => talker(&ctx).await,
            _ => listener(&ctx).await,
        }
    };
    tokio::select! {
        r = work => r,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

/// Publishes `Hello World: N` on `chatter` once a second (QoS keep last 7, as demo_nodes_cpp).
async fn talker(ctx: &Context) -> Result<()> {
    let node = ctx.create_node("talker").await?;
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
async fn listener(ctx: &Context) -> Result<()> {
    let node = ctx.create_node("listener").await?;
    let sub = node
        .create_subscription::<RosString>("chatter", QosProfile::keep_last(10))
        .await?;
    while let Some(m) = sub.recv().await {
        node.logger().info(&format!("I heard: [{}]", m.data));
    }
    Ok(())
}
