//! `embody launch FILE [name:=value]...`: read a ROS 2 XML or YAML launch file, start a zenoh
//! router in-process when none is reachable, and supervise the processes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::Args;
use embody_launch::{LoadOptions, load, supervisor};

use crate::common::stop_requested;
use crate::run_cmd::executable_names;

/// Options of `embody launch`.
#[derive(Args)]
pub struct LaunchArgs {
    /// The launch file (`.launch.xml`, `.launch.yaml`), or a package and a file in its
    /// `launch/` directory (`embody launch embody demo.launch.yaml`).
    file: String,
    /// More: the file (after a package), then launch arguments `name:=value`.
    rest: Vec<String>,
    /// Do not start a router even when none is reachable.
    #[arg(long)]
    no_router: bool,
    /// Print the launch arguments the file declares and exit.
    #[arg(short = 's', long)]
    show_args: bool,
    /// Print the processes that would start (one command line each) and exit.
    #[arg(long)]
    print: bool,
    /// Let the launched nodes connect to each other directly (rmw_zenoh's full peer mesh)
    /// instead of through the router.
    #[arg(long)]
    mesh: bool,
}

/// How launched processes find each other unless `--mesh`: as zenoh clients of the router.
/// rmw_zenoh's default makes every process a peer that also connects to every other peer;
/// with 100 nodes that is ~4,950 links whose keepalives kept 66-77 % of a core busy while
/// idle, and startup took 9-11 s (`cargo bench --bench launch`). Peers restricted to the
/// router by gossip settings lost declarations and data in zenoh 1.10, clients do not.
const ROUTED: &str = r#"mode="client""#;

/// Adds the routed topology to the processes' `ZENOH_CONFIG_OVERRIDE`, unless the user's
/// configuration already chooses one.
fn route_through_router(plan: &mut embody_launch::Plan, environment: &BTreeMap<String, String>) {
    for p in &mut plan.processes {
        let current = match p.env.get("ZENOH_CONFIG_OVERRIDE") {
            Some(v) => v.clone(),
            None => environment.get("ZENOH_CONFIG_OVERRIDE").cloned(),
        };
        let chosen = current
            .as_deref()
            .is_some_and(|c| c.contains("autoconnect") || c.contains("mode="))
            || environment.contains_key("ZENOH_SESSION_CONFIG_URI");
        if chosen {
            continue;
        }
        let value = match current.filter(|c| !c.trim().is_empty()) {
            Some(c) => format!("{};{ROUTED}", c.trim_end_matches(';')),
            None => ROUTED.to_owned(),
        };
        p.env.insert("ZENOH_CONFIG_OVERRIDE".into(), Some(value));
    }
}

