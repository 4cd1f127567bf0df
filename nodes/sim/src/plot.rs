//! A run as a picture, as one self-contained SVG file (no plotting dependency; any browser
//! shows it): for the vehicle world the road from above with every path, and the ego's speed
//! and accelerations over time; for the arm world the table from above before and after.

use std::fmt::Write;

/// What a run leaves behind for its plot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    /// Lane boundaries (right edge first), as polylines.
    pub boundaries: Vec<Vec<(f64, f64)>>,
    /// Actor ids as the scenario names them, by actor number (1-based in frames).
    pub actor_names: Vec<String>,
    /// One entry per published frame.
    pub frames: Vec<TraceFrame>,
    /// Where the ego hit something, if it did.
    pub collision: Option<(f64, f64)>,
}

/// The world at one frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceFrame {
    /// Sim time (s).
    pub t: f64,
    /// Ego position (m).
    pub ego: (f64, f64),
    /// Ego speed (m/s).
    pub speed: f64,
    /// Ego longitudinal and lateral acceleration (m/s²).
    pub accel: (f64, f64),
    /// Actor positions, by actor number − 1.
    pub actors: Vec<(f64, f64)>,
}

/// Maps data coordinates into a panel.
struct Panel {
    x0: f64,
    y0: f64,
    w: f64,
    h: f64,
    xr: (f64, f64),
    yr: (f64, f64),
}

impl Panel {
    fn px(&self, x: f64) -> f64 {
        self.x0 + (x - self.xr.0) / (self.xr.1 - self.xr.0).max(1e-9) * self.w
    }

    fn py(&self, y: f64) -> f64 {
        self.y0 + self.h - (y - self.yr.0) / (self.yr.1 - self.yr.0).max(1e-9) * self.h
    }

