//! `embody param`: list, get, set, dump — through the node's `rcl_interfaces` services, so it
//! works on ROS 2 nodes as well as embody's.

use std::io::Write as _;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Subcommand;
use embody::Node;
use embody::param_services::{value_from_msg, value_to_msg};
use embody::params::ParameterValue;
use embody_msgs::Service;
use embody_msgs::rcl_interfaces::msg::Parameter;
use embody_msgs::rcl_interfaces::srv::{
    GetParameters, GetParameters_Request, ListParameters, ListParameters_Request, SetParameters,
    SetParameters_Request,
};

use crate::common::{absolute, cli_node};

/// `embody param` subcommands.
#[derive(Subcommand)]
pub enum ParamCommand {
    /// List a node's parameters.
    List {
        /// The node, e.g. /planner.
        node: String,
    },
    /// Print a parameter's value.
    Get {
        /// The node.
        node: String,
        /// The parameter.
        name: String,
    },
    /// Set a parameter (the value is YAML: 1.5, true, hello, [1, 2]).
    Set {
        /// The node.
        node: String,
        /// The parameter.
        name: String,
        /// The value.
        value: String,
    },
    /// Print every parameter as a parameter file (`--params-file` format).
    Dump {
        /// The node.
        node: String,
    },
}

const TIMEOUT: Duration = Duration::from_secs(10);

async fn call<S: Service>(
    cli: &Node,
    node: &str,
    service: &str,
    req: &S::Request,
) -> Result<S::Response> {
    let client = cli.create_client::<S>(&format!("{node}/{service}")).await?;
    client
        .wait_for_service(TIMEOUT)
        .await
        .map_err(|_| anyhow!("node `{node}` does not offer {service} (is it running?)"))?;
    Ok(client.call(req, TIMEOUT).await?)
}

fn show(v: &ParameterValue) -> String {
    match v {
        ParameterValue::Bool(b) => b.to_string(),
        ParameterValue::Integer(i) => i.to_string(),
        ParameterValue::Double(d) => format!("{d:?}"),
        ParameterValue::String(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

fn yaml(v: &ParameterValue) -> String {
    match v {
        ParameterValue::String(s) => format!("'{}'", s.replace('\'', "''")),
        ParameterValue::ByteArray(b) => format!("{b:?}"),
        ParameterValue::BoolArray(b) => format!("{b:?}"),
        ParameterValue::IntegerArray(i) => format!("{i:?}"),
        ParameterValue::DoubleArray(d) => format!("{d:?}"),
        ParameterValue::StringArray(s) => format!("{s:?}"),
        other => show(other),
    }
}

async fn names(cli: &Node, node: &str) -> Result<Vec<String>> {
    let resp = call::<ListParameters>(
        cli,
        node,
        "list_parameters",
        &ListParameters_Request::default(),
    )
    .await?;
    let mut names = resp.result.names;
    names.sort();
    Ok(names)
}

async fn values(
    cli: &Node,
    node: &str,
    names: Vec<String>,
) -> Result<Vec<(String, Option<ParameterValue>)>> {
    let resp = call::<GetParameters>(
        cli,
        node,
        "get_parameters",
        &GetParameters_Request {
            names: names.clone(),
        },
    )
    .await?;
    Ok(names
        .into_iter()
        .zip(resp.values.iter().map(value_from_msg))
        .collect())
}

/// Runs one `embody param` subcommand.
pub async fn run(cmd: ParamCommand) -> Result<()> {
    let (_ctx, cli) = cli_node().await?;
    let mut out = std::io::stdout().lock();
    match cmd {
        ParamCommand::List { node } => {
            let node = absolute(&node);
            writeln!(out, "{node}:")?;
            for n in names(&cli, &node).await? {
                writeln!(out, "  {n}")?;
            }
        }
        ParamCommand::Get { node, name } => {
            let node = absolute(&node);
            match values(&cli, &node, vec![name.clone()])
                .await?
                .pop()
                .and_then(|(_, v)| v)
            {
                Some(v) => writeln!(out, "{} value is: {}", capitalized(v.type_name()), show(&v))?,
                None => bail!("parameter `{name}` is not set on `{node}`"),
            }
        }
        ParamCommand::Set { node, name, value } => {
            let node = absolute(&node);
            let v = ParameterValue::parse(&value).map_err(|e| anyhow!("value `{value}`: {e}"))?;
            let req = SetParameters_Request {
                parameters: vec![Parameter {
                    name: name.clone(),
                    value: value_to_msg(&v),
                }],
            };
            let resp = call::<SetParameters>(&cli, &node, "set_parameters", &req).await?;
            let result = resp
                .results
                .first()
                .context("the node returned no result")?;
            if !result.successful {
                bail!("Setting parameter failed: {}", result.reason);
            }
            writeln!(out, "Set parameter successful")?;
        }
        ParamCommand::Dump { node } => {
            let node = absolute(&node);
            let all = values(&cli, &node, names(&cli, &node).await?).await?;
            writeln!(out, "{node}:\n  ros__parameters:")?;
            for (name, v) in all {
                if let Some(v) = v {
                    writeln!(out, "    {name}: {}", yaml(&v))?;
                }
            }
        }
    }
    Ok(())
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}
