//! Loading launch files: the YAML and XML robot give the same plan, and every kind of bad
//! input is an error with file:line:column, the offending text and what is allowed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use embody_launch::{LaunchError, LoadOptions, Output, load};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/launch")
        .join(name)
}

fn options() -> LoadOptions {
    LoadOptions {
        args: Vec::new(),
        executables: vec!["listener".into(), "talker".into()],
        embody_exe: PathBuf::from("/usr/bin/embody"),
        log_dir: PathBuf::from("/tmp/logs"),
        packages: BTreeMap::from([("embody".to_owned(), PathBuf::from("/opt/embody"))]),
        environment: BTreeMap::from([("HOME".to_owned(), "/home/robot".to_owned())]),
    }
}

/// Writes `text` as a launch file of its own and loads it.
fn load_text(name: &str, text: &str) -> Result<embody_launch::Plan, LaunchError> {
    let dir = std::env::temp_dir().join(format!("embody-launch-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    load(&path, &options())
}

fn err(name: &str, text: &str) -> LaunchError {
    load_text(name, text).expect_err("must be refused")
}

#[test]
fn yaml_and_xml_describe_the_same_robot() {
    let y = load(&data("robot.launch.yaml"), &options()).unwrap();
    let x = load(&data("robot.launch.xml"), &options()).unwrap();
    let cmd = |p: &embody_launch::Plan| {
        p.processes
            .iter()
            .map(|s| (s.label.clone(), s.args.clone(), s.env.clone(), s.output))
            .collect::<Vec<_>>()
    };
    assert_eq!(cmd(&y), cmd(&x));
    let talker = &y.processes[0];
    let params = std::fs::canonicalize(data("robot_params.yaml")).unwrap();
    let expected: Vec<String> = [
        "run",
        "talker",
        "--ros-args",
        "-r",
        "__node:=talker",
        "-r",
        "__ns:=/robot1",
        "-p",
        "use_sim_time:=false",
        "--params-file",
        params.to_str().unwrap(),
        "-p",
        "rate:=5",
        "-p",
        "limits.max_speed:=13.9",
        "-r",
        "chatter:=speech",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    assert_eq!(talker.args, expected);
    assert_eq!(talker.output, Output::Screen);
    assert_eq!(
        talker.env.get("EMBODY_LAUNCH_TEST"),
        Some(&Some("1".to_owned()))
    );
    let labels: Vec<&str> = y.processes.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(labels, ["talker-1", "listener-1", "aux_talker-1"]);
    assert_eq!(
        y.processes[2].args[2..],
        ["--ros-args", "-r", "__node:=aux_talker", "-r", "__ns:=/aux"]
    );
    // Arguments from the command line reach includes and conditions.
    let mut o = options();
    o.args = vec![
        ("robot_ns".into(), "nobody".into()),
        ("aux_ns".into(), "side".into()),
    ];
    let p = load(&data("robot.launch.xml"), &o).unwrap();
    let labels: Vec<&str> = p.processes.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(
        labels,
        ["talker-1", "listener-1", "aux_talker-1", "spare-1"]
    );
    assert!(p.processes[2].args.contains(&"__ns:=/side".to_owned()));
    assert!(p.processes[0].args.contains(&"__ns:=/nobody".to_owned()));
}

#[test]
fn groups_scope_configurations_and_namespaces() {
    let p = load_text(
        "scopes.launch.yaml",
        r#"launch:
- let: {name: who, value: outer}
- group:
  - let: {name: who, value: inner}
  - push_ros_namespace: {namespace: ns1}
  - set_env: {name: MODE, value: group}
  - node: {pkg: embody, exec: talker, name: "$(var who)"}
- node: {pkg: embody, exec: listener, name: "$(var who)"}
- group:
    scoped: "false"
    children:
    - push_ros_namespace: {namespace: ns2}
- node: {pkg: embody, exec: listener, name: last, respawn: "true", respawn_delay: 0.5, on_exit: shutdown}
"#,
    )
    .unwrap();
    let args: Vec<String> = p.processes.iter().map(|s| s.args[2..].join(" ")).collect();
    assert_eq!(
        args,
        [
            "--ros-args -r __node:=inner -r __ns:=/ns1",
            "--ros-args -r __node:=outer",
            "--ros-args -r __node:=last -r __ns:=/ns2",
        ]
    );
    assert_eq!(p.processes[0].env.get("MODE"), Some(&Some("group".into())));
    assert!(p.processes[1].env.is_empty());
    let last = &p.processes[2];
    assert!(last.respawn && last.on_exit_shutdown);
    assert_eq!(last.respawn_delay.as_millis(), 500);
}

#[test]
fn composable_nodes_share_one_container_process() {
    let p = load_text(
        "compose.launch.xml",
        r#"<launch>
  <node pkg="embody" exec="talker" name="a" composable="true"/>
  <node pkg="embody" exec="listener" name="b" composable="true">
    <remap from="chatter" to="/a/chatter"/>
  </node>
  <node pkg="embody" exec="listener" name="c"/>
</launch>"#,
    )
    .unwrap();
    assert_eq!(p.processes.len(), 2);
    assert_eq!(p.processes[0].label, "c-1");
    let c = &p.processes[1];
    assert_eq!(c.label, "embody_container-1");
    assert_eq!(
        c.args.join(" "),
        "compose --node talker --ros-args -r __node:=a --end-node --node listener --ros-args -r __node:=b -r chatter:=/a/chatter --end-node"
    );
}

#[test]
fn bad_input_names_file_line_column_and_what_is_allowed() {
    let e = err(
        "tag.launch.xml",
        "<launch>\n  <nodes pkg=\"embody\"/>\n</launch>\n",
    );
    assert_eq!((e.line, e.column), (2, 3), "{e}");
    assert!(e.file.ends_with("tag.launch.xml"));
    assert!(
        e.message.contains("unknown tag <nodes>") && e.message.contains("node"),
        "{e}"
    );

    let e = err(
        "attr.launch.yaml",
        "launch:\n- node: {pkg: embody, exec: talker, nmae: x}\n",
    );
    assert_eq!(e.line, 2, "{e}");
    assert!(e.column > 1, "{e}");
    assert!(
        e.message.contains("unknown attribute `nmae` on <node>") && e.message.contains("name"),
        "{e}"
    );

    let e = err(
        "var.launch.xml",
        "<launch>\n\n  <node pkg=\"embody\" exec=\"talker\" name=\"$(var nope)\"/>\n</launch>\n",
    );
    assert_eq!(e.line, 3, "{e}");
    assert!(e.message.contains("nope"), "{e}");
    assert!(
        e.message.contains("$(var nope)"),
        "the offending text is shown: {e}"
    );

    let e = err(
        "inc.launch.yaml",
        "launch:\n- include: {file: missing.launch.xml}\n",
    );
    assert_eq!(e.line, 2, "{e}");
    assert!(
        e.message.contains("missing.launch.xml") && e.message.contains("does not exist"),
        "{e}"
    );

    let e = err(
        "exec.launch.xml",
        "<launch>\n  <node pkg=\"embody\" exec=\"talkr\"/>\n</launch>\n",
    );
    assert_eq!(e.line, 2, "{e}");
    assert!(
        e.message.contains("no executable `talkr`") && e.message.contains("listener, talker"),
        "{e}"
    );

    let e = err(
        "pkg.launch.xml",
        "<launch>\n  <node pkg=\"demo_nodes_cpp\" exec=\"talker\"/>\n</launch>\n",
    );
    assert!(
        e.message.contains("package `demo_nodes_cpp`") && e.message.contains("<executable"),
        "{e}"
    );

    let e = err(
        "xml.launch.xml",
        "<launch>\n  <node pkg=\"embody\" exec=\"talker\">\n</launch>\n",
    );
    assert_eq!(e.line, 3, "{e}");
    assert!(e.message.contains("malformed XML"), "{e}");

    let e = err(
        "yaml.launch.yaml",
        "launch:\n- node: {pkg: embody,\n  - exec: talker\n",
    );
    assert!(e.message.contains("malformed YAML") && e.line >= 2, "{e}");

    let e = err(
        "arg.launch.xml",
        "<launch>\n  <arg name=\"speed\"/>\n</launch>\n",
    );
    assert!(
        e.message.contains("argument `speed`") && e.message.contains("speed:=VALUE"),
        "{e}"
    );

    let e = err(
        "cond.launch.xml",
        "<launch>\n  <node pkg=\"embody\" exec=\"talker\" if=\"maybe\"/>\n</launch>\n",
    );
    assert!(e.message.contains("maybe"), "{e}");

    let e = err(
        "eval.launch.xml",
        "<launch>\n  <let name=\"x\" value=\"$(eval '1 / 0')\"/>\n</launch>\n",
    );
    assert!(e.message.to_lowercase().contains("division"), "{e}");

    let e = err(
        "child.launch.xml",
        "<launch>\n  <node pkg=\"embody\" exec=\"talker\"><arg name=\"x\"/></node>\n</launch>\n",
    );
    assert!(e.message.contains("unexpected <arg> inside <node>"), "{e}");

    let e = err("py.launch.py", "from launch import LaunchDescription\n");
    assert!(
        e.message.contains("Python launch files are not supported"),
        "{e}"
    );

    // The rendered error starts with file:line:column, like a compiler's.
    let e = err("render.launch.xml", "<launch>\n  <nodes/>\n</launch>\n");
    assert!(
        e.to_string().contains("render.launch.xml:2:3: unknown tag"),
        "{e}"
    );
}

#[test]
fn undeclared_command_line_arguments_are_refused() {
    let mut o = options();
    o.args = vec![("robot_nss".into(), "x".into())];
    let e = load(&data("robot.launch.yaml"), &o).unwrap_err();
    assert!(
        e.message.contains("`robot_nss` is not declared") && e.message.contains("robot_ns"),
        "{e}"
    );
}
