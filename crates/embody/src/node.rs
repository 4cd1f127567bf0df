//! Nodes: a name in the graph that owns publishers, subscriptions, services and clients.

use std::sync::Arc;

use embody_msgs::{Message, Service};
use zenoh::liveliness::LivelinessToken;

use crate::args::RosArgs;
use crate::context::Context;
use crate::error::Result;
use crate::logging::{Level, Logger};
use crate::names::{
    expand, node_fq_name, normalize_namespace, remap_name, remap_node, validate_namespace,
    validate_node_name,
};
use crate::param_services::ParameterServices;
use crate::params::{ParameterDescriptor, ParameterValue, Parameters};
use crate::publisher::{Publisher, RawPublisher};
use crate::qos::QosProfile;
use crate::service::{Client, RawClient, ServiceServer};
use crate::subscription::{RawSubscription, Subscription};
use crate::time::{Clock, Rate, Time, Timer, TimerEvent};
use crate::wire::{Entity, EntityKind, TopicInfo};
use embody_msgs::rcl_interfaces::msg::Log;
use embody_msgs::rosgraph_msgs::msg::Clock as ClockMsg;

/// Options for a new node.
#[derive(Debug, Clone, Default)]
pub struct NodeOptions {
    /// Namespace, e.g. `/robot1` (default `/`).
    pub namespace: Option<String>,
    /// Offer the `rcl_interfaces` parameter services and `/parameter_events` (default true,
    /// as in rclcpp; tools switch it off for their hidden nodes).
    pub parameter_services: Option<bool>,
    /// Publish log messages on `/rosout` too (default true, as in rclcpp).
    pub rosout: Option<bool>,
    /// Default of the `use_sim_time` parameter (`--ros-args -p use_sim_time:=...` and
    /// parameter files still override it).
    pub use_sim_time: Option<bool>,
    /// This node's own `--ros-args` (remaps, parameters, log level), used instead of the
    /// context's, as rclcpp's `NodeOptions::arguments` with global arguments off: how several
    /// composed nodes in one process each get their own remapping.
    pub arguments: Option<RosArgs>,
}

impl NodeOptions {
    /// Options with a namespace.
    pub fn namespace(ns: &str) -> Self {
        Self {
            namespace: Some(ns.to_owned()),
            ..Self::default()
        }
    }

    /// Returns the options with the parameter services switched on or off.
    pub fn parameter_services(mut self, on: bool) -> Self {
        self.parameter_services = Some(on);
        self
    }

    /// Returns the options with `/rosout` publishing switched on or off.
    pub fn rosout(mut self, on: bool) -> Self {
        self.rosout = Some(on);
        self
    }

    /// Returns the options with this node's own command-line arguments (`--ros-args ...`),
    /// replacing the context's for this node.
    pub fn arguments(mut self, args: &[String]) -> Result<Self> {
        let (_, ros) = RosArgs::split(args)?;
        self.arguments = Some(ros);
        Ok(self)
    }

    /// Returns the options with simulation time switched on or off.
    pub fn use_sim_time(mut self, on: bool) -> Self {
        self.use_sim_time = Some(on);
        self
    }
}

pub(crate) struct NodeInner {
    pub(crate) ctx: Context,
    pub(crate) name: String,
    pub(crate) namespace: String,
    pub(crate) nid: u64,
    /// The `--ros-args` that apply to this node (its own, or the context's).
    args: Arc<RosArgs>,
    clock: Clock,
    parameters: Arc<Parameters>,
    logger: std::sync::OnceLock<Logger>,
    _clock_sub: std::sync::OnceLock<Subscription<ClockMsg>>,
    _param_services: std::sync::OnceLock<ParameterServices>,
    _token: LivelinessToken,
}

/// A ROS node. Cheap to clone.
#[derive(Clone)]
pub struct Node {
    pub(crate) inner: Arc<NodeInner>,
}