    fn polyline(&self, out: &mut String, pts: impl Iterator<Item = (f64, f64)>, style: &str) {
        let d: Vec<String> = pts
            .map(|(x, y)| format!("{:.1},{:.1}", self.px(x), self.py(y)))
            .collect();
        if d.len() > 1 {
            let _ = writeln!(out, r#"<polyline points="{}" {style}/>"#, d.join(" "));
        }
    }

    fn frame(&self, out: &mut String, title: &str) {
        let _ = writeln!(
            out,
            r##"<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#999"/>"##,
            self.x0, self.y0, self.w, self.h
        );
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" font-size="13">{}</text>"#,
            self.x0,
            self.y0 - 5.0,
            escape(title)
        );
        for (v, anchor_y) in [(self.yr.0, self.y0 + self.h), (self.yr.1, self.y0 + 10.0)] {
            let _ = writeln!(
                out,
                r#"<text x="{}" y="{anchor_y}" font-size="10" text-anchor="end">{v:.1}</text>"#,
                self.x0 - 4.0
            );
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo.is_finite() && hi.is_finite() {
        if hi - lo < 1e-6 {
            (lo - 1.0, hi + 1.0)
        } else {
            (lo, hi)
        }
    } else {
        (0.0, 1.0)
    }
}

const COLOURS: [&str; 6] = [
    "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// The opening of an SVG of `width` × `height` pixels with `title` across its top.
fn open_svg(width: f64, height: f64, title: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif">"#
    );
    let _ = writeln!(
        out,
        r#"<text x="10" y="20" font-size="15" font-weight="bold">{}</text>"#,
        escape(title)
    );
    out
}

/// The SVG text for a run titled `title`.
pub fn svg(title: &str, trace: &Trace) -> String {
    let mut out = open_svg(1000.0, 640.0, title);
    // Top-down: x along the data's extent, y exaggerated so lanes stay visible.
    let xs = trace
        .frames
        .iter()
        .flat_map(|f| std::iter::once(f.ego.0).chain(f.actors.iter().map(|a| a.0)));
    let ys = trace
        .frames
        .iter()
        .flat_map(|f| std::iter::once(f.ego.1).chain(f.actors.iter().map(|a| a.1)))
        .chain(trace.boundaries.iter().flatten().map(|p| p.1));
    let xr = range(xs);
    let (ylo, yhi) = range(ys);
    let top = Panel {
        x0: 50.0,
        y0: 45.0,
        w: 920.0,
        h: 220.0,
        xr,
        yr: (ylo - 1.0, yhi + 1.0),
    };
    top.frame(
        &mut out,
        "from above (x m left to right; lateral scale exaggerated): ego blue, actors coloured",
    );
    for b in &trace.boundaries {
        top.polyline(
            &mut out,
            b.iter().copied().filter(|p| p.0 >= xr.0 && p.0 <= xr.1),
            r##"fill="none" stroke="#bbb" stroke-dasharray="6,4""##,
        );
    }
    for (k, name) in trace.actor_names.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        top.polyline(
            &mut out,
            trace.frames.iter().filter_map(|f| f.actors.get(k).copied()),
            &format!(r#"fill="none" stroke="{colour}" stroke-width="2""#),
        );
        if let Some(p) = trace.frames.first().and_then(|f| f.actors.get(k)) {
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" font-size="10" fill="{colour}">{}</text>"#,
                top.px(p.0),
                top.py(p.1) - 4.0,
                escape(name)
            );
        }
    }
    top.polyline(
        &mut out,
        trace.frames.iter().map(|f| f.ego),
        r##"fill="none" stroke="#1f77b4" stroke-width="2.5""##,
    );
    // A tick on the ego path every second.
    for f in trace
        .frames
        .iter()
        .filter(|f| (f.t + 1e-6).rem_euclid(1.0) < 0.02)
    {
        let _ = writeln!(
            out,
            r##"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="#1f77b4"/>"##,
            top.px(f.ego.0),
            top.py(f.ego.1)
        );
    }
    if let Some((x, y)) = trace.collision {
        let _ = writeln!(
            out,
            r##"<circle cx="{:.1}" cy="{:.1}" r="8" fill="none" stroke="#d62728" stroke-width="3"/><text x="{:.1}" y="{:.1}" font-size="12" fill="#d62728">collision</text>"##,
            top.px(x),
            top.py(y),
            top.px(x) + 10.0,
            top.py(y) - 10.0
        );
    }

    let tr = range(trace.frames.iter().map(|f| f.t));
    let speed = Panel {
        x0: 50.0,
        y0: 300.0,
        w: 920.0,
        h: 130.0,
        xr: tr,
        yr: (
            0.0,
            range(trace.frames.iter().map(|f| f.speed * 3.6))
                .1
                .max(10.0),
        ),
    };
    speed.frame(&mut out, "ego speed (km/h) over time (s)");
    speed.polyline(
        &mut out,
        trace.frames.iter().map(|f| (f.t, f.speed * 3.6)),
        r##"fill="none" stroke="#1f77b4" stroke-width="2""##,
    );
    let (alo, ahi) = range(trace.frames.iter().flat_map(|f| [f.accel.0, f.accel.1]));
    let accel = Panel {
        x0: 50.0,
        y0: 465.0,
        w: 920.0,
        h: 130.0,
        xr: tr,
        yr: (alo.min(-1.0), ahi.max(1.0)),
    };
    accel.frame(
        &mut out,
        "ego acceleration (m/s²): longitudinal blue, lateral orange",
    );
    accel.polyline(
        &mut out,
        [(tr.0, 0.0), (tr.1, 0.0)].into_iter(),
        r##"stroke="#ccc""##,
    );
    accel.polyline(
        &mut out,
        trace.frames.iter().map(|f| (f.t, f.accel.0)),
        r##"fill="none" stroke="#1f77b4" stroke-width="1.5""##,
    );
    accel.polyline(
        &mut out,
        trace.frames.iter().map(|f| (f.t, f.accel.1)),
        r##"fill="none" stroke="#ff7f0e" stroke-width="1.5""##,
    );
    let _ = writeln!(
        out,
        r#"<text x="50" y="625" font-size="11">{:.1} s to {:.1} s</text>"#,
        tr.0, tr.1
    );
    out.push_str("</svg>\n");
    out
}

/// The SVG text for an arm run titled `title`: the table from above as the run started and as
/// it ended, with the tray, every object (same colour in both; cups as circles, boxes as
/// rectangles; dashed where it started when it moved) and the arm base.
pub fn arm_svg(
    title: &str,
    start: &crate::table::Tabletop,
    end: &crate::table::Tabletop,
    base: (f64, f64),
) -> String {
    use crate::table::ObjectShape;
    let mut out = open_svg(1000.0, 560.0, title);
    let t = &start.table;
    // The table's corners (it may be turned), the base and the tray bound the view.
    let (c, sn) = (t.yaw.cos(), t.yaw.sin());
    let corners: Vec<(f64, f64)> = [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)]
        .iter()
        .map(|(a, b)| {
            let (dx, dy) = (a * 0.5 * t.length, b * 0.5 * t.width);
            (t.x + c * dx - sn * dy, t.y + sn * dx + c * dy)
        })
        .collect();
    let xr = range(corners.iter().map(|p| p.0).chain([base.0]));
    let yr = range(corners.iter().map(|p| p.1).chain([base.1]));
    let (xr, yr) = ((xr.0 - 0.05, xr.1 + 0.05), (yr.0 - 0.05, yr.1 + 0.05));
    // One scale for x and y, so circles stay round; x (forward from the base) points up.
    let (pw, ph) = (470.0, 490.0);
    let scale = (pw / (yr.1 - yr.0)).min(ph / (xr.1 - xr.0));
    let rect =
        |out: &mut String, x0: f64, cx: f64, cy: f64, yaw: f64, l: f64, w: f64, style: &str| {
            let map = |x: f64, y: f64| (x0 + (yr.1 - y) * scale, 40.0 + (xr.1 - x) * scale);
            let (c, s) = (yaw.cos(), yaw.sin());
            let pts: Vec<String> = [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)]
                .iter()
                .map(|(a, b)| {
                    let (dx, dy) = (a * 0.5 * l, b * 0.5 * w);
                    let (px, py) = map(cx + c * dx - s * dy, cy + s * dx + c * dy);
                    format!("{px:.1},{py:.1}")
                })
                .collect();
            let _ = writeln!(out, r#"<polygon points="{}" {style}/>"#, pts.join(" "));
        };
    for (k, (label, table)) in [("start", start), ("end", end)].into_iter().enumerate() {
        let x0 = 10.0 + k as f64 * (pw + 40.0);
        let map = |x: f64, y: f64| (x0 + (yr.1 - y) * scale, 40.0 + (xr.1 - x) * scale);
        let _ = writeln!(
            out,
            r#"<text x="{x0}" y="35" font-size="13">{label}</text>"#
        );
        let t = &table.table;
        rect(
            &mut out,
            x0,
            t.x,
            t.y,
            t.yaw,
            t.length,
            t.width,
            r##"fill="#f3efe6" stroke="#999""##,
        );
        if let Some(tr) = &table.tray {
            rect(
                &mut out,
                x0,
                tr.x,
                tr.y,
                tr.yaw,
                tr.length,
                tr.width,
                r##"fill="#ddd" stroke="#666""##,
            );
            let inner = |s: f64| s - 2.0 * tr.thickness;
            rect(
                &mut out,
                x0,
                tr.x,
                tr.y,
                tr.yaw,
                inner(tr.length),
                inner(tr.width),
                r##"fill="#eee" stroke="#888""##,
            );
        }
        let (bx, by) = map(base.0, base.1);
        let _ = writeln!(
            out,
            r##"<circle cx="{bx:.1}" cy="{by:.1}" r="9" fill="#333"/><text x="{:.1}" y="{:.1}" font-size="10">arm base</text>"##,
            bx + 12.0,
            by + 4.0
        );
        for (i, o) in table.objects.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let mut draw = |x: f64, y: f64, style: String| match o.shape {
                ObjectShape::Cup { radius, .. } => {
                    let (px, py) = map(x, y);
                    let _ = writeln!(
                        out,
                        r#"<circle cx="{px:.1}" cy="{py:.1}" r="{:.1}" {style}/>"#,
                        radius * scale
                    );
                }
                ObjectShape::Box { length, width, .. } => {
                    rect(&mut out, x0, x, y, o.yaw, length, width, &style);
                }
            };
            let origin = &start.objects[i].base;
            if k == 1 && (origin - o.base).norm() > 1e-6 {
                draw(
                    origin.x,
                    origin.y,
                    format!(r#"fill="none" stroke="{colour}" stroke-dasharray="4 3""#),
                );
            }
            draw(
                o.base.x,
                o.base.y,
                format!(r#"fill="{colour}" fill-opacity="0.8""#),
            );
            let (px, py) = map(o.base.x, o.base.y);
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" font-size="10">{}</text>"#,
                px + 8.0,
                py - 8.0,
                escape(&o.name)
            );
        }
    }
    let _ = writeln!(out, "</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_becomes_an_svg_with_every_path() {
        let frames: Vec<TraceFrame> = (0..=50)
            .map(|k| {
                let t = k as f64 * 0.1;
                TraceFrame {
                    t,
                    ego: (10.0 * t, 1.75),
                    speed: 10.0,
                    accel: (0.0, 0.0),
                    actors: vec![(60.0, 1.75)],
                }
            })
            .collect();
        let trace = Trace {
            // Sampled every metre as the runner does; the plot keeps the part in view.
            boundaries: [0.0, 3.5]
                .iter()
                .map(|&y| (0..=200).map(|x| (f64::from(x), y)).collect())
                .collect(),
            actor_names: vec!["target <gvt>".into()],
            frames,
            collision: Some((50.0, 1.75)),
        };
        let s = svg("ccrs & co", &trace);
        assert!(s.starts_with("<svg") && s.ends_with("</svg>\n"));
        // Title and names escaped; two boundaries, actor, ego, speed, two accelerations and
        // the zero line are polylines.
        assert!(s.contains("ccrs &amp; co") && s.contains("target &lt;gvt&gt;"));
        assert_eq!(s.matches("<polyline").count(), 2 + 1 + 1 + 1 + 2 + 1);
        assert!(s.contains(">collision<"));
        // The ego starts at the panel's left edge and ends at its right edge.
        assert!(s.contains("points=\"50.0,"));
        assert!(s.contains("970.0,"));
    }
}
