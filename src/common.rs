//! What the graph commands share: opening a context, looking types up, parsing YAML.

use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use embody::{Context, Graph, Node};
use embody_idl::TypeName;
use embody_msgs::{InterfaceKind, TypeInfo};

/// Opens a context from the environment (ROS_DOMAIN_ID, ZENOH_* variables) and a hidden node
/// for the command, like the `ros2` CLI's `_ros2cli_<pid>`.
pub async fn cli_node() -> Result<(Context, Node)> {
    let ctx = Context::with_options(embody::ContextOptions {
        args: Some(Vec::new()),
        ..Default::default()
    })
    .await
    .context("cannot open a zenoh session")?;
    let node = ctx
        .create_node(&format!("_embody_cli_{}", std::process::id()))
        .await?;
    Ok((ctx, node))
}

/// The graph once discovery has settled (no change for 200 ms, at most 2 s).
pub async fn graph(ctx: &Context) -> Result<&Graph> {
    let g = ctx.graph().await?;
    g.settle(Duration::from_millis(200), Duration::from_secs(2))
        .await;
    Ok(g)
}

/// Looks up a compiled message type.
pub fn message_type(name: &str) -> Result<&'static TypeInfo> {
    let t = embody_msgs::find(name)
        .ok_or_else(|| anyhow!("unknown message type `{name}` (see `embody interface list`)"))?;
    if t.kind != InterfaceKind::Message {
        bail!("`{}` is not a message type", t.name);
    }
    Ok(t)
}

/// The type of `topic` as the graph announces it, waiting up to `timeout` for it to appear.
pub async fn topic_type(ctx: &Context, topic: &str, timeout: Duration) -> Result<String> {
    let g = graph(ctx).await?;
    let found = g
        .wait_until(timeout, |g| g.topic_names_and_types().contains_key(topic))
        .await;
    if found.is_err() {
        bail!(
            "topic `{topic}` does not appear to be published yet (give its type to subscribe anyway)"
        );
    }
    let types = g.topic_names_and_types().remove(topic).unwrap_or_default();
    match types.len() {
        1 => Ok(types.into_iter().next().unwrap_or_default()),
        _ => bail!(
            "topic `{topic}` has several types ({}); give one explicitly",
            types.into_iter().collect::<Vec<_>>().join(", ")
        ),
    }
}

/// A closed type set for a compiled message type, and its parsed name.
pub fn dynamic_type(info: &TypeInfo) -> Result<(embody_idl::TypeSet, TypeName)> {
    let name = TypeName::parse(info.name).ok_or_else(|| anyhow!("bad type name {}", info.name))?;
    Ok((info.type_set()?, name))
}

/// Parses a YAML (or JSON) message given on the command line; empty means all defaults.
pub fn parse_yaml(text: &str) -> Result<serde_json::Value> {
    if text.trim().is_empty() {
        return Ok(serde_json::Value::Null);
    }
    let v: serde_json::Value =
        serde_yaml_ng::from_str(text).with_context(|| format!("`{text}` is not valid YAML"))?;
    Ok(v)
}

/// Makes a name absolute (relative names on the command line are relative to `/`).
pub fn absolute(name: &str) -> String {
    if name.starts_with('/') {
        name.to_owned()
    } else {
        format!("/{name}")
    }
}

/// Prints `topic list`/`service list` output: names, `name [types]` with `-t`, or JSON.
pub fn print_names_and_types(
    out: &mut impl std::io::Write,
    names: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
    show_types: bool,
    json: bool,
) -> Result<()> {
    if json {
        writeln!(out, "{}", serde_json::to_string(names)?)?;
        return Ok(());
    }
    for (name, types) in names {
        if show_types {
            let types: Vec<&str> = types.iter().map(String::as_str).collect();
            writeln!(out, "{name} [{}]", types.join(", "))?;
        } else {
            writeln!(out, "{name}")?;
        }
    }
    Ok(())
}

/// A duration from a command-line number of seconds, rejecting negative and non-finite ones.
pub fn seconds(value: f64, flag: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| anyhow!("{flag} {value} is not a number of seconds"))
}

/// Resolves when the process is asked to stop (Ctrl-C / SIGINT, or SIGTERM as launch
/// supervisors send).
pub async fn stop_requested() -> Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}