impl Node {
    pub(crate) async fn new(ctx: Context, name: &str, options: NodeOptions) -> Result<Self> {
        let ns = normalize_namespace(options.namespace.as_deref().unwrap_or("/"));
        let args = Arc::new(
            options
                .arguments
                .clone()
                .unwrap_or_else(|| ctx.inner.args.clone()),
        );
        let (name, namespace) = remap_node(&args.remaps, name, &ns);
        validate_node_name(&name)?;
        validate_namespace(&namespace)?;
        let nid = ctx.next_id();
        let entity = Entity {
            domain: ctx.domain_id(),
            zid: ctx.zid().to_owned(),
            nid: nid.to_string(),
            eid: nid.to_string(),
            kind: EntityKind::Node,
            enclave: ctx.enclave(),
            namespace: namespace.clone(),
            node_name: name.clone(),
            topic: None,
        };
        let token = ctx.declare_token(&entity).await?;
        let parameters = Parameters::from_args(&args, &node_fq_name(&namespace, &name))?;
        let sim = match parameters.declare(
            "use_sim_time",
            options.use_sim_time.unwrap_or(false),
            ParameterDescriptor::new("follow /clock instead of the system clock"),
        )? {
            ParameterValue::Bool(b) => b,
            _ => false,
        };
        let clock = if sim {
            Clock::sim_tracked(ctx.inner.activity.clone())
        } else {
            Clock::system()
        };
        let node = Self {
            inner: Arc::new(NodeInner {
                ctx,
                name,
                namespace,
                nid,
                args,
                clock: clock.clone(),
                parameters: Arc::new(parameters),
                logger: std::sync::OnceLock::new(),
                _param_services: std::sync::OnceLock::new(),
                _clock_sub: std::sync::OnceLock::new(),
                _token: token,
            }),
        };
        if sim {
            // rosgraph_msgs/Clock is published best effort, keep last 1.
            let sub = node
                .create_subscription_with::<ClockMsg, _>(
                    "/clock",
                    QosProfile::clock(),
                    move |m: Arc<ClockMsg>| {
                        clock.set_sim_time(Time::from_msg(&m.clock));
                    },
                )
                .await?;
            let _ = node.inner._clock_sub.set(sub);
        }
        let rosout = if options.rosout.unwrap_or(true) {
            // rcl's /rosout profile: reliable, transient local, keep last 1000.
            Some(Arc::new(
                node.create_publisher::<Log>("/rosout", QosProfile::transient_local(1000))
                    .await?,
            ))
        } else {
            None
        };
        let level = match &node.inner.args.log_level {
            Some(l) => Level::parse(l).ok_or_else(|| {
                crate::Error::Args(format!(
                    "unknown --log-level `{l}` (debug, info, warn, error, fatal)"
                ))
            })?,
            None => Level::Info,
        };
        let logger_name = node
            .fully_qualified_name()
            .trim_start_matches('/')
            .replace('/', ".");
        let _ = node.inner.logger.set(Logger::new(
            logger_name,
            level,
            rosout,
            node.inner.clock.clone(),
        ));
        if options.parameter_services.unwrap_or(true) {
            let services = ParameterServices::start(&node, node.inner.parameters.clone()).await?;
            let _ = node.inner._param_services.set(services);
        }
        Ok(node)
    }

    /// The node's logger (console and `/rosout`).
    pub fn logger(&self) -> &Logger {
        // Set in `new` before the node is handed out.
        self.inner.logger.get_or_init(|| {
            Logger::new(
                self.name().to_owned(),
                Level::Info,
                None,
                self.inner.clock.clone(),
            )
        })
    }

    /// The node's parameters (declared with overrides from `--ros-args -p` / `--params-file`).
    pub fn parameters(&self) -> &Parameters {
        &self.inner.parameters
    }

    /// The node's clock: simulation time from `/clock` when `use_sim_time` is on.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The node clock's current time (for header stamps).
    pub fn now(&self) -> Time {
        self.inner.clock.now()
    }

    /// A loop rate of `hz` on the node's clock (see [`Rate`]); `None` unless `hz` is a
    /// positive, finite number.
    pub fn create_rate(&self, hz: f64) -> Option<Rate> {
        Rate::new(self.inner.clock.clone(), hz)
    }

