//! `embody service`: list, call.

use std::io::Write as _;

use anyhow::{Result, anyhow, bail};
use clap::Subcommand;
use embody_idl::dynamic;
use embody_msgs::InterfaceKind;

use crate::common::{cli_node, dynamic_type, graph, parse_yaml, print_names_and_types};

/// `embody service` subcommands.
#[derive(Subcommand)]
pub enum ServiceCommand {
    /// List services.
    List {
        /// Show each service's type.
        #[arg(short = 't', long)]
        show_types: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Call a service with a request given as YAML and print the response.
    Call {
        /// The service.
        service: String,
        /// The service type, e.g. example_interfaces/srv/AddTwoInts.
        service_type: String,
        /// The request as YAML, e.g. "{a: 1, b: 2}" (default: all fields at their defaults).
        #[arg(default_value = "")]
        values: String,
        /// Seconds to wait for the service to appear and to answer.
        #[arg(long, default_value_t = 10.0)]
        timeout: f64,
        /// Print the response as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs one `embody service` subcommand.
pub async fn run(cmd: ServiceCommand) -> Result<()> {
    let (ctx, node) = cli_node().await?;
    let mut out = std::io::stdout().lock();
    match cmd {
        ServiceCommand::List { show_types, json } => {
            let services = graph(&ctx).await?.service_names_and_types();
            print_names_and_types(&mut out, &services, show_types, json)?;
        }
        ServiceCommand::Call {
            service,
            service_type,
            values,
            timeout,
            json,
        } => {
            let info = embody_msgs::find(&service_type).ok_or_else(|| {
                anyhow!("unknown service type `{service_type}` (see `embody interface list -s`)")
            })?;
            if info.kind != InterfaceKind::Service {
                bail!("`{}` is not a service type", info.name);
            }
            let part = |suffix: &str| {
                let n = format!("{}{suffix}", info.name);
                embody_msgs::find(&n)
                    .ok_or_else(|| anyhow!("{n} is not compiled in"))
                    .and_then(dynamic_type)
            };
            let (req_set, req_name) = part("_Request")?;
            let (resp_set, resp_name) = part("_Response")?;
            let request = dynamic::from_json(&req_set, &req_name, &parse_yaml(&values)?)?;
            let client = node
                .create_raw_client(&service, info.name, info.hash)
                .await?;
            let timeout = crate::common::seconds(timeout, "--timeout")?;
            client.wait_for_service(timeout).await.map_err(|_| {
                anyhow!(
                    "service `{}` of type {} is not available",
                    client.name(),
                    info.name
                )
            })?;
            if !json {
                writeln!(out, "requester: making request:\n{}", request.to_yaml())?;
            }
            let reply = client
                .call(dynamic::encode(&req_set, &req_name, &request)?, timeout)
                .await?;
            let response = dynamic::decode(&resp_set, &resp_name, &reply)?;
            if json {
                writeln!(out, "{}", response.to_json())?;
            } else {
                write!(out, "response:\n{}", response.to_yaml())?;
            }
        }
    }
    Ok(())
}
