//! A crate with its own interface package, `my_robot_msgs`, next to embody's standard ones.

embody_msgs::include_interfaces!();

#[cfg(test)]
mod tests {
    use super::my_robot_msgs::msg::WheelOdometry;
    use super::my_robot_msgs::srv::SetGear;
    use embody_msgs::{Message, Service};

    #[test]
    fn own_types_use_standard_ones_and_get_real_hashes() {
        let mut m = WheelOdometry::default();
        m.header.frame_id = "base_link".into();
        m.wheel_speeds = [1.0, 1.1, 0.9, 1.0];
        m.twist.linear.x = 1.0;
        let bytes = m.to_cdr().unwrap();
        assert_eq!(WheelOdometry::from_cdr(&bytes).unwrap(), m);
        assert_eq!(WheelOdometry::TYPE_NAME, "my_robot_msgs/msg/WheelOdometry");
        assert!(WheelOdometry::TYPE_HASH.starts_with("RIHS01_"));
        assert!(WheelOdometry::SCHEMA.contains("MSG: geometry_msgs/Vector3"));
        assert_eq!(
            <SetGear as Service>::DDS_TYPE_NAME,
            "my_robot_msgs::srv::dds_::SetGear_"
        );
        assert_eq!(super::my_robot_msgs::srv::SetGear_Request::REVERSE, -1);
        assert_eq!(super::INTERFACES.iter().filter(|t| !t.derived).count(), 2);
    }
}
