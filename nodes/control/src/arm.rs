//! Arm joint-trajectory following, as ros2_control's joint_trajectory_controller does it with
//! a velocity command interface: the active trajectory is interpolated
//! ([`Spline`]) and each control period commands the reference speed plus a feedback term
//! that closes the gap to the reference ([`tracking_velocity`]). Without a trajectory every
//! joint holds where it was last sent (or where it was first seen).

use crate::joint_trajectory::{JointTrajectory, Spline, TrajectoryError, tracking_velocity};

/// Tuning of the arm controller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArmControllerParams {
    /// Acceleration the feedback may use to close a gap (rad/s² or m/s²).
    pub max_acceleration: f64,
    /// A joint this close to the trajectory's end counts as there (rad or m).
    pub goal_tolerance: f64,
    /// How long after its last point a trajectory may take to arrive before it fails (s).
    pub goal_time_tolerance: f64,
}

impl Default for ArmControllerParams {
    fn default() -> Self {
        Self {
            max_acceleration: 5.0,
            goal_tolerance: 0.01,
            goal_time_tolerance: 3.0,
        }
    }
}

/// The measured joint state, in the controller's joint order.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmState {
    /// Time of the measurement (s).
    pub time: f64,
    /// Joint positions.
    pub positions: Vec<f64>,
    /// Joint velocities.
    pub velocities: Vec<f64>,
}

/// What to send the arm for the next period.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmCommand {
    /// Where the reference is one period ahead (for logs, viewers and position interfaces).
    pub positions: Vec<f64>,
    /// Commanded joint speeds.
    pub velocities: Vec<f64>,
}

/// How the active trajectory stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Still running (or arriving within the goal time tolerance).
    Running,
    /// Past its end and every joint within the goal tolerance.
    Arrived,
    /// Past its end plus the goal time tolerance and some joint still out of tolerance.
    TimedOut,
}

#[derive(Debug, Clone)]
struct Active {
    id: u64,
    spline: Spline,
    start: f64,
    end_positions: Vec<f64>,
    progress: Progress,
}

/// Follows one trajectory at a time over a fixed set of joints.
#[derive(Debug, Clone)]
pub struct ArmController {
    joints: Vec<String>,
    params: ArmControllerParams,
    active: Option<Active>,
    hold: Option<Vec<f64>>,
    next_id: u64,
}

impl ArmController {
    /// A controller for `joints` (their order is the order of states and commands).
    pub fn new(joints: Vec<String>, params: ArmControllerParams) -> Self {
        Self {
            joints,
            params,
            active: None,
            hold: None,
            next_id: 1,
        }
    }

    /// The controlled joints.
    pub fn joints(&self) -> &[String] {
        &self.joints
    }

    /// Starts `traj` from `state` at `start` (s; a point at time 0 replaces the start state).
    /// It replaces whatever ran before; its id tells its progress apart from the next's.
    pub fn start(
        &mut self,
        traj: &JointTrajectory,
        start: f64,
        state: &ArmState,
    ) -> Result<u64, TrajectoryError> {
        let names: Vec<&str> = self.joints.iter().map(String::as_str).collect();
        // Unnamed joints hold where they are told to hold, not where they drifted to.
        let current = self.hold.clone().unwrap_or_else(|| state.positions.clone());
        let points = traj.reordered(&names, &current)?;
        let end_positions = points
            .last()
            .map(|p| p.positions.clone())
            .unwrap_or(current);
        let id = self.next_id;
        self.next_id += 1;
        self.active = Some(Active {
            id,
            spline: Spline::new(&state.positions, &state.velocities, &points),
            start,
            end_positions: end_positions.clone(),
            progress: Progress::Running,
        });
        self.hold = Some(end_positions);
        Ok(id)
    }

    /// Stops following: every joint holds the position it has now.
    pub fn stop(&mut self, state: &ArmState) {
        self.active = None;
        self.hold = Some(state.positions.clone());
    }

    /// The active (or last) trajectory's id and progress.
    pub fn progress(&self) -> Option<(u64, Progress)> {
        self.active.as_ref().map(|a| (a.id, a.progress))
    }

    /// The reference at `time` (positions, velocities), if a trajectory is active.
    pub fn reference(&self, time: f64) -> Option<(Vec<f64>, Vec<f64>)> {
        let a = self.active.as_ref()?;
        let n = self.joints.len();
        let (mut q, mut qd) = (vec![0.0; n], vec![0.0; n]);
        a.spline.sample(time - a.start, &mut q, &mut qd);
        Some((q, qd))
    }

