//! Control: vehicle trajectory tracking and arm joint-trajectory following.
