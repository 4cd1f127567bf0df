//! Manipulation: URDF, kinematics, inverse kinematics, motion planning and pick and place.
