//! Several OS processes through an embody router on a loopback port chosen by the test.
//!
//! This binary is its own child: started with `EMBODY_TEST_ROLE` set it plays that role
//! (talker, listener, server, ...) instead of running the tests, so every process here runs
//! real embody code and nothing else. It has its own `main` (no libtest) for that reason;
//! each test reports `ok`/`FAILED` like libtest does.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use embody::wire::EntityKind;
use embody::{Context, ContextOptions, QosProfile, Router};
use embody_msgs::example_interfaces::srv::{AddTwoInts, AddTwoInts_Request, AddTwoInts_Response};
use embody_msgs::std_msgs::msg::Int32;

const WAIT: Duration = Duration::from_secs(60);
const MESSAGES: i32 = 10_000;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by the parent"))
}

async fn ctx() -> Context {
    let mut opts = ContextOptions::router(&env("EMBODY_TEST_ROUTER"));
    // `EMBODY_TEST_ROS_ARGS` holds the child's `--ros-args` (space-separated).
    if let Ok(ros) = std::env::var("EMBODY_TEST_ROS_ARGS") {
        let mut args = vec!["child".to_owned(), "--ros-args".to_owned()];
        args.extend(ros.split(' ').map(str::to_owned));
        opts.args = Some(args);
    }
    Context::with_options(opts).await.expect("context")
}

/// The child roles.
async fn child(role: &str) {
    let c = ctx().await;
    match role {
        "listener" => {
            let node = c.create_node("listener").await.unwrap();
            let qos = QosProfile::default().history(embody::History::KeepAll);
            let sub = node
                .create_subscription::<Int32>("numbers", qos)
                .await
                .unwrap();
            let mut expected = 0;
            while expected < MESSAGES {
                let m = tokio::time::timeout(WAIT, sub.recv())
                    .await
                    .expect("next message in time")
                    .unwrap();
                assert_eq!(m.data, expected, "out of order or missing");
                expected += 1;
            }
            println!("received {expected} in order");
        }
        "talker" => {
            let node = c.create_node("talker").await.unwrap();
            let qos = QosProfile::default().history(embody::History::KeepAll);
            let publisher = node
                .create_publisher::<Int32>("numbers", qos)
                .await
                .unwrap();
            publisher
                .wait_for_remote_subscriber(WAIT)
                .await
                .expect("listener matches");
            for i in 0..MESSAGES {
                publisher.publish(Int32 { data: i }).await.unwrap();
            }
            // Stay until the listener has everything and leaves the graph.
            let graph = c.graph().await.unwrap();
            graph
                .wait_until(WAIT, |g| {
                    g.endpoints("/numbers", EntityKind::Subscription).is_empty()
                })
                .await
                .unwrap();
        }
        "latched" => {
            let node = c.create_node("latched").await.unwrap();
            let publisher = node
                .create_publisher::<Int32>("latched", QosProfile::transient_local(3))
                .await
                .unwrap();
            for i in 0..10 {
                publisher.publish(Int32 { data: i }).await.unwrap();
            }
            println!("published");
            std::future::pending::<()>().await;
        }
        "late" => {
            let node = c.create_node("late").await.unwrap();
            let sub = node
                .create_subscription::<Int32>("latched", QosProfile::transient_local(3))
                .await
                .unwrap();
            let mut got = Vec::new();
            for _ in 0..3 {
                got.push(
                    tokio::time::timeout(WAIT, sub.recv())
                        .await
                        .expect("history")
                        .unwrap()
                        .data,
                );
            }
            println!("{got:?}");
        }
        "server" => {
            let node = c.create_node("adder").await.unwrap();
            let _server = node
                .create_service::<AddTwoInts, _>("add_two_ints", |r: AddTwoInts_Request| {
                    AddTwoInts_Response { sum: r.a + r.b }
                })
                .await
                .unwrap();
            println!("serving");
            std::future::pending::<()>().await;
        }
        "configured" => {
            let node = c.create_node("planner").await.unwrap();
            let p = node.parameters();
            p.declare(
                "max_speed",
                13.9,
                embody::params::ParameterDescriptor::new("m/s").range(0.0, 40.0),
            )
            .unwrap();
            p.declare(
                "mode",
                "highway",
                embody::params::ParameterDescriptor::new(""),
            )
            .unwrap();
            println!("ready");
            std::future::pending::<()>().await;
        }
        "fibonacci" => {
            use embody_msgs::example_interfaces::action::{
                Fibonacci, Fibonacci_Feedback, Fibonacci_Goal, Fibonacci_Result,
            };
            let node = c.create_node("fibonacci_server").await.unwrap();
            let _server = node
                .create_action_server::<Fibonacci, _, _, _>(
                    "fibonacci",
                    |g: &Fibonacci_Goal| g.order <= 46,
                    |goal| async move {
                        let mut seq = vec![0, 1];
                        for i in 1..goal.goal.order as usize {
                            seq.push(seq[i] + seq[i - 1]);
                            let _ = goal
                                .publish_feedback(Fibonacci_Feedback {
                                    sequence: seq.clone(),
                                })
                                .await;
                        }
                        (
                            embody::action::GoalOutcome::Succeeded,
                            Fibonacci_Result { sequence: seq },
                        )
                    },
                )
                .await
                .unwrap();
            println!("ready");
            std::future::pending::<()>().await;
        }
        "idle" => {
            let _node = c.create_node("doomed").await.unwrap();
            println!("idle");
            std::future::pending::<()>().await;
        }
        other => panic!("unknown role {other}"),
    }
}