    /// The command for the period `dt` after `state`, and the trajectory's progress updated.
    pub fn command(&mut self, state: &ArmState, dt: f64) -> ArmCommand {
        let n = self.joints.len();
        let dt = if dt.is_finite() && dt > 0.0 { dt } else { 0.02 };
        let hold = self
            .hold
            .get_or_insert_with(|| state.positions.clone())
            .clone();
        let (q_ref, qd_ref) = self
            .reference(state.time + dt)
            .unwrap_or((hold, vec![0.0; n]));
        let velocities = (0..n)
            .map(|j| {
                tracking_velocity(
                    state.positions[j],
                    q_ref[j],
                    qd_ref[j],
                    dt,
                    self.params.max_acceleration,
                )
            })
            .collect();
        if let Some(a) = self.active.as_mut()
            && a.progress == Progress::Running
        {
            let over = state.time - a.start - a.spline.duration();
            let there = a
                .end_positions
                .iter()
                .zip(&state.positions)
                .all(|(goal, q)| (goal - q).abs() <= self.params.goal_tolerance);
            if over >= -1e-9 && there {
                a.progress = Progress::Arrived;
            } else if over > self.params.goal_time_tolerance {
                a.progress = Progress::TimedOut;
            }
        }
        ArmCommand {
            positions: q_ref,
            velocities,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::joint_trajectory::TrajectoryPoint;

    /// A kinematic joint that takes the commanded speed within `amax` per step.
    fn plant(state: &mut ArmState, cmd: &ArmCommand, dt: f64, amax: f64) {
        for j in 0..state.positions.len() {
            let v = cmd.velocities[j].clamp(
                state.velocities[j] - amax * dt,
                state.velocities[j] + amax * dt,
            );
            state.velocities[j] = v;
            state.positions[j] += v * dt;
        }
        state.time += dt;
    }

    fn two_joints() -> ArmController {
        ArmController::new(vec!["a".into(), "b".into()], ArmControllerParams::default())
    }

    #[test]
    fn follows_a_cubic_trajectory_and_arrives() {
        let mut c = two_joints();
        let mut s = ArmState {
            time: 10.0,
            positions: vec![0.0, 0.5],
            velocities: vec![0.0, 0.0],
        };
        // Only `a` is named: `b` holds its 0.5.
        let traj = JointTrajectory {
            joint_names: vec!["a".into()],
            points: vec![TrajectoryPoint {
                positions: vec![1.0],
                velocities: Some(vec![0.0]),
                time_from_start: 2.0,
            }],
        };
        let id = c.start(&traj, s.time, &s).unwrap();
        let dt = 0.02;
        let mut worst: f64 = 0.0;
        for _ in 0..100 {
            let cmd = c.command(&s, dt);
            plant(&mut s, &cmd, dt, 5.0);
            // Hermite from rest to rest: q = 3u² − 2u³ with u = t/2.
            let u = ((s.time - 10.0) / 2.0).min(1.0);
            worst = worst.max((s.positions[0] - (3.0 * u * u - 2.0 * u * u * u)).abs());
            assert!((s.positions[1] - 0.5).abs() < 1e-12);
        }
        // The first period lags by what the acceleration limit takes; then it stays on.
        assert!(worst < 2e-3, "tracking error {worst}");
        let cmd = c.command(&s, dt);
        assert_eq!(c.progress(), Some((id, Progress::Arrived)));
        assert!(cmd.velocities.iter().all(|v| v.abs() < 1e-9), "{cmd:?}");
    }

    #[test]
    fn a_stuck_joint_times_out_and_a_new_trajectory_replaces_the_old() {
        let mut c = two_joints();
        let s = ArmState {
            time: 0.0,
            positions: vec![0.0, 0.0],
            velocities: vec![0.0, 0.0],
        };
        let to = |q: f64| JointTrajectory {
            joint_names: vec!["a".into(), "b".into()],
            points: vec![TrajectoryPoint {
                positions: vec![q, q],
                velocities: None,
                time_from_start: 1.0,
            }],
        };
        let first = c.start(&to(1.0), 0.0, &s).unwrap();
        let mut stuck = s.clone();
        stuck.time = 3.9;
        c.command(&stuck, 0.02);
        assert_eq!(c.progress(), Some((first, Progress::Running)));
        stuck.time = 4.1;
        c.command(&stuck, 0.02);
        assert_eq!(c.progress(), Some((first, Progress::TimedOut)));
        let second = c.start(&to(0.2), 4.1, &stuck).unwrap();
        assert_ne!(first, second);
        assert_eq!(c.progress(), Some((second, Progress::Running)));
        // Unknown joints are refused and leave the running trajectory alone.
        let mut bad = to(0.0);
        bad.joint_names[1] = "elbow".into();
        assert_eq!(
            c.start(&bad, 4.1, &stuck),
            Err(TrajectoryError::UnknownJoint("elbow".into()))
        );
        assert_eq!(c.progress(), Some((second, Progress::Running)));
    }

    #[test]
    fn without_a_trajectory_joints_hold_where_first_seen() {
        let mut c = two_joints();
        let mut s = ArmState {
            time: 0.0,
            positions: vec![0.3, -0.2],
            velocities: vec![0.0, 0.0],
        };
        c.command(&s, 0.02);
        // Pushed away, the feedback brings it back at no more than the acceleration allows.
        s.positions[0] = 0.4;
        let cmd = c.command(&s, 0.02);
        // The gap of 0.1 rad at 5 rad/s² is closed at sqrt(2·5·0.1) = 1 rad/s.
        assert!((cmd.velocities[0] + 1.0).abs() < 1e-9, "{cmd:?}");
        assert_eq!(cmd.positions, vec![0.3, -0.2]);
        assert_eq!(c.progress(), None);
    }
}
