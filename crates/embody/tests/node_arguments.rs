//! Per-node arguments: two nodes in one process, each with its own remapping, namespace and
//! parameters (what composed nodes need).

mod common;

use embody::NodeOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_node_uses_its_own_arguments_instead_of_the_contexts() {
    let (_router, ep) = common::router().await;
    let ctx = common::context_with_args(&ep, &["-r", "chatter:=/global"]).await;
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let a = ctx
        .create_node_with(
            "talker",
            NodeOptions::default()
                .arguments(&args(&[
                    "--ros-args",
                    "-r",
                    "__ns:=/left",
                    "-r",
                    "chatter:=speech",
                    "-p",
                    "rate:=5",
                ]))
                .unwrap(),
        )
        .await
        .unwrap();
    let b = ctx
        .create_node_with(
            "talker",
            NodeOptions::default()
                .arguments(&args(&[
                    "--ros-args",
                    "-r",
                    "__node:=other",
                    "-p",
                    "rate:=7",
                ]))
                .unwrap(),
        )
        .await
        .unwrap();
    let c = ctx.create_node("plain").await.unwrap();
    assert_eq!(a.fully_qualified_name(), "/left/talker");
    assert_eq!(a.resolve_name("chatter").unwrap(), "/left/speech");
    assert_eq!(b.fully_qualified_name(), "/other");
    assert_eq!(b.resolve_name("chatter").unwrap(), "/chatter");
    assert_eq!(c.resolve_name("chatter").unwrap(), "/global");
    use embody::params::ParameterDescriptor;
    let rate = |n: &embody::Node| {
        n.parameters()
            .declare("rate", 1i64, ParameterDescriptor::default())
            .unwrap()
    };
    assert_eq!(
        (rate(&a), rate(&b), rate(&c)),
        (5.into(), 7.into(), 1.into())
    );
    assert!(
        NodeOptions::default()
            .arguments(&args(&["--ros-args", "-x"]))
            .is_err()
    );
}
