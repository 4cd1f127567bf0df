//! ROS names: validation, expansion of relative and private names, and remapping rules.

use crate::error::NameError;

fn err(what: &'static str, name: &str, why: impl Into<String>) -> NameError {
    NameError {
        what,
        name: name.to_owned(),
        why: why.into(),
    }
}

fn check_token(what: &'static str, name: &str, token: &str) -> Result<(), NameError> {
    if token.is_empty() {
        return Err(err(what, name, "contains an empty token (`//`)"));
    }
    if token.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(err(
            what,
            name,
            format!("token `{token}` starts with a digit"),
        ));
    }
    if let Some(c) = token
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        return Err(err(
            what,
            name,
            format!("character `{c}` is not allowed (only letters, digits, `_` and `/`)"),
        ));
    }
    Ok(())
}

/// Checks a node name: letters, digits and `_`, not starting with a digit.
pub fn validate_node_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(err("node name", name, "is empty"));
    }
    if name.len() > 255 {
        return Err(err("node name", name, "is longer than 255 characters"));
    }
    check_token("node name", name, name)
}

/// Checks a namespace: absolute, tokens of letters, digits and `_`, no trailing `/`.
pub fn validate_namespace(ns: &str) -> Result<(), NameError> {
    if ns == "/" {
        return Ok(());
    }
    let Some(rest) = ns.strip_prefix('/') else {
        return Err(err("namespace", ns, "must be absolute (start with `/`)"));
    };
    if rest.ends_with('/') {
        return Err(err("namespace", ns, "must not end with `/`"));
    }
    rest.split('/')
        .try_for_each(|t| check_token("namespace", ns, t))
}

/// Checks a fully qualified topic or service name.
pub fn validate_full_name(name: &str) -> Result<(), NameError> {
    let Some(rest) = name.strip_prefix('/') else {
        return Err(err("topic name", name, "must be absolute after expansion"));
    };
    if rest.is_empty() {
        return Err(err("topic name", name, "is only `/`"));
    }
    if rest.ends_with('/') {
        return Err(err("topic name", name, "must not end with `/`"));
    }
    rest.split('/')
        .try_for_each(|t| check_token("topic name", name, t))
}

/// Normalises a namespace given by a user: adds the leading `/`, drops a trailing one.
pub fn normalize_namespace(ns: &str) -> String {
    let t = ns.trim_end_matches('/');
    if t.is_empty() {
        "/".to_owned()
    } else if t.starts_with('/') {
        t.to_owned()
    } else {
        format!("/{t}")
    }
}

/// The fully qualified name of a node.
pub fn node_fq_name(namespace: &str, name: &str) -> String {
    if namespace == "/" {
        format!("/{name}")
    } else {
        format!("{namespace}/{name}")
    }
}

/// Expands a topic or service name as rcl does: `~` is the node's fully qualified name,
/// `{node}` and `{ns}` are substituted, and relative names go under the namespace.
pub fn expand(name: &str, namespace: &str, node_name: &str) -> Result<String, NameError> {
    if name.is_empty() {
        return Err(err("topic name", name, "is empty"));
    }
    let node_fq = node_fq_name(namespace, node_name);
    let ns_sub = if namespace == "/" { "" } else { namespace };
    let mut n = name
        .replace("{node}", node_name)
        .replace("{ns}", ns_sub)
        .replace("{namespace}", ns_sub);
    if let Some(rest) = n.strip_prefix('~') {
        if !(rest.is_empty() || rest.starts_with('/')) {
            return Err(err(
                "topic name",
                name,
                "`~` must be followed by `/` or end the name",
            ));
        }
        n = format!("{node_fq}{rest}");
    } else if !n.starts_with('/') {
        n = if namespace == "/" {
            format!("/{n}")
        } else {
            format!("{namespace}/{n}")
        };
    }
    validate_full_name(&n).map_err(|e| NameError {
        name: name.to_owned(),
        ..e
    })?;
    Ok(n)
}

/// One `--ros-args -r` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remap {
    /// `from:=to` for topics and services, optionally only for one node (`node:from:=to`).
    Name {
        /// Node the rule is limited to.
        node: Option<String>,
        /// Name to match (expanded against the node's namespace).
        from: String,
        /// Replacement.
        to: String,
    },
    /// `__ns:=/ns`.
    Namespace {
        /// Node the rule is limited to.
        node: Option<String>,
        /// New namespace.
        namespace: String,
    },
    /// `__node:=name` (or `__name:=`).
    NodeName {
        /// Node the rule is limited to.
        node: Option<String>,
        /// New name.
        name: String,
    },
}

