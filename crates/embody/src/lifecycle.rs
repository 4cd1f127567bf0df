//! Managed (lifecycle) nodes as ROS 2 defines them: the primary states unconfigured,
//! inactive, active and finalized; transitions driven through `~/change_state` by a
//! launch system or an operator; `~/get_state`, `~/get_available_states`,
//! `~/get_available_transitions`; `~/transition_event`; and publishers that only publish while
//! the node is active.

use std::sync::{Arc, Mutex};

use embody_msgs::Message;
use embody_msgs::lifecycle_msgs::msg::{
    State as StateMsg, Transition as TransitionMsg, TransitionDescription, TransitionEvent,
};
use embody_msgs::lifecycle_msgs::srv::{
    ChangeState, ChangeState_Response, GetAvailableStates, GetAvailableStates_Response,
    GetAvailableTransitions, GetAvailableTransitions_Response, GetState, GetState_Response,
};
use tokio::sync::watch;

use crate::error::Result;
use crate::node::Node;
use crate::publisher::Publisher;
use crate::qos::QosProfile;
use crate::service::ServiceServer;

/// A primary lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Created, not configured.
    Unconfigured,
    /// Configured, not running.
    Inactive,
    /// Running.
    Active,
    /// Shut down for good.
    Finalized,
}

impl State {
    fn msg(self) -> StateMsg {
        let (id, label) = match self {
            State::Unconfigured => (StateMsg::PRIMARY_STATE_UNCONFIGURED, "unconfigured"),
            State::Inactive => (StateMsg::PRIMARY_STATE_INACTIVE, "inactive"),
            State::Active => (StateMsg::PRIMARY_STATE_ACTIVE, "active"),
            State::Finalized => (StateMsg::PRIMARY_STATE_FINALIZED, "finalized"),
        };
        StateMsg {
            id,
            label: label.to_owned(),
        }
    }
}

/// What a transition callback decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackReturn {
    /// Go to the transition's goal state.
    Success,
    /// Stay in the start state.
    Failure,
    /// Something broke: fall back to unconfigured.
    Error,
}

/// The node's part in its transitions; every callback succeeds unless overridden.
pub trait LifecycleCallbacks: Send + Sync + 'static {
    /// unconfigured → inactive: load parameters, allocate.
    fn on_configure(&self) -> CallbackReturn {
        CallbackReturn::Success
    }
    /// inactive → unconfigured: release what configure took.
    fn on_cleanup(&self) -> CallbackReturn {
        CallbackReturn::Success
    }
    /// inactive → active: start processing.
    fn on_activate(&self) -> CallbackReturn {
        CallbackReturn::Success
    }
    /// active → inactive: stop processing.
    fn on_deactivate(&self) -> CallbackReturn {
        CallbackReturn::Success
    }
    /// any → finalized.
    fn on_shutdown(&self) -> CallbackReturn {
        CallbackReturn::Success
    }
}

/// The transitions available from `s`: (id, label, goal state).
fn transitions_from(s: State) -> Vec<(u8, &'static str, State)> {
    match s {
        State::Unconfigured => vec![
            (
                TransitionMsg::TRANSITION_CONFIGURE,
                "configure",
                State::Inactive,
            ),
            (
                TransitionMsg::TRANSITION_UNCONFIGURED_SHUTDOWN,
                "shutdown",
                State::Finalized,
            ),
        ],
        State::Inactive => vec![
            (
                TransitionMsg::TRANSITION_CLEANUP,
                "cleanup",
                State::Unconfigured,
            ),
            (
                TransitionMsg::TRANSITION_ACTIVATE,
                "activate",
                State::Active,
            ),
            (
                TransitionMsg::TRANSITION_INACTIVE_SHUTDOWN,
                "shutdown",
                State::Finalized,
            ),
        ],
        State::Active => vec![
            (
                TransitionMsg::TRANSITION_DEACTIVATE,
                "deactivate",
                State::Inactive,
            ),
            (
                TransitionMsg::TRANSITION_ACTIVE_SHUTDOWN,
                "shutdown",
                State::Finalized,
            ),
        ],
        State::Finalized => Vec::new(),
    }
}

/// The state machine, without middleware: applies a transition request.
#[derive(Debug)]
pub struct StateMachine {
    state: State,
}

impl Default for StateMachine {
    fn default() -> Self {
        Self {
            state: State::Unconfigured,
        }
    }
}

