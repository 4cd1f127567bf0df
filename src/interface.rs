//! `embody interface`: list, show and hash the compiled interface types.

use std::io::Write as _;

use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use embody_msgs::{InterfaceKind, TypeInfo, find, registry};

/// `embody interface` subcommands.
#[derive(Subcommand)]
pub enum InterfaceCommand {
    /// List interface types (like `ros2 interface list`).
    List {
        /// Only messages.
        #[arg(short = 'm', long)]
        only_msgs: bool,
        /// Only services.
        #[arg(short = 's', long)]
        only_srvs: bool,
        /// Only actions.
        #[arg(short = 'a', long)]
        only_actions: bool,
        /// Also list the types ROS 2 derives from services and actions (`Foo_Request`, ...).
        #[arg(long)]
        derived: bool,
    },
    /// List the packages that provide interfaces.
    Packages,
    /// Print the definition of a type (`pkg/msg/Type`, `pkg/srv/Type`, `pkg/action/Type` or `pkg/Type`).
    Show {
        /// The type.
        type_name: String,
        /// Print the full `ros2msg` schema (definition plus every nested type) instead.
        #[arg(long)]
        schema: bool,
    },
    /// Print the RIHS01 type hash that ROS 2 and rmw_zenoh use for a type.
    Hash {
        /// The type.
        type_name: String,
    },
}

fn lookup(name: &str) -> Result<&'static TypeInfo> {
    match find(name) {
        Some(t) => Ok(t),
        None => {
            let short = name.rsplit('/').next().unwrap_or(name);
            let similar: Vec<&str> = registry()
                .iter()
                .filter(|t| !t.derived && t.name.ends_with(&format!("/{short}")))
                .map(|t| t.name)
                .collect();
            if similar.is_empty() {
                bail!("unknown interface type `{name}` (see `embody interface list`)")
            }
            bail!(
                "unknown interface type `{name}`; did you mean {}?",
                similar.join(" or ")
            )
        }
    }
}

/// Runs one `embody interface` subcommand.
pub fn run(cmd: InterfaceCommand) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match cmd {
        InterfaceCommand::List {
            only_msgs,
            only_srvs,
            only_actions,
            derived,
        } => {
            let any = only_msgs || only_srvs || only_actions;
            let sections = [
                (InterfaceKind::Message, "Messages", only_msgs),
                (InterfaceKind::Service, "Services", only_srvs),
                (InterfaceKind::Action, "Actions", only_actions),
            ];
            for (kind, title, wanted) in sections {
                if any && !wanted {
                    continue;
                }
                writeln!(out, "{title}:")?;
                for t in registry()
                    .iter()
                    .filter(|t| t.kind == kind && (derived || !t.derived))
                {
                    writeln!(out, "    {}", t.name)?;
                }
            }
        }
        InterfaceCommand::Packages => {
            let mut packages: Vec<&str> = registry()
                .iter()
                .filter_map(|t| t.name.split('/').next())
                .collect();
            packages.dedup();
            for p in packages {
                writeln!(out, "{p}")?;
            }
        }
        InterfaceCommand::Show { type_name, schema } => {
            let t = lookup(&type_name)?;
            if schema {
                if t.kind != InterfaceKind::Message {
                    bail!(
                        "`{}` is not a message; schemas exist for messages only",
                        t.name
                    );
                }
                out.write_all(t.schema.as_bytes())?;
            } else {
                out.write_all(t.definition.as_bytes())?;
                if !t.definition.ends_with('\n') {
                    writeln!(out)?;
                }
            }
        }
        InterfaceCommand::Hash { type_name } => {
            let t = lookup(&type_name)?;
            writeln!(out, "{}", t.hash).context("write to stdout")?;
        }
    }
    Ok(())
}
