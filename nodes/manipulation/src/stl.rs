//! Vertices of STL meshes (binary or ASCII), enough to wrap a link in a bounding shape.

use std::path::Path;

use nalgebra::Point3;

/// Why a mesh could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StlError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The bytes are neither binary nor ASCII STL.
    #[error("{path}: not an STL file ({why})")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
}

/// Reads every vertex of an STL file (duplicates included).
pub fn read_vertices(path: &Path) -> Result<Vec<Point3<f64>>, StlError> {
    let bytes = std::fs::read(path).map_err(|source| StlError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_vertices(&bytes).map_err(|why| StlError::Format {
        path: path.display().to_string(),
        why,
    })
}

/// Parses STL bytes. Binary files are recognised by their size (84 + 50 bytes per triangle),
/// because many binary exporters also start the header with "solid".
pub fn parse_vertices(bytes: &[u8]) -> Result<Vec<Point3<f64>>, String> {
    if bytes.len() >= 84 {
        let n = u32::from_le_bytes([bytes[80], bytes[81], bytes[82], bytes[83]]) as usize;
        if n.checked_mul(50).and_then(|b| b.checked_add(84)) == Some(bytes.len()) {
            return Ok(binary(&bytes[84..], n));
        }
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "binary size mismatch".to_string())?;
    if !text.trim_start().starts_with("solid") {
        return Err("no 'solid' header and size does not match a binary STL".into());
    }
    let mut out = Vec::new();
    for (lineno, line) in text.lines().enumerate() {
        let mut parts = line.split_whitespace();
        if parts.next() != Some("vertex") {
            continue;
        }
        let mut v = [0.0; 3];
        for slot in &mut v {
            *slot = parts
                .next()
                .and_then(|p| p.parse::<f64>().ok())
                .filter(|x| x.is_finite())
                .ok_or_else(|| format!("line {}: bad vertex", lineno + 1))?;
        }
        out.push(Point3::from(v));
    }
    if out.is_empty() {
        return Err("no vertices".into());
    }
    Ok(out)
}

fn binary(body: &[u8], n: usize) -> Vec<Point3<f64>> {
    let f = |o: usize| f32::from_le_bytes([body[o], body[o + 1], body[o + 2], body[o + 3]]) as f64;
    let mut out = Vec::with_capacity(3 * n);
    for t in 0..n {
        // 12 bytes of normal, then three vertices of 12 bytes, then 2 attribute bytes.
        let base = t * 50 + 12;
        for k in 0..3 {
            let o = base + 12 * k;
            out.push(Point3::new(f(o), f(o + 4), f(o + 8)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ascii_and_binary() {
        let ascii = "solid t\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nvertex 0 1 0\nendloop\nendfacet\nendsolid t\n";
        assert_eq!(parse_vertices(ascii.as_bytes()).expect("ascii").len(), 3);
        let mut bin = vec![0u8; 80];
        bin.extend_from_slice(&1u32.to_le_bytes());
        bin.extend_from_slice(&[0u8; 12]);
        for v in [[0f32, 0., 0.], [2., 0., 0.], [0., 3., 0.]] {
            for c in v {
                bin.extend_from_slice(&c.to_le_bytes());
            }
        }
        bin.extend_from_slice(&[0, 0]);
        let v = parse_vertices(&bin).expect("binary");
        assert_eq!(v[2], Point3::new(0.0, 3.0, 0.0));
        assert!(parse_vertices(b"hello").is_err());
    }
}
