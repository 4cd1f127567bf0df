// scratch: not committed
fn main() {
    use embody_perception::segment::*;
    let args: Vec<String> = std::env::args().collect();
    let path = &args[1];
    let data = std::fs::read(path).unwrap();
    // file: f32 x y z triples, then origin 3 f64
    let n = (data.len() - 24) / 12;
    let mut pts = Vec::new();
    for i in 0..n {
        let f = |k: usize| {
            f32::from_le_bytes(data[i * 12 + k * 4..i * 12 + k * 4 + 4].try_into().unwrap())
        };
        pts.push(nalgebra::Point3::new(f(0), f(1), f(2)));
    }
    let o =
        |k: usize| f64::from_le_bytes(data[n * 12 + k * 8..n * 12 + k * 8 + 8].try_into().unwrap());
    let origin = nalgebra::Point3::new(o(0), o(1), o(2));
    let s = Segmenter::new(SegmentParams::road()).unwrap();
    let out = s.segment(&pts, origin).unwrap();
    println!(
        "origin {origin:?} points {} ground {} obstacle {}",
        pts.len(),
        out.ground_points,
        out.obstacle_points
    );
    for d in &out.detections {
        if (d.x - origin.x).abs() < 60.0 {
            println!(
                "{:?} ({:.2},{:.2},{:.2}) yaw {:.1}° {:.2}x{:.2}x{:.2} conf {:.2} pts {}",
                d.class,
                d.x,
                d.y,
                d.z,
                d.yaw.to_degrees(),
                d.length,
                d.width,
                d.height,
                d.confidence,
                d.points
            );
        }
    }
}