fn spawn_role(role: &str, router: &str) -> Child {
    spawn_role_with(role, router, None)
}

fn spawn_role_with(role: &str, router: &str, ros_args: Option<&str>) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    if let Some(a) = ros_args {
        cmd.env("EMBODY_TEST_ROS_ARGS", a);
    }
    cmd.env("EMBODY_TEST_ROLE", role)
        .env("EMBODY_TEST_ROUTER", router)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child")
}

/// Reads one line of a child's stdout (its "ready" signal) without blocking the runtime.
async fn first_line(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("piped stdout");
    tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read child stdout");
        line.trim().to_owned()
    })
    .await
    .unwrap()
}

async fn wait_exit(mut child: Child) -> (bool, String) {
    let pid = child.id();
    let out = tokio::task::spawn_blocking(move || {
        let mut s = String::new();
        if let Some(mut o) = child.stdout.take() {
            use std::io::Read;
            let _ = o.read_to_string(&mut s);
        }
        (child.wait().expect("wait child").success(), s)
    });
    match tokio::time::timeout(WAIT, out).await {
        Ok(done) => done.unwrap(),
        Err(_) => {
            // Do not leave the child running after the test gave up on it.
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("child {pid} did not exit within {WAIT:?}");
        }
    }
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn router() -> (Router, String) {
    let port = embody_testkit::free_loopback_port();
    let ep = format!("tcp/127.0.0.1:{port}");
    (
        Router::start(std::slice::from_ref(&ep))
            .await
            .expect("router"),
        ep,
    )
}

async fn ten_thousand_reliable_messages_arrive_complete_and_in_order() {
    let (_r, ep) = router().await;
    let listener = spawn_role("listener", &ep);
    let talker = Kill(spawn_role("talker", &ep));
    let (ok, out) = wait_exit(listener).await;
    assert!(ok, "listener failed: {out}");
    assert_eq!(out.trim(), format!("received {MESSAGES} in order"));
    drop(talker);
}

async fn cli_inspects_a_transient_local_topic() {
    let (_r, ep) = router().await;
    let mut latched = spawn_role("latched", &ep);
    assert_eq!(first_line(&mut latched).await, "published");
    let _latched = Kill(latched);
    let out = cli(&ep, &["topic", "list", "-t"]).await;
    assert!(out.contains("/latched [std_msgs/msg/Int32]\n"), "{out}");
    let out = cli(&ep, &["topic", "info", "/latched", "-v"]).await;
    assert!(
        out.starts_with("Type: std_msgs/msg/Int32\nPublisher count: 1\n"),
        "{out}"
    );
    assert!(
        out.contains("Durability: TRANSIENT_LOCAL\n")
            && out.contains("History (Depth): KEEP_LAST (3)\n"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "Topic type hash: {}\n",
            <Int32 as embody_msgs::Message>::TYPE_HASH
        )),
        "{out}"
    );
    // Echo finds the type in the graph and, the publisher being transient local, gets the
    // kept samples even though it joins after they were published.
    let out = cli(&ep, &["topic", "echo", "/latched", "--count", "3"]).await;
    assert_eq!(out, "data: 7\n---\ndata: 8\n---\ndata: 9\n---\n");
    let out = cli(&ep, &["node", "info", "/latched"]).await;
    assert_eq!(
        out,
        concat!(
            "/latched\n  Subscribers:\n  Publishers:\n    /latched: std_msgs/msg/Int32\n",
            "    /parameter_events: rcl_interfaces/msg/ParameterEvent\n",
            "    /rosout: rcl_interfaces/msg/Log\n  Service Servers:\n",
            "    /latched/describe_parameters: rcl_interfaces/srv/DescribeParameters\n",
            "    /latched/get_parameter_types: rcl_interfaces/srv/GetParameterTypes\n",
            "    /latched/get_parameters: rcl_interfaces/srv/GetParameters\n",
            "    /latched/list_parameters: rcl_interfaces/srv/ListParameters\n",
            "    /latched/set_parameters: rcl_interfaces/srv/SetParameters\n",
            "    /latched/set_parameters_atomically: rcl_interfaces/srv/SetParametersAtomically\n",
            "  Service Clients:\n"
        )
    );
}

