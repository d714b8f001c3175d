//! Wire types of the AIdenID agent API (identities) and consumer API
//! (magic-link accounts, identities, notifications, upgrade, inbox stream).
//!
//! Timestamps are RFC 3339 strings, as the documents show them. Tokens
//! (magic-link tokens, session tokens) are [`SecretString`]s; the consumer
//! session is sent as `Authorization: Bearer`, never in a body.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::routes::{self, Route};
use super::secret::expose;
use super::{Endpoint, json_response};

// ------------------------------------------------------------- identities

/// An identity's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum IdentityStatus {
    /// Receiving mail.
    Active,
    /// Its TTL passed.
    Expired,
    /// Ended by a squash.
    Squashed,
}

/// A temporary email identity (`ident_…`) with its inbox address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Identity {
    /// `ident_…`
    pub id: String,
    /// The inbox address.
    pub email: String,
    /// Human-readable label.
    pub label: String,
    /// Status.
    pub status: IdentityStatus,
    /// Created at (RFC 3339).
    pub created_at: String,
    /// Expires at (RFC 3339).
    pub expires_at: String,
}

/// A page of identities (limit/offset pagination).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityList {
    /// This page.
    pub items: Vec<Identity>,
    /// Identities in all pages.
    pub total: u64,
    /// Page size used.
    pub limit: u32,
    /// Offset used.
    pub offset: u64,
}

/// `POST /v1/identities`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateIdentityRequest {
    /// Label (1–128 characters).
    pub label: String,
    /// Time to live in hours (1–720, default 24).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_hours: Option<u32>,
}

impl Endpoint for CreateIdentityRequest {
    type Response = Identity;
    fn route(&self) -> &'static Route {
        &routes::IDENTITY_CREATE
    }
}

/// `GET /v1/identities/{id}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GetIdentity {
    /// Identity id.
    #[serde(skip)]
    pub id: String,
}

impl Endpoint for GetIdentity {
    type Response = Identity;
    fn route(&self) -> &'static Route {
        &routes::IDENTITY_GET
    }
    fn path(&self) -> String {
        format!("/v1/identities/{}", super::path_segment(&self.id))
    }
}

/// `POST /v1/identities/{id}/squash`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SquashIdentity {
    /// Identity id.
    #[serde(skip)]
    pub id: String,
}

impl Endpoint for SquashIdentity {
    type Response = Identity;
    fn route(&self) -> &'static Route {
        &routes::IDENTITY_SQUASH
    }
    fn path(&self) -> String {
        format!("/v1/identities/{}/squash", super::path_segment(&self.id))
    }
}

/// Page parameters of the limit/offset lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// Page size (default 20, max 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Items to skip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

/// `GET /v1/identities`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ListIdentities {
    /// Page.
    #[serde(flatten)]
    pub page: Page,
}

impl Endpoint for ListIdentities {
    type Response = IdentityList;
    fn route(&self) -> &'static Route {
        &routes::IDENTITY_LIST
    }
}

/// What was extracted from a message (the value itself is never in it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExtractionSummary {
    /// `otp` or `link`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The value with all but its last 3 characters hidden (`***921`).
    pub redacted_value: String,
    /// Confidence in [0, 1].
    pub confidence: f64,
}

/// One message of an identity's inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboxMessage {
    /// `msg_…`
    pub id: String,
    /// The identity it arrived for.
    pub identity_id: String,
    /// Sender.
    pub from: String,
    /// Subject.
    pub subject: String,
    /// When it arrived (RFC 3339).
    pub received_at: String,
    /// The extracted OTP or link, redacted, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extraction: Option<ExtractionSummary>,
}

/// `GET /v1/identities/{id}/messages` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageList {
    /// Newest last.
    pub items: Vec<InboxMessage>,
    /// Messages in all pages.
    pub total: u64,
    /// Page size used.
    pub limit: u32,
    /// Offset used.
    pub offset: u64,
}

/// `GET /v1/identities/{id}/messages`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListIdentityMessages {
    /// Identity id.
    #[serde(skip)]
    pub id: String,
    /// Page.
    #[serde(flatten)]
    pub page: Page,
}

impl Endpoint for ListIdentityMessages {
    type Response = MessageList;
    fn route(&self) -> &'static Route {
        &routes::IDENTITY_MESSAGES
    }
    fn path(&self) -> String {
        format!("/v1/identities/{}/messages", super::path_segment(&self.id))
    }
}

// --------------------------------------------------------------- consumer

/// `{"message", "email"}`: signup and login answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailSent {
    /// `Verification email sent` / `Login email sent`.
    pub message: String,
    /// The address.
    pub email: String,
}

/// `POST /v1/consumer/signup`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsumerSignupRequest {
    /// Personal email address.
    pub email: String,
}

impl Endpoint for ConsumerSignupRequest {
    type Response = EmailSent;
    fn route(&self) -> &'static Route {
        &routes::CONSUMER_SIGNUP
    }
}

/// `POST /v1/consumer/login`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsumerLoginRequest {
    /// Address of the existing account.
    pub email: String,
}

impl Endpoint for ConsumerLoginRequest {
    type Response = EmailSent;
    fn route(&self) -> &'static Route {
        &routes::CONSUMER_LOGIN
    }
}

/// `POST /v1/consumer/verify`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsumerVerifyRequest {
    /// The `ml_…` magic-link token.
    #[serde(serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub token: SecretString,
}

impl Endpoint for ConsumerVerifyRequest {
    type Response = ConsumerSessionInfo;
    fn route(&self) -> &'static Route {
        &routes::CONSUMER_VERIFY
    }
}

