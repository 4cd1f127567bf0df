//! The allowed-collision matrix: pairs of names (links or objects) that are never checked.

use std::collections::HashMap;

/// Why a pair is allowed to touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowReason {
    /// The links are joined by a joint.
    Adjacent,
    /// The links touch in the default (all-zero) configuration.
    Default,
    /// The links never touched over the sampled configurations.
    Never,
    /// The links touched in every sampled configuration.
    Always,
    /// An attached object and a link it rests on or is held by.
    Attached,
    /// Entered by the user.
    User,
}

/// Allowed pairs, symmetric, keyed by name.
#[derive(Debug, Clone, Default)]
pub struct AllowedCollisions {
    pairs: HashMap<(String, String), AllowReason>,
}

fn key(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

impl AllowedCollisions {
    /// Allows `a` and `b` to touch.
    pub fn allow(&mut self, a: &str, b: &str, reason: AllowReason) {
        self.pairs.insert(key(a, b), reason);
    }

    /// Checks `a` against `b` again; returns the reason it was allowed, if it was.
    pub fn disallow(&mut self, a: &str, b: &str) -> Option<AllowReason> {
        self.pairs.remove(&key(a, b))
    }

    /// True if the pair is allowed.
    pub fn is_allowed(&self, a: &str, b: &str) -> bool {
        self.reason(a, b).is_some()
    }

    /// Why the pair is allowed, if it is.
    pub fn reason(&self, a: &str, b: &str) -> Option<AllowReason> {
        // Looking up by borrowed strings would need a custom key type; the matrix is only
        // consulted when the scene changes, not per collision check.
        self.pairs.get(&key(a, b)).copied()
    }

    /// Removes every entry with this reason that mentions `name`.
    pub fn forget(&mut self, name: &str, reason: AllowReason) {
        self.pairs
            .retain(|(a, b), r| !(*r == reason && (a == name || b == name)));
    }

    /// Every allowed pair with its reason.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, AllowReason)> {
        self.pairs
            .iter()
            .map(|((a, b), r)| (a.as_str(), b.as_str(), *r))
    }

    /// Number of allowed pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True if no pair is allowed.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}
