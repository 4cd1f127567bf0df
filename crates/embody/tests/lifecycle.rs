//! A lifecycle node driven from another session, as a launch system or `ros2 lifecycle set`
//! would drive it.

mod common;

use embody::QosProfile;
use embody::lifecycle::{LifecycleCallbacks, LifecycleNode, State};
use embody_msgs::lifecycle_msgs::msg::{State as StateMsg, Transition, TransitionEvent};
use embody_msgs::lifecycle_msgs::srv::{
    ChangeState, ChangeState_Request, GetState, GetState_Request,
};
use embody_msgs::std_msgs::msg::Int32;

use common::WAIT;

struct Lidar;
impl LifecycleCallbacks for Lidar {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_change_on_request_and_publishers_follow() {
    let (_router, ep) = common::router().await;
    let a = common::context(&ep).await;
    let managed = LifecycleNode::new(a.create_node("lidar_driver").await.unwrap(), Lidar)
        .await
        .unwrap();
    let scans = managed
        .create_publisher::<Int32>("scans", QosProfile::keep_last(10))
        .await
        .unwrap();

    let b = common::context(&ep).await;
    let manager = b.create_node("manager").await.unwrap();
    let events = manager
        .create_subscription::<TransitionEvent>(
            "/lidar_driver/transition_event",
            QosProfile::keep_last(10),
        )
        .await
        .unwrap();
    let sub = manager
        .create_subscription::<Int32>("scans", QosProfile::keep_last(10))
        .await
        .unwrap();
    let change = manager
        .create_client::<ChangeState>("/lidar_driver/change_state")
        .await
        .unwrap();
    let get = manager
        .create_client::<GetState>("/lidar_driver/get_state")
        .await
        .unwrap();
    change.wait_for_service(WAIT).await.unwrap();
    get.wait_for_service(WAIT).await.unwrap();
    scans
        .publisher()
        .wait_for_remote_subscriber(WAIT)
        .await
        .unwrap();

    assert!(
        !scans.publish(Int32 { data: 1 }).await.unwrap(),
        "unconfigured: nothing is published"
    );
    let by_label = |label: &str| ChangeState_Request {
        transition: Transition {
            id: 0,
            label: label.into(),
        },
    };
    assert!(
        !change
            .call(&by_label("activate"), WAIT)
            .await
            .unwrap()
            .success,
        "activate needs configure first"
    );
    assert!(
        change
            .call(&by_label("configure"), WAIT)
            .await
            .unwrap()
            .success
    );
    assert_eq!(
        get.call(&GetState_Request::default(), WAIT)
            .await
            .unwrap()
            .current_state
            .id,
        StateMsg::PRIMARY_STATE_INACTIVE
    );
    assert!(
        !scans.publish(Int32 { data: 2 }).await.unwrap(),
        "inactive: nothing is published"
    );
    assert!(
        change
            .call(
                &ChangeState_Request {
                    transition: Transition {
                        id: Transition::TRANSITION_ACTIVATE,
                        label: String::new()
                    }
                },
                WAIT
            )
            .await
            .unwrap()
            .success
    );
    assert_eq!(managed.state(), State::Active);
    assert!(scans.publish(Int32 { data: 3 }).await.unwrap());
    assert_eq!(
        tokio::time::timeout(WAIT, sub.recv())
            .await
            .unwrap()
            .unwrap()
            .data,
        3,
        "only the active-state message arrives"
    );

    let e = tokio::time::timeout(WAIT, events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            e.transition.label.as_str(),
            e.start_state.label.as_str(),
            e.goal_state.label.as_str()
        ),
        ("configure", "unconfigured", "inactive")
    );
    let e = tokio::time::timeout(WAIT, events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (e.transition.label.as_str(), e.goal_state.label.as_str()),
        ("activate", "active")
    );
}