async fn transient_local_late_joiner_in_another_process_gets_the_last_three() {
    let (_r, ep) = router().await;
    let mut latched = spawn_role("latched", &ep);
    assert_eq!(first_line(&mut latched).await, "published");
    let _latched = Kill(latched);
    // This process witnesses the last sample so none is still in flight (see the
    // in-process test for why), then a third process joins late.
    let c = Context::with_options(ContextOptions::router(&ep))
        .await
        .unwrap();
    let witness = c.create_node("witness").await.unwrap();
    let seen = witness
        .create_subscription::<Int32>("latched", QosProfile::transient_local(3))
        .await
        .unwrap();
    tokio::time::timeout(WAIT, async {
        while seen.recv().await.unwrap().data != 9 {}
    })
    .await
    .unwrap();
    let (ok, out) = wait_exit(spawn_role("late", &ep)).await;
    assert!(ok);
    assert_eq!(out.trim(), "[7, 8, 9]");
}

async fn services_across_processes_and_from_the_cli() {
    let (_r, ep) = router().await;
    let mut server = spawn_role("server", &ep);
    assert_eq!(first_line(&mut server).await, "serving");
    let _server = Kill(server);
    let c = Context::with_options(ContextOptions::router(&ep))
        .await
        .unwrap();
    let node = c.create_node("caller").await.unwrap();
    let client = Arc::new(
        node.create_client::<AddTwoInts>("add_two_ints")
            .await
            .unwrap(),
    );
    client.wait_for_service(WAIT).await.unwrap();
    let calls: Vec<_> = (0..20i64)
        .map(|i| {
            let c = client.clone();
            tokio::spawn(async move {
                c.call(&AddTwoInts_Request { a: i, b: i }, WAIT)
                    .await
                    .unwrap()
                    .sum
            })
        })
        .collect();
    for (i, h) in calls.into_iter().enumerate() {
        assert_eq!(h.await.unwrap(), 2 * i as i64);
    }
    let out = cli(
        &ep,
        &[
            "service",
            "call",
            "/add_two_ints",
            "example_interfaces/srv/AddTwoInts",
            "{a: 40, b: 2}",
            "--json",
        ],
    )
    .await;
    assert_eq!(out, "{\"sum\":42}\n");
    let out = cli(&ep, &["service", "list", "-t"]).await;
    assert!(
        out.contains("/add_two_ints [example_interfaces/srv/AddTwoInts]\n"),
        "{out}"
    );
}

async fn a_killed_process_vanishes_from_the_graph() {
    let (_r, ep) = router().await;
    let c = Context::with_options(ContextOptions::router(&ep))
        .await
        .unwrap();
    let graph = c.graph().await.unwrap();
    let mut idle = spawn_role("idle", &ep);
    assert_eq!(first_line(&mut idle).await, "idle");
    graph
        .wait_until(WAIT, |g| g.node_names().contains(&"/doomed".to_owned()))
        .await
        .unwrap();
    let out = cli(&ep, &["node", "list"]).await;
    assert!(out.lines().any(|l| l == "/doomed"), "{out}");
    idle.kill().unwrap(); // SIGKILL: no chance to say goodbye
    idle.wait().unwrap();
    graph
        .wait_until(WAIT, |g| !g.node_names().contains(&"/doomed".to_owned()))
        .await
        .expect("killed node leaves the graph");
}

