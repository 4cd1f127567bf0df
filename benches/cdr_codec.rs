//! CDR codec throughput against a plain memcpy of the same bytes, measured in the same run.
//!
//! Run: `cargo bench --bench cdr_codec`. Absolute numbers depend on the machine; the ratios
//! are the figures (target: PointCloud2 encode and decode >= 0.5x memcpy bandwidth).

use std::hint::black_box;
use std::time::{Duration, Instant};

use embody_msgs::Message;
use embody_msgs::geometry_msgs::msg::{Twist, Vector3};
use embody_msgs::sensor_msgs::msg::{PointCloud2, PointField};
use embody_msgs::std_msgs::msg::Header;

/// Median time per iteration of `f` over `rounds` rounds of `iters` iterations.
fn measure(rounds: usize, iters: usize, mut f: impl FnMut()) -> Duration {
    for _ in 0..iters {
        f(); // warm caches and the allocator
    }
    let mut samples: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            start.elapsed() / iters as u32
        })
        .collect();
    samples.sort();
    samples[rounds / 2]
}

fn mb_per_s(bytes: usize, t: Duration) -> f64 {
    bytes as f64 / t.as_secs_f64() / 1e6
}

fn cloud(bytes: usize) -> PointCloud2 {
    let fields = ["x", "y", "z", "intensity"]
        .iter()
        .enumerate()
        .map(|(i, n)| PointField {
            name: (*n).into(),
            offset: 4 * i as u32,
            datatype: PointField::FLOAT32,
            count: 1,
        })
        .collect();
    PointCloud2 {
        header: Header {
            frame_id: "lidar".into(),
            ..Default::default()
        },
        height: 1,
        width: (bytes / 16) as u32,
        fields,
        is_bigendian: false,
        point_step: 16,
        row_step: bytes as u32,
        data: (0..bytes).map(|i| (i * 31 % 251) as u8).collect(),
        is_dense: true,
    }
}

fn row(csv: &mut Vec<String>, name: &str, bytes: usize, t: Duration, base: Duration) {
    let ratio = base.as_secs_f64() / t.as_secs_f64();
    println!(
        "{name:<28} {:>10.1} MB/s {:>12.3} us/op   {ratio:>5.2}x memcpy",
        mb_per_s(bytes, t),
        t.as_secs_f64() * 1e6
    );
    csv.push(format!(
        "BENCH_CSV,cdr,{name},{bytes},{:.1},{:.3},{ratio:.3}",
        mb_per_s(bytes, t),
        t.as_secs_f64() * 1e6
    ));
}

fn main() {
    let mut csv = Vec::new();
    let msg = cloud(4 * 1024 * 1024);
    let encoded = msg.to_cdr().expect("encode");
    let n = encoded.len();
    println!(
        "PointCloud2 with {} bytes of data ({} bytes encoded)",
        msg.data.len(),
        n
    );

    let mut dst = vec![0u8; n];
    let memcpy = measure(15, 20, || {
        dst.copy_from_slice(black_box(&encoded));
        black_box(&dst);
    });
    let memcpy_alloc = measure(15, 20, || {
        black_box(black_box(&encoded).to_vec());
    });
    let mut buf = Vec::with_capacity(n);
    let encode = measure(15, 20, || {
        black_box(&msg).to_cdr_into(&mut buf).expect("encode");
        black_box(&buf);
    });
    let encode_alloc = measure(15, 20, || {
        black_box(black_box(&msg).to_cdr().expect("encode"));
    });
    let decode = measure(15, 20, || {
        black_box(PointCloud2::from_cdr(black_box(&encoded)).expect("decode"));
    });
    println!(
        "{:<28} {:>10.1} MB/s {:>12.3} us/op",
        "memcpy (baseline)",
        mb_per_s(n, memcpy),
        memcpy.as_secs_f64() * 1e6
    );
    row(&mut csv, "memcpy+alloc (to_vec)", n, memcpy_alloc, memcpy);
    row(&mut csv, "encode PointCloud2 (reuse)", n, encode, memcpy);
    row(
        &mut csv,
        "encode PointCloud2 (alloc)",
        n,
        encode_alloc,
        memcpy,
    );
    row(&mut csv, "decode PointCloud2", n, decode, memcpy);

    let twist = Twist {
        linear: Vector3 {
            x: 1.0,
            y: 2.0,
            z: 3.0,
        },
        angular: Vector3 {
            x: 0.1,
            y: 0.2,
            z: 0.3,
        },
    };
    let tb = twist.to_cdr().expect("encode");
    let mut small = vec![0u8; tb.len()];
    println!("\nTwist ({} bytes encoded)", tb.len());
    let small_memcpy = measure(15, 200_000, || {
        small.copy_from_slice(black_box(&tb));
        black_box(&small);
    });
    let mut tbuf = Vec::with_capacity(64);
    let t_enc = measure(15, 200_000, || {
        black_box(&twist).to_cdr_into(&mut tbuf).expect("encode");
        black_box(&tbuf);
    });
    let t_dec = measure(15, 200_000, || {
        black_box(Twist::from_cdr(black_box(&tb)).expect("decode"));
    });
    println!(
        "{:<28} {:>10.1} MB/s {:>12.3} us/op",
        "memcpy (baseline)",
        mb_per_s(tb.len(), small_memcpy),
        small_memcpy.as_secs_f64() * 1e6
    );
    row(
        &mut csv,
        "encode Twist (reuse)",
        tb.len(),
        t_enc,
        small_memcpy,
    );
    row(&mut csv, "decode Twist", tb.len(), t_dec, small_memcpy);

    let enc_ratio = memcpy.as_secs_f64() / encode.as_secs_f64();
    let dec_ratio = memcpy.as_secs_f64() / decode.as_secs_f64();
    println!(
        "\nlarge-message target (>= 0.50x memcpy): encode {enc_ratio:.2}x {}, decode {dec_ratio:.2}x {}",
        if enc_ratio >= 0.5 { "met" } else { "MISSED" },
        if dec_ratio >= 0.5 { "met" } else { "MISSED" }
    );
    println!();
    for line in csv {
        println!("{line}");
    }
}
