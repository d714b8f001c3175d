//! The route table: every route of every API, described once.
//!
//! The client builds requests from it, the mock server serves it and the proxy
//! decides what to forward and where to inject the organization key from it.
//!
//! ```
//! use authflow::api::routes::{self, KeyPlacement};
//!
//! let login = routes::find("login").expect("login is in the table");
//! assert_eq!(login.path, "/auth/login");
//! assert_eq!(login.api_key_placement(), KeyPlacement::Query);
//! assert!(login.mutates && !login.safe_to_retry());
//! ```

use std::fmt;

/// Which API family a route belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Api {
    /// The AuthFlow `/auth` API (organization API key).
    AuthFlow,
    /// The AIdenID agent API (identities, reliability runs).
    AidenId,
    /// The AIdenID consumer API (magic-link accounts).
    Consumer,
    /// The Flow admin API.
    Flows,
}

/// HTTP method of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    /// The method's name as sent on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a route's own parameters travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Params {
    /// URL query string (AuthFlow `GET` routes).
    Query,
    /// JSON request body (`POST` routes).
    JsonBody,
}

/// Where the AuthFlow organization API key (`api_key`) goes on a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyPlacement {
    /// `?api_key=…` in the query string.
    Query,
    /// `"api_key": "…"` in the JSON body.
    Body,
    /// The route takes no organization key.
    None,
}

/// One documented parameter of a route (the organization `api_key` excluded:
/// see [`Route::credential`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Field {
    /// Wire name, exactly as documented.
    pub name: &'static str,
    /// Whether the route requires it.
    pub required: bool,
}

/// A required parameter.
pub const fn req(name: &'static str) -> Field {
    Field {
        name,
        required: true,
    }
}

/// An optional parameter.
pub const fn opt(name: &'static str) -> Field {
    Field {
        name,
        required: false,
    }
}

/// The credential a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Credential {
    /// No credential at all (the route's own parameters authenticate it, e.g. a session token).
    None,
    /// The organization API key, placed as given.
    OrgKey(KeyPlacement),
    /// `Authorization: Bearer <sessionToken>` supplied by the request (AuthFlow `deleteUser`).
    SessionBearer,
    /// `Authorization: Bearer <admin token>` from the client's configuration
    /// (the Flow admin API).
    AdminBearer,
    /// `Authorization: Bearer aid_…` with `X-Org-Id` and `X-Project-Id`, from
    /// the client's configuration (the AIdenID agent API).
    AgentKey,
    /// `Authorization: Bearer sess_…`: a consumer session supplied by the
    /// request (the AIdenID consumer API).
    ConsumerSession,
}

/// One route of one API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The API this route belongs to.
    pub api: Api,
    /// Stable name, as the seed documents call it (`signUp`, `verify-2fa`, …).
    pub name: &'static str,
    /// HTTP method.
    pub method: Method,
    /// Path template (`{id}` marks a path parameter).
    pub path: &'static str,
    /// Where the route's parameters go.
    pub params: Params,
    /// The documented parameters (query or body), `api_key` excluded.
    pub fields: &'static [Field],
    /// The credential the route needs.
    pub credential: Credential,
    /// Wire names of the parameters and response fields that are secret.
    pub secret_fields: &'static [&'static str],
    /// Whether calling the route changes server state.
    pub mutates: bool,
    /// Whether the route carries an `Idempotency-Key` header by default.
    pub idempotency_key: bool,
    /// Whether the client fetches a fresh fooBar token right before calling it.
    pub needs_foobar: bool,
}

impl Route {
    /// Where the organization API key goes for this route.
    pub const fn api_key_placement(&self) -> KeyPlacement {
        match self.credential {
            Credential::OrgKey(p) => p,
            _ => KeyPlacement::None,
        }
    }

    /// Whether a request may be repeated after it may have reached the server:
    /// true for routes that change nothing and for mutations protected by an
    /// idempotency key.
    pub const fn safe_to_retry(&self) -> bool {
        !self.mutates || self.idempotency_key
    }

    /// Whether `field` (a wire name) is secret on this route.
    pub fn is_secret_field(&self, field: &str) -> bool {
        self.secret_fields.contains(&field) || is_secret_name(field)
    }
}

