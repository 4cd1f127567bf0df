//! The rcl_interfaces parameter services and /parameter_events, used from another session as
//! `ros2 param` would.

mod common;

use embody::QosProfile;
use embody::param_services::{value_from_msg, value_to_msg};
use embody::params::{ParameterDescriptor, ParameterValue};
use embody_msgs::rcl_interfaces::msg::{Parameter, ParameterEvent};
use embody_msgs::rcl_interfaces::srv::{
    DescribeParameters, DescribeParameters_Request, GetParameters, GetParameters_Request,
    SetParametersAtomically, SetParametersAtomically_Request,
};

use common::WAIT;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_read_describe_and_change_parameters_and_events_report_it() {
    let (_router, ep) = common::router().await;
    let a = common::context(&ep).await;
    let node = a.create_node("controller").await.unwrap();
    node.parameters()
        .declare(
            "kp",
            1.0,
            ParameterDescriptor::new("proportional gain").range(0.0, 10.0),
        )
        .unwrap();
    node.parameters()
        .declare("ki", 0.1, ParameterDescriptor::new("integral gain"))
        .unwrap();

    let b = common::context(&ep).await;
    let tool = b.create_node("tool").await.unwrap();
    let events = tool
        .create_subscription::<ParameterEvent>("/parameter_events", QosProfile::keep_last(100))
        .await
        .unwrap();
    let get = tool
        .create_client::<GetParameters>("/controller/get_parameters")
        .await
        .unwrap();
    get.wait_for_service(WAIT).await.unwrap();
    let values = get
        .call(
            &GetParameters_Request {
                names: vec!["kp".into(), "nope".into()],
            },
            WAIT,
        )
        .await
        .unwrap()
        .values;
    assert_eq!(
        value_from_msg(&values[0]),
        Some(ParameterValue::Double(1.0))
    );
    assert_eq!(
        value_from_msg(&values[1]),
        None,
        "an unknown parameter reads as NOT_SET"
    );

    let describe = tool
        .create_client::<DescribeParameters>("/controller/describe_parameters")
        .await
        .unwrap();
    describe.wait_for_service(WAIT).await.unwrap();
    let d = describe
        .call(
            &DescribeParameters_Request {
                names: vec!["kp".into()],
            },
            WAIT,
        )
        .await
        .unwrap()
        .descriptors;
    assert_eq!(d[0].description, "proportional gain");
    assert_eq!(
        (
            d[0].floating_point_range[0].from_value,
            d[0].floating_point_range[0].to_value
        ),
        (0.0, 10.0)
    );

    let set = tool
        .create_client::<SetParametersAtomically>("/controller/set_parameters_atomically")
        .await
        .unwrap();
    set.wait_for_service(WAIT).await.unwrap();
    let param = |name: &str, v: f64| Parameter {
        name: name.into(),
        value: value_to_msg(&ParameterValue::Double(v)),
    };
    // All or nothing: kp out of range, so ki does not change either.
    let r = set
        .call(
            &SetParametersAtomically_Request {
                parameters: vec![param("ki", 0.5), param("kp", 20.0)],
            },
            WAIT,
        )
        .await
        .unwrap();
    assert!(!r.result.successful);
    assert_eq!(
        r.result.reason,
        "parameter `kp` (set request): 20 is outside 0..=10"
    );
    assert_eq!(node.parameters().get_f64("ki").unwrap(), 0.1);
    let r = set
        .call(
            &SetParametersAtomically_Request {
                parameters: vec![param("ki", 0.5), param("kp", 2.0)],
            },
            WAIT,
        )
        .await
        .unwrap();
    assert!(r.result.successful, "{}", r.result.reason);
    assert_eq!(node.parameters().get_f64("kp").unwrap(), 2.0);

    let e = tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("an event")
        .unwrap();
    assert_eq!(e.node, "/controller");
    let changed: Vec<(String, Option<ParameterValue>)> = e
        .changed_parameters
        .iter()
        .map(|p| (p.name.clone(), value_from_msg(&p.value)))
        .collect();
    assert_eq!(
        changed,
        [
            ("ki".into(), Some(ParameterValue::Double(0.5))),
            ("kp".into(), Some(ParameterValue::Double(2.0)))
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_reach_rosout_filtered_by_level() {
    use embody_msgs::rcl_interfaces::msg::Log;
    let (_router, ep) = common::router().await;
    let a = common::context_with_args(&ep, &["--log-level", "warn"]).await;
    let node = a
        .create_node_with("driver", embody::NodeOptions::namespace("/car"))
        .await
        .unwrap();
    assert_eq!(node.logger().name(), "car.driver");
    node.logger().info("not shown at --log-level warn");
    node.logger().warn("tyre pressure low");
    // /rosout is transient local, so a late subscriber still gets the line.
    let b = common::context(&ep).await;
    let sub = b
        .create_node("viewer")
        .await
        .unwrap()
        .create_subscription::<Log>("/rosout", QosProfile::transient_local(1000))
        .await
        .unwrap();
    let log = loop {
        let m = tokio::time::timeout(WAIT, sub.recv())
            .await
            .expect("a log line")
            .unwrap();
        if m.name == "car.driver" {
            break m;
        }
    };
    assert_eq!(
        (log.level, log.msg.as_str()),
        (Log::WARN, "tyre pressure low")
    );
}
