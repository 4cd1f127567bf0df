//! The transform tree over time, as tf2 keeps it: no middleware here (the listener and
//! broadcasters in `tf` feed it from `/tf` and `/tf_static`).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use nalgebra::{Isometry3, Translation3, UnitQuaternion};
use thiserror::Error;

use crate::time::Time;

/// Why a transform cannot be looked up; the variants are tf2's.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TfError {
    /// A frame nobody has published.
    #[error("frame `{0}` does not exist")]
    UnknownFrame(String),
    /// The frames are in different trees.
    #[error("`{target}` and `{from}` are not connected (they are in different trees)")]
    Unconnected {
        /// Target frame.
        target: String,
        /// Source frame.
        from: String,
    },
    /// The time is before the oldest data of a frame on the path.
    #[error(
        "lookup would require extrapolation into the past: requested {requested:.6} s but the earliest data for `{frame}` is at {earliest:.6} s"
    )]
    ExtrapolationPast {
        /// Frame lacking data.
        frame: String,
        /// Requested time (s).
        requested: f64,
        /// Oldest data (s).
        earliest: f64,
    },
    /// The time is after the newest data of a frame on the path.
    #[error(
        "lookup would require extrapolation into the future: requested {requested:.6} s but the latest data for `{frame}` is at {latest:.6} s"
    )]
    ExtrapolationFuture {
        /// Frame lacking data.
        frame: String,
        /// Requested time (s).
        requested: f64,
        /// Newest data (s).
        latest: f64,
    },
}

/// A frame's link to its parent: fixed, or a history of stamped poses.
#[derive(Debug, Clone)]
enum Link {
    Static(Isometry3<f64>),
    Dynamic(BTreeMap<Time, Isometry3<f64>>),
}

#[derive(Debug, Clone)]
struct Frame {
    parent: String,
    link: Link,
}

/// Stamped transforms between frames, with lookups through the tree at any time.
#[derive(Debug, Clone)]
pub struct TfBuffer {
    frames: HashMap<String, Frame>,
    cache: Duration,
}

impl Default for TfBuffer {
    fn default() -> Self {
        Self::new(Duration::from_secs(10))
    }
}

/// Linear interpolation of translation and spherical of rotation, tf2's scheme.
fn interpolate(a: &Isometry3<f64>, b: &Isometry3<f64>, s: f64) -> Isometry3<f64> {
    let t = a.translation.vector.lerp(&b.translation.vector, s);
    let r = a
        .rotation
        .try_slerp(&b.rotation, s, 1e-9)
        .unwrap_or(if s < 0.5 { a.rotation } else { b.rotation });
    Isometry3::from_parts(Translation3::from(t), r)
}

impl TfBuffer {
    /// A buffer keeping `cache` of history per dynamic frame (tf2's default is 10 s).
    pub fn new(cache: Duration) -> Self {
        Self {
            frames: HashMap::new(),
            cache,
        }
    }

    /// Records `parent -> child` at `stamp` (`is_static`: valid at every time).
    pub fn set_transform(
        &mut self,
        parent: &str,
        child: &str,
        stamp: Time,
        pose: Isometry3<f64>,
        is_static: bool,
    ) {
        let parent = parent.trim_start_matches('/').to_owned();
        let child = child.trim_start_matches('/').to_owned();
        if is_static {
            self.frames.insert(
                child,
                Frame {
                    parent,
                    link: Link::Static(pose),
                },
            );
            return;
        }
        let frame = self.frames.entry(child).or_insert_with(|| Frame {
            parent: parent.clone(),
            link: Link::Dynamic(BTreeMap::new()),
        });
        frame.parent = parent;
        if let Link::Static(_) = frame.link {
            frame.link = Link::Dynamic(BTreeMap::new());
        }
        if let Link::Dynamic(history) = &mut frame.link {
            history.insert(stamp, pose);
            let newest = history.keys().next_back().copied().unwrap_or(stamp);
            let cutoff =
                Time::from_nanos(newest.nanos.saturating_sub(self.cache.as_nanos() as i64));
            while history.len() > 1 && history.keys().next().is_some_and(|t| *t < cutoff) {
                history.pop_first();
            }
        }
    }

