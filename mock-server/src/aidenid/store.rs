//! AIdenID state: agent keys, identities and their inboxes, consumers,
//! magic links, sessions, notifications, checkouts and the inbox event log.
//! One lock; every operation is short.

use std::collections::HashMap;
use std::sync::Mutex;

use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::broadcast;

/// One agent API key and what it may do.
#[derive(Clone)]
pub struct AgentKeySeed {
    /// `aid_` + 32 hex.
    pub key: SecretString,
    /// The organization it is scoped to.
    pub org_id: String,
    /// The project it is scoped to.
    pub project_id: String,
    /// Granted scopes (`identities:read`, `identities:write`, `runs:read`,
    /// `runs:write`, `secrets:read`).
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for AgentKeySeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentKeySeed")
            .field("org_id", &self.org_id)
            .field("project_id", &self.project_id)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// Every scope an agent key can hold.
pub const ALL_SCOPES: [&str; 5] = [
    "identities:read",
    "identities:write",
    "runs:read",
    "runs:write",
    "secrets:read",
];

impl AgentKeySeed {
    /// A random key for a random org and project with the given scopes.
    pub fn generate(scopes: &[&str]) -> Self {
        let tag = crate::state::random_hex(4);
        AgentKeySeed {
            key: SecretString::from(format!("aid_{}", crate::state::random_hex(16))),
            org_id: format!("org_{tag}"),
            project_id: format!("proj_{tag}"),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

/// Who owns an identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// An agent scope.
    Agent {
        /// Organization.
        org_id: String,
        /// Project.
        project_id: String,
    },
    /// A consumer (`csr_…`).
    Consumer(String),
}

/// A stored identity.
#[derive(Debug, Clone)]
pub struct IdentityRecord {
    /// `ident_…`
    pub id: String,
    /// Inbox address (lowercase).
    pub email: String,
    /// Label.
    pub label: String,
    /// Created (ms).
    pub created_ms: i64,
    /// Expires (ms).
    pub expires_ms: i64,
    /// Squashed (ms).
    pub squashed_ms: Option<i64>,
    /// Owner.
    pub owner: Owner,
    /// Creation order.
    pub seq: u64,
    /// Whether the expiry warning was sent (consumer identities).
    pub expiry_warned: bool,
}

/// A received message.
#[derive(Clone)]
pub struct MessageRecord {
    /// `msg_…`
    pub id: String,
    /// Identity.
    pub identity_id: String,
    /// Sender.
    pub from: String,
    /// Subject.
    pub subject: String,
    /// Text body.
    pub text: String,
    /// HTML body.
    pub html: Option<String>,
    /// Received (ms).
    pub received_ms: i64,
    /// The extracted secret.
    pub extraction: Option<crate::mail::secret_extract::Extraction>,
}

/// A consumer account.
#[derive(Debug, Clone)]
pub struct ConsumerRecord {
    /// `csr_…`
    pub id: String,
    /// Email (lowercase).
    pub email: String,
    /// `trial` or `human_paid`.
    pub paid: bool,
    /// `org_personal_…`
    pub org_id: String,
    /// `proj_default_…`
    pub project_id: String,
}

/// A notification.
#[derive(Debug, Clone)]
pub struct NotificationRecord {
    /// `notif_…`
    pub id: String,
    /// Consumer.
    pub consumer_id: String,
    /// Type.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Read.
    pub read: bool,
    /// Created (ms).
    pub created_ms: i64,
}

/// One inbox stream event.
#[derive(Debug, Clone)]
pub struct EventRecord {
    /// Sequence number (the SSE id), per server.
    pub id: u64,
    /// Consumer it is for.
    pub consumer_id: String,
    /// Event name.
    pub event: &'static str,
    /// JSON data.
    pub data: Value,
}

/// All AIdenID data.
#[derive(Default)]
pub struct Data {
    /// Identities by id.
    pub identities: HashMap<String, IdentityRecord>,
    /// Identity id by inbox address.
    pub by_email: HashMap<String, String>,
    /// Messages, oldest first.
    pub messages: Vec<MessageRecord>,
    /// Consumers by id.
    pub consumers: HashMap<String, ConsumerRecord>,
    /// Magic links by SHA-256 of the token: (consumer id, expires ms, used).
    pub magic_links: HashMap<[u8; 32], (String, i64, bool)>,
    /// Sessions by SHA-256 of the token: (consumer id, expires ms).
    pub sessions: HashMap<[u8; 32], (String, i64)>,
    /// Checkouts: id → (consumer id, completed).
    pub checkouts: HashMap<String, (String, bool)>,
    /// Notifications, oldest first.
    pub notifications: Vec<NotificationRecord>,
    /// Inbox events, oldest first.
    pub events: Vec<EventRecord>,
    /// Reliability runs by id.
    pub runs: HashMap<String, RunRecord>,
    /// Creation order of identities and runs.
    pub next_seq: u64,
    /// The last inbox event id (ids are consecutive per server).
    pub last_event: u64,
}

/// A stored reliability run.
#[derive(Clone)]
pub struct RunRecord {
    /// `run_…`
    pub id: String,
    /// Creation order.
    pub seq: u64,
    /// Password reset or invite.
    pub flow_type: authflow::api::reliability::RunFlowType,
    /// The identity.
    pub identity_id: String,
    /// The target.
    pub target_url: String,
    /// Owner scope.
    pub owner: Owner,
    /// Created (ms).
    pub created_ms: i64,
    /// Wait for the email this long (ms).
    pub timeout_ms: i64,
    /// State.
    pub status: authflow::api::reliability::RunStatus,
    /// Terminal (ms).
    pub completed_ms: Option<i64>,
    /// The email's arrival (ms) and what was extracted.
    pub received: Option<(i64, Option<crate::mail::secret_extract::Extraction>)>,
    /// Failure code and message.
    pub failure: Option<(String, String)>,
}

/// The AIdenID state of one server.
pub struct AidenIdState {
    data: Mutex<Data>,
    /// New events, for live streams (the id; readers fetch from the log).
    pub events_tx: broadcast::Sender<u64>,
    /// Agent keys.
    pub agent_keys: Vec<AgentKeySeed>,
    /// Domain of identity addresses.
    pub inbox_domain: String,
}

impl std::fmt::Debug for AidenIdState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AidenIdState")
            .field("inbox_domain", &self.inbox_domain)
            .finish_non_exhaustive()
    }
}

impl AidenIdState {
    /// State with these agent keys and inbox domain.
    pub fn new(agent_keys: Vec<AgentKeySeed>, inbox_domain: String) -> Self {
        let (events_tx, _) = broadcast::channel(1024);
        AidenIdState {
            data: Mutex::new(Data::default()),
            events_tx,
            agent_keys,
            inbox_domain,
        }
    }

    /// Run `f` with the data locked.
    pub fn with<R>(&self, f: impl FnOnce(&mut Data) -> R) -> R {
        // A poisoned lock means a handler panicked mid-update of plain maps;
        // they are still usable.
        let mut guard = self.data.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Forget everything (agent keys stay).
    pub fn clear(&self) {
        self.with(|d| *d = Data::default());
    }

    /// Append an event to the log and wake live streams.
    pub fn emit(&self, consumer_id: &str, event: &'static str, data: Value) -> u64 {
        let id = self.with(|d| {
            d.last_event += 1;
            let id = d.last_event;
            d.events.push(EventRecord {
                id,
                consumer_id: consumer_id.to_owned(),
                event,
                data,
            });
            id
        });
        // No receivers is fine: nobody is streaming.
        let _ = self.events_tx.send(id);
        id
    }

    /// Events for `consumer_id` with an id above `after`, oldest first.
    pub fn events_after(&self, consumer_id: &str, after: u64) -> Vec<EventRecord> {
        self.with(|d| {
            d.events
                .iter()
                .filter(|e| e.id > after && e.consumer_id == consumer_id)
                .cloned()
                .collect()
        })
    }
}
