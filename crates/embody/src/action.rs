//! The ROS 2 action protocol on services and topics: `<name>/_action/send_goal`,
//! `cancel_goal` and `get_result` services, `feedback` and `status` topics, as rclcpp and
//! rmw_zenoh name and type them.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use embody_msgs::action_msgs::msg::{GoalInfo, GoalStatus, GoalStatusArray};
use embody_msgs::action_msgs::srv::{CancelGoal, CancelGoal_Request, CancelGoal_Response};
use embody_msgs::{Action, Uuid};
use tokio::sync::watch;

use crate::error::Result;
use crate::node::Node;
use crate::publisher::Publisher;
use crate::qos::QosProfile;
use crate::service::{Client, ServiceServer};
use crate::subscription::Subscription;
use crate::time::Time;

/// How a goal ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoalOutcome {
    /// Done (`STATUS_SUCCEEDED`).
    Succeeded,
    /// Gave up (`STATUS_ABORTED`).
    Aborted,
    /// Stopped on a cancel request (`STATUS_CANCELED`).
    Canceled,
}

impl GoalOutcome {
    fn status(self) -> i8 {
        match self {
            GoalOutcome::Succeeded => GoalStatus::STATUS_SUCCEEDED,
            GoalOutcome::Aborted => GoalStatus::STATUS_ABORTED,
            GoalOutcome::Canceled => GoalStatus::STATUS_CANCELED,
        }
    }
}

struct Goal<R> {
    stamp: Time,
    status: i8,
    result: Option<R>,
    done: watch::Sender<bool>,
    cancel: watch::Sender<bool>,
}

type Goals<R> = Arc<Mutex<HashMap<[u8; 16], Goal<R>>>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the execute function of an action server gets for one goal.
pub struct GoalHandle<A: Action> {
    /// The goal id.
    pub id: Uuid,
    /// The goal.
    pub goal: A::Goal,
    feedback: Arc<Publisher<A::FeedbackMessage>>,
    cancel: watch::Receiver<bool>,
}

impl<A: Action> GoalHandle<A> {
    /// Publishes feedback for this goal.
    pub async fn publish_feedback(&self, feedback: A::Feedback) -> Result<()> {
        self.feedback
            .publish(A::feedback_message(self.id.clone(), feedback))
            .await
    }

    /// True once a client asked to cancel this goal.
    pub fn is_cancel_requested(&self) -> bool {
        *self.cancel.borrow()
    }
}

/// An action server. Accepted goals are executed concurrently on the runtime.
pub struct ActionServer<A: Action> {
    _send_goal: ServiceServer<A::SendGoal>,
    _cancel: ServiceServer<CancelGoal>,
    _get_result: ServiceServer<A::GetResult>,
}

fn status_array<R>(goals: &HashMap<[u8; 16], Goal<R>>) -> GoalStatusArray {
    GoalStatusArray {
        status_list: goals
            .iter()
            .map(|(id, g)| GoalStatus {
                goal_info: GoalInfo {
                    goal_id: Uuid { uuid: *id },
                    stamp: g.stamp.to_msg(),
                },
                status: g.status,
            })
            .collect(),
    }
}