/// Whether a field name denotes a secret by its name alone: it contains
/// `token`, `secret`, `password`, `otp`, `code` or `key` (the rule of the
/// seed's `sanitizeForLogs` example), or `foobar`, `authorization` or
/// `cookie` (case-insensitive).
///
/// [`sanitize_for_logs`](crate::sanitize_for_logs) applies this rule.
pub fn is_secret_name(field: &str) -> bool {
    const MARKERS: [&str; 9] = [
        "token",
        "secret",
        "password",
        "otp",
        "code",
        "key",
        "foobar",
        "authorization",
        "cookie",
    ];
    let lower = field.to_ascii_lowercase();
    MARKERS.iter().any(|m| lower.contains(m))
}

#[allow(clippy::too_many_arguments)]
const fn authflow(
    name: &'static str,
    method: Method,
    path: &'static str,
    fields: &'static [Field],
    credential: Credential,
    secret_fields: &'static [&'static str],
    mutates: bool,
    needs_foobar: bool,
) -> Route {
    Route {
        api: Api::AuthFlow,
        name,
        method,
        path,
        params: match method {
            Method::Get => Params::Query,
            _ => Params::JsonBody,
        },
        fields,
        credential,
        secret_fields,
        mutates,
        idempotency_key: false,
        needs_foobar,
    }
}

use Credential::{AdminBearer, AgentKey, ConsumerSession, None as NoCred, OrgKey, SessionBearer};
use KeyPlacement::{Body as KeyInBody, Query as KeyInQuery};
use Method::{Delete, Get, Post, Put};

const fn flows(
    name: &'static str,
    method: Method,
    path: &'static str,
    fields: &'static [Field],
    mutates: bool,
) -> Route {
    Route {
        api: Api::Flows,
        name,
        method,
        path,
        params: match method {
            Method::Get | Method::Delete => Params::Query,
            _ => Params::JsonBody,
        },
        fields,
        credential: AdminBearer,
        secret_fields: &[],
        mutates,
        idempotency_key: false,
        needs_foobar: false,
    }
}

