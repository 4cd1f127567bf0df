//! Typed ROS 2 interfaces, generated at build time from `msgs/interfaces/<pkg>/{msg,srv,action}`.
//!
//! ```
//! use embody_msgs::{Message, geometry_msgs::msg::Twist};
//! let mut t = Twist::default();
//! t.linear.x = 1.0;
//! let bytes = t.to_cdr().unwrap();
//! assert_eq!(Twist::from_cdr(&bytes).unwrap(), t);
//! assert_eq!(Twist::TYPE_NAME, "geometry_msgs/msg/Twist");
//! ```

use std::fmt::Debug;

pub use embody_cdr::{CdrDecode, CdrEncode, DecodeError, EncodeError};

mod registry;
pub use registry::{InterfaceKind, TranscodeError, TypeInfo, find, registry, type_set};

include!(concat!(env!("OUT_DIR"), "/embody_interfaces.rs"));

/// A message type: CDR codec plus the names and hash rmw_zenoh and rosbag2 need.
pub trait Message:
    CdrEncode + CdrDecode + Clone + Debug + Default + PartialEq + Send + Sync + 'static
{
    /// ROS type name, e.g. `geometry_msgs/msg/Twist`.
    const TYPE_NAME: &'static str;
    /// DDS type name used in rmw_zenoh key expressions, e.g. `geometry_msgs::msg::dds_::Twist_`.
    const DDS_TYPE_NAME: &'static str;
    /// `RIHS01_…` type hash.
    const TYPE_HASH: &'static str;
    /// `ros2msg` schema text, as rosbag2 stores it in MCAP.
    const SCHEMA: &'static str;

    /// Serializes into a CDR payload with the little-endian encapsulation header.
    fn to_cdr(&self) -> Result<Vec<u8>, EncodeError> {
        embody_cdr::to_bytes(self)
    }

    /// Serializes into `buf`, replacing its contents but keeping its allocation, so a
    /// publisher that reuses one buffer does not allocate per message.
    fn to_cdr_into(&self, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        let mut w = embody_cdr::CdrWriter::from_vec(std::mem::take(buf));
        w.reserve(self.size_hint() + 64);
        let result = self.encode(&mut w);
        *buf = w.finish();
        result
    }

    /// Serializes into segments, large byte sequences shared rather than copied (for a
    /// transport that can send a list of buffers, such as zenoh).
    fn to_cdr_segments(&self) -> Result<Vec<embody_cdr::Segment>, EncodeError> {
        embody_cdr::to_segments(self)
    }

    /// Deserializes from a CDR payload of either endianness.
    fn from_cdr(bytes: &[u8]) -> Result<Self, DecodeError> {
        embody_cdr::from_bytes(bytes)
    }

    /// Deserializes with byte sequences (`uint8[]` data of clouds and images) sharing
    /// `bytes` rather than copied out of it.
    fn from_cdr_shared(bytes: &embody_cdr::Bytes) -> Result<Self, DecodeError> {
        embody_cdr::from_shared(bytes)
    }
}

/// A service type: its request, response and introspection event messages.
pub trait Service: 'static + Send + Sync {
    /// Request message (`Foo_Request`).
    type Request: Message;
    /// Response message (`Foo_Response`).
    type Response: Message;
    /// Service introspection event (`Foo_Event`).
    type Event: Message;
    /// ROS type name, e.g. `std_srvs/srv/Trigger`.
    const TYPE_NAME: &'static str;
    /// DDS type name rmw_zenoh uses for the service key, e.g. `std_srvs::srv::dds_::Trigger_`.
    const DDS_TYPE_NAME: &'static str;
    /// `RIHS01_…` hash of the service type.
    const TYPE_HASH: &'static str;
}

