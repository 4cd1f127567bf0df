//! TF: the transform buffer fed from `/tf` and `/tf_static`, lookups that wait, and the
//! broadcasters. The tree itself is [`TfBuffer`], a plain data structure.

mod buffer;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use embody_msgs::geometry_msgs::msg::{Quaternion, Transform, TransformStamped, Vector3};
use embody_msgs::tf2_msgs::msg::TFMessage;
use nalgebra::{Isometry3, Translation3, UnitQuaternion};
use tokio::sync::watch;

pub use buffer::{TfBuffer, TfError, yaw};

use crate::error::Result;
use crate::node::Node;
use crate::publisher::Publisher;
use crate::qos::QosProfile;
use crate::subscription::Subscription;
use crate::time::Time;

/// Heading (rotation about z) of a quaternion, radians: what planar nodes read from poses.
pub fn yaw_of(q: &Quaternion) -> f64 {
    (2.0 * (q.w * q.z + q.x * q.y)).atan2(1.0 - 2.0 * (q.y * q.y + q.z * q.z))
}

/// A rotation about z as a message quaternion.
pub fn yaw_quaternion(yaw: f64) -> Quaternion {
    Quaternion {
        x: 0.0,
        y: 0.0,
        z: (yaw / 2.0).sin(),
        w: (yaw / 2.0).cos(),
    }
}

/// `geometry_msgs/Transform` to an isometry (the quaternion is normalized).
pub fn isometry_from_msg(t: &Transform) -> Isometry3<f64> {
    let q = nalgebra::Quaternion::new(t.rotation.w, t.rotation.x, t.rotation.y, t.rotation.z);
    Isometry3::from_parts(
        Translation3::new(t.translation.x, t.translation.y, t.translation.z),
        UnitQuaternion::from_quaternion(q),
    )
}

/// An isometry to `geometry_msgs/Transform`.
pub fn isometry_to_msg(p: &Isometry3<f64>) -> Transform {
    let q = p.rotation.quaternion();
    Transform {
        translation: Vector3 {
            x: p.translation.x,
            y: p.translation.y,
            z: p.translation.z,
        },
        rotation: Quaternion {
            x: q.i,
            y: q.j,
            z: q.k,
            w: q.w,
        },
    }
}

/// A `TransformStamped` from parts.
pub fn transform_stamped(
    parent: &str,
    child: &str,
    stamp: Time,
    pose: &Isometry3<f64>,
) -> TransformStamped {
    let mut t = TransformStamped {
        child_frame_id: child.to_owned(),
        transform: isometry_to_msg(pose),
        ..Default::default()
    };
    t.header.frame_id = parent.to_owned();
    t.header.stamp = stamp.to_msg();
    t
}

fn ingest(
    buffer: &Mutex<TfBuffer>,
    changed: &watch::Sender<u64>,
    msg: &TFMessage,
    is_static: bool,
) {
    {
        let mut b = buffer.lock().unwrap_or_else(|e| e.into_inner());
        for t in &msg.transforms {
            b.set_transform(
                &t.header.frame_id,
                &t.child_frame_id,
                Time::from_msg(&t.header.stamp),
                isometry_from_msg(&t.transform),
                is_static,
            );
        }
    }
    changed.send_modify(|v| *v += 1);
}

/// Listens to `/tf` and `/tf_static` and answers lookups, waiting for data when asked.
pub struct TransformListener {
    buffer: Arc<Mutex<TfBuffer>>,
    changed: Arc<watch::Sender<u64>>,
    _tf: Subscription<TFMessage>,
    _tf_static: Subscription<TFMessage>,
}

impl TransformListener {
    /// Subscribes on `node` (`/tf` keep last 100, `/tf_static` transient local, as tf2_ros).
    pub async fn new(node: &Node) -> Result<Self> {
        let buffer = Arc::new(Mutex::new(TfBuffer::default()));
        let changed = Arc::new(watch::Sender::new(0u64));
        let (b, c) = (buffer.clone(), changed.clone());
        let tf = node
            .create_subscription_with::<TFMessage, _>(
                "/tf",
                QosProfile::keep_last(100),
                move |m: Arc<TFMessage>| ingest(&b, &c, &m, false),
            )
            .await?;
        let (b, c) = (buffer.clone(), changed.clone());
        let tf_static = node
            .create_subscription_with::<TFMessage, _>(
                "/tf_static",
                QosProfile::transient_local(1),
                move |m: Arc<TFMessage>| ingest(&b, &c, &m, true),
            )
            .await?;
        Ok(Self {
            buffer,
            changed,
            _tf: tf,
            _tf_static: tf_static,
        })
    }

    /// Looks a transform up now (see [`TfBuffer::lookup_transform`]).
    pub fn lookup_transform(
        &self,
        target: &str,
        source: &str,
        time: Time,
    ) -> Result<(Isometry3<f64>, Time), TfError> {
        self.buffer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .lookup_transform(target, source, time)
    }

    /// Looks a transform up, waiting up to `timeout` for the data it needs; on timeout the
    /// error is the last lookup's (what is still missing).
    pub async fn wait_for_transform(
        &self,
        target: &str,
        source: &str,
        time: Time,
        timeout: Duration,
    ) -> Result<(Isometry3<f64>, Time), TfError> {
        let mut rx = self.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let result = self.lookup_transform(target, source, time);
            if result.is_ok() {
                return result;
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                _ => return result,
            }
        }
    }

    /// A copy of the buffer as it is now.
    pub fn snapshot(&self) -> TfBuffer {
        self.buffer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Publishes dynamic transforms on `/tf`.
pub struct TransformBroadcaster {
    publisher: Publisher<TFMessage>,
}

impl TransformBroadcaster {
    /// A broadcaster on `node`.
    pub async fn new(node: &Node) -> Result<Self> {
        Ok(Self {
            publisher: node
                .create_publisher("/tf", QosProfile::keep_last(100))
                .await?,
        })
    }

    /// Publishes transforms.
    pub async fn send(&self, transforms: Vec<TransformStamped>) -> Result<()> {
        self.publisher.publish(TFMessage { transforms }).await
    }

    /// Waits until a listener in another session is connected, so the next transforms
    /// reach it (`/tf` is volatile: transforms sent before that are not kept).
    pub async fn publisher_ready(&self, timeout: Duration) -> Result<()> {
        self.publisher.wait_for_remote_subscriber(timeout).await
    }
}

/// Publishes static transforms on `/tf_static`, latched: each call republishes every static
/// transform sent so far, so late joiners get the whole set from the one kept message.
pub struct StaticTransformBroadcaster {
    publisher: Publisher<TFMessage>,
    all: tokio::sync::Mutex<Vec<TransformStamped>>,
}

impl StaticTransformBroadcaster {
    /// A static broadcaster on `node`.
    pub async fn new(node: &Node) -> Result<Self> {
        Ok(Self {
            publisher: node
                .create_publisher("/tf_static", QosProfile::transient_local(1))
                .await?,
            all: Default::default(),
        })
    }

    /// Adds (or replaces, by child frame) static transforms and republishes the set.
    pub async fn send(&self, transforms: Vec<TransformStamped>) -> Result<()> {
        let mut all = self.all.lock().await;
        for t in transforms {
            all.retain(|x| x.child_frame_id != t.child_frame_id);
            all.push(t);
        }
        self.publisher
            .publish(TFMessage {
                transforms: all.clone(),
            })
            .await
    }
}
