//! `embody router`: zenoh's own router mode with rmw_zenohd's settings.

use crate::config::router_config;
use crate::error::{Error, Result};

/// A running zenoh router. It stops when dropped or closed.
pub struct Router {
    session: zenoh::Session,
}

impl Router {
    /// Starts a router listening on `listen` (default `tcp/[::]:7447`, like rmw_zenohd).
    pub async fn start(listen: &[String]) -> Result<Self> {
        let config = router_config(listen)?;
        let session = zenoh::open(config).await.map_err(Error::zenoh)?;
        Ok(Self { session })
    }

    /// The router's zenoh id.
    pub fn zid(&self) -> String {
        self.session.zid().to_string()
    }

    /// Stops the router.
    pub async fn close(self) -> Result<()> {
        self.session.close().await.map_err(Error::zenoh)
    }
}
