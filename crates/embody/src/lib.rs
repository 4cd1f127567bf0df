//! The embody runtime: nodes, topics and services over zenoh that put exactly the bytes and
//! key expressions on the wire that ROS 2's `rmw_zenoh_cpp` does, so embody nodes and ROS 2
//! nodes see each other.
//!
//! ```no_run
//! # async fn demo() -> embody::Result<()> {
//! use embody::{Context, QosProfile};
//! use embody_msgs::std_msgs::msg::String as RosString;
//!
//! let ctx = Context::new().await?;                  // peer session, router at tcp/localhost:7447
//! let node = ctx.create_node("talker").await?;
//! let publisher = node.create_publisher::<RosString>("chatter", QosProfile::default()).await?;
//! publisher.publish(RosString { data: "hello".into() }).await?;
//! # Ok(()) }
//! ```

pub mod action;
mod activity;
mod alloc;
pub mod args;
pub mod config;
mod context;
mod error;
pub mod graph;
mod intra;
pub mod lifecycle;
pub mod logging;
pub mod names;
mod node;
pub mod param_services;
pub mod params;
mod publisher;
pub mod qos;
mod queue;
mod router;
mod service;
mod subscription;
pub mod tf;
pub mod time;
pub mod wire;

pub use alloc::tune_allocator_for_large_messages;
pub use context::{Context, ContextOptions};
pub use error::{Error, NameError, Result, WireError};
pub use graph::Graph;
pub use node::{Node, NodeOptions};
pub use publisher::{Publisher, RawPublisher};
pub use qos::{Durability, History, QosProfile, Reliability};
pub use router::Router;
pub use service::{Client, RawClient, ServiceServer};
pub use subscription::{RawMessage, RawSubscription, StatsSnapshot, Subscription};
pub use time::{Clock, ClockKind, Rate, Time, Timer, TimerEvent};

pub use embody_msgs as msgs;
