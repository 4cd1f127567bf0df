//! `embody launch` as users run it, checked from a separate process: the YAML and XML robot
//! bring up the same graph, respawn, `on_exit: shutdown`, the SIGINT → SIGTERM → SIGKILL
//! sequence, composed nodes talking without zenoh, and invalid files starting nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use embody::{Context, ContextOptions, Router};

const WAIT: Duration = Duration::from_secs(30);

async fn router() -> (Router, String) {
    let ep = format!("tcp/127.0.0.1:{}", embody_testkit::free_loopback_port());
    (Router::start(std::slice::from_ref(&ep)).await.unwrap(), ep)
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/launch")
        .join(name)
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("embody-launchcli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// A running `embody launch` whose stderr is collected line by line.
struct Launch {
    child: Option<Child>,
    stderr: Arc<Mutex<Vec<String>>>,
    stdout: Arc<Mutex<Vec<String>>>,
}

fn collect(stream: impl std::io::Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stream)
            .lines()
            .map_while(Result::ok)
        {
            into.lock().unwrap().push(line);
        }
    });
}

impl Launch {
    fn start(ep: &str, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_embody"))
            .arg("launch")
            .args(args)
            .env(
                "ZENOH_CONFIG_OVERRIDE",
                format!("connect/endpoints=[\"{ep}\"];listen/endpoints=[\"tcp/127.0.0.1:0\"]"),
            )
            .env(
                "ROS_LOG_DIR",
                std::env::temp_dir().join("embody-launchcli-logs"),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn embody launch");
        let (stderr, stdout) = (
            Arc::new(Mutex::new(Vec::new())),
            Arc::new(Mutex::new(Vec::new())),
        );
        collect(child.stderr.take().unwrap(), stderr.clone());
        collect(child.stdout.take().unwrap(), stdout.clone());
        Self {
            child: Some(child),
            stderr,
            stdout,
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    fn stdout(&self) -> String {
        self.stdout.lock().unwrap().join("\n")
    }

    /// Waits until stderr or stdout holds `n` lines containing `text`.
    async fn wait_for(&self, text: &str, n: usize) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let count = |v: &Arc<Mutex<Vec<String>>>| {
                v.lock()
                    .unwrap()
                    .iter()
                    .filter(|l| l.contains(text))
                    .count()
            };
            if count(&self.stderr) + count(&self.stdout) >= n {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {n}× `{text}` after {WAIT:?}:\n{}\n{}",
                self.stderr(),
                self.stdout()
            );
            // Output arrives from another process; look again shortly.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn interrupt(&self) {
        let pid = self.child.as_ref().unwrap().id();
        // SAFETY: signalling our own child.
        unsafe {
            libc::kill(pid as i32, libc::SIGINT);
        }
    }

    async fn exit(mut self) -> (bool, String) {
        let mut child = self.child.take().unwrap();
        let status = tokio::task::spawn_blocking(move || child.wait().unwrap());
        let ok = tokio::time::timeout(WAIT, status)
            .await
            .expect("launch exits")
            .unwrap()
            .success();
        // Let the reader threads drain the pipes.
        tokio::time::sleep(Duration::from_millis(50)).await;
        (ok, format!("{}\n{}", self.stderr(), self.stdout()))
    }
}

impl Drop for Launch {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn pids(log: &str, label: &str) -> Vec<u32> {
    log.lines()
        .filter(|l| l.contains("process started with pid [") && l.ends_with(&format!(": {label}")))
        .filter_map(|l| l.split('[').nth(3)?.split(']').next()?.parse().ok())
        .collect()
}

fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as i32, 0) == 0 }
}

