//! Reading the x, y, z of `sensor_msgs/PointCloud2` whatever its layout, and moving the points
//! into the frame perception works in.

use embody_msgs::sensor_msgs::msg::{PointCloud2, PointField};
use nalgebra::{Isometry3, Point3};

/// Why a cloud could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CloudError {
    /// One of x, y, z is not among the fields.
    #[error("the cloud has no `{0}` field (fields: {1})")]
    MissingField(&'static str, String),
    /// A coordinate field is not FLOAT32 or FLOAT64.
    #[error(
        "field `{field}` has datatype {datatype}; x, y and z must be FLOAT32 (7) or FLOAT64 (8)"
    )]
    UnsupportedDatatype {
        /// The field's name.
        field: &'static str,
        /// Its `PointField` datatype number.
        datatype: u8,
    },
    /// A field reaches past the end of a point.
    #[error("field `{field}` at offset {offset} does not fit in point_step {point_step}")]
    FieldOutsidePoint {
        /// The field's name.
        field: &'static str,
        /// Its offset in the point.
        offset: u32,
        /// The declared point size.
        point_step: u32,
    },
    /// `data` is shorter than width × height points say.
    #[error("data holds {have} bytes but {height} rows of row_step {row_step} need {need}")]
    Truncated {
        /// Bytes present.
        have: usize,
        /// Bytes the header promises.
        need: usize,
        /// Rows.
        height: u32,
        /// Bytes per row.
        row_step: u32,
    },
    /// A row cannot hold `width` points.
    #[error("row_step {row_step} is smaller than width {width} × point_step {point_step}")]
    RowTooShort {
        /// Bytes per row.
        row_step: u32,
        /// Points per row.
        width: u32,
        /// Bytes per point.
        point_step: u32,
    },
}

/// The finite points of a cloud and how many were not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Xyz {
    /// Points whose three coordinates are finite, in the cloud's order.
    pub points: Vec<Point3<f32>>,
    /// Points dropped for a NaN or infinite coordinate (organised clouds mark gaps so).
    pub non_finite: usize,
}

#[derive(Clone, Copy)]
struct Coordinate {
    offset: usize,
    double: bool,
}

fn coordinate(msg: &PointCloud2, name: &'static str) -> Result<Coordinate, CloudError> {
    let Some(f) = msg.fields.iter().find(|f| f.name == name) else {
        let names: Vec<&str> = msg.fields.iter().map(|f| f.name.as_str()).collect();
        return Err(CloudError::MissingField(name, names.join(", ")));
    };
    let double = match f.datatype {
        PointField::FLOAT32 => false,
        PointField::FLOAT64 => true,
        other => {
            return Err(CloudError::UnsupportedDatatype {
                field: name,
                datatype: other,
            });
        }
    };
    let size = if double { 8 } else { 4 };
    if u64::from(f.offset) + size > u64::from(msg.point_step) {
        return Err(CloudError::FieldOutsidePoint {
            field: name,
            offset: f.offset,
            point_step: msg.point_step,
        });
    }
    Ok(Coordinate {
        offset: f.offset as usize,
        double,
    })
}

/// Reads the x, y, z of every point, in the cloud's frame.
pub fn read_xyz(msg: &PointCloud2) -> Result<Xyz, CloudError> {
    let [x, y, z] = [
        coordinate(msg, "x")?,
        coordinate(msg, "y")?,
        coordinate(msg, "z")?,
    ];
    let (width, height) = (msg.width as usize, msg.height as usize);
    let step = msg.point_step as usize;
    if (msg.row_step as u64) < msg.width as u64 * msg.point_step as u64 {
        return Err(CloudError::RowTooShort {
            row_step: msg.row_step,
            width: msg.width,
            point_step: msg.point_step,
        });
    }
    let need = msg.row_step as usize * height;
    let data: &[u8] = &msg.data;
    if data.len() < need {
        return Err(CloudError::Truncated {
            have: data.len(),
            need,
            height: msg.height,
            row_step: msg.row_step,
        });
    }
    let big = msg.is_bigendian;
    // Offsets were checked against point_step and rows against the data length, so every
    // slice below is in bounds.
    let read = |point: &[u8], c: Coordinate| -> f32 {
        if c.double {
            let b: [u8; 8] = point[c.offset..c.offset + 8].try_into().unwrap_or([0; 8]);
            (if big {
                f64::from_be_bytes(b)
            } else {
                f64::from_le_bytes(b)
            }) as f32
        } else {
            let b: [u8; 4] = point[c.offset..c.offset + 4].try_into().unwrap_or([0; 4]);
            if big {
                f32::from_be_bytes(b)
            } else {
                f32::from_le_bytes(b)
            }
        }
    };
    let mut out = Xyz {
        points: Vec::with_capacity(width * height),
        non_finite: 0,
    };
    for row in 0..height {
        let row_data = &data[row * msg.row_step as usize..];
        for i in 0..width {
            let point = &row_data[i * step..(i + 1) * step];
            let p = Point3::new(read(point, x), read(point, y), read(point, z));
            if p.coords.iter().all(|v| v.is_finite()) {
                out.points.push(p);
            } else {
                out.non_finite += 1;
            }
        }
    }
    Ok(out)
}