async fn cli_pub_and_echo_between_processes() {
    let (_r, ep) = router().await;
    let echo = cli_child(
        &ep,
        &[
            "topic",
            "echo",
            "/chatter",
            "std_msgs/msg/String",
            "--count",
            "3",
            "--json",
        ],
    );
    // `pub --times` waits for one matching subscription (the echo) before publishing.
    let out = cli(
        &ep,
        &[
            "topic",
            "pub",
            "/chatter",
            "std_msgs/msg/String",
            "{data: hi}",
            "--times",
            "3",
            "-r",
            "50",
        ],
    )
    .await;
    assert!(out.contains("publishing #3"), "{out}");
    let (ok, out) = wait_exit(echo).await;
    assert!(ok);
    assert_eq!(out, "{\"data\":\"hi\"}\n".repeat(3));
}

async fn run_talker_and_listener_demo() {
    let (_r, ep) = router().await;
    let mut listener = Kill(cli_child(
        &ep,
        &[
            "run",
            "listener",
            "--ros-args",
            "-r",
            "chatter:=/demo",
            "-r",
            "__ns:=/robot1",
        ],
    ));
    let _talker = Kill(cli_child(
        &ep,
        &["run", "talker", "--ros-args", "-r", "chatter:=/demo"],
    ));
    let line = tokio::time::timeout(WAIT, first_line(&mut listener.0))
        .await
        .expect("the listener hears something");
    let (stamp, rest) = line
        .strip_prefix("[INFO] [")
        .and_then(|l| l.split_once("] "))
        .expect("rclcpp-style log line");
    assert!(
        stamp
            .split_once('.')
            .is_some_and(|(s, ns)| s.parse::<u64>().is_ok() && ns.len() == 9),
        "{line}"
    );
    let n = rest
        .strip_prefix("[robot1.listener]: I heard: [Hello World: ")
        .and_then(|r| r.strip_suffix(']'));
    assert!(n.is_some_and(|n| n.parse::<u64>().is_ok()), "{line}");
    let out = cli(&ep, &["node", "list"]).await;
    assert_eq!(out, "/robot1/listener\n/talker\n");
}

async fn actions_between_processes() {
    use embody_msgs::action_msgs::msg::GoalStatus;
    use embody_msgs::example_interfaces::action::{Fibonacci, Fibonacci_Goal};
    let (_r, ep) = router().await;
    let mut server = spawn_role("fibonacci", &ep);
    assert_eq!(first_line(&mut server).await, "ready");
    let _server = Kill(server);
    let c = Context::with_options(ContextOptions::router(&ep))
        .await
        .unwrap();
    let client = c
        .create_node("fib_client")
        .await
        .unwrap()
        .create_action_client::<Fibonacci>("fibonacci")
        .await
        .unwrap();
    client.wait_for_server(WAIT).await.unwrap();
    assert_eq!(
        client
            .send_goal(Fibonacci_Goal { order: 100 }, WAIT)
            .await
            .unwrap(),
        None,
        "rejected: would overflow"
    );
    let id = client
        .send_goal(Fibonacci_Goal { order: 10 }, WAIT)
        .await
        .unwrap()
        .expect("accepted");
    let (status, result) = client.get_result(&id, WAIT).await.unwrap();
    assert_eq!(status, GoalStatus::STATUS_SUCCEEDED);
    assert_eq!(result.sequence, [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55]);
}

