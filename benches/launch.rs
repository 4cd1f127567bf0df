//! Launch benchmark: `embody launch` bringing up N listener nodes (separate processes) against a
//! router in this process. Measures how long until the first and all nodes are visible in the
//! ROS graph (seen from here, through a context connected to the router), then the CPU the
//! whole system uses while the nodes idle (launch + its children, and this process with the
//! router), and its memory. Targets from the issue: all visible within 5 s, idle CPU under 5 %
//! of one core.
//!
//! Run: `cargo bench --bench launch` (`-- --nodes N --idle-secs S`, or `-- --quick` for 20
//! nodes and a 3 s window). Linux only (reads /proc).

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use embody::{Context, ContextOptions, Router};

/// The targets.
const TARGET_VISIBLE: Duration = Duration::from_secs(5);
const TARGET_IDLE_CPU_PCT: f64 = 5.0;
/// How long to wait for the nodes before giving up (and measuring whatever came up).
const VISIBLE_TIMEOUT: Duration = Duration::from_secs(120);

fn flag<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

fn clk_tck() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// Fields of /proc/<pid>/stat after the command name: (ppid, utime+stime ticks, starttime).
fn stat_of(path: &Path) -> Option<(u32, u64, u64)> {
    let s = std::fs::read_to_string(path).ok()?;
    // The command name may hold spaces and parentheses; the fields follow the last ')'.
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // f[0] is field 3 (state): ppid is field 4, utime 14, stime 15, starttime 22.
    let ppid = f.get(1)?.parse().ok()?;
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    let start = f.get(19)?.parse().ok()?;
    Some((ppid, utime + stime, start))
}

fn proc_stat(pid: u32) -> Option<(u32, u64, u64)> {
    stat_of(&PathBuf::from(format!("/proc/{pid}/stat")))
}

/// A process, told apart from a later one with the same pid by its start time.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
struct Proc {
    pid: u32,
    start: u64,
}

impl Proc {
    fn of(pid: u32) -> Option<Self> {
        proc_stat(pid).map(|(_, _, start)| Self { pid, start })
    }
    fn alive(self) -> bool {
        proc_stat(self.pid).is_some_and(|(_, _, s)| s == self.start)
    }
    /// utime + stime in ticks, if still the same process.
    fn ticks(self) -> Option<u64> {
        proc_stat(self.pid).and_then(|(_, t, s)| (s == self.start).then_some(t))
    }
    fn comm(self) -> String {
        std::fs::read_to_string(format!("/proc/{}/comm", self.pid))
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    }
}

/// Every descendant of `root` (children, their children, ...), by scanning /proc.
fn descendants(root: u32) -> Vec<Proc> {
    let mut parent = BTreeMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            if let Some((ppid, _, start)) = proc_stat(pid) {
                parent.insert(pid, (ppid, start));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for (&pid, &(ppid, start)) in &parent {
            if ppid == p {
                out.push(Proc { pid, start });
                frontier.push(pid);
            }
        }
    }
    out.sort();
    out
}

/// Resident memory from /proc/<pid>/status (VmRSS) and proportional set size from
/// /proc/<pid>/smaps_rollup (Pss: shared pages split between the processes mapping them), kB.
fn memory_kb(pid: u32) -> (u64, u64) {
    let field = |text: &str, name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    (field(&status, "VmRSS:"), field(&rollup, "Pss:"))
}

fn threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
                })
                .count()
        })
        .unwrap_or(0)
}

/// On-CPU nanoseconds of each thread of `pid`, by thread name with its numbered suffix
/// removed (`rx-3` → `rx-*`), from /proc/<pid>/task/*/schedstat (nanosecond precision).
fn thread_ns(pid: u32) -> BTreeMap<(u32, String), u64> {
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for e in dir.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        let ns = std::fs::read_to_string(e.path().join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok());
        if let Some(ns) = ns {
            out.insert((tid, comm.trim().to_owned()), ns);
        }
    }
    out
}

fn thread_group(name: &str) -> String {
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit());
    if base.len() < name.len() {
        format!("{base}*")
    } else {
        name.to_owned()
    }
}

/// Whole-machine busy and total jiffies from /proc/stat (all CPUs).
fn machine_jiffies() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<u64> = s
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    // idle + iowait
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Lines a child writes, kept for the report, with the time launch said the Nth process
/// started.
#[derive(Default)]
struct Output {
    lines: Mutex<Vec<(Instant, String)>>,
    started: Mutex<(usize, Option<Instant>)>,
}

