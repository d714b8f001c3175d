//! The typed Flow admin client: list (with an auto-paging stream), get,
//! create, update, delete, validate, compile, activate, deactivate, and the
//! mock's Mermaid rendering.
//!
//! ```no_run
//! use authflow::FlowsClient;
//! use authflow::api::flows::{CreateFlowRequest, FlowGraph, FlowType, NodeKind};
//! use futures_util::TryStreamExt;
//! use secrecy::SecretString;
//!
//! # async fn run() -> authflow::Result<()> {
//! let flows = FlowsClient::builder()
//!     .token(SecretString::from(std::env::var("FLOWS_ADMIN_TOKEN").unwrap()))
//!     .base_url("https://tenant.example.com")
//!     .build()?;
//! let graph = FlowGraph::builder()
//!     .node("start", NodeKind::Start)
//!     .node("password", NodeKind::PasswordInput)
//!     .node("success", NodeKind::Success)
//!     .edge("start", "password")
//!     .edge("password", "success")
//!     .build();
//! assert!(graph.validate().valid); // locally, before sending
//! let created = flows
//!     .create(&CreateFlowRequest {
//!         name: "password-login".into(),
//!         display_name: "Password login".into(),
//!         description: None,
//!         flow_type: FlowType::Login,
//!         graph,
//!     })
//!     .await?;
//! flows.compile(&created.summary.id).await?;
//! flows.activate(&created.summary.id).await?;
//! let all: Vec<_> = flows.list_all(Default::default()).try_collect().await?;
//! println!("{} flows", all.len());
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{Stream, TryStreamExt};
use secrecy::{ExposeSecret, SecretString};

use crate::api::Endpoint;
use crate::api::flows::{
    ActivateFlow, CompileFlow, CompileResponse, CreateFlowRequest, DeactivateFlow, DeleteFlow,
    Flow, FlowCreated, FlowGraphMermaid, FlowList, FlowSummary, GetFlow, ListFlows,
    StatusChangeResponse, UpdateFlow, UpdateFlowRequest, ValidateFlow, ValidationReport,
    is_valid_flow_name,
};
use crate::error::{Error, Result};
use crate::transport::{RequestOptions, Response, RetryPolicy, Sleep, Transport, TransportBuilder};

/// Client for the Flow admin API (`/api/admin/flows`). Cheap to clone.
#[derive(Clone)]
pub struct FlowsClient {
    transport: Transport,
    options: Arc<RequestOptions>,
}

impl fmt::Debug for FlowsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowsClient")
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

/// Builder for a [`FlowsClient`].
///
/// ```
/// use authflow::FlowsClient;
/// use secrecy::SecretString;
///
/// let flows = FlowsClient::builder()
///     .token(SecretString::from("flows-admin-token"))
///     .base_url("http://127.0.0.1:4010")
///     .build()
///     .unwrap();
/// assert_eq!(flows.base_url(), "http://127.0.0.1:4010");
/// assert!(!format!("{flows:?}").contains("flows-admin-token"));
/// ```
#[derive(Debug, Default)]
#[must_use]
pub struct FlowsClientBuilder {
    transport: TransportBuilder,
    token: Option<SecretString>,
}

impl FlowsClientBuilder {
    /// The admin bearer token.
    pub fn token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self
    }
    /// Base URL of the tenant (`https://{tenant-domain}`), a mock or a proxy.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.transport = self.transport.base_url(url);
        self
    }
    /// Total timeout of one attempt (default 30 s).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.transport = self.transport.timeout(t);
        self
    }
    /// Default retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.transport = self.transport.retry(policy);
        self
    }
    /// Use your own `reqwest::Client`.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.transport = self.transport.http_client(client);
        self
    }
    /// The sleep between retries (tests inject one that does not wait).
    pub fn sleeper(mut self, sleep: Arc<dyn Sleep>) -> Self {
        self.transport = self.transport.sleeper(sleep);
        self
    }

    /// Build the client. Fails with [`Error::InvalidInput`] without a token
    /// (or with one that cannot be a header value) and [`Error::Config`] for a
    /// bad URL.
    pub fn build(self) -> Result<FlowsClient> {
        let token = self
            .token
            .ok_or_else(|| Error::invalid_input("token", "is required"))?;
        let t = token.expose_secret();
        if t.trim().is_empty() || t.bytes().any(|b| !(0x21..0x7f).contains(&b)) {
            return Err(Error::invalid_input(
                "token",
                "must be non-empty printable ASCII without spaces",
            ));
        }
        Ok(FlowsClient {
            transport: self.transport.bearer_token(Some(token)).build()?,
            options: Arc::new(RequestOptions::default()),
        })
    }
}

impl FlowsClient {
    /// A builder.
    pub fn builder() -> FlowsClientBuilder {
        FlowsClientBuilder::default()
    }