async fn cli_reads_and_sets_parameters() {
    let (_r, ep) = router().await;
    // The planner's parameter file overrides one default.
    let dir = std::env::temp_dir().join(format!("embody-mp-params-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("planner.yaml");
    std::fs::write(&file, "/planner:\n  ros__parameters:\n    mode: urban\n").unwrap();
    let ros_args = format!("--params-file {}", file.display());
    let mut planner = spawn_role_with("configured", &ep, Some(&ros_args));
    assert_eq!(first_line(&mut planner).await, "ready");
    let _planner = Kill(planner);
    let out = cli(&ep, &["param", "list", "/planner"]).await;
    assert_eq!(out, "/planner:\n  max_speed\n  mode\n  use_sim_time\n");
    assert_eq!(
        cli(&ep, &["param", "get", "/planner", "mode"]).await,
        "String value is: urban\n"
    );
    assert_eq!(
        cli(&ep, &["param", "get", "/planner", "max_speed"]).await,
        "Double value is: 13.9\n"
    );
    assert_eq!(
        cli(&ep, &["param", "set", "/planner", "max_speed", "20"]).await,
        "Set parameter successful\n"
    );
    assert_eq!(
        cli(&ep, &["param", "get", "/planner", "max_speed"]).await,
        "Double value is: 20.0\n"
    );
    let (ok, _) = wait_exit(cli_child(
        &ep,
        &["param", "set", "/planner", "max_speed", "99"],
    ))
    .await;
    assert!(!ok, "out of range is refused");
    assert_eq!(
        cli(&ep, &["param", "get", "/planner", "max_speed"]).await,
        "Double value is: 20.0\n"
    );
    assert_eq!(
        cli(&ep, &["param", "dump", "/planner"]).await,
        "/planner:\n  ros__parameters:\n    max_speed: 20.0\n    mode: 'urban'\n    use_sim_time: false\n"
    );
}

fn cli_command(ep: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_embody"));
    // Node executables log to stdout then, where the tests read them.
    cmd.env("RCUTILS_LOGGING_USE_STDOUT", "1");
    cmd.args(args).env(
        "ZENOH_CONFIG_OVERRIDE",
        format!("connect/endpoints=[\"{ep}\"];listen/endpoints=[\"tcp/127.0.0.1:0\"]"),
    );
    cmd
}

fn cli_child(ep: &str, args: &[&str]) -> Child {
    cli_command(ep, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn embody")
}

async fn cli(ep: &str, args: &[&str]) -> String {
    let (ok, out) = wait_exit(cli_child(ep, args)).await;
    assert!(ok, "embody {args:?} failed: {out}");
    out
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if let Ok(role) = std::env::var("EMBODY_TEST_ROLE") {
        rt.block_on(child(&role));
        return;
    }
    // Like libtest: free arguments filter by substring; `--list` lists; options that take
    // a value (`--skip`, `--test-threads`, ...) are honoured or skipped with their value.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut filter, mut skip, mut list) = (Vec::new(), Vec::new(), false);
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--list" => list = true,
            "--skip" => {
                i += 1;
                skip.extend(args.get(i).cloned());
            }
            "--test-threads" | "--format" | "--color" | "-Z" | "--logfile" => i += 1,
            a if a.starts_with('-') => {}
            a => filter.push(a.to_owned()),
        }
        i += 1;
    }
    macro_rules! tests {
        ($($t:ident),* $(,)?) => { vec![$((stringify!($t), Box::pin($t()) as std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>)),*] };
    }
    let all = tests![
        ten_thousand_reliable_messages_arrive_complete_and_in_order,
        transient_local_late_joiner_in_another_process_gets_the_last_three,
        cli_inspects_a_transient_local_topic,
        services_across_processes_and_from_the_cli,
        a_killed_process_vanishes_from_the_graph,
        cli_pub_and_echo_between_processes,
        run_talker_and_listener_demo,
        cli_reads_and_sets_parameters,
        actions_between_processes,
    ];
    let selected: Vec<_> = all
        .into_iter()
        .filter(|(n, _)| filter.is_empty() || filter.iter().any(|f| n.contains(f.as_str())))
        .filter(|(n, _)| !skip.iter().any(|f| n.contains(f.as_str())))
        .collect();
    if list {
        for (name, _) in &selected {
            println!("{name}: test");
        }
        return;
    }
    println!("running {} tests", selected.len());
    let mut failed = Vec::new();
    for (name, test) in selected {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(test)));
        println!(
            "test {name} ... {}",
            if result.is_ok() { "ok" } else { "FAILED" }
        );
        if result.is_err() {
            failed.push(name);
        }
    }
    if failed.is_empty() {
        println!("\ntest result: ok.");
    } else {
        println!("\ntest result: FAILED. {} failed: {failed:?}", failed.len());
        std::process::exit(1);
    }
}