/// Share directories of packages embody knows: `embody` is the installation's share directory
/// (`EMBODY_SHARE_DIR`, else the source tree this binary was built from).
fn packages() -> BTreeMap<String, PathBuf> {
    let share = std::env::var_os("EMBODY_SHARE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    BTreeMap::from([("embody".to_owned(), share)])
}

/// The router endpoints this process's sessions would connect to.
fn connect_endpoints() -> Result<Vec<String>> {
    let config = embody::config::session_config(&Default::default())?;
    let json = config
        .get_json("connect/endpoints")
        .map_err(|e| anyhow::anyhow!("reading connect/endpoints: {e}"))?;
    let v: serde_json::Value = serde_json::from_str(&json)?;
    // Either a list, or a map by role (`{"peer": [...], "router": [...]}`).
    let list = match &v {
        serde_json::Value::Array(a) => a.clone(),
        serde_json::Value::Object(m) => m
            .get("peer")
            .and_then(|p| p.as_array())
            .cloned()
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    Ok(list
        .iter()
        .filter_map(|e| e.as_str().map(str::to_owned))
        .collect())
}

/// Whether something accepts TCP connections at a `tcp/host:port` endpoint.
async fn reachable(endpoint: &str) -> bool {
    let Some(addr) = endpoint.strip_prefix("tcp/") else {
        // Not TCP: let the sessions find out.
        return true;
    };
    let addr = addr.split('#').next().unwrap_or(addr);
    matches!(
        tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}

/// The per-run log directory: `$ROS_LOG_DIR`, else `$ROS_HOME/log`, else `~/.ros/log`, then
/// `<YYYY-MM-DD-HH-MM-SS>-<pid>` below it, as ros2 launch names its runs.
fn default_log_dir(env: &BTreeMap<String, String>) -> PathBuf {
    let base = env
        .get("ROS_LOG_DIR")
        .map(PathBuf::from)
        .or_else(|| env.get("ROS_HOME").map(|h| PathBuf::from(h).join("log")))
        .or_else(|| {
            env.get("HOME")
                .map(|h| PathBuf::from(h).join(".ros").join("log"))
        })
        .unwrap_or_else(|| std::env::temp_dir().join("embody-log"));
    let (y, mo, d, h, mi, s) = embody::time::utc_date_time(embody::wire::now_ns() / 1_000_000_000);
    base.join(format!(
        "{y:04}-{mo:02}-{d:02}-{h:02}-{mi:02}-{s:02}-{}",
        std::process::id()
    ))
}

/// The processes a launch file starts with its default arguments, without starting them.
pub fn plan(path: &std::path::Path) -> Result<embody_launch::Plan> {
    let environment: BTreeMap<String, String> = std::env::vars().collect();
    let opts = LoadOptions {
        args: Vec::new(),
        executables: executable_names(),
        embody_exe: std::env::current_exe().context("cannot find the embody executable")?,
        log_dir: default_log_dir(&environment),
        packages: packages(),
        environment,
    };
    Ok(load(path, &opts)?)
}

/// Runs a launch file.
pub async fn run(a: LaunchArgs) -> Result<()> {
    let mut rest = a.rest.into_iter().peekable();
    let path = match rest.peek() {
        Some(next) if !next.contains(":=") => {
            let file = rest.next().unwrap_or_default();
            let share = packages()
                .remove(&a.file)
                .with_context(|| format!("package `{}` not found (known: embody)", a.file))?;
            share.join("launch").join(file)
        }
        _ => PathBuf::from(&a.file),
    };
    let mut args = Vec::new();
    for r in rest {
        let (k, v) = r
            .split_once(":=")
            .with_context(|| format!("launch arguments are name:=value, not `{r}`"))?;
        args.push((k.to_owned(), v.to_owned()));
    }
    let environment: BTreeMap<String, String> = std::env::vars().collect();
    let log_dir = default_log_dir(&environment);
    let opts = LoadOptions {
        args,
        executables: executable_names(),
        embody_exe: std::env::current_exe().context("cannot find the embody executable")?,
        log_dir: log_dir.clone(),
        packages: packages(),
        environment,
    };
    if a.show_args {
        let plan = load(
            &path,
            &LoadOptions {
                args: Vec::new(),
                ..opts.clone()
            },
        )
        .or_else(|_| load(&path, &opts))?;
        println!("Arguments (pass arguments as '<name>:=<value>'):");
        for arg in &plan.args {
            println!("\n    '{}':", arg.name);
            println!(
                "        {}",
                if arg.description.is_empty() {
                    "no description given"
                } else {
                    &arg.description
                }
            );
            match &arg.default {
                Some(d) => println!("        (default: '{d}')"),
                None => println!("        (required)"),
            }
        }
        return Ok(());
    }
    let mut plan = load(&path, &opts)?;
    if a.print {
        if !a.mesh {
            route_through_router(&mut plan, &opts.environment);
        }
        for p in &plan.processes {
            let env: Vec<String> = p
                .env
                .iter()
                .map(|(k, v)| match v {
                    Some(v) => format!("{k}={v}"),
                    None => format!("-u {k}"),
                })
                .collect();
            println!(
                "{}: {}{} {}",
                p.label,
                if env.is_empty() {
                    String::new()
                } else {
                    format!("env {} ", env.join(" "))
                },
                p.program.display(),
                p.args.join(" ")
            );
        }
        return Ok(());
    }
    for m in &plan.messages {
        eprintln!("[INFO] [launch.user]: {m}");
    }
    if plan.processes.is_empty() {
        bail!("{}: nothing to launch", path.display());
    }

    let mut _router = None;
    let endpoints = connect_endpoints()?;
    let mut have_router = false;
    for e in &endpoints {
        have_router |= reachable(e).await;
    }
    if !a.no_router
        && !have_router
        && let Some(first) = endpoints.first()
    {
        let listen = first.replace("tcp/localhost:", "tcp/127.0.0.1:");
        _router = Some(
            embody::Router::start(std::slice::from_ref(&listen))
                .await
                .with_context(|| format!("starting a router on {listen}"))?,
        );
        eprintln!(
            "[INFO] [launch]: no zenoh router at {first}; started one in-process on {listen} (--no-router turns this off)"
        );
        have_router = true;
    }
    // Clients need a router; without one the processes stay peers and find each other alone.
    if !a.mesh && have_router {
        route_through_router(&mut plan, &opts.environment);
    }
    let stop = async {
        let _ = stop_requested().await;
    };
    let outcome = supervisor::run(&plan, &log_dir, stop).await;
    if !outcome.failures.is_empty() {
        bail!(
            "{} process(es) failed:\n  {}",
            outcome.failures.len(),
            outcome.failures.join("\n  ")
        );
    }
    Ok(())
}
