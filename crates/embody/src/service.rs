//! Services over zenoh queryables, as rmw_zenoh does them: the server's queryable is
//! declared complete, the client's query carries the attachment, and the reply echoes the
//! request's sequence number and client GID.

use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use embody_msgs::{Message, Service};
use zenoh::liveliness::LivelinessToken;
use zenoh::query::{ConsolidationMode, Query, QueryTarget};

use crate::error::{Error, Result};
use crate::node::Node;
use crate::qos::QosProfile;
use crate::wire::{Attachment, Entity, EntityKind, TopicInfo, data_key, now_ns};

/// Requests one server handles at the same time.
const MAX_CONCURRENT_REQUESTS: usize = 16;

/// A service server. Dropping it withdraws the service.
pub struct ServiceServer<S: Service> {
    name: String,
    handled: Arc<AtomicU64>,
    rejected: Arc<AtomicU64>,
    _queryable: zenoh::query::Queryable<()>,
    _token: LivelinessToken,
    _s: PhantomData<fn(S)>,
}

fn endpoint(node: &Node, kind: EntityKind, fq: &str, dds: &str, hash: &str) -> Entity {
    node.endpoint(
        kind,
        TopicInfo {
            name: fq.to_owned(),
            dds_type: dds.to_owned(),
            type_hash: hash.to_owned(),
            qos: QosProfile::services_default(),
        },
    )
}

impl<S: Service> ServiceServer<S> {
    pub(crate) async fn new<F>(node: &Node, name: &str, handler: F) -> Result<Self>
    where
        F: Fn(S::Request) -> S::Response + Send + Sync + 'static,
    {
        let ctx = &node.inner.ctx;
        let fq = node.resolve_name(name)?;
        let key = data_key(ctx.domain_id(), &fq, S::DDS_TYPE_NAME, S::TYPE_HASH);
        let entity = endpoint(
            node,
            EntityKind::ServiceServer,
            &fq,
            S::DDS_TYPE_NAME,
            S::TYPE_HASH,
        );
        let handler = Arc::new(handler);
        let handled = Arc::new(AtomicU64::new(0));
        let rejected = Arc::new(AtomicU64::new(0));
        let runtime = tokio::runtime::Handle::current();
        // Handlers are user code and may block: they run on tokio's blocking pool, at most
        // MAX_CONCURRENT_REQUESTS at a time per server, so a flood of queries from the
        // network queues up instead of spawning without bound.
        let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_REQUESTS));
        let (h, r, service) = (handled.clone(), rejected.clone(), fq.clone());
        let queryable = ctx
            .inner
            .session
            .declare_queryable(key)
            .complete(true)
            .callback(move |query: Query| {
                let (handler, permits) = (handler.clone(), permits.clone());
                let (h, r, service) = (h.clone(), r.clone(), service.clone());
                runtime.spawn(async move {
                    let Ok(_permit) = permits.acquire_owned().await else {
                        return;
                    };
                    let (query, outcome) = match tokio::task::spawn_blocking(move || {
                        let outcome = answer::<S>(&query, &*handler);
                        (query, outcome)
                    })
                    .await
                    {
                        Ok(done) => done,
                        Err(e) => {
                            // The query went down with the handler; the client gets no reply
                            // and reports that no server answered.
                            r.fetch_add(1, Ordering::Relaxed);
                            tracing::error!(service, "service handler panicked: {e}");
                            return;
                        }
                    };
                    match outcome {
                        Ok((bytes, att)) => {
                            h.fetch_add(1, Ordering::Relaxed);
                            let reply = query
                                .reply(query.key_expr().clone(), bytes)
                                .attachment(att.to_bytes().to_vec());
                            if let Err(e) = reply.await {
                                tracing::warn!(service, "cannot send a reply: {e}");
                            }
                        }
                        Err(why) => {
                            r.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(service, "rejecting a request: {why}");
                            let _ = query.reply_err(why).await;
                        }
                    }
                });
            })
            .await
            .map_err(Error::zenoh)?;
        let token = ctx.declare_token(&entity).await?;
        Ok(Self {
            name: fq,
            handled,
            rejected,
            _queryable: queryable,
            _token: token,
            _s: PhantomData,
        })
    }

    /// The fully qualified service name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Requests answered so far.
    pub fn handled(&self) -> u64 {
        self.handled.load(Ordering::Relaxed)
    }

    /// Requests rejected (no attachment, undecodable payload).
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }
}

fn answer<S: Service>(
    query: &Query,
    handler: &(dyn Fn(S::Request) -> S::Response + Send + Sync),
) -> Result<(Vec<u8>, Attachment), String> {
    let att = query
        .attachment()
        .ok_or_else(|| "request without the rmw_zenoh attachment".to_owned())
        .and_then(|a| Attachment::parse(&a.to_bytes()).map_err(|e| e.to_string()))?;
    let payload = query
        .payload()
        .ok_or_else(|| "request without a payload".to_owned())?;
    let req = S::Request::from_cdr(&payload.to_bytes())
        .map_err(|e| format!("request does not decode as {}: {e}", S::TYPE_NAME))?;
    let resp = handler(req);
    let bytes = resp
        .to_cdr()
        .map_err(|e| format!("response does not encode: {e}"))?;
    Ok((
        bytes,
        Attachment {
            sequence_number: att.sequence_number,
            source_timestamp: now_ns(),
            gid: att.gid,
        },
    ))
}

