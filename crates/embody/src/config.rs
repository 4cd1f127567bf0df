//! zenoh session configuration, matching rmw_zenoh's defaults so `rmw_zenohd` and
//! `embody router` are interchangeable.

use crate::error::{Error, Result};

/// rmw_zenoh's session defaults (peer, connect to the local router, multicast scouting off,
/// gossip through the router, timestamps for the publication caches).
const SESSION_DEFAULTS: &str = r#"{
  mode: "peer",
  connect: { endpoints: ["tcp/localhost:7447"] },
  listen: { endpoints: ["tcp/localhost:0"] },
  scouting: {
    multicast: { enabled: false },
    gossip: { enabled: true, multihop: false, target: { router: ["router", "peer"], peer: ["router"] },
              autoconnect: { router: [], peer: ["router", "peer"] } },
  },
  timestamping: { enabled: { router: true, peer: true, client: true } },
  queries_default_timeout: 60000,
  open: { return_conditions: { connect_scouted: true, declares: true } },
}"#;

/// What the session connects to and listens on; `None` keeps the defaults / file values.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// Endpoints to connect to (routers), e.g. `tcp/127.0.0.1:7447`.
    pub connect: Option<Vec<String>>,
    /// Endpoints to listen on.
    pub listen: Option<Vec<String>>,
}

fn json_list(v: &[String]) -> String {
    let items: Vec<String> = v
        .iter()
        .map(|e| format!("\"{}\"", e.replace('"', "")))
        .collect();
    format!("[{}]", items.join(","))
}

fn insert(config: &mut zenoh::Config, key: &str, value: &str) -> Result<()> {
    config
        .insert_json5(key, value)
        .map_err(|e| Error::Config(format!("setting `{key}` to `{value}`: {e}")))
}

/// Applies `ZENOH_CONFIG_OVERRIDE="key=value;key=value"` (values are JSON5).
fn apply_overrides(config: &mut zenoh::Config, overrides: &str) -> Result<()> {
    for item in overrides
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let (k, v) = item.split_once('=').ok_or_else(|| {
            Error::Config(format!(
                "ZENOH_CONFIG_OVERRIDE entry `{item}` needs `key=value`"
            ))
        })?;
        insert(config, k.trim(), v.trim())?;
    }
    Ok(())
}

/// The peer session config: `ZENOH_SESSION_CONFIG_URI` if set, else rmw_zenoh's defaults;
/// then `ZENOH_CONFIG_OVERRIDE`; then explicit `options`, which win.
pub fn session_config(options: &SessionOptions) -> Result<zenoh::Config> {
    let mut config = match std::env::var("ZENOH_SESSION_CONFIG_URI") {
        Ok(path) if !path.is_empty() => zenoh::Config::from_file(&path)
            .map_err(|e| Error::Config(format!("ZENOH_SESSION_CONFIG_URI={path}: {e}")))?,
        _ => {
            zenoh::Config::from_json5(SESSION_DEFAULTS).map_err(|e| Error::Config(e.to_string()))?
        }
    };
    if let Ok(o) = std::env::var("ZENOH_CONFIG_OVERRIDE") {
        apply_overrides(&mut config, &o)?;
    }
    if let Some(c) = &options.connect {
        insert(&mut config, "connect/endpoints", &json_list(c))?;
    }
    if let Some(l) = &options.listen {
        insert(&mut config, "listen/endpoints", &json_list(l))?;
    }
    Ok(config)
}

/// A router config: listen on `listen` (default `tcp/[::]:7447` like rmw_zenohd), multicast
/// scouting off, gossip on; `ZENOH_ROUTER_CONFIG_URI` replaces the defaults when set.
pub fn router_config(listen: &[String]) -> Result<zenoh::Config> {
    let mut config = match std::env::var("ZENOH_ROUTER_CONFIG_URI") {
        Ok(path) if !path.is_empty() => zenoh::Config::from_file(&path)
            .map_err(|e| Error::Config(format!("ZENOH_ROUTER_CONFIG_URI={path}: {e}")))?,
        _ => {
            let mut c = zenoh::Config::default();
            insert(&mut c, "mode", "\"router\"")?;
            insert(&mut c, "listen/endpoints", "[\"tcp/[::]:7447\"]")?;
            insert(&mut c, "scouting/multicast/enabled", "false")?;
            insert(&mut c, "scouting/gossip/enabled", "true")?;
            insert(
                &mut c,
                "timestamping/enabled",
                "{router: true, peer: true, client: true}",
            )?;
            insert(&mut c, "routing/router/peers_failover_brokering", "true")?;
            c
        }
    };
    if let Ok(o) = std::env::var("ZENOH_CONFIG_OVERRIDE") {
        apply_overrides(&mut config, &o)?;
    }
    if !listen.is_empty() {
        insert(&mut config, "listen/endpoints", &json_list(listen))?;
    }
    drop_self_connections(&mut config)?;
    Ok(config)
}

