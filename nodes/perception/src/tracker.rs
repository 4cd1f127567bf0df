//! Multi-object tracking.

/// What a detected object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// Not recognised.
    Unknown,
    /// A passenger car.
    Car,
    /// A truck or bus.
    Truck,
    /// A motorcycle with rider.
    Motorcycle,
    /// A bicycle with rider.
    Bicycle,
    /// An adult pedestrian.
    Pedestrian,
    /// A child pedestrian.
    Child,
    /// A cup on a table.
    Cup,
    /// A box on a table.
    Box,
}

/// One object found in one frame, in the tracking frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Detection {
    /// Box centre x (m).
    pub x: f64,
    /// Box centre y (m).
    pub y: f64,
    /// Box centre z (m).
    pub z: f64,
    /// Heading of the length axis about z (rad).
    pub yaw: f64,
    /// Extent along the heading (m), at least `width`.
    pub length: f64,
    /// Extent across the heading (m).
    pub width: f64,
    /// Vertical extent (m).
    pub height: f64,
    /// What the object is.
    pub class: Class,
    /// Confidence of `class` in [0, 1].
    pub confidence: f32,
    /// Number of sensor points that make up the object.
    pub points: usize,
}