/// `GET /auth/fooBar`
pub const FOOBAR: Route = authflow(
    "fooBar",
    Get,
    "/auth/fooBar",
    &[req("identity"), opt("role")],
    OrgKey(KeyInQuery),
    &["token"],
    false,
    false,
);
/// `GET /auth/signUp`
pub const SIGN_UP: Route = authflow(
    "signUp",
    Get,
    "/auth/signUp",
    &[
        req("foobar"),
        req("email"),
        req("password"),
        req("fullname"),
        req("role"),
        req("disclaimed"),
    ],
    OrgKey(KeyInQuery),
    &["foobar", "password", "token"],
    true,
    true,
);
/// `GET /auth/login`
pub const LOGIN: Route = authflow(
    "login",
    Get,
    "/auth/login",
    &[req("foobar"), req("email"), req("password"), req("role")],
    OrgKey(KeyInQuery),
    &["foobar", "password", "token", "tempToken"],
    true,
    true,
);
/// `GET /auth/validate`
pub const VALIDATE: Route = authflow(
    "validate",
    Get,
    "/auth/validate",
    &[req("sessionToken"), req("email")],
    NoCred,
    &["sessionToken"],
    false,
    false,
);
/// `GET /auth/me`
pub const ME: Route = authflow(
    "me",
    Get,
    "/auth/me",
    &[req("sessionToken")],
    NoCred,
    &["sessionToken"],
    false,
    false,
);
/// `GET /auth/logout`
pub const LOGOUT: Route = authflow(
    "logout",
    Get,
    "/auth/logout",
    &[req("sessionToken"), req("email")],
    NoCred,
    &["sessionToken"],
    true,
    false,
);
/// `POST /auth/deleteUser`
pub const DELETE_USER: Route = authflow(
    "deleteUser",
    Post,
    "/auth/deleteUser",
    &[req("email_owner"), req("org_id"), req("user_email")],
    SessionBearer,
    &[],
    true,
    false,
);
/// `POST /auth/forgot-password`
pub const FORGOT_PASSWORD: Route = authflow(
    "forgot-password",
    Post,
    "/auth/forgot-password",
    &[req("email"), opt("role")],
    OrgKey(KeyInBody),
    &[],
    true,
    false,
);
/// `POST /auth/reset-password`
pub const RESET_PASSWORD: Route = authflow(
    "reset-password",
    Post,
    "/auth/reset-password",
    &[req("token"), req("newPassword")],
    NoCred,
    &["token", "newPassword"],
    true,
    false,
);
/// `GET /auth/changePassword`
pub const CHANGE_PASSWORD: Route = authflow(
    "changePassword",
    Get,
    "/auth/changePassword",
    &[
        req("sessionToken"),
        req("email"),
        req("oldPassword"),
        req("newPassword"),
    ],
    NoCred,
    &["sessionToken", "oldPassword", "newPassword"],
    true,
    false,
);
/// `GET /auth/verify-email`
pub const VERIFY_EMAIL: Route = authflow(
    "verify-email",
    Get,
    "/auth/verify-email",
    &[req("token")],
    NoCred,
    &["token"],
    true,
    false,
);
/// `GET /auth/resend-verify-email`
pub const RESEND_VERIFY_EMAIL: Route = authflow(
    "resend-verify-email",
    Get,
    "/auth/resend-verify-email",
    &[req("foobar"), req("email"), opt("role")],
    OrgKey(KeyInQuery),
    &["foobar"],
    true,
    true,
);
/// `POST /auth/2fa/enable`
pub const TWO_FACTOR_ENABLE: Route = authflow(
    "2fa/enable",
    Post,
    "/auth/2fa/enable",
    &[
        req("sessionToken"),
        req("email"),
        req("org_id"),
        req("role"),
    ],
    NoCred,
    &["sessionToken", "secret", "qrCode", "otpauth_url"],
    true,
    false,
);
/// `POST /auth/2fa/verify-setup`
pub const TWO_FACTOR_VERIFY_SETUP: Route = authflow(
    "2fa/verify-setup",
    Post,
    "/auth/2fa/verify-setup",
    &[
        req("sessionToken"),
        req("email"),
        req("org_id"),
        req("role"),
        req("totpCode"),
        req("secret"),
    ],
    NoCred,
    &["sessionToken", "totpCode", "secret", "recoveryCodes"],
    true,
    false,
);
/// `POST /auth/2fa/disable`
pub const TWO_FACTOR_DISABLE: Route = authflow(
    "2fa/disable",
    Post,
    "/auth/2fa/disable",
    &[
        req("sessionToken"),
        req("email"),
        req("org_id"),
        req("role"),
        req("password"),
    ],
    NoCred,
    &["sessionToken", "password"],
    true,
    false,
);
/// `POST /auth/2fa/verify-2fa`
pub const TWO_FACTOR_VERIFY: Route = authflow(
    "2fa/verify-2fa",
    Post,
    "/auth/2fa/verify-2fa",
    &[
        req("tempToken"),
        req("email"),
        req("org_id"),
        req("role"),
        req("totpCode"),
    ],
    NoCred,
    &["tempToken", "totpCode", "token"],
    true,
    false,
);
/// `POST /auth/2fa/backup/email`
pub const TWO_FACTOR_BACKUP_EMAIL: Route = authflow(
    "2fa/backup/email",
    Post,
    "/auth/2fa/backup/email",
    &[req("tempToken"), req("email"), req("org_id"), req("role")],
    NoCred,
    &["tempToken"],
    true,
    false,
);
/// `POST /auth/2fa/verify-email-otp`
pub const TWO_FACTOR_VERIFY_EMAIL_OTP: Route = authflow(
    "2fa/verify-email-otp",
    Post,
    "/auth/2fa/verify-email-otp",
    &[req("email"), req("org_id"), req("role"), req("emailOTP")],
    NoCred,
    &["emailOTP", "token"],
    true,
    false,
);
/// `POST /auth/2fa/recovery-codes`
pub const TWO_FACTOR_RECOVERY_CODES: Route = authflow(
    "2fa/recovery-codes",
    Post,
    "/auth/2fa/recovery-codes",
    &[
        req("sessionToken"),
        req("email"),
        req("org_id"),
        req("role"),
        req("password"),
    ],
    NoCred,
    &["sessionToken", "password", "recoveryCodes"],
    true,
    false,
);
/// `POST /auth/2fa/verify-recovery`
pub const TWO_FACTOR_VERIFY_RECOVERY: Route = authflow(
    "2fa/verify-recovery",
    Post,
    "/auth/2fa/verify-recovery",
    &[
        req("email"),
        req("org_id"),
        req("role"),
        req("recoveryCode"),
    ],
    NoCred,
    &["recoveryCode", "token"],
    true,
    false,
);

