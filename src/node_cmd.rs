//! `embody node`: list, info.

use std::io::Write as _;

use anyhow::{Result, bail};
use clap::Subcommand;
use embody::wire::{EntityKind, ros_type_name};

use crate::common::{absolute, cli_node, graph};

/// `embody node` subcommands.
#[derive(Subcommand)]
pub enum NodeCommand {
    /// List nodes.
    List {
        /// Also list hidden nodes (names starting with `_`, such as CLI tools).
        #[arg(short = 'a', long)]
        all: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a node's publishers, subscriptions, services and clients.
    Info {
        /// The node (fully qualified, e.g. /talker).
        node: String,
    },
}

/// Runs one `embody node` subcommand.
pub async fn run(cmd: NodeCommand) -> Result<()> {
    let (ctx, node) = cli_node().await?;
    let me = node.fully_qualified_name();
    let g = graph(&ctx).await?;
    let mut out = std::io::stdout().lock();
    match cmd {
        NodeCommand::List { all, json } => {
            let hidden = |n: &str| {
                n.rsplit('/')
                    .next()
                    .is_some_and(|last| last.starts_with('_'))
            };
            let nodes: Vec<String> = g
                .node_names()
                .into_iter()
                .filter(|n| *n != me && (all || !hidden(n)))
                .collect();
            if json {
                writeln!(out, "{}", serde_json::to_string(&nodes)?)?;
            } else {
                for n in nodes {
                    writeln!(out, "{n}")?;
                }
            }
        }
        NodeCommand::Info { node: name } => {
            let name = absolute(&name);
            if !g.node_names().contains(&name) {
                bail!("unknown node `{name}` (see `embody node list`)");
            }
            let endpoints = g.node_endpoints(&name);
            writeln!(out, "{name}")?;
            for (title, kind) in [
                ("Subscribers", EntityKind::Subscription),
                ("Publishers", EntityKind::Publisher),
                ("Service Servers", EntityKind::ServiceServer),
                ("Service Clients", EntityKind::ServiceClient),
            ] {
                writeln!(out, "  {title}:")?;
                let mut lines: Vec<String> = endpoints
                    .iter()
                    .filter(|e| e.kind == kind)
                    .filter_map(|e| e.topic.as_ref())
                    .map(|t| {
                        format!(
                            "    {}: {}",
                            t.name,
                            ros_type_name(&t.dds_type).unwrap_or_else(|| t.dds_type.clone())
                        )
                    })
                    .collect();
                lines.sort();
                lines.dedup();
                for l in lines {
                    writeln!(out, "{l}")?;
                }
            }
        }
    }
    Ok(())
}
