//! The action protocol across sessions: goals with feedback and results, and cancellation.

mod common;

use embody::action::GoalOutcome;
use embody_msgs::action_msgs::msg::GoalStatus;
use embody_msgs::example_interfaces::action::{
    Fibonacci, Fibonacci_Feedback, Fibonacci_Goal, Fibonacci_Result,
};

use common::WAIT;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fibonacci_goals_succeed_with_feedback_and_can_be_canceled() {
    let (_router, ep) = common::router().await;
    let server_ctx = common::context(&ep).await;
    let server_node = server_ctx.create_node("fibonacci_server").await.unwrap();
    // The server computes one term per step; a cancel request is honoured between steps.
    // Order 1000 never finishes before the test cancels it (each step waits for the client's go).
    let (step_tx, step_rx) = tokio::sync::watch::channel(0u32);
    let _server = server_node
        .create_action_server::<Fibonacci, _, _, _>(
            "fibonacci",
            |goal: &Fibonacci_Goal| goal.order >= 0,
            move |goal| {
                let mut steps = step_rx.clone();
                async move {
                    let mut seq = vec![0, 1];
                    for i in 1..goal.goal.order {
                        if goal.is_cancel_requested() {
                            return (GoalOutcome::Canceled, Fibonacci_Result { sequence: seq });
                        }
                        seq.push(seq[i as usize] + seq[i as usize - 1]);
                        let _ = goal
                            .publish_feedback(Fibonacci_Feedback {
                                sequence: seq.clone(),
                            })
                            .await;
                        if goal.goal.order > 100 {
                            // Long goals advance only when the test says so.
                            let _ = steps.changed().await;
                        }
                    }
                    (GoalOutcome::Succeeded, Fibonacci_Result { sequence: seq })
                }
            },
        )
        .await
        .unwrap();

    let client_ctx = common::context(&ep).await;
    let client_node = client_ctx.create_node("fibonacci_client").await.unwrap();
    let client = client_node
        .create_action_client::<Fibonacci>("fibonacci")
        .await
        .unwrap();
    client.wait_for_server(WAIT).await.unwrap();

    let id = client
        .send_goal(Fibonacci_Goal { order: 6 }, WAIT)
        .await
        .unwrap()
        .expect("accepted");
    let (status, result) = client.get_result(&id, WAIT).await.unwrap();
    assert_eq!(status, GoalStatus::STATUS_SUCCEEDED);
    assert_eq!(result.sequence, [0, 1, 1, 2, 3, 5, 8]);

    let long = client
        .send_goal(Fibonacci_Goal { order: 1000 }, WAIT)
        .await
        .unwrap()
        .expect("accepted");
    // Feedback of the long goal shows it running (feedback of the first goal may come first).
    let fb = loop {
        let (goal_id, fb) = tokio::time::timeout(WAIT, client.next_feedback())
            .await
            .unwrap()
            .unwrap();
        if goal_id == long {
            break fb;
        }
    };
    assert_eq!(fb.sequence, [0, 1, 1]);
    assert!(
        client.cancel_goal(&long, WAIT).await.unwrap(),
        "cancel accepted"
    );
    step_tx.send_replace(1);
    let (status, result) = client.get_result(&long, WAIT).await.unwrap();
    assert_eq!(status, GoalStatus::STATUS_CANCELED);
    assert_eq!(result.sequence, [0, 1, 1]);
    assert!(
        !client.cancel_goal(&long, WAIT).await.unwrap(),
        "a finished goal cannot be canceled"
    );
}

/// Action and parameter services announce the names and DDS types rclcpp and rmw_zenoh use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_and_parameter_endpoints_use_ros2_names_and_types() {
    use embody::wire::EntityKind;
    let (_router, ep) = common::router().await;
    let ctx = common::context(&ep).await;
    let node = ctx
        .create_node_with("arm", embody::NodeOptions::namespace("/robot"))
        .await
        .unwrap();
    let _server = node
        .create_action_server::<Fibonacci, _, _, _>(
            "fib",
            |_: &Fibonacci_Goal| true,
            |_| async { (GoalOutcome::Succeeded, Fibonacci_Result::default()) },
        )
        .await
        .unwrap();
    let graph = ctx.graph().await.unwrap();
    let expected_services = [
        (
            "/robot/fib/_action/send_goal",
            "example_interfaces::action::dds_::Fibonacci_SendGoal_",
        ),
        (
            "/robot/fib/_action/get_result",
            "example_interfaces::action::dds_::Fibonacci_GetResult_",
        ),
        (
            "/robot/fib/_action/cancel_goal",
            "action_msgs::srv::dds_::CancelGoal_",
        ),
        (
            "/robot/arm/get_parameters",
            "rcl_interfaces::srv::dds_::GetParameters_",
        ),
        (
            "/robot/arm/set_parameters_atomically",
            "rcl_interfaces::srv::dds_::SetParametersAtomically_",
        ),
    ];
    let expected_topics = [
        (
            "/robot/fib/_action/feedback",
            "example_interfaces::action::dds_::Fibonacci_FeedbackMessage_",
        ),
        (
            "/robot/fib/_action/status",
            "action_msgs::msg::dds_::GoalStatusArray_",
        ),
        (
            "/parameter_events",
            "rcl_interfaces::msg::dds_::ParameterEvent_",
        ),
    ];
    let has = |g: &embody::Graph, name: &str, dds: &str, kind: EntityKind| {
        g.endpoints(name, kind)
            .iter()
            .any(|e| e.topic.as_ref().is_some_and(|t| t.dds_type == dds))
    };
    graph
        .wait_until(WAIT, |g| {
            expected_services
                .iter()
                .all(|(n, d)| has(g, n, d, EntityKind::ServiceServer))
                && expected_topics
                    .iter()
                    .all(|(n, d)| has(g, n, d, EntityKind::Publisher))
        })
        .await
        .expect("every endpoint announced with its ROS 2 name and type");
    // And the hash in the key is the service type's, as for any other service.
    let send_goal = &graph.endpoints("/robot/fib/_action/send_goal", EntityKind::ServiceServer)[0];
    assert_eq!(
        send_goal.topic.as_ref().unwrap().type_hash,
        <<Fibonacci as embody_msgs::Action>::SendGoal as embody_msgs::Service>::TYPE_HASH
    );
}
