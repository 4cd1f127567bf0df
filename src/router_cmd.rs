//! `embody router`.

use anyhow::Result;
use clap::Args;

/// Options of `embody router`.
#[derive(Args)]
pub struct RouterArgs {
    /// Endpoint to listen on (repeatable); default `tcp/[::]:7447`, like rmw_zenohd.
    #[arg(long = "listen", value_name = "ENDPOINT")]
    listen: Vec<String>,
}

/// Runs the router until Ctrl-C.
pub async fn run(args: RouterArgs) -> Result<()> {
    let router = embody::Router::start(&args.listen).await?;
    let at = if args.listen.is_empty() {
        "tcp/[::]:7447".to_owned()
    } else {
        args.listen.join(", ")
    };
    println!(
        "embody router {} listening on {at} (multicast scouting off); Ctrl-C stops it",
        router.zid()
    );
    tokio::signal::ctrl_c().await?;
    router.close().await?;
    Ok(())
}