    /// Calls `callback` every `period` of the node's clock (see [`crate::time`]) on a tokio
    /// task (so call it inside the runtime); the calls stop when the `Timer` is dropped.
    pub fn create_timer(
        &self,
        period: std::time::Duration,
        callback: impl FnMut(TimerEvent) + Send + 'static,
    ) -> Timer {
        Timer::start(self.inner.clock.clone(), period, callback)
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The node's namespace.
    pub fn namespace(&self) -> &str {
        &self.inner.namespace
    }

    /// `namespace/name`.
    pub fn fully_qualified_name(&self) -> String {
        node_fq_name(&self.inner.namespace, &self.inner.name)
    }

    /// The context the node lives in.
    pub fn context(&self) -> &Context {
        &self.inner.ctx
    }

    /// Expands a topic or service name (relative, `~`) and applies remapping rules.
    pub fn resolve_name(&self, name: &str) -> Result<String> {
        let expanded = expand(name, &self.inner.namespace, &self.inner.name)?;
        Ok(remap_name(
            &self.inner.args.remaps,
            &expanded,
            &self.inner.namespace,
            &self.inner.name,
        )?)
    }

    /// The liveliness entity for a new endpoint of this node.
    pub(crate) fn endpoint(&self, kind: EntityKind, topic: TopicInfo) -> Entity {
        let ctx = &self.inner.ctx;
        Entity {
            domain: ctx.domain_id(),
            zid: ctx.zid().to_owned(),
            nid: self.inner.nid.to_string(),
            eid: ctx.next_id().to_string(),
            kind,
            enclave: ctx.enclave(),
            namespace: self.inner.namespace.clone(),
            node_name: self.inner.name.clone(),
            topic: Some(topic),
        }
    }

    /// Creates a typed publisher.
    pub async fn create_publisher<T: Message>(
        &self,
        topic: &str,
        qos: QosProfile,
    ) -> Result<Publisher<T>> {
        Publisher::new(self, topic, qos).await
    }

    /// Creates a typed subscription.
    pub async fn create_subscription<T: Message>(
        &self,
        topic: &str,
        qos: QosProfile,
    ) -> Result<Subscription<T>> {
        Subscription::new(self, topic, qos).await
    }

    /// Creates a subscription that calls `callback` for each message as it arrives (on
    /// zenoh's receive thread, or inside `publish` for same-process publishers), so keep
    /// it short. Dropping the returned subscription stops the calls.
    pub async fn create_subscription_with<T, F>(
        &self,
        topic: &str,
        qos: QosProfile,
        callback: F,
    ) -> Result<Subscription<T>>
    where
        T: Message,
        F: FnMut(Arc<T>) + Send + 'static,
    {
        Subscription::with_callback(self, topic, qos, callback).await
    }

    /// Creates a publisher of CDR bytes for a type given by name and hash (tools, bag play).
    pub async fn create_raw_publisher(
        &self,
        topic: &str,
        type_name: &str,
        type_hash: &str,
        qos: QosProfile,
    ) -> Result<RawPublisher> {
        RawPublisher::new(self, topic, type_name, type_hash, qos).await
    }

    /// Creates a subscription that delivers the CDR bytes of one type (by name and hash)
    /// on `topic`, from other processes and this one.
    pub async fn create_raw_subscription(
        &self,
        topic: &str,
        type_name: &str,
        type_hash: &str,
        qos: QosProfile,
    ) -> Result<RawSubscription> {
        RawSubscription::new(self, topic, type_name, type_hash, qos).await
    }

    /// Creates a service server answering with `handler`.
    pub async fn create_service<S, F>(&self, name: &str, handler: F) -> Result<ServiceServer<S>>
    where
        S: Service,
        F: Fn(S::Request) -> S::Response + Send + Sync + 'static,
    {
        ServiceServer::new(self, name, handler).await
    }

    /// Creates a client for a service type known by name and hash at run time.
    pub async fn create_raw_client(
        &self,
        name: &str,
        type_name: &str,
        type_hash: &str,
    ) -> Result<RawClient> {
        RawClient::new(self, name, type_name, type_hash).await
    }

    /// Creates an action server; `accept` decides on each goal, `execute` runs once per
    /// accepted goal.
    pub async fn create_action_server<A, P, F, Fut>(
        &self,
        name: &str,
        accept: P,
        execute: F,
    ) -> Result<crate::action::ActionServer<A>>
    where
        A: embody_msgs::Action,
        P: Fn(&A::Goal) -> bool + Send + Sync + 'static,
        F: Fn(crate::action::GoalHandle<A>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = (crate::action::GoalOutcome, A::Result)> + Send + 'static,
    {
        crate::action::ActionServer::new(self, name, accept, execute).await
    }

    /// Creates an action client.
    pub async fn create_action_client<A: embody_msgs::Action>(
        &self,
        name: &str,
    ) -> Result<crate::action::ActionClient<A>> {
        crate::action::ActionClient::new(self, name).await
    }

    /// Creates a service client.
    pub async fn create_client<S: Service>(&self, name: &str) -> Result<Client<S>> {
        Client::new(self, name).await
    }
}