async fn graph_snapshot(ctx: &Context, nodes: usize) -> (BTreeSet<String>, BTreeSet<String>) {
    let g = ctx.graph().await.unwrap();
    g.wait_until(WAIT, |g| {
        g.node_names()
            .iter()
            .filter(|n| !n.contains("_observer"))
            .count()
            >= nodes
    })
    .await
    .unwrap();
    g.settle(Duration::from_millis(300), Duration::from_secs(3))
        .await;
    let names = g
        .node_names()
        .into_iter()
        .filter(|n| !n.contains("_observer"))
        .collect();
    let topics = g.topic_names_and_types().into_keys().collect();
    (names, topics)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_robot_in_yaml_and_xml_gives_the_same_graph() {
    let mut seen = Vec::new();
    for file in ["robot.launch.yaml", "robot.launch.xml"] {
        let (_r, ep) = router().await;
        let launch = Launch::start(&ep, &[data(file).to_str().unwrap()]);
        let ctx = Context::with_options(ContextOptions::router(&ep))
            .await
            .unwrap();
        let _observer = ctx.create_node("_observer").await.unwrap();
        seen.push(graph_snapshot(&ctx, 3).await);
        // The listener hears the talker through the remapped topic.
        launch.wait_for("[listener-1] [INFO]", 1).await;
        launch.wait_for("I heard: [Hello World:", 1).await;
        launch.interrupt();
        let (ok, log) = launch.exit().await;
        assert!(ok, "{log}");
        assert!(!log.contains("in-process"), "a router was reachable: {log}");
    }
    assert_eq!(seen[0], seen[1]);
    let (nodes, topics) = &seen[0];
    let want = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
    assert_eq!(
        *nodes,
        want(&["/aux/aux_talker", "/robot1/listener", "/robot1/talker"])
    );
    for t in [
        "/aux/chatter",
        "/robot1/speech",
        "/rosout",
        "/parameter_events",
    ] {
        assert!(topics.contains(t), "{t} missing from {topics:?}");
    }
    assert!(
        !topics.contains("/chatter") && !topics.contains("/robot1/chatter"),
        "{topics:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_is_respawned_and_on_exit_shutdown_ends_everything() {
    let (_r, ep) = router().await;
    let file = temp_file(
        "respawn.launch.yaml",
        r#"launch:
- node: {pkg: embody, exec: listener, name: keeper, respawn: "true", respawn_delay: 0.2}
- node: {pkg: embody, exec: talker, name: worker, respawn: "true"}
"#,
    );
    let launch = Launch::start(&ep, &[file.to_str().unwrap()]);
    launch.wait_for(": keeper-1", 1).await;
    let first = pids(&launch.stderr(), "keeper-1")[0];
    // SAFETY: killing the child of our child, whose pid launch printed.
    unsafe { libc::kill(first as i32, libc::SIGKILL) };
    launch.wait_for("respawning process[keeper-1]", 1).await;
    launch.wait_for(": keeper-1", 2).await;
    let second = pids(&launch.stderr(), "keeper-1")[1];
    assert_ne!(first, second);
    assert!(alive(second));
    launch.interrupt();
    let (ok, log) = launch.exit().await;
    // The node that was killed from outside counts as a failure.
    assert!(!ok, "{log}");
    assert!(log.contains("killed by signal 9"), "{log}");
    assert!(!alive(second), "respawned node stopped with launch");

    let file = temp_file(
        "on_exit.launch.xml",
        r#"<launch>
  <node pkg="embody" exec="talker" name="long_runner"/>
  <executable cmd="sleep 1" name="short" on_exit="shutdown"/>
</launch>"#,
    );
    let launch = Launch::start(&ep, &[file.to_str().unwrap()]);
    launch.wait_for(": long_runner-1", 1).await;
    let runner = pids(&launch.stderr(), "long_runner-1")[0];
    let (ok, log) = launch.exit().await;
    assert!(ok, "{log}");
    assert!(
        log.contains("process[short-1] has on_exit: shutdown"),
        "{log}"
    );
    assert!(
        log.contains("process[long_runner-1]: finished cleanly"),
        "{log}"
    );
    assert!(!alive(runner));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_escalates_from_sigint_to_sigterm_to_sigkill() {
    let (_r, ep) = router().await;
    let file = temp_file(
        "stubborn.launch.xml",
        r#"<launch>
  <executable cmd="sh -c &quot;trap '' INT; echo ready; exec sleep 100&quot;" name="deaf_to_int" sigterm_timeout="0.5" output="screen"/>
  <executable cmd="sh -c &quot;trap '' INT TERM; echo ready; exec sleep 100&quot;" name="deaf_to_both" sigterm_timeout="0.5" sigkill_timeout="0.5" output="screen"/>
</launch>"#,
    );
    let launch = Launch::start(&ep, &[file.to_str().unwrap()]);
    launch.wait_for("] ready", 2).await;
    launch.interrupt();
    let (ok, log) = launch.exit().await;
    assert!(ok, "stopped by launch itself, so not failures: {log}");
    assert!(
        log.contains(
            "process[deaf_to_int-1] failed to terminate 500ms after SIGINT, sending SIGTERM"
        ),
        "{log}"
    );
    assert!(
        !log.contains("process[deaf_to_int-1] failed to terminate 500ms after SIGTERM"),
        "{log}"
    );
    assert!(
        log.contains(
            "process[deaf_to_both-1] failed to terminate 500ms after SIGTERM, sending SIGKILL"
        ),
        "{log}"
    );
    assert!(
        log.contains("process[deaf_to_both-1]: killed by signal 9"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn composed_nodes_talk_inside_one_process_without_zenoh() {
    // No router at all and none started: only same-process delivery can carry the messages.
    let dead = format!("tcp/127.0.0.1:{}", embody_testkit::free_loopback_port());
    let file = temp_file(
        "composed.launch.yaml",
        r#"launch:
- node: {pkg: embody, exec: talker, name: speaker, composable: "true", output: screen}
- node:
    pkg: embody
    exec: listener
    name: ear
    composable: "true"
    output: screen
    remap: [{from: chatter, to: /chatter}]
"#,
    );
    let launch = Launch::start(&dead, &["--no-router", file.to_str().unwrap()]);
    launch.wait_for("[embody_container-1] [INFO]", 1).await;
    launch.wait_for("[ear]: I heard: [Hello World: 2]", 1).await;
    let log = launch.stderr();
    assert_eq!(
        pids(&log, "embody_container-1").len(),
        1,
        "one process: {log}"
    );
    assert!(
        !log.contains("speaker-1") && !log.contains("ear-1"),
        "{log}"
    );
    launch.interrupt();
    let (ok, log) = launch.exit().await;
    assert!(ok, "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_file_starts_nothing_and_without_a_router_launch_starts_one() {
    let port = embody_testkit::free_loopback_port();
    let ep = format!("tcp/127.0.0.1:{port}");
    let file = temp_file(
        "invalid.launch.xml",
        "<launch>\n  <node pkg=\"embody\" exec=\"talker\"/>\n  <node pkg=\"embody\" exec=\"talker\" respawn=\"sometimes\"/>\n</launch>\n",
    );
    let launch = Launch::start(&ep, &[file.to_str().unwrap()]);
    let (ok, log) = launch.exit().await;
    assert!(!ok);
    assert!(log.contains("invalid.launch.xml:3:"), "{log}");
    assert!(log.contains("sometimes"), "{log}");
    assert!(!log.contains("process started"), "{log}");

    let file = temp_file(
        "single.launch.yaml",
        "launch:\n- node: {pkg: embody, exec: talker}\n",
    );
    let launch = Launch::start(&ep, &[file.to_str().unwrap()]);
    launch.wait_for("started one in-process", 1).await;
    // Another process finds the graph through the router launch started.
    let ctx = Context::with_options(ContextOptions::router(&ep))
        .await
        .unwrap();
    let g = ctx.graph().await.unwrap();
    g.wait_until(WAIT, |g| g.node_names().contains(&"/talker".to_owned()))
        .await
        .unwrap();
    launch.interrupt();
    let (ok, log) = launch.exit().await;
    assert!(ok, "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_do_not_outlive_a_launch_that_is_killed() {
    let (_r, ep) = router().await;
    let file = temp_file(
        "orphans.launch.yaml",
        "launch:\n- node: {pkg: embody, exec: talker, name: orphan}\n",
    );
    let mut launch = Launch::start(&ep, &[file.to_str().unwrap()]);
    launch.wait_for(": orphan-1", 1).await;
    let node = pids(&launch.stderr(), "orphan-1")[0];
    assert!(alive(node));
    // SIGKILL: launch gets no chance to stop its processes itself.
    let mut child = launch.child.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while alive(node) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "node {node} outlived its launch"
        );
        // The node exits on the SIGTERM the kernel sends it; look again shortly.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