impl StateMachine {
    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Runs transition `id` (or, when `id` is 0, the one labelled `label`) with the node's
    /// callbacks; returns the (id, label) run and whether it reached its goal state, or
    /// `None` if no such transition leaves the current state.
    pub fn change(
        &mut self,
        id: u8,
        label: &str,
        callbacks: &dyn LifecycleCallbacks,
    ) -> Option<(u8, &'static str, bool)> {
        let (tid, tlabel, goal) =
            transitions_from(self.state)
                .into_iter()
                .find(|(tid, tlabel, _)| {
                    if id != 0 {
                        *tid == id
                    } else {
                        *tlabel == label
                    }
                })?;
        let outcome = match tlabel {
            "configure" => callbacks.on_configure(),
            "cleanup" => callbacks.on_cleanup(),
            "activate" => callbacks.on_activate(),
            "deactivate" => callbacks.on_deactivate(),
            _ => callbacks.on_shutdown(),
        };
        match outcome {
            CallbackReturn::Success => self.state = goal,
            CallbackReturn::Failure => {}
            CallbackReturn::Error => self.state = State::Unconfigured,
        }
        Some((tid, tlabel, outcome == CallbackReturn::Success))
    }
}

/// A lifecycle node: a node plus its state machine and services. Publishers made with
/// [`LifecycleNode::create_publisher`] publish only while it is active.
pub struct LifecycleNode {
    node: Node,
    machine: Arc<Mutex<StateMachine>>,
    active: watch::Receiver<bool>,
    _services: (
        ServiceServer<ChangeState>,
        ServiceServer<GetState>,
        ServiceServer<GetAvailableStates>,
        ServiceServer<GetAvailableTransitions>,
    ),
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl LifecycleNode {
    /// Makes `node` a lifecycle node driven by `callbacks`; it starts unconfigured.
    pub async fn new(node: Node, callbacks: impl LifecycleCallbacks) -> Result<Self> {
        let machine = Arc::new(Mutex::new(StateMachine::default()));
        let (active_tx, active) = watch::channel(false);
        let events = Arc::new(
            node.create_publisher::<TransitionEvent>(
                "~/transition_event",
                QosProfile::keep_last(10),
            )
            .await?,
        );
        let callbacks: Arc<dyn LifecycleCallbacks> = Arc::new(callbacks);
        let runtime = tokio::runtime::Handle::current();
        let m = machine.clone();
        let change = node
            .create_service::<ChangeState, _>("~/change_state", move |req| {
                let mut machine = lock(&m);
                let start = machine.state();
                let Some((id, label, success)) =
                    machine.change(req.transition.id, &req.transition.label, &*callbacks)
                else {
                    return ChangeState_Response { success: false };
                };
                let goal = machine.state();
                drop(machine);
                active_tx.send_replace(goal == State::Active);
                let event = TransitionEvent {
                    timestamp: crate::wire::now_ns().max(0) as u64,
                    transition: TransitionMsg {
                        id,
                        label: label.to_owned(),
                    },
                    start_state: start.msg(),
                    goal_state: goal.msg(),
                };
                let events = events.clone();
                runtime.spawn(async move {
                    let _ = events.publish(event).await;
                });
                ChangeState_Response { success }
            })
            .await?;
        let m = machine.clone();
        let get = node
            .create_service::<GetState, _>("~/get_state", move |_| GetState_Response {
                current_state: lock(&m).state().msg(),
            })
            .await?;
        let states = node
            .create_service::<GetAvailableStates, _>("~/get_available_states", |_| {
                GetAvailableStates_Response {
                    available_states: [
                        State::Unconfigured,
                        State::Inactive,
                        State::Active,
                        State::Finalized,
                    ]
                    .map(State::msg)
                    .to_vec(),
                }
            })
            .await?;
        let m = machine.clone();
        let transitions = node
            .create_service::<GetAvailableTransitions, _>(
                "~/get_available_transitions",
                move |_| {
                    let start = lock(&m).state();
                    GetAvailableTransitions_Response {
                        available_transitions: transitions_from(start)
                            .into_iter()
                            .map(|(id, label, goal)| TransitionDescription {
                                transition: TransitionMsg {
                                    id,
                                    label: label.to_owned(),
                                },
                                start_state: start.msg(),
                                goal_state: goal.msg(),
                            })
                            .collect(),
                    }
                },
            )
            .await?;
        Ok(Self {
            node,
            machine,
            active,
            _services: (change, get, states, transitions),
        })
    }

    /// The underlying node.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The current state.
    pub fn state(&self) -> State {
        lock(&self.machine).state()
    }

    /// A publisher that publishes only while the node is active (messages published
    /// otherwise are dropped, as rclcpp's lifecycle publishers do).
    pub async fn create_publisher<T: Message>(
        &self,
        topic: &str,
        qos: QosProfile,
    ) -> Result<LifecyclePublisher<T>> {
        Ok(LifecyclePublisher {
            inner: self.node.create_publisher(topic, qos).await?,
            active: self.active.clone(),
        })
    }
}

/// A publisher gated on its lifecycle node being active.
pub struct LifecyclePublisher<T: Message> {
    inner: Publisher<T>,
    active: watch::Receiver<bool>,
}

impl<T: Message> LifecyclePublisher<T> {
    /// Publishes if the node is active; returns whether it did.
    pub async fn publish(&self, msg: impl Into<Arc<T>>) -> Result<bool> {
        if !*self.active.borrow() {
            return Ok(false);
        }
        self.inner.publish(msg).await?;
        Ok(true)
    }