/// Removes connect endpoints the router itself listens on: a peer setting such as
/// `ZENOH_CONFIG_OVERRIDE=connect/endpoints=[...]` shared with the router would otherwise
/// make it dial itself forever (zenoh refuses with CONNECTION_TO_SELF every second).
fn drop_self_connections(config: &mut zenoh::Config) -> Result<()> {
    // A JSON list of endpoint strings (endpoints hold no quotes); a map by mode is left alone.
    let list = |key: &str| -> Option<Vec<String>> {
        let j = config.get_json(key).ok()?;
        j.trim_start()
            .starts_with('[')
            .then(|| j.split('"').skip(1).step_by(2).map(str::to_owned).collect())
    };
    let (Some(listen), Some(connect)) = (list("listen/endpoints"), list("connect/endpoints"))
    else {
        return Ok(());
    };
    let local = |e: &str| {
        let e = e
            .replace("localhost", "127.0.0.1")
            .replace("[::1]", "127.0.0.1");
        e.split('#').next().unwrap_or_default().to_owned()
    };
    let port = |e: &str| {
        e.rsplit_once(':')
            .map(|(_, p)| p.split('#').next().unwrap_or(p).to_owned())
    };
    let is_self = |c: &str| {
        listen.iter().any(|l| {
            let wildcard = l.contains("[::]") || l.contains("0.0.0.0");
            let c_local = local(c);
            let loopback = c_local.contains("127.0.0.1");
            local(l) == c_local || (wildcard && loopback && port(l) == port(c))
        })
    };
    let kept: Vec<String> = connect.iter().filter(|e| !is_self(e)).cloned().collect();
    if kept.len() != connect.len() {
        insert(config, "connect/endpoints", &json_list(&kept))?;
    }
    Ok(())
}

/// The ROS domain id from `ROS_DOMAIN_ID` (0 when unset).
pub fn domain_id_from_env() -> Result<u32> {
    match std::env::var("ROS_DOMAIN_ID") {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|_| {
            Error::Config(format!("ROS_DOMAIN_ID=`{v}` is not a non-negative integer"))
        }),
        _ => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_rmw_zenohs_with_multicast_off() {
        let c = session_config(&SessionOptions::default()).unwrap();
        assert_eq!(c.get_json("mode").unwrap(), "\"peer\"");
        assert_eq!(c.get_json("scouting/multicast/enabled").unwrap(), "false");
        assert_eq!(
            c.get_json("connect/endpoints").unwrap(),
            "[\"tcp/localhost:7447\"]"
        );
        let r = router_config(&["tcp/127.0.0.1:17447".into()]).unwrap();
        assert_eq!(r.get_json("mode").unwrap(), "\"router\"");
        assert_eq!(r.get_json("scouting/multicast/enabled").unwrap(), "false");
        assert_eq!(
            r.get_json("listen/endpoints").unwrap(),
            "[\"tcp/127.0.0.1:17447\"]"
        );
    }

    #[test]
    fn a_router_never_dials_the_endpoints_it_listens_on() {
        let with = |listen: &str, connect: &str| {
            let mut c = zenoh::Config::default();
            insert(&mut c, "listen/endpoints", listen).unwrap();
            insert(&mut c, "connect/endpoints", connect).unwrap();
            drop_self_connections(&mut c).unwrap();
            c.get_json("connect/endpoints").unwrap()
        };
        // A peer's shared setting naming the router's own default port.
        assert_eq!(
            with(
                r#"["tcp/[::]:7447"]"#,
                r#"["tcp/localhost:7447","tcp/10.0.0.2:7447"]"#
            ),
            r#"["tcp/10.0.0.2:7447"]"#
        );
        assert_eq!(
            with(r#"["tcp/127.0.0.1:9000"]"#, r#"["tcp/localhost:9000"]"#),
            "[]"
        );
        // Other ports and other hosts stay.
        assert_eq!(
            with(r#"["tcp/127.0.0.1:9000"]"#, r#"["tcp/127.0.0.1:9001"]"#),
            r#"["tcp/127.0.0.1:9001"]"#
        );
    }

    #[test]
    fn overrides_apply_and_bad_ones_are_named() {
        let mut c = zenoh::Config::default();
        apply_overrides(&mut c, "mode=\"client\";scouting/multicast/enabled=false").unwrap();
        assert_eq!(c.get_json("mode").unwrap(), "\"client\"");
        let e = apply_overrides(&mut c, "justakey").unwrap_err().to_string();
        assert_eq!(
            e,
            "zenoh configuration: ZENOH_CONFIG_OVERRIDE entry `justakey` needs `key=value`"
        );
    }
}
