//! A per-cycle trace of the planner for diagnosing stack runs: the scenario runner silences
//! the stack's output, so `EMBODY_PLANNING_TRACE=FILE` makes the planning node append one
//! line per cycle (ego, HAD behaviour, AES state and reason, the threat) to FILE.

use std::fs::File;
use std::io::{BufWriter, Write};

use crate::planner::Output;
use crate::types::Inputs;

/// The trace file, when one was asked for.
#[derive(Debug, Default)]
pub struct Trace {
    out: Option<BufWriter<File>>,
}

impl Trace {
    /// Opens the file named by `EMBODY_PLANNING_TRACE`; no trace when unset or unopenable.
    pub fn from_env() -> Self {
        let out = std::env::var_os("EMBODY_PLANNING_TRACE")
            .and_then(|path| File::options().create(true).append(true).open(path).ok())
            .map(BufWriter::new);
        Self { out }
    }

    /// Appends one cycle; a failing write ends the trace rather than the node.
    pub fn cycle(&mut self, inputs: &Inputs, out: &Output) {
        let Some(w) = self.out.as_mut() else {
            return;
        };
        let e = &inputs.ego;
        let a = &out.aes;
        let first = out.trajectory.points.get(5);
        let line = format!(
            "t={:.2} x={:.2} y={:.2} yaw={:.3} v={:.2} a={:.2} beh={:?} want={:.2} blocked={} state={:?} reason={:?} man={:?} n={} ttc={:?} need={:?} obj={:?} hit={:?} p5=({:.2},{:.2},v{:.2},a{:.2})\n",
            inputs.time,
            e.x,
            e.y,
            e.yaw,
            e.v,
            e.a,
            out.behaviour,
            out.had_accel,
            out.had_blocked,
            a.state,
            a.reason,
            a.manoeuvre,
            a.manoeuvres,
            a.ttc,
            a.required_decel,
            a.object,
            out.had_contact,
            first.map_or(0.0, |p| p.x),
            first.map_or(0.0, |p| p.y),
            first.map_or(0.0, |p| p.v),
            first.map_or(0.0, |p| p.a),
        );
        if w.write_all(line.as_bytes())
            .and_then(|()| w.flush())
            .is_err()
        {
            self.out = None;
        }
    }
}