impl<A: Action> ActionServer<A> {
    pub(crate) async fn new<P, F, Fut>(
        node: &Node,
        name: &str,
        accept: P,
        execute: F,
    ) -> Result<Self>
    where
        P: Fn(&A::Goal) -> bool + Send + Sync + 'static,
        F: Fn(GoalHandle<A>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = (GoalOutcome, A::Result)> + Send + 'static,
    {
        let base = node.resolve_name(name)?;
        let feedback = Arc::new(
            node.create_publisher::<A::FeedbackMessage>(
                &format!("{base}/_action/feedback"),
                QosProfile::keep_last(10),
            )
            .await?,
        );
        let status = Arc::new(
            node.create_publisher::<GoalStatusArray>(
                &format!("{base}/_action/status"),
                QosProfile::transient_local(1),
            )
            .await?,
        );
        let goals: Goals<A::Result> = Arc::default();
        let runtime = tokio::runtime::Handle::current();
        let announce = {
            let (status, goals, runtime) = (status.clone(), goals.clone(), runtime.clone());
            move || {
                let (status, msg) = (status.clone(), status_array(&lock(&goals)));
                runtime.spawn(async move {
                    let _ = status.publish(msg).await;
                });
            }
        };
        let execute = Arc::new(execute);
        let (g, a, rt, fb) = (goals.clone(), announce.clone(), runtime.clone(), feedback);
        let send_goal = node
            .create_service::<A::SendGoal, _>(&format!("{base}/_action/send_goal"), move |req| {
                let (id, goal) = A::split_send_goal_request(req);
                let stamp = Time::from_nanos(crate::wire::now_ns());
                if !accept(&goal) {
                    return A::send_goal_response(false, stamp.to_msg());
                }
                let (done, _) = watch::channel(false);
                let (cancel, cancel_rx) = watch::channel(false);
                lock(&g).insert(
                    id.uuid,
                    Goal {
                        stamp,
                        status: GoalStatus::STATUS_EXECUTING,
                        result: None,
                        done,
                        cancel,
                    },
                );
                a();
                let handle = GoalHandle::<A> {
                    id: id.clone(),
                    goal,
                    feedback: fb.clone(),
                    cancel: cancel_rx,
                };
                let (g, a, execute) = (g.clone(), a.clone(), execute.clone());
                rt.spawn(async move {
                    let (outcome, result) = execute(handle).await;
                    if let Some(goal) = lock(&g).get_mut(&id.uuid) {
                        goal.status = outcome.status();
                        goal.result = Some(result);
                        goal.done.send_replace(true);
                    }
                    a();
                });
                A::send_goal_response(true, stamp.to_msg())
            })
            .await?;
        let (g, a) = (goals.clone(), announce);
        let cancel = node
            .create_service::<CancelGoal, _>(
                &format!("{base}/_action/cancel_goal"),
                move |req: CancelGoal_Request| {
                    let wanted = req.goal_info.goal_id.uuid;
                    let mut goals = lock(&g);
                    let mut canceling = Vec::new();
                    for (id, goal) in goals.iter_mut() {
                        // A zero id asks to cancel every goal.
                        let selected = wanted == [0; 16] || *id == wanted;
                        if selected
                            && matches!(
                                goal.status,
                                GoalStatus::STATUS_ACCEPTED | GoalStatus::STATUS_EXECUTING
                            )
                        {
                            goal.status = GoalStatus::STATUS_CANCELING;
                            goal.cancel.send_replace(true);
                            canceling.push(GoalInfo {
                                goal_id: Uuid { uuid: *id },
                                stamp: goal.stamp.to_msg(),
                            });
                        }
                    }
                    let known = wanted == [0; 16] || goals.contains_key(&wanted);
                    drop(goals);
                    a();
                    let return_code = if !canceling.is_empty() {
                        CancelGoal_Response::ERROR_NONE
                    } else if known {
                        CancelGoal_Response::ERROR_GOAL_TERMINATED
                    } else {
                        CancelGoal_Response::ERROR_UNKNOWN_GOAL_ID
                    };
                    CancelGoal_Response {
                        return_code,
                        goals_canceling: canceling,
                    }
                },
            )
            .await?;
        let g = goals;
        let get_result = node
            .create_service::<A::GetResult, _>(&format!("{base}/_action/get_result"), move |req| {
                let id = A::get_result_request_id(&req).uuid;
                let done = lock(&g).get(&id).map(|goal| goal.done.subscribe());
                let Some(mut done) = done else {
                    return A::get_result_response(GoalStatus::STATUS_UNKNOWN, Default::default());
                };
                // Handlers run on the blocking pool, where waiting for the goal is fine.
                let _ = runtime.block_on(done.wait_for(|d| *d));
                let goals = lock(&g);
                match goals.get(&id) {
                    Some(goal) => {
                        A::get_result_response(goal.status, goal.result.clone().unwrap_or_default())
                    }
                    None => A::get_result_response(GoalStatus::STATUS_UNKNOWN, Default::default()),
                }
            })
            .await?;
        Ok(Self {
            _send_goal: send_goal,
            _cancel: cancel,
            _get_result: get_result,
        })
    }
}

/// An action client.
pub struct ActionClient<A: Action> {
    send_goal: Client<A::SendGoal>,
    cancel: Client<CancelGoal>,
    get_result: Client<A::GetResult>,
    feedback: Subscription<A::FeedbackMessage>,
}

impl<A: Action> ActionClient<A> {
    pub(crate) async fn new(node: &Node, name: &str) -> Result<Self> {
        let base = node.resolve_name(name)?;
        Ok(Self {
            send_goal: node
                .create_client(&format!("{base}/_action/send_goal"))
                .await?,
            cancel: node
                .create_client(&format!("{base}/_action/cancel_goal"))
                .await?,
            get_result: node
                .create_client(&format!("{base}/_action/get_result"))
                .await?,
            feedback: node
                .create_subscription(
                    &format!("{base}/_action/feedback"),
                    QosProfile::keep_last(100),
                )
                .await?,
        })
    }

    /// Waits until the server's services are in the graph.
    pub async fn wait_for_server(&self, timeout: Duration) -> Result<()> {
        self.send_goal.wait_for_service(timeout).await?;
        self.cancel.wait_for_service(timeout).await?;
        self.get_result.wait_for_service(timeout).await
    }

    /// Sends a goal; returns its id if the server accepted it.
    pub async fn send_goal(&self, goal: A::Goal, timeout: Duration) -> Result<Option<Uuid>> {
        let id = Uuid { uuid: random_id() };
        let resp = self
            .send_goal
            .call(&A::send_goal_request(id.clone(), goal), timeout)
            .await?;
        Ok(A::send_goal_accepted(&resp).then_some(id))
    }

    /// Waits for a goal's end: its final status (`GoalStatus::STATUS_*`) and result.
    pub async fn get_result(&self, id: &Uuid, timeout: Duration) -> Result<(i8, A::Result)> {
        let resp = self
            .get_result
            .call(&A::get_result_request(id.clone()), timeout)
            .await?;
        Ok(A::split_get_result_response(resp))
    }

    /// Asks the server to cancel a goal; true if it is now being canceled.
    pub async fn cancel_goal(&self, id: &Uuid, timeout: Duration) -> Result<bool> {
        let req = CancelGoal_Request {
            goal_info: GoalInfo {
                goal_id: id.clone(),
                ..Default::default()
            },
        };
        let resp = self.cancel.call(&req, timeout).await?;
        Ok(resp.return_code == CancelGoal_Response::ERROR_NONE)
    }

    /// The next feedback of any goal of this client's action, with its goal id.
    pub async fn next_feedback(&self) -> Option<(Uuid, A::Feedback)> {
        self.feedback
            .recv()
            .await
            .map(|m| A::split_feedback_message(&m))
    }
}

/// 16 random bytes for a goal id.
fn random_id() -> [u8; 16] {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded from the OS per instance; two draws give 128 bits.
    let mut id = [0u8; 16];
    for half in id.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_i64(crate::wire::now_ns());
        half.copy_from_slice(&h.finish().to_le_bytes());
    }
    id
}