/// `GET /api/admin/flows`
pub const FLOWS_LIST: Route = flows(
    "listFlows",
    Get,
    "/api/admin/flows",
    &[opt("limit"), opt("cursor"), opt("type"), opt("status")],
    false,
);
/// `GET /api/admin/flows/{id}`
pub const FLOWS_GET: Route = flows("getFlow", Get, "/api/admin/flows/{id}", &[], false);
/// `POST /api/admin/flows`
pub const FLOWS_CREATE: Route = flows(
    "createFlow",
    Post,
    "/api/admin/flows",
    &[
        req("name"),
        req("display_name"),
        opt("description"),
        req("type"),
        req("graph"),
    ],
    true,
);
/// `PUT /api/admin/flows/{id}` (a partial update: every field optional)
pub const FLOWS_UPDATE: Route = flows(
    "updateFlow",
    Put,
    "/api/admin/flows/{id}",
    &[opt("display_name"), opt("description"), opt("graph")],
    true,
);
/// `DELETE /api/admin/flows/{id}`
pub const FLOWS_DELETE: Route = flows("deleteFlow", Delete, "/api/admin/flows/{id}", &[], true);
/// `POST /api/admin/flows/{id}/validate` (reads only)
pub const FLOWS_VALIDATE: Route = flows(
    "validateFlow",
    Post,
    "/api/admin/flows/{id}/validate",
    &[],
    false,
);
/// `POST /api/admin/flows/{id}/compile`
pub const FLOWS_COMPILE: Route = flows(
    "compileFlow",
    Post,
    "/api/admin/flows/{id}/compile",
    &[],
    true,
);
/// `POST /api/admin/flows/{id}/activate`
pub const FLOWS_ACTIVATE: Route = flows(
    "activateFlow",
    Post,
    "/api/admin/flows/{id}/activate",
    &[],
    true,
);
/// `POST /api/admin/flows/{id}/deactivate`
pub const FLOWS_DEACTIVATE: Route = flows(
    "deactivateFlow",
    Post,
    "/api/admin/flows/{id}/deactivate",
    &[],
    true,
);
/// `GET /api/admin/flows/{id}/graph.mmd`: the flow's graph as a Mermaid
/// diagram (an authflow-mock extension; the document does not list it).
pub const FLOWS_GRAPH_MERMAID: Route = flows(
    "flowGraphMermaid",
    Get,
    "/api/admin/flows/{id}/graph.mmd",
    &[],
    false,
);

#[allow(clippy::too_many_arguments)]
const fn aidenid(
    api: Api,
    name: &'static str,
    method: Method,
    path: &'static str,
    fields: &'static [Field],
    credential: Credential,
    secret_fields: &'static [&'static str],
    mutates: bool,
) -> Route {
    Route {
        api,
        name,
        method,
        path,
        params: match method {
            Method::Get | Method::Delete => Params::Query,
            _ => Params::JsonBody,
        },
        fields,
        credential,
        secret_fields,
        mutates,
        // Every AIdenID mutation carries an Idempotency-Key (400 without one).
        idempotency_key: mutates,
        needs_foobar: false,
    }
}