    /// The underlying publisher.
    pub fn publisher(&self) -> &Publisher<T> {
        &self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Picky;
    impl LifecycleCallbacks for Picky {
        fn on_activate(&self) -> CallbackReturn {
            CallbackReturn::Failure
        }
        fn on_cleanup(&self) -> CallbackReturn {
            CallbackReturn::Error
        }
    }

    #[test]
    fn transitions_follow_the_ros2_state_machine() {
        let mut m = StateMachine::default();
        assert_eq!(
            m.change(TransitionMsg::TRANSITION_ACTIVATE, "", &Picky),
            None,
            "cannot activate from unconfigured"
        );
        assert_eq!(
            m.change(0, "configure", &Picky),
            Some((1, "configure", true))
        );
        assert_eq!(m.state(), State::Inactive);
        assert_eq!(
            m.change(TransitionMsg::TRANSITION_ACTIVATE, "", &Picky),
            Some((3, "activate", false))
        );
        assert_eq!(m.state(), State::Inactive, "a failed callback stays put");
        assert_eq!(m.change(0, "cleanup", &Picky), Some((2, "cleanup", false)));
        assert_eq!(
            m.state(),
            State::Unconfigured,
            "an error falls back to unconfigured"
        );
        assert_eq!(m.change(0, "shutdown", &Picky), Some((5, "shutdown", true)));
        assert_eq!(m.state(), State::Finalized);
        assert_eq!(m.change(0, "configure", &Picky), None);
    }

    struct Easy;
    impl LifecycleCallbacks for Easy {}

    #[test]
    fn every_transition_reaches_its_goal_state() {
        use State::*;
        let steps: [(&str, u8, State); 8] = [
            ("configure", 1, Inactive),
            ("activate", 3, Active),
            ("deactivate", 4, Inactive),
            ("cleanup", 2, Unconfigured),
            ("configure", 1, Inactive),
            ("activate", 3, Active),
            (
                "shutdown",
                TransitionMsg::TRANSITION_ACTIVE_SHUTDOWN,
                Finalized,
            ),
            ("configure", 0, Finalized),
        ];
        let mut m = StateMachine::default();
        for (label, id, state) in steps {
            let r = m.change(0, label, &Easy);
            if id == 0 {
                assert_eq!(r, None, "nothing leaves finalized");
            } else {
                assert_eq!(
                    r,
                    Some((
                        id,
                        if label == "shutdown" {
                            "shutdown"
                        } else {
                            label
                        },
                        true
                    ))
                );
            }
            assert_eq!(m.state(), state, "after {label}");
        }
        for (setup, shutdown_id) in [
            (vec![], TransitionMsg::TRANSITION_UNCONFIGURED_SHUTDOWN),
            (
                vec!["configure"],
                TransitionMsg::TRANSITION_INACTIVE_SHUTDOWN,
            ),
        ] {
            let mut m = StateMachine::default();
            for l in setup {
                m.change(0, l, &Easy);
            }
            assert_eq!(
                m.change(shutdown_id, "", &Easy),
                Some((shutdown_id, "shutdown", true))
            );
            assert_eq!(m.state(), Finalized);
        }
    }
}