impl Output {
    /// When lines containing `text` appeared.
    fn times(&self, text: &str) -> Vec<Instant> {
        let lines = self.lines.lock().unwrap();
        lines
            .iter()
            .filter(|(_, l)| l.contains(text))
            .map(|(t, _)| *t)
            .collect()
    }
}

fn collect(stream: impl std::io::Read + Send + 'static, out: Arc<Output>, want: usize) {
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stream)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("process started with pid [") {
                let mut s = out.started.lock().unwrap();
                s.0 += 1;
                if s.0 == want {
                    s.1 = Some(Instant::now());
                }
            }
            out.lines.lock().unwrap().push((Instant::now(), line));
        }
    });
}

/// Removes the temporary directory, and kills whatever is left of launch, however the
/// benchmark ends.
struct Cleanup {
    dir: PathBuf,
    launch: Option<Child>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(c) = &mut self.launch {
            let left = descendants(c.id());
            let _ = c.kill();
            let _ = c.wait();
            for p in left.into_iter().filter(|p| p.alive()) {
                // SAFETY: a process we started (checked by pid and start time).
                unsafe { libc::kill(p.pid as i32, libc::SIGKILL) };
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn embody_exe() -> PathBuf {
    // Cargo builds the binaries of the package before its benchmarks and tells them where.
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_embody"));
    if exe.exists() {
        return exe;
    }
    // Fallback: next to the benchmark (target/release/deps/launch-* → target/release/embody).
    let beside = std::env::current_exe()
        .ok()
        .and_then(|p| Some(p.parent()?.parent()?.join("embody")))
        .filter(|p| p.exists());
    beside.unwrap_or_else(|| {
        let ok = Command::new(env!("CARGO"))
            .args(["build", "--release", "--bin", "embody"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok && exe.exists(), "cannot build {}", exe.display());
        exe
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let n: usize = flag(&args, "--nodes").unwrap_or(if quick { 20 } else { 100 });
    let idle_secs: f64 = flag(&args, "--idle-secs").unwrap_or(if quick { 3.0 } else { 10.0 });
    // Quiet time between "all visible" and the window, for discovery traffic to die down.
    let settle_secs: f64 = flag(&args, "--settle-secs").unwrap_or(if quick { 1.0 } else { 3.0 });
    // `--node-zenoh 'key=value;...'`: more ZENOH_CONFIG_OVERRIDE for launch and its nodes,
    // to see what a zenoh setting changes.
    let extra: Option<String> = flag(&args, "--node-zenoh");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(n, idle_secs, settle_secs, extra));
}

async fn run(n: usize, idle_secs: f64, settle_secs: f64, extra: Option<String>) {
    let exe = embody_exe();
    let tck = clk_tck();
    let cpus = std::thread::available_parallelism().map_or(1, |c| c.get());
    println!(
        "machine: {cpus} CPUs, load average {} before start",
        loadavg()
    );

    let dir = std::env::temp_dir().join(format!("embody-bench-launch-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("log")).unwrap();
    let mut cleanup = Cleanup {
        dir: dir.clone(),
        launch: None,
    };
    let file = dir.join("bench.launch.yaml");
    let mut text = String::from("launch:\n");
    for i in 0..n {
        text.push_str(&format!(
            "- node: {{pkg: embody, exec: listener, name: listener_{i:03}, output: log}}\n"
        ));
    }
    std::fs::write(&file, text).unwrap();

    let port = embody_testkit::free_loopback_port();
    let ep = format!("tcp/127.0.0.1:{port}");
    let _router = Router::start(std::slice::from_ref(&ep)).await.unwrap();
    let ctx = Context::with_options(ContextOptions::router(&ep))
        .await
        .expect("context");
    let graph = ctx.graph().await.expect("graph");
    let ours = |g: &embody::Graph| {
        g.node_names()
            .iter()
            .filter(|n| n.starts_with("/listener_"))
            .count()
    };
    assert_eq!(ours(graph), 0, "listener nodes already in the graph");

    let output = Arc::new(Output::default());
    let t0 = Instant::now();
    let mut child = Command::new(&exe)
        .arg("launch")
        .arg(&file)
        .env(
            "ZENOH_CONFIG_OVERRIDE",
            format!(
                "connect/endpoints=[\"{ep}\"];listen/endpoints=[\"tcp/127.0.0.1:0\"]{}",
                extra.as_ref().map(|e| format!(";{e}")).unwrap_or_default()
            ),
        )
        .env("ROS_LOG_DIR", dir.join("log"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn embody launch");
    let launch_pid = child.id();
    collect(child.stderr.take().unwrap(), output.clone(), n);
    collect(child.stdout.take().unwrap(), output.clone(), n);
    cleanup.launch = Some(child);
    let launch = Proc::of(launch_pid).expect("launch process");

    let first = OnceLock::new();
    let half = OnceLock::new();
    let launch_ended = async {
        while launch.alive() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let waited = graph.wait_until(VISIBLE_TIMEOUT, |g| {
        let c = ours(g);
        if c >= 1 {
            first.get_or_init(|| t0.elapsed());
        }
        if c >= n.div_ceil(2) {
            half.get_or_init(|| t0.elapsed());
        }
        c >= n
    });
    let all = tokio::select! {
        r = waited => r.is_ok().then(|| t0.elapsed()),
        () = launch_ended => {
            let lines = output.lines.lock().unwrap();
            let said: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
            panic!("embody launch ended before the nodes came up:\n{}", said.join("\n"));
        }
    };
    let spawned = output.started.lock().unwrap().1.map(|t| t - t0);
    let visible = ours(graph);
    if all.is_none() {
        println!(
            "only {visible} of {n} nodes visible after {VISIBLE_TIMEOUT:?}; measuring what is there"
        );
    }
    // CPU spent bringing everything up (cumulative since each process started).
    let kids = descendants(launch_pid);
    let startup_ticks: u64 =
        launch.ticks().unwrap_or(0) + kids.iter().filter_map(|p| p.ticks()).sum::<u64>();

    // Idle: let discovery traffic die down, then one window.
    graph
        .settle(Duration::from_millis(500), Duration::from_secs(10))
        .await;
    tokio::time::sleep(Duration::from_secs_f64(settle_secs)).await;
    let kids = descendants(launch_pid);
    let me = Proc::of(std::process::id()).unwrap();
    let nodes: Vec<Proc> = kids.clone();
    let read = |ps: &[Proc]| ps.iter().map(|p| p.ticks()).collect::<Vec<_>>();
    let threads_before: Vec<_> = std::iter::once(launch)
        .chain(nodes.iter().copied())
        .chain(std::iter::once(me))
        .map(|p| thread_ns(p.pid))
        .collect();
    let machine0 = machine_jiffies();
    let (l0, k0, m0) = (launch.ticks(), read(&nodes), me.ticks());
    let w0 = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(idle_secs)).await;
    let (l1, k1, m1) = (launch.ticks(), read(&nodes), me.ticks());
    let window = w0.elapsed().as_secs_f64();
    let machine1 = machine_jiffies();
    let threads_after: Vec<_> = std::iter::once(launch)
        .chain(nodes.iter().copied())
        .chain(std::iter::once(me))
        .map(|p| thread_ns(p.pid))
        .collect();
    let pct = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) => (b - a) as f64 / tck / window * 100.0,
        _ => 0.0,
    };
    let launch_pct = pct(l0, l1);
    let node_pcts: Vec<f64> = k0.iter().zip(&k1).map(|(a, b)| pct(*a, *b)).collect();
    let died = k0
        .iter()
        .zip(&k1)
        .filter(|(a, b)| a.is_some() && b.is_none())
        .count();
    let nodes_pct: f64 = node_pcts.iter().sum();
    let bench_pct = pct(m0, m1);
    let launch_nodes_pct = launch_pct + nodes_pct;
    let total_pct = launch_nodes_pct + bench_pct;
    let per_node = nodes_pct / nodes.len().max(1) as f64;
    let max_node = node_pcts.iter().copied().fold(0.0, f64::max);
    let machine_pct = (machine1.0 - machine0.0) as f64 / (machine1.1 - machine0.1).max(1) as f64
        * cpus as f64
        * 100.0;

    // The same window in nanoseconds per thread (schedstat), grouped by thread name.
    let mut by_thread: BTreeMap<(&str, String), (u64, usize)> = BTreeMap::new();
    let mut sched_total = [0u64; 3];
    for (i, (before, after)) in threads_before.iter().zip(&threads_after).enumerate() {
        let group = if i == 0 {
            "launch"
        } else if i == threads_before.len() - 1 {
            "bench+router"
        } else {
            "nodes"
        };
        for (key, ns) in after {
            let d = ns.saturating_sub(before.get(key).copied().unwrap_or(0));
            let e = by_thread
                .entry((group, thread_group(&key.1)))
                .or_insert((0, 0));
            e.0 += d;
            e.1 += 1;
            sched_total[match group {
                "launch" => 0,
                "nodes" => 1,
                _ => 2,
            }] += d;
        }
    }
    let sched_pct = |ns: u64| ns as f64 / 1e9 / window * 100.0;

    // Memory, threads, sockets.
    let mem: Vec<(u64, u64)> = std::iter::once(launch.pid)
        .chain(nodes.iter().map(|p| p.pid))
        .chain(std::iter::once(me.pid))
        .map(memory_kb)
        .collect();
    let rss_launch = mem[0];
    let rss_nodes = mem[1..mem.len() - 1]
        .iter()
        .fold((0, 0), |a, m| (a.0 + m.0, a.1 + m.1));
    let rss_me = mem[mem.len() - 1];
    let rss_total = (
        rss_launch.0 + rss_nodes.0 + rss_me.0,
        rss_launch.1 + rss_nodes.1 + rss_me.1,
    );
    let mb = |kb: u64| kb as f64 / 1024.0;
    let node_threads: usize = nodes.iter().map(|p| threads(p.pid)).sum();
    let node_sockets: usize = nodes.iter().map(|p| sockets(p.pid)).sum();
    let comms: BTreeSet<String> = nodes.iter().map(|p| p.comm()).collect();

    // Shut down: SIGINT, launch escalates per child (SIGTERM, SIGKILL after 5 s each).
    let t_stop = Instant::now();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(launch_pid as i32, libc::SIGINT) };
    let mut child = cleanup.launch.take().unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if t_stop.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let stop_time = t_stop.elapsed();
    // launch waits for its children before it exits: any still here is a straggler.
    let stragglers = nodes.iter().filter(|p| p.alive()).count();
    for p in nodes.iter().filter(|p| p.alive()) {
        // SAFETY: a process we started (checked by pid and start time).
        unsafe { libc::kill(p.pid as i32, libc::SIGKILL) };
    }
    let failed_lines: Vec<String> = output
        .lines
        .lock()
        .unwrap()
        .iter()
        .map(|(_, l)| l)
        .filter(|l| l.contains("error") || l.contains("died") || l.contains("failed"))
        .take(5)
        .cloned()
        .collect();
    // When the nodes ended after the SIGINT, as launch reported them.
    let ended: Vec<Duration> = output
        .times("]: finished cleanly [pid")
        .into_iter()
        .chain(output.times("]: killed by signal"))
        .chain(output.times("]: exit code"))
        .map(|t| t.saturating_duration_since(t_stop))
        .collect();
    let escalated = output.times("after SIGINT, sending SIGTERM").len();
    let mut ended = ended;
    ended.sort();
    drop(cleanup);
    let load_after = loadavg();

    // Report.
    let visible_ok = all.is_some_and(|t| t <= TARGET_VISIBLE);
    let cpu_ok = total_pct < TARGET_IDLE_CPU_PCT;
    let opt_ms = |d: Option<Duration>| d.map_or("-".to_owned(), |d| format!("{:.0}", ms(d)));
    if let Some(e) = &extra {
        println!("\nnodes' extra zenoh configuration: {e}");
    }
    println!(
        "\nembody launch, {n} listener nodes (one process each) against a router in this process; {} child processes seen",
        nodes.len()
    );
    println!("{:<44} {:>14} {:>22}", "", "measured", "target (issue)");
    println!("{:<44} {:>14}", "nodes", n);
    println!(
        "{:<44} {:>11} ms",
        "launch reported all processes started",
        opt_ms(spawned)
    );
    println!(
        "{:<44} {:>11} ms",
        "first node visible in the graph",
        opt_ms(first.get().copied())
    );
    println!(
        "{:<44} {:>11} ms",
        "half the nodes visible",
        opt_ms(half.get().copied())
    );
    println!(
        "{:<44} {:>11} ms {:>14} {}",
        "all nodes visible",
        opt_ms(all),
        format!("<= {} ms", TARGET_VISIBLE.as_millis()),
        met(visible_ok)
    );
    println!(
        "{:<44} {:>11.2} s",
        "CPU time used until all visible (launch+nodes)",
        startup_ticks as f64 / tck
    );
    println!(
        "idle window {window:.1} s (after graph settled + {settle_secs} s), % of one core (utime+stime, {tck} Hz ticks):"
    );
    println!(
        "{:<44} {:>12.2} %",
        "  launch process (supervisor)", launch_pct
    );
    println!(
        "{:<44} {:>12.2} %",
        format!("  {} node processes", nodes.len()),
        nodes_pct
    );
    println!("{:<44} {:>12.2} %", "  launch + nodes", launch_nodes_pct);
    println!(
        "{:<44} {:>12.2} %",
        "  bench + router (this process)", bench_pct
    );
    println!(
        "{:<44} {:>12.2} % {:>14} {}",
        "  total",
        total_pct,
        format!("< {TARGET_IDLE_CPU_PCT} %"),
        met(cpu_ok)
    );
    println!("{:<44} {:>12.3} %", "  per idle node (mean)", per_node);
    println!("{:<44} {:>12.3} %", "  per idle node (max)", max_node);
    println!(
        "{:<44} {:>12.2} %",
        "  cross-check, schedstat ns: launch+nodes",
        sched_pct(sched_total[0] + sched_total[1])
    );
    println!(
        "{:<44} {:>12.2} %",
        "  cross-check, schedstat ns: bench+router",
        sched_pct(sched_total[2])
    );
    println!(
        "{:<44} {:>12.1} %",
        "  whole machine busy (all processes, /proc/stat)", machine_pct
    );
    println!(
        "{:<44} {:>9.1} MB",
        "RSS total (launch + nodes + bench)",
        mb(rss_total.0)
    );
    println!(
        "{:<44} {:>9.1} MB",
        "  PSS total (shared pages counted once)",
        mb(rss_total.1)
    );
    println!(
        "{:<44} {:>9.1} MB",
        "  launch process RSS",
        mb(rss_launch.0)
    );
    println!(
        "{:<44} {:>9.1} MB",
        "  per node RSS (mean)",
        mb(rss_nodes.0) / nodes.len().max(1) as f64
    );
    println!(
        "{:<44} {:>9.1} MB",
        "  per node PSS (mean)",
        mb(rss_nodes.1) / nodes.len().max(1) as f64
    );
    println!("{:<44} {:>9.1} MB", "  bench + router RSS", mb(rss_me.0));
    println!(
        "{:<44} {:>12.1}",
        "threads per node (mean)",
        node_threads as f64 / nodes.len().max(1) as f64
    );
    println!(
        "{:<44} {:>12.1}",
        "sockets per node (mean)",
        node_sockets as f64 / nodes.len().max(1) as f64
    );
    println!(
        "{:<44} {:>12.2} s",
        "shutdown (SIGINT until launch exited)",
        stop_time.as_secs_f64()
    );
    if let (Some(m), Some(l)) = (ended.get(ended.len() / 2), ended.last()) {
        println!(
            "{:<44} {:>8.2} s / {:.2} s",
            "  nodes ended: median / last",
            m.as_secs_f64(),
            l.as_secs_f64()
        );
    }
    println!("{:<44} {:>14}", "  nodes that needed SIGTERM", escalated);
    println!(
        "{:<44} {:>14}",
        "launch exit status",
        status.map_or("killed after 30 s".to_owned(), |s| s.to_string())
    );
    println!("{:<44} {:>14}", "child processes left behind", stragglers);
    if died > 0 {
        println!("{died} node process(es) ended during the idle window");
    }
    println!("child process names: {comms:?}; load average {load_after} after");
    for l in &failed_lines {
        println!("launch said: {l}");
    }

    println!(
        "\nwhere the idle CPU goes, by thread name (schedstat, % of one core over the window):"
    );
    let mut rows: Vec<_> = by_thread.into_iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1.0));
    for ((group, name), (ns, count)) in rows.iter().take(12) {
        println!(
            "  {group:<13} {name:<24} {:>8.3} %  ({count} threads)",
            sched_pct(*ns)
        );
    }

    println!();
    println!(
        "BENCH_CSV,launch_startup,{n},{},{},{},{}",
        opt_ms(spawned),
        opt_ms(first.get().copied()),
        opt_ms(half.get().copied()),
        opt_ms(all)
    );
    println!(
        "BENCH_CSV,launch_idle,{n},{window:.1},{launch_pct:.2},{nodes_pct:.2},{bench_pct:.2},{total_pct:.2},{per_node:.3},{:.1},{:.1}",
        mb(rss_total.0),
        mb(rss_total.1)
    );
    println!(
        "BENCH_CSV,launch_shutdown,{n},{:.2},{stragglers}",
        stop_time.as_secs_f64()
    );
}