/// `POST /v1/identities`: a temporary email identity with a TTL.
pub const IDENTITY_CREATE: Route = aidenid(
    Api::AidenId,
    "createIdentity",
    Post,
    "/v1/identities",
    &[req("label"), opt("ttl_hours")],
    AgentKey,
    &[],
    true,
);
/// `GET /v1/identities/{id}`
pub const IDENTITY_GET: Route = aidenid(
    Api::AidenId,
    "getIdentity",
    Get,
    "/v1/identities/{id}",
    &[],
    AgentKey,
    &[],
    false,
);
/// `GET /v1/identities` (limit/offset pagination)
pub const IDENTITY_LIST: Route = aidenid(
    Api::AidenId,
    "listIdentities",
    Get,
    "/v1/identities",
    &[opt("limit"), opt("offset")],
    AgentKey,
    &[],
    false,
);
/// `POST /v1/identities/{id}/squash`: end an identity.
pub const IDENTITY_SQUASH: Route = aidenid(
    Api::AidenId,
    "squashIdentity",
    Post,
    "/v1/identities/{id}/squash",
    &[],
    AgentKey,
    &[],
    true,
);
/// `GET /v1/identities/{id}/messages`: the identity's inbox, extracted
/// secrets redacted (an authflow-mock extension; the document does not list it).
pub const IDENTITY_MESSAGES: Route = aidenid(
    Api::AidenId,
    "listIdentityMessages",
    Get,
    "/v1/identities/{id}/messages",
    &[opt("limit"), opt("offset")],
    AgentKey,
    &[],
    false,
);
/// `POST /v1/consumer/signup`: sends a magic-link email.
pub const CONSUMER_SIGNUP: Route = aidenid(
    Api::Consumer,
    "consumerSignup",
    Post,
    "/v1/consumer/signup",
    &[req("email")],
    NoCred,
    &[],
    true,
);
/// `POST /v1/consumer/verify`: exchange a magic-link token for a session.
pub const CONSUMER_VERIFY: Route = aidenid(
    Api::Consumer,
    "consumerVerify",
    Post,
    "/v1/consumer/verify",
    &[req("token")],
    NoCred,
    &["token", "session_token"],
    true,
);
/// `POST /v1/consumer/login`: sends a new magic-link email.
pub const CONSUMER_LOGIN: Route = aidenid(
    Api::Consumer,
    "consumerLogin",
    Post,
    "/v1/consumer/login",
    &[req("email")],
    NoCred,
    &[],
    true,
);
/// `GET /v1/consumer/inbox`: the Server-Sent Events inbox stream.
pub const CONSUMER_INBOX: Route = aidenid(
    Api::Consumer,
    "consumerInbox",
    Get,
    "/v1/consumer/inbox",
    &[],
    ConsumerSession,
    &[],
    false,
);
/// `GET /v1/consumer/identities`
pub const CONSUMER_IDENTITIES: Route = aidenid(
    Api::Consumer,
    "consumerListIdentities",
    Get,
    "/v1/consumer/identities",
    &[opt("limit"), opt("offset")],
    ConsumerSession,
    &[],
    false,
);
/// `POST /v1/consumer/identities` (tier limits apply)
pub const CONSUMER_CREATE_IDENTITY: Route = aidenid(
    Api::Consumer,
    "consumerCreateIdentity",
    Post,
    "/v1/consumer/identities",
    &[req("label")],
    ConsumerSession,
    &[],
    true,
);
/// `GET /v1/consumer/notifications`
pub const CONSUMER_NOTIFICATIONS: Route = aidenid(
    Api::Consumer,
    "consumerNotifications",
    Get,
    "/v1/consumer/notifications",
    &[opt("limit"), opt("offset")],
    ConsumerSession,
    &[],
    false,
);
/// `POST /v1/consumer/upgrade`: a checkout URL for the `human_paid` plan.
pub const CONSUMER_UPGRADE: Route = aidenid(
    Api::Consumer,
    "consumerUpgrade",
    Post,
    "/v1/consumer/upgrade",
    &[],
    ConsumerSession,
    &[],
    true,
);