/// An action type and the services and messages the ROS 2 action protocol derives from it.
pub trait Action: 'static + Send + Sync {
    /// Goal message.
    type Goal: Message;
    /// Result message.
    type Result: Message;
    /// Feedback message.
    type Feedback: Message;
    /// `<action>/_action/send_goal` service.
    type SendGoal: Service;
    /// `<action>/_action/get_result` service.
    type GetResult: Service;
    /// Message on `<action>/_action/feedback`.
    type FeedbackMessage: Message;
    /// ROS type name, e.g. `control_msgs/action/FollowJointTrajectory`.
    const TYPE_NAME: &'static str;
    /// `RIHS01_…` hash of the action type.
    const TYPE_HASH: &'static str;

    /// `Foo_SendGoal_Request { goal_id, goal }`.
    fn send_goal_request(goal_id: Uuid, goal: Self::Goal) -> <Self::SendGoal as Service>::Request;
    /// The goal id and goal of a send-goal request.
    fn split_send_goal_request(r: <Self::SendGoal as Service>::Request) -> (Uuid, Self::Goal);
    /// `Foo_SendGoal_Response { accepted, stamp }`.
    fn send_goal_response(accepted: bool, stamp: TimeMsg) -> <Self::SendGoal as Service>::Response;
    /// Whether a send-goal response accepts the goal.
    fn send_goal_accepted(r: &<Self::SendGoal as Service>::Response) -> bool;
    /// `Foo_GetResult_Request { goal_id }`.
    fn get_result_request(goal_id: Uuid) -> <Self::GetResult as Service>::Request;
    /// The goal id of a get-result request.
    fn get_result_request_id(r: &<Self::GetResult as Service>::Request) -> Uuid;
    /// `Foo_GetResult_Response { status, result }`.
    fn get_result_response(
        status: i8,
        result: Self::Result,
    ) -> <Self::GetResult as Service>::Response;
    /// The status and result of a get-result response.
    fn split_get_result_response(r: <Self::GetResult as Service>::Response) -> (i8, Self::Result);
    /// `Foo_FeedbackMessage { goal_id, feedback }`.
    fn feedback_message(goal_id: Uuid, feedback: Self::Feedback) -> Self::FeedbackMessage;
    /// The goal id and feedback of a feedback message.
    fn split_feedback_message(m: &Self::FeedbackMessage) -> (Uuid, Self::Feedback);
}

/// A goal id (`unique_identifier_msgs/UUID`).
pub type Uuid = unique_identifier_msgs::msg::UUID;
/// A `builtin_interfaces/Time`.
pub type TimeMsg = builtin_interfaces::msg::Time;

/// Includes the code that `embody_idl::build::compile_interfaces` generated for a crate with
/// its own interface packages.
#[macro_export]
macro_rules! include_interfaces {
    () => {
        include!(concat!(env!("OUT_DIR"), "/embody_interfaces.rs"));
    };
}

#[doc(hidden)]
pub mod __private {
    pub use embody_cdr as cdr;
    pub use serde;

    /// Decode-then-encode with a compiled type (see `TypeInfo::transcode`).
    pub fn transcode<T: crate::Message>(bytes: &[u8]) -> Result<Vec<u8>, crate::TranscodeError> {
        Ok(T::from_cdr(bytes)?.to_cdr()?)
    }

    /// serde for fixed arrays longer than 32, which serde does not cover itself.
    pub mod big_array {
        use serde::de::{Deserialize, Deserializer, Error};
        use serde::ser::{Serialize, Serializer};

        /// Serializes as a sequence.
        pub fn serialize<S: Serializer, T: Serialize, const N: usize>(
            a: &[T; N],
            s: S,
        ) -> Result<S::Ok, S::Error> {
            s.collect_seq(a.iter())
        }

        /// Deserializes a sequence of exactly `N` elements.
        pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>, const N: usize>(
            d: D,
        ) -> Result<[T; N], D::Error> {
            let v = Vec::<T>::deserialize(d)?;
            let len = v.len();
            v.try_into().map_err(|_| {
                D::Error::custom(format!("expected an array of {N} elements, found {len}"))
            })
        }
    }
}