    /// A handle whose calls use `options` over the client's defaults.
    pub fn with_options(&self, options: RequestOptions) -> Self {
        FlowsClient {
            transport: self.transport.clone(),
            options: Arc::new(options.merged_over(&self.options)),
        }
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        self.transport.base_url()
    }

    async fn send<E: Endpoint>(&self, request: &E) -> Result<Response<E::Response>> {
        self.transport.send(request, &self.options).await
    }

    /// One page of flows.
    pub async fn list(&self, page: &ListFlows) -> Result<Response<FlowList>> {
        if page.limit.is_some_and(|l| !(1..=100).contains(&l)) {
            return Err(Error::invalid_input("limit", "must be between 1 and 100"));
        }
        self.send(page).await
    }

    /// Every flow matching `filter` (its `type` and `status`; `limit` sets
    /// the page size), page after page, following the opaque cursor. Stops
    /// at the first error, which it yields.
    ///
    /// ```no_run
    /// # async fn run(flows: authflow::FlowsClient) -> authflow::Result<()> {
    /// use authflow::api::flows::{FlowStatus, ListFlows};
    /// use futures_util::TryStreamExt;
    /// let active: Vec<_> = flows
    ///     .list_all(ListFlows::default().status(FlowStatus::Active).limit(100))
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn list_all(&self, filter: ListFlows) -> impl Stream<Item = Result<FlowSummary>> + '_ {
        enum Next {
            Page(ListFlows),
            Done,
        }
        let pages = futures_util::stream::try_unfold(Next::Page(filter), move |next| async move {
            let Next::Page(page) = next else {
                return Ok(None);
            };
            let list = self.list(&page).await?.into_inner();
            let next = match list.cursor {
                // A server that repeats the cursor would loop forever.
                Some(c) if Some(&c) != page.cursor.as_ref() && !list.items.is_empty() => {
                    Next::Page(page.cursor(c))
                }
                _ => Next::Done,
            };
            Ok::<_, Error>(Some((list.items, next)))
        });
        pages
            .map_ok(|items| futures_util::stream::iter(items.into_iter().map(Ok::<_, Error>)))
            .try_flatten()
    }

    /// One flow with its graph.
    pub async fn get(&self, id: &str) -> Result<Response<Flow>> {
        self.send(&GetFlow::new(checked_id(id)?)).await
    }

    /// Create a flow (status `draft`, version 1, not compiled). The name is
    /// checked locally first; the graph is not (call
    /// [`FlowGraph::validate`](crate::api::flows::FlowGraph::validate) to check it).
    pub async fn create(&self, flow: &CreateFlowRequest) -> Result<Response<FlowCreated>> {
        if !is_valid_flow_name(&flow.name) {
            return Err(Error::invalid_input(
                "name",
                "must be 1-64 ASCII letters, digits and hyphens, not starting or ending with a hyphen",
            ));
        }
        self.send(flow).await
    }

    /// Change some fields of a flow; a new graph clears `compiled`.
    pub async fn update(&self, id: &str, changes: UpdateFlowRequest) -> Result<Response<Flow>> {
        let id = checked_id(id)?.to_owned();
        self.send(&UpdateFlow { id, changes }).await
    }

    /// Delete a flow (the server refuses while it is active).
    pub async fn delete(&self, id: &str) -> Result<()> {
        self.send(&DeleteFlow::new(checked_id(id)?))
            .await
            .map(|_| ())
    }

    /// Validate the stored graph on the server.
    pub async fn validate(&self, id: &str) -> Result<Response<ValidationReport>> {
        self.send(&ValidateFlow::new(checked_id(id)?)).await
    }

    /// Compile the stored graph (refused with the validation errors if it is invalid).
    pub async fn compile(&self, id: &str) -> Result<Response<CompileResponse>> {
        self.send(&CompileFlow::new(checked_id(id)?)).await
    }

    /// Activate a compiled flow.
    pub async fn activate(&self, id: &str) -> Result<Response<StatusChangeResponse>> {
        self.send(&ActivateFlow::new(checked_id(id)?)).await
    }

    /// Deactivate a flow.
    pub async fn deactivate(&self, id: &str) -> Result<Response<StatusChangeResponse>> {
        self.send(&DeactivateFlow::new(checked_id(id)?)).await
    }

    /// The stored graph as a Mermaid diagram, rendered by the server
    /// (authflow-mock serves it; [`FlowGraph::to_mermaid`](crate::api::flows::FlowGraph::to_mermaid)
    /// renders locally).
    pub async fn mermaid(&self, id: &str) -> Result<Response<String>> {
        self.send(&FlowGraphMermaid::new(checked_id(id)?)).await
    }
}

fn checked_id(id: &str) -> Result<&str> {
    if id.is_empty() {
        return Err(Error::invalid_input("id", "is required"));
    }
    // URL parsers resolve `.` and `..` (even percent-encoded) as dot
    // segments: such an id would address another resource.
    if id == "." || id == ".." {
        return Err(Error::invalid_input("id", "is not a flow id"));
    }
    Ok(id)
}