/// `POST /v1/reliability/password-reset`: start a password-reset run.
pub const RUN_PASSWORD_RESET: Route = aidenid(
    Api::AidenId,
    "createPasswordResetRun",
    Post,
    "/v1/reliability/password-reset",
    &[
        req("target_url"),
        req("identity_id"),
        opt("timeout_seconds"),
        opt("trigger"),
    ],
    AgentKey,
    &[],
    true,
);
/// `POST /v1/reliability/invite`: start an invite run.
pub const RUN_INVITE: Route = aidenid(
    Api::AidenId,
    "createInviteRun",
    Post,
    "/v1/reliability/invite",
    &[
        req("target_url"),
        req("identity_id"),
        opt("timeout_seconds"),
        opt("trigger"),
    ],
    AgentKey,
    &[],
    true,
);
/// `GET /v1/reliability/{id}`
pub const RUN_GET: Route = aidenid(
    Api::AidenId,
    "getRun",
    Get,
    "/v1/reliability/{id}",
    &[],
    AgentKey,
    &[],
    false,
);
/// `GET /v1/reliability` (filter by `status`; limit/offset)
pub const RUN_LIST: Route = aidenid(
    Api::AidenId,
    "listRuns",
    Get,
    "/v1/reliability",
    &[opt("status"), opt("limit"), opt("offset")],
    AgentKey,
    &[],
    false,
);
/// `GET /v1/reliability/{id}/secret`: the raw OTP or link (keys with the
/// `secrets:read` scope only).
pub const RUN_SECRET: Route = aidenid(
    Api::AidenId,
    "getRunSecret",
    Get,
    "/v1/reliability/{id}/secret",
    &[],
    AgentKey,
    &["value"],
    false,
);

/// Every route, in the order the seed documents them.
pub const ROUTES: &[Route] = &[
    FOOBAR,
    SIGN_UP,
    LOGIN,
    VALIDATE,
    ME,
    LOGOUT,
    DELETE_USER,
    FORGOT_PASSWORD,
    RESET_PASSWORD,
    CHANGE_PASSWORD,
    VERIFY_EMAIL,
    RESEND_VERIFY_EMAIL,
    TWO_FACTOR_ENABLE,
    TWO_FACTOR_VERIFY_SETUP,
    TWO_FACTOR_DISABLE,
    TWO_FACTOR_VERIFY,
    TWO_FACTOR_BACKUP_EMAIL,
    TWO_FACTOR_VERIFY_EMAIL_OTP,
    TWO_FACTOR_RECOVERY_CODES,
    TWO_FACTOR_VERIFY_RECOVERY,
    FLOWS_LIST,
    FLOWS_GET,
    FLOWS_CREATE,
    FLOWS_UPDATE,
    FLOWS_DELETE,
    FLOWS_VALIDATE,
    FLOWS_COMPILE,
    FLOWS_ACTIVATE,
    FLOWS_DEACTIVATE,
    FLOWS_GRAPH_MERMAID,
    IDENTITY_CREATE,
    IDENTITY_GET,
    IDENTITY_LIST,
    IDENTITY_SQUASH,
    IDENTITY_MESSAGES,
    RUN_PASSWORD_RESET,
    RUN_INVITE,
    RUN_GET,
    RUN_LIST,
    RUN_SECRET,
    CONSUMER_SIGNUP,
    CONSUMER_VERIFY,
    CONSUMER_LOGIN,
    CONSUMER_INBOX,
    CONSUMER_IDENTITIES,
    CONSUMER_CREATE_IDENTITY,
    CONSUMER_NOTIFICATIONS,
    CONSUMER_UPGRADE,
];

/// The routes of one API.
pub fn routes_of(api: Api) -> impl Iterator<Item = &'static Route> {
    ROUTES.iter().filter(move |r| r.api == api)
}

/// Look a route up by its name.
pub fn find(name: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.name == name)
}

/// Look a route up by method and concrete path (path parameters match any
/// single non-empty segment).
pub fn match_path(method: Method, path: &str) -> Option<&'static Route> {
    ROUTES
        .iter()
        .find(|r| r.method == method && template_matches(r.path, path))
}