/// A service client.
pub struct Client<S: Service> {
    raw: RawClient,
    _s: PhantomData<fn(S)>,
}

impl<S: Service> Client<S> {
    pub(crate) async fn new(node: &Node, name: &str) -> Result<Self> {
        Ok(Self {
            raw: RawClient::new(node, name, S::TYPE_NAME, S::TYPE_HASH).await?,
            _s: PhantomData,
        })
    }

    /// The fully qualified service name.
    pub fn name(&self) -> &str {
        self.raw.name()
    }

    /// Waits until a server for this service and type shows up in the graph.
    pub async fn wait_for_service(&self, timeout: Duration) -> Result<()> {
        self.raw.wait_for_service(timeout).await
    }

    /// Calls the service and waits at most `timeout` for the response.
    pub async fn call(&self, request: &S::Request, timeout: Duration) -> Result<S::Response> {
        let bytes = self.raw.call(request.to_cdr()?, timeout).await?;
        Ok(S::Response::from_cdr(&bytes)?)
    }
}

/// A client for a service type known by name and hash at run time (`embody service call`).
pub struct RawClient {
    node: Node,
    name: String,
    key: String,
    gid: [u8; 16],
    seq: AtomicI64,
    dds_type: String,
    _token: LivelinessToken,
}

impl RawClient {
    pub(crate) async fn new(
        node: &Node,
        name: &str,
        type_name: &str,
        type_hash: &str,
    ) -> Result<Self> {
        let ctx = &node.inner.ctx;
        let fq = node.resolve_name(name)?;
        let dds = crate::wire::dds_type_name(type_name)
            .ok_or_else(|| Error::UnknownType(type_name.to_owned()))?;
        let key = data_key(ctx.domain_id(), &fq, &dds, type_hash);
        let entity = endpoint(node, EntityKind::ServiceClient, &fq, &dds, type_hash);
        let token = ctx.declare_token(&entity).await?;
        Ok(Self {
            node: node.clone(),
            name: fq,
            key,
            gid: entity.gid(),
            seq: AtomicI64::new(1),
            dds_type: dds,
            _token: token,
        })
    }

    /// Waits until a server for this service and type shows up in the graph.
    pub async fn wait_for_service(&self, timeout: Duration) -> Result<()> {
        let graph = self.node.context().graph().await?;
        graph
            .wait_until(timeout, |g| {
                g.endpoints(&self.name, EntityKind::ServiceServer)
                    .iter()
                    .any(|e| {
                        e.topic
                            .as_ref()
                            .is_some_and(|t| t.dds_type == self.dds_type)
                    })
            })
            .await
    }

    /// Sends a CDR request and returns the CDR response of the first server to answer.
    pub async fn call(&self, request: Vec<u8>, timeout: Duration) -> Result<Vec<u8>> {
        let att = Attachment {
            sequence_number: self.seq.fetch_add(1, Ordering::Relaxed),
            source_timestamp: now_ns(),
            gid: self.gid,
        };
        let replies = self
            .node
            .context()
            .session()
            .get(&self.key)
            .payload(request)
            .attachment(att.to_bytes().to_vec())
            .target(QueryTarget::AllComplete)
            .consolidation(ConsolidationMode::None)
            // Longer than ours, so running out of time is reported as a timeout, while a
            // query that no queryable matches ends at once ("no server").
            .timeout(timeout.saturating_add(Duration::from_secs(1)))
            .await
            .map_err(Error::zenoh)?;
        let failed = |message: String| Error::Service {
            service: self.name.clone(),
            message,
        };
        let reply = match tokio::time::timeout(timeout, replies.recv_async()).await {
            Err(_) => return Err(Error::Timeout(timeout)),
            Ok(Err(_)) => return Err(failed(self.why_no_answer().await)),
            Ok(Ok(r)) => r,
        };
        match reply.result() {
            Ok(sample) => Ok(sample.payload().to_bytes().into_owned()),
            Err(e) => Err(failed(
                String::from_utf8_lossy(&e.payload().to_bytes()).into_owned(),
            )),
        }
    }

    /// The fully qualified service name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Explains a query that ended without a reply: no server at all, or servers that
    /// announce another type or type hash (which zenoh never routes to).
    async fn why_no_answer(&self) -> String {
        let servers = match self.node.context().graph().await {
            Ok(g) => g.endpoints(&self.name, EntityKind::ServiceServer),
            Err(_) => Vec::new(),
        };
        let others: Vec<String> = servers
            .iter()
            .filter_map(|e| e.topic.as_ref())
            .filter(|t| {
                !self
                    .key
                    .ends_with(&format!("{}/{}", t.dds_type, t.type_hash))
            })
            .map(|t| format!("{} {}", t.dds_type, t.type_hash))
            .collect();
        if others.is_empty() {
            "no server answered (is one running?)".to_owned()
        } else {
            format!(
                "no server answered; servers of this name offer {} but this client uses {} (different definitions of the type)",
                others.join(", "),
                self.key
                    .rsplit_once('/')
                    .map(|(_, h)| h)
                    .unwrap_or_default()
            )
        }
    }
}
