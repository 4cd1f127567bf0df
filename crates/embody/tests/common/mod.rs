//! What every runtime test needs: a router of its own on a free loopback port, and contexts
//! connected to it (multicast off, loopback only).

#![allow(dead_code)] // each test binary uses what it needs

use std::time::Duration;

use embody::{Context, ContextOptions, Router};

/// How long a test waits for anything before failing.
pub const WAIT: Duration = Duration::from_secs(20);

/// A router on a free 127.0.0.1 port, and its endpoint.
pub async fn router() -> (Router, String) {
    let port = embody_testkit::free_loopback_port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let router = Router::start(std::slice::from_ref(&endpoint))
        .await
        .expect("router starts");
    (router, endpoint)
}

/// A context connected to `endpoint`.
pub async fn context(endpoint: &str) -> Context {
    Context::with_options(ContextOptions::router(endpoint))
        .await
        .expect("context opens")
}

/// A context connected to `endpoint` whose command line carries `--ros-args ros_args...`.
pub async fn context_with_args(endpoint: &str, ros_args: &[&str]) -> Context {
    let mut opts = ContextOptions::router(endpoint);
    let mut args = vec!["test".to_owned(), "--ros-args".to_owned()];
    args.extend(ros_args.iter().map(|a| (*a).to_owned()));
    opts.args = Some(args);
    Context::with_options(opts).await.expect("context opens")
}