fn template_matches(template: &str, path: &str) -> bool {
    let mut t = template.split('/');
    let mut p = path.split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return true,
            (Some(ts), Some(ps)) => {
                let is_param = ts.starts_with('{') && ts.ends_with('}');
                if (is_param && ps.is_empty()) || (!is_param && ts != ps) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authflow_has_twenty_routes_with_unique_names_and_paths() {
        let af: Vec<_> = routes_of(Api::AuthFlow).collect();
        assert_eq!(af.len(), 20);
        let mut names: Vec<_> = af.iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 20);
        let mut paths: Vec<_> = af.iter().map(|r| r.path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), 20);
    }

    #[test]
    fn get_routes_use_query_and_post_routes_use_body() {
        for r in ROUTES {
            match r.method {
                Method::Get | Method::Delete => assert_eq!(r.params, Params::Query, "{}", r.name),
                _ => assert_eq!(r.params, Params::JsonBody, "{}", r.name),
            }
            if r.api_key_placement() == KeyPlacement::Query {
                assert_eq!(r.method, Method::Get, "{}", r.name);
            }
        }
    }

    #[test]
    fn documented_key_placements() {
        let with_key: Vec<_> = ROUTES
            .iter()
            .filter(|r| r.api_key_placement() != KeyPlacement::None)
            .map(|r| (r.name, r.api_key_placement()))
            .collect();
        assert_eq!(
            with_key,
            vec![
                ("fooBar", KeyPlacement::Query),
                ("signUp", KeyPlacement::Query),
                ("login", KeyPlacement::Query),
                ("forgot-password", KeyPlacement::Body),
                ("resend-verify-email", KeyPlacement::Query),
            ]
        );
    }

    #[test]
    fn only_reads_are_safe_to_retry() {
        let safe: Vec<_> = routes_of(Api::AuthFlow)
            .filter(|r| r.safe_to_retry())
            .map(|r| r.name)
            .collect();
        assert_eq!(safe, vec!["fooBar", "validate", "me"]);
    }

    #[test]
    fn flow_admin_routes() {
        let flows: Vec<_> = routes_of(Api::Flows).collect();
        assert_eq!(flows.len(), 10, "nine documented routes and graph.mmd");
        assert!(
            flows
                .iter()
                .all(|r| r.credential == Credential::AdminBearer)
        );
        let mut names: Vec<_> = ROUTES.iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ROUTES.len(), "route names are unique");
        assert_eq!(
            match_path(Method::Post, "/api/admin/flows/flow_x/compile").map(|r| r.name),
            Some("compileFlow")
        );
        assert_eq!(
            match_path(Method::Delete, "/api/admin/flows/flow_x").map(|r| r.name),
            Some("deleteFlow")
        );
        assert_eq!(
            match_path(Method::Get, "/api/admin/flows/flow_x/graph.mmd").map(|r| r.name),
            Some("flowGraphMermaid")
        );
        assert_eq!(match_path(Method::Patch, "/api/admin/flows/flow_x"), None);
    }

    #[test]
    fn aidenid_mutations_carry_idempotency_keys() {
        let agent: Vec<_> = routes_of(Api::AidenId).collect();
        let consumer: Vec<_> = routes_of(Api::Consumer).collect();
        assert_eq!(agent.len(), 10);
        assert_eq!(consumer.len(), 8);
        for r in agent.iter().chain(&consumer) {
            assert_eq!(r.idempotency_key, r.mutates, "{}", r.name);
            assert!(r.safe_to_retry(), "{}: reads, or keyed mutations", r.name);
        }
        assert!(agent.iter().all(|r| r.credential == Credential::AgentKey));
        assert_eq!(
            match_path(Method::Post, "/v1/identities/ident_1/squash").map(|r| r.name),
            Some("squashIdentity")
        );
        assert!(CONSUMER_VERIFY.is_secret_field("session_token"));
    }

    #[test]
    fn path_matching() {
        assert_eq!(
            match_path(Method::Get, "/auth/login").map(|r| r.name),
            Some("login")
        );
        assert_eq!(match_path(Method::Post, "/auth/login"), None);
        assert_eq!(match_path(Method::Get, "/auth/login/x"), None);
        assert!(template_matches(
            "/v1/identities/{id}",
            "/v1/identities/ident_1"
        ));
        assert!(!template_matches("/v1/identities/{id}", "/v1/identities/"));
    }

    #[test]
    fn secret_names() {
        for s in [
            "sessionToken",
            "tempToken",
            "newPassword",
            "emailOTP",
            "recoveryCode",
            "api_key",
            "secret",
        ] {
            assert!(is_secret_name(s), "{s}");
        }
        for s in ["email", "role", "org_id", "fullname", "identity"] {
            assert!(!is_secret_name(s), "{s}");
        }
    }
}