/// Moves `points` by `pose` (e.g. sensor → odom), in place.
pub fn transform(points: &mut [Point3<f32>], pose: &Isometry3<f64>) {
    let m = pose.to_homogeneous().cast::<f32>();
    for p in points {
        let v = m * p.to_homogeneous();
        *p = Point3::new(v.x, v.y, v.z);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embody_msgs::std_msgs::msg::Header;

    fn field(name: &str, offset: u32, datatype: u8) -> PointField {
        PointField {
            name: name.into(),
            offset,
            datatype,
            count: 1,
        }
    }

    fn cloud(
        fields: Vec<PointField>,
        step: u32,
        width: u32,
        data: Vec<u8>,
        big: bool,
    ) -> PointCloud2 {
        PointCloud2 {
            header: Header::default(),
            height: 1,
            width,
            fields,
            is_bigendian: big,
            point_step: step,
            row_step: step * width,
            data: data.into(),
            is_dense: false,
        }
    }

    #[test]
    fn reads_float32_with_padding_and_drops_nan() {
        // 16-byte points: x y z then 4 bytes of intensity nobody reads.
        let mut data = Vec::new();
        for p in [
            [1.0f32, 2.0, 3.0, 9.0],
            [f32::NAN, 0.0, 0.0, 9.0],
            [-4.0, 5.5, 0.25, 9.0],
        ] {
            for v in p {
                data.extend_from_slice(&v.to_le_bytes());
            }
        }
        let msg = cloud(
            vec![
                field("x", 0, PointField::FLOAT32),
                field("y", 4, PointField::FLOAT32),
                field("z", 8, PointField::FLOAT32),
            ],
            16,
            3,
            data,
            false,
        );
        let xyz = read_xyz(&msg).unwrap();
        assert_eq!(xyz.non_finite, 1);
        assert_eq!(
            xyz.points,
            vec![Point3::new(1.0, 2.0, 3.0), Point3::new(-4.0, 5.5, 0.25)]
        );
    }

    #[test]
    fn reads_big_endian_float64_in_any_field_order() {
        let mut data = Vec::new();
        for v in [3.0f64, 1.0, 2.0] {
            data.extend_from_slice(&v.to_be_bytes());
        }
        let msg = cloud(
            vec![
                field("z", 0, PointField::FLOAT64),
                field("x", 8, PointField::FLOAT64),
                field("y", 16, PointField::FLOAT64),
            ],
            24,
            1,
            data,
            true,
        );
        assert_eq!(
            read_xyz(&msg).unwrap().points,
            vec![Point3::new(1.0, 2.0, 3.0)]
        );
    }

    #[test]
    fn malformed_clouds_are_errors_not_panics() {
        let xyz = || {
            vec![
                field("x", 0, PointField::FLOAT32),
                field("y", 4, PointField::FLOAT32),
                field("z", 8, PointField::FLOAT32),
            ]
        };
        let no_z = cloud(xyz()[..2].to_vec(), 12, 0, vec![], false);
        assert_eq!(
            read_xyz(&no_z).unwrap_err().to_string(),
            "the cloud has no `z` field (fields: x, y)"
        );
        let ints = cloud(
            vec![
                field("x", 0, PointField::INT16),
                field("y", 4, 7),
                field("z", 8, 7),
            ],
            12,
            0,
            vec![],
            false,
        );
        assert!(matches!(
            read_xyz(&ints),
            Err(CloudError::UnsupportedDatatype {
                field: "x",
                datatype: 3
            })
        ));
        let short = cloud(xyz(), 12, 2, vec![0; 20], false);
        assert_eq!(
            read_xyz(&short).unwrap_err(),
            CloudError::Truncated {
                have: 20,
                need: 24,
                height: 1,
                row_step: 24
            }
        );
        let outside = cloud(xyz(), 10, 1, vec![0; 10], false);
        assert!(matches!(
            read_xyz(&outside),
            Err(CloudError::FieldOutsidePoint { field: "z", .. })
        ));
        let mut rows = cloud(xyz(), 12, 2, vec![0; 24], false);
        rows.row_step = 12;
        assert!(matches!(
            read_xyz(&rows),
            Err(CloudError::RowTooShort { .. })
        ));
    }

    #[test]
    fn transform_moves_points_into_the_target_frame() {
        // A sensor 1.8 m up, turned 90° left: its +x is the world's +y.
        let pose = Isometry3::new(
            nalgebra::Vector3::new(10.0, 0.0, 1.8),
            nalgebra::Vector3::z() * std::f64::consts::FRAC_PI_2,
        );
        let mut pts = vec![Point3::new(2.0f32, 0.0, -1.8)];
        transform(&mut pts, &pose);
        assert!((pts[0] - Point3::new(10.0, 2.0, 0.0)).norm() < 1e-5);
    }
}