impl Remap {
    /// Parses `from:=to`, `node:from:=to`, `__ns:=/x`, `__node:=x`.
    pub fn parse(rule: &str) -> Result<Self, String> {
        let (lhs, to) = rule
            .split_once(":=")
            .ok_or_else(|| format!("remap rule `{rule}` needs `from:=to`"))?;
        if to.is_empty() {
            return Err(format!("remap rule `{rule}` has an empty replacement"));
        }
        let (node, from) = match lhs.split_once(':') {
            Some((n, f)) => (Some(n.to_owned()), f),
            None => (None, lhs),
        };
        Ok(match from {
            "__ns" => Remap::Namespace {
                node,
                namespace: normalize_namespace(to),
            },
            "__node" | "__name" => Remap::NodeName {
                node,
                name: to.to_owned(),
            },
            "" => return Err(format!("remap rule `{rule}` has an empty name to match")),
            _ => Remap::Name {
                node,
                from: from.to_owned(),
                to: to.to_owned(),
            },
        })
    }

    fn applies_to(node: &Option<String>, node_name: &str) -> bool {
        node.as_deref().is_none_or(|n| n == node_name)
    }
}

/// Applies node name and namespace rules; returns the (possibly) new name and namespace.
pub fn remap_node(rules: &[Remap], name: &str, namespace: &str) -> (String, String) {
    let (mut new_name, mut new_ns) = (name.to_owned(), namespace.to_owned());
    for r in rules {
        match r {
            Remap::NodeName { node, name: to } if Remap::applies_to(node, name) => {
                new_name = to.clone()
            }
            Remap::Namespace {
                node,
                namespace: ns,
            } if Remap::applies_to(node, name) => new_ns = ns.clone(),
            _ => {}
        }
    }
    (new_name, new_ns)
}

/// Applies the first matching topic/service rule to an already expanded name.
pub fn remap_name(
    rules: &[Remap],
    expanded: &str,
    namespace: &str,
    node_name: &str,
) -> Result<String, NameError> {
    for r in rules {
        if let Remap::Name { node, from, to } = r
            && Remap::applies_to(node, node_name)
            && expand(from, namespace, node_name)? == expanded
        {
            return expand(to, namespace, node_name);
        }
    }
    Ok(expanded.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_follows_rcl() {
        assert_eq!(expand("chatter", "/", "talker").unwrap(), "/chatter");
        assert_eq!(
            expand("chatter", "/robot1", "talker").unwrap(),
            "/robot1/chatter"
        );
        assert_eq!(expand("/abs/x", "/robot1", "talker").unwrap(), "/abs/x");
        assert_eq!(
            expand("~/status", "/robot1", "planner").unwrap(),
            "/robot1/planner/status"
        );
        assert_eq!(expand("~", "/", "planner").unwrap(), "/planner");
        assert_eq!(expand("{node}/out", "/a", "n").unwrap(), "/a/n/out");
    }

    #[test]
    fn invalid_names_say_why() {
        assert_eq!(
            expand("bad name", "/", "n").unwrap_err().to_string(),
            "invalid topic name `bad name`: character ` ` is not allowed (only letters, digits, `_` and `/`)"
        );
        assert_eq!(
            expand("a//b", "/", "n").unwrap_err().to_string(),
            "invalid topic name `a//b`: contains an empty token (`//`)"
        );
        assert_eq!(
            expand("9lives", "/", "n").unwrap_err().to_string(),
            "invalid topic name `9lives`: token `9lives` starts with a digit"
        );
        assert_eq!(
            expand("~x", "/", "n").unwrap_err().to_string(),
            "invalid topic name `~x`: `~` must be followed by `/` or end the name"
        );
        assert_eq!(
            validate_node_name("my-node").unwrap_err().to_string(),
            "invalid node name `my-node`: character `-` is not allowed (only letters, digits, `_` and `/`)"
        );
        assert_eq!(
            validate_namespace("robot").unwrap_err().to_string(),
            "invalid namespace `robot`: must be absolute (start with `/`)"
        );
        assert!(validate_namespace("/a/b").is_ok());
    }

    #[test]
    fn remapping_rules() {
        let rules: Vec<Remap> = [
            "chatter:=/other",
            "talker:status:=state",
            "listener:x:=y",
            "__ns:=robot2",
            "talker:__node:=speaker",
        ]
        .iter()
        .map(|r| Remap::parse(r).unwrap())
        .collect();
        assert_eq!(
            remap_node(&rules, "talker", "/"),
            ("speaker".to_owned(), "/robot2".to_owned())
        );
        assert_eq!(
            remap_node(&rules, "listener", "/"),
            ("listener".to_owned(), "/robot2".to_owned())
        );
        assert_eq!(
            remap_name(&rules, "/robot2/chatter", "/robot2", "talker").unwrap(),
            "/other"
        );
        assert_eq!(
            remap_name(&rules, "/robot2/status", "/robot2", "talker").unwrap(),
            "/robot2/state"
        );
        assert_eq!(
            remap_name(&rules, "/robot2/x", "/robot2", "talker").unwrap(),
            "/robot2/x"
        );
        assert!(Remap::parse("nothing").is_err());
        assert!(Remap::parse("a:=").is_err());
    }
}