    /// Every frame the buffer knows (children and their parents).
    pub fn frames(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .frames
            .keys()
            .cloned()
            .chain(self.frames.values().map(|f| f.parent.clone()))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    fn known(&self, f: &str) -> bool {
        self.frames.contains_key(f) || self.frames.values().any(|x| x.parent == f)
    }

    /// `f` and its ancestors up to the root, `f` first.
    fn path_to_root(&self, f: &str) -> Vec<String> {
        let mut path = vec![f.to_owned()];
        let mut cur = f;
        while let Some(frame) = self.frames.get(cur) {
            // A cycle would be a publisher bug; stop rather than loop.
            if path.contains(&frame.parent) {
                break;
            }
            path.push(frame.parent.clone());
            cur = &frame.parent;
        }
        path
    }

    fn link_at(&self, child: &str, t: Time) -> Result<Isometry3<f64>, TfError> {
        let frame = self
            .frames
            .get(child)
            .ok_or_else(|| TfError::UnknownFrame(child.to_owned()))?;
        let history = match &frame.link {
            Link::Static(p) => return Ok(*p),
            Link::Dynamic(h) => h,
        };
        let (first, last) = match (history.iter().next(), history.iter().next_back()) {
            (Some(f), Some(l)) => (f, l),
            _ => return Err(TfError::UnknownFrame(child.to_owned())),
        };
        if t < *first.0 {
            return Err(TfError::ExtrapolationPast {
                frame: child.to_owned(),
                requested: t.as_secs_f64(),
                earliest: first.0.as_secs_f64(),
            });
        }
        if t > *last.0 {
            return Err(TfError::ExtrapolationFuture {
                frame: child.to_owned(),
                requested: t.as_secs_f64(),
                latest: last.0.as_secs_f64(),
            });
        }
        let before = history.range(..=t).next_back().unwrap_or(first);
        let after = history.range(t..).next().unwrap_or(last);
        if before.0 == after.0 {
            return Ok(*before.1);
        }
        let s = (t.nanos - before.0.nanos) as f64 / (after.0.nanos - before.0.nanos) as f64;
        Ok(interpolate(before.1, after.1, s))
    }

    /// The newest time at which every dynamic link on `links` has data (tf2's time 0).
    fn latest_common(&self, links: &[String]) -> Time {
        links
            .iter()
            .filter_map(|c| match &self.frames.get(c)?.link {
                Link::Dynamic(h) => h.keys().next_back().copied(),
                Link::Static(_) => None,
            })
            .min()
            .unwrap_or(Time::ZERO)
    }

    /// The pose of `source` in `target` at `time` (`Time::ZERO`: the latest time all links
    /// on the path have data), i.e. the transform taking points in `source` to `target`.
    pub fn lookup_transform(
        &self,
        target: &str,
        source: &str,
        time: Time,
    ) -> Result<(Isometry3<f64>, Time), TfError> {
        let (target, source) = (
            target.trim_start_matches('/'),
            source.trim_start_matches('/'),
        );
        for f in [target, source] {
            if !self.known(f) {
                return Err(TfError::UnknownFrame(f.to_owned()));
            }
        }
        if target == source {
            return Ok((Isometry3::identity(), time));
        }
        let up_source = self.path_to_root(source);
        let up_target = self.path_to_root(target);
        let common = up_source
            .iter()
            .position(|f| up_target.contains(f))
            .ok_or_else(|| TfError::Unconnected {
                target: target.to_owned(),
                from: source.to_owned(),
            })?;
        let ancestor = &up_source[common];
        let target_len = up_target.iter().position(|f| f == ancestor).unwrap_or(0);
        // The frames whose link to their parent lies on the path.
        let links: Vec<String> = up_source[..common]
            .iter()
            .chain(up_target[..target_len].iter())
            .cloned()
            .collect();
        let t = if time == Time::ZERO {
            self.latest_common(&links)
        } else {
            time
        };
        let mut ancestor_from_source = Isometry3::identity();
        for f in &up_source[..common] {
            ancestor_from_source = self.link_at(f, t)? * ancestor_from_source;
        }
        let mut ancestor_from_target = Isometry3::identity();
        for f in &up_target[..target_len] {
            ancestor_from_target = self.link_at(f, t)? * ancestor_from_target;
        }
        Ok((ancestor_from_target.inverse() * ancestor_from_source, t))
    }
}

/// A rotation about z, for tests and simple planar poses.
pub fn yaw(angle: f64) -> UnitQuaternion<f64> {
    UnitQuaternion::from_euler_angles(0.0, 0.0, angle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{Point3, Vector3};

    fn pose(x: f64, y: f64, z: f64, heading: f64) -> Isometry3<f64> {
        Isometry3::from_parts(Translation3::new(x, y, z), yaw(heading))
    }

    fn s(secs: f64) -> Time {
        Time::from_secs_f64(secs)
    }

    fn car() -> TfBuffer {
        let mut b = TfBuffer::default();
        b.set_transform("map", "odom", s(0.0), pose(100.0, 50.0, 0.0, 0.0), true);
        b.set_transform("odom", "base_link", s(1.0), pose(0.0, 0.0, 0.0, 0.0), false);
        b.set_transform(
            "odom",
            "base_link",
            s(2.0),
            pose(10.0, 0.0, 0.0, std::f64::consts::FRAC_PI_2),
            false,
        );
        b.set_transform("base_link", "lidar", s(0.0), pose(1.5, 0.0, 1.8, 0.0), true);
        b
    }

    #[test]
    fn chains_interpolate_translation_and_slerp_rotation() {
        let b = car();
        // Halfway: base_link at x = 5, heading 45 degrees.
        let (t, stamp) = b.lookup_transform("map", "lidar", s(1.5)).unwrap();
        assert_eq!(stamp, s(1.5));
        let lidar_origin = t * Point3::origin();
        let h = std::f64::consts::FRAC_PI_4;
        let expected = Vector3::new(100.0 + 5.0 + 1.5 * h.cos(), 50.0 + 1.5 * h.sin(), 1.8);
        assert!(
            (lidar_origin.coords - expected).norm() < 1e-12,
            "{lidar_origin}"
        );
        assert!((t.rotation.angle() - h).abs() < 1e-12);
        // And back: the inverse lookup composes to identity.
        let (back, _) = b.lookup_transform("lidar", "map", s(1.5)).unwrap();
        assert!(((back * t).translation.vector).norm() < 1e-9);
    }

    #[test]
    fn time_zero_means_latest_common_time() {
        let b = car();
        let (t, stamp) = b.lookup_transform("odom", "lidar", Time::ZERO).unwrap();
        assert_eq!(stamp, s(2.0));
        let p = t * Point3::origin();
        assert!(
            (p.coords - Vector3::new(10.0, 1.5, 1.8)).norm() < 1e-12,
            "{p}"
        );
    }

    #[test]
    fn tf2_errors() {
        let mut b = car();
        assert_eq!(
            b.lookup_transform("map", "camera", s(1.5)).unwrap_err(),
            TfError::UnknownFrame("camera".into())
        );
        b.set_transform("world", "table", s(0.0), pose(0.0, 0.0, 0.7, 0.0), true);
        assert_eq!(
            b.lookup_transform("map", "table", s(1.5))
                .unwrap_err()
                .to_string(),
            "`map` and `table` are not connected (they are in different trees)"
        );
        assert_eq!(
            b.lookup_transform("map", "lidar", s(0.5))
                .unwrap_err()
                .to_string(),
            "lookup would require extrapolation into the past: requested 0.500000 s but the earliest data for `base_link` is at 1.000000 s"
        );
        assert!(matches!(
            b.lookup_transform("map", "lidar", s(2.5)),
            Err(TfError::ExtrapolationFuture { .. })
        ));
        // Static-only paths are valid at any time.
        assert!(b.lookup_transform("base_link", "lidar", s(1e6)).is_ok());
    }

    #[test]
    fn history_is_bounded_by_the_cache_length() {
        let mut b = TfBuffer::new(Duration::from_secs(1));
        for i in 0..100 {
            b.set_transform(
                "odom",
                "base_link",
                s(i as f64 * 0.1),
                pose(i as f64, 0.0, 0.0, 0.0),
                false,
            );
        }
        assert!(matches!(
            b.lookup_transform("odom", "base_link", s(8.0)),
            Err(TfError::ExtrapolationPast { .. })
        ));
        let (t, _) = b.lookup_transform("odom", "base_link", s(9.45)).unwrap();
        assert!((t.translation.vector.x - 94.5).abs() < 1e-9);
    }
}