/// `POST /v1/consumer/verify` response: the session and its personal scope.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsumerSessionInfo {
    /// `csr_…`
    pub consumer_id: String,
    /// `org_personal_…`
    pub org_id: String,
    /// `proj_default_…`
    pub project_id: String,
    /// `sess_…` (7 days).
    #[serde(serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub session_token: SecretString,
    /// When the session ends (RFC 3339).
    pub expires_at: String,
}

macro_rules! session_request {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident : $ty:ty),* } => $resp:ty, $route:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Serialize)]
        pub struct $name {
            /// The consumer session, sent as `Authorization: Bearer`.
            #[serde(skip)]
            pub session: SecretString,
            $($(#[$fdoc])* pub $field: $ty,)*
        }

        impl Endpoint for $name {
            type Response = $resp;
            fn route(&self) -> &'static Route {
                &$route
            }
            fn bearer(&self) -> Option<&SecretString> {
                Some(&self.session)
            }
        }
    };
}

session_request!(
    /// `GET /v1/consumer/identities`
    ConsumerListIdentities { #[doc = "Page."] #[serde(flatten)] page: Page } => IdentityList, routes::CONSUMER_IDENTITIES
);
session_request!(
    /// `POST /v1/consumer/identities`
    ConsumerCreateIdentity { /** Label (1–128 characters). */ label: String } => Identity, routes::CONSUMER_CREATE_IDENTITY
);
session_request!(
    /// `GET /v1/consumer/notifications`
    ConsumerNotifications { #[doc = "Page."] #[serde(flatten)] page: Page } => NotificationList, routes::CONSUMER_NOTIFICATIONS
);
session_request!(
    /// `GET /v1/consumer/inbox` (a Server-Sent Events stream: open it with
    /// [`Transport::open_stream`](crate::transport::Transport::open_stream)
    /// or `ConsumerSession::inbox_events`)
    ConsumerInbox {} => crate::api::Empty, routes::CONSUMER_INBOX
);
session_request!(
    /// `POST /v1/consumer/upgrade`
    ConsumerUpgrade {} => UpgradeResponse, routes::CONSUMER_UPGRADE
);

/// A consumer notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    /// `notif_…`
    pub id: String,
    /// `extraction.completed` or `identity.expiring`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Title.
    pub title: String,
    /// Body (never contains the extracted value).
    pub body: String,
    /// Whether it was read.
    pub read: bool,
    /// Created at (RFC 3339).
    pub created_at: String,
}

/// `GET /v1/consumer/notifications` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationList {
    /// This page, newest first.
    pub items: Vec<Notification>,
    /// Notifications in all pages.
    pub total: u64,
    /// Page size used.
    pub limit: u32,
    /// Offset used.
    pub offset: u64,
}

/// `POST /v1/consumer/upgrade` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpgradeResponse {
    /// Where to send the user to pay.
    pub checkout_url: String,
}

// ------------------------------------------------------------ inbox stream

/// The `data:` of an inbox stream event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboxEventData {
    /// The identity the mail arrived for.
    pub identity_id: String,
    /// The message.
    pub message_id: String,
    /// `otp` or `link` (on `extraction.completed`).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The redacted value (on `extraction.completed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted_value: Option<String>,
    /// Confidence in [0, 1] (on `extraction.completed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Subject (on `inbound.received`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// When the mail arrived (RFC 3339).
    pub received_at: String,
}

/// One event of the consumer inbox stream.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxEvent {
    /// The event id (resume point).
    pub id: String,
    /// `inbound.received` or `extraction.completed`.
    pub event: String,
    /// The payload.
    pub data: InboxEventData,
}

json_response!(
    Identity,
    IdentityList,
    MessageList,
    EmailSent,
    ConsumerSessionInfo,
    NotificationList,
    UpgradeResponse,
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn seed_examples_decode() {
        let v: ConsumerSessionInfo = serde_json::from_value(json!({
            "consumer_id": "csr_m1n2o3p4", "org_id": "org_personal_m1n2o3p4",
            "project_id": "proj_default_m1n2o3p4", "session_token": "sess_q5r6s7t8",
            "expires_at": "2026-04-13T10:00:00Z"
        }))
        .unwrap();
        assert!(!format!("{v:?}").contains("sess_q5r6s7t8"));
        let l: IdentityList = serde_json::from_value(json!({"items": [{"id": "ident_c1d2e3f4", "email": "c1d2e3f4@inbox.aidenid.com", "label": "twitter-signup", "status": "active", "created_at": "2026-04-06T08:00:00Z", "expires_at": "2026-04-07T08:00:00Z"}], "total": 1, "limit": 10, "offset": 0})).unwrap();
        assert_eq!(l.items[0].status, IdentityStatus::Active);
        let n: NotificationList = serde_json::from_value(json!({"items": [{"id": "notif_u1v2w3", "type": "extraction.completed", "title": "OTP received for twitter-signup", "body": "A redacted code was extracted with 99% confidence", "read": false, "created_at": "2026-04-06T10:05:02Z"}], "total": 1, "limit": 20, "offset": 0})).unwrap();
        assert!(!n.items[0].read);
    }

    #[test]
    fn session_and_ids_stay_out_of_bodies() {
        let r = ConsumerCreateIdentity {
            session: SecretString::from("sess_x"),
            label: "a".into(),
        };
        assert_eq!(serde_json::to_value(&r).unwrap(), json!({"label": "a"}));
        assert!(r.bearer().is_some());
        let g = GetIdentity { id: "a/b".into() };
        assert_eq!(g.path(), "/v1/identities/a%2Fb");
        let l = ListIdentities {
            page: Page {
                limit: Some(5),
                offset: None,
            },
        };
        assert_eq!(serde_json::to_value(l).unwrap(), json!({"limit": 5}));
    }
}
