//! The conformance runner in Rust: replays every `tests/conformance/*.json`
//! vector through `authflow_ffi`, the facade every binding comes from.
//!
//! The format and the op vocabulary are specified in
//! `tests/conformance/README.md`; this file is one interpreter of it (the
//! Python, Node and Kotlin runners are the others). Each op is one facade
//! call; every `AuthflowError` is checked for secrets in its `Display`,
//! `Debug` and `detail`.

#![allow(
    clippy::unwrap_used,
    reason = "test runner: a failed unwrap is a failed test"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use authflow_ffi::{
    AgentKey, AidenIdClient, AuthFlowClient, AuthflowError, Challenge, CompileResult,
    ConsumerClient, ConsumerSession, Email, Flow, FlowPage, FlowStatus, FlowSummary, Identity,
    IdentityPage, InboxEvent, InboxEvents, InboxMessage, LoginOutcome, MockServer, Notification,
    NotificationPage, Profile, ProxyOptions, ProxyServer, RecoverySession, Run, RunPage, Secret,
    Session, TotpSetup, UserRef, ValidationIssue, ValidationReport, totp_at, totp_now,
};
use serde_json::Value as J;

/// How long `InboxEvents.next` may wait for an event (real time).
const NEXT_EVENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Secrets shorter than this are not searched for (README, section 6).
const MIN_SECRET_LEN: usize = 6;

// ------------------------------------------------------------------ values

/// A value of the README's model (section 3.1).
#[derive(Clone)]
enum V {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Secret(Arc<Secret>),
    List(Vec<V>),
    Map(BTreeMap<String, V>),
    Handle(H),
}

/// The facade objects a vector can hold.
#[derive(Clone)]
enum H {
    AuthFlow(Arc<AuthFlowClient>),
    Challenge(Arc<Challenge>),
    Flows(Arc<authflow_ffi::FlowsClient>),
    AidenId(Arc<AidenIdClient>),
    Consumer(Arc<ConsumerClient>),
    ConsumerSession(Arc<ConsumerSession>),
    InboxEvents(Arc<InboxEvents>),
    Proxy(Arc<ProxyServer>),
}

impl H {
    fn type_name(&self) -> &'static str {
        match self {
            H::AuthFlow(_) => "AuthFlowClient",
            H::Challenge(_) => "Challenge",
            H::Flows(_) => "FlowsClient",
            H::AidenId(_) => "AidenIdClient",
            H::Consumer(_) => "ConsumerClient",
            H::ConsumerSession(_) => "ConsumerSession",
            H::InboxEvents(_) => "InboxEvents",
            H::Proxy(_) => "ProxyServer",
        }
    }

    /// The readable fields of a handle (README, sections 7 and 9).
    fn fields(&self) -> BTreeMap<String, V> {
        match self {
            H::Challenge(c) => map([
                ("user", user_v(c.user())),
                ("temp_token", V::Secret(c.temp_token())),
                ("request_id", opt_str(c.request_id())),
            ]),
            H::ConsumerSession(s) => map([
                ("consumer_id", V::Str(s.consumer_id())),
                ("org_id", V::Str(s.org_id())),
                ("project_id", V::Str(s.project_id())),
                ("expires_at", V::Str(s.expires_at())),
                ("session_token", V::Secret(s.session_token())),
            ]),
            H::Proxy(p) => map([("base_url", V::Str(p.base_url()))]),
            _ => BTreeMap::new(),
        }
    }
}

fn map<const N: usize>(entries: [(&str, V); N]) -> BTreeMap<String, V> {
    entries
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

fn m<const N: usize>(entries: [(&str, V); N]) -> V {
    V::Map(map(entries))
}

fn int(x: impl TryInto<i64>) -> V {
    V::Int(x.try_into().unwrap_or(i64::MAX))
}

fn opt_str(s: Option<String>) -> V {
    s.map_or(V::Null, V::Str)
}

fn opt_int(x: Option<impl TryInto<i64>>) -> V {
    x.map_or(V::Null, int)
}

fn strs(v: Vec<String>) -> V {
    V::List(v.into_iter().map(V::Str).collect())
}

fn secrets(v: Vec<Arc<Secret>>) -> V {
    V::List(v.into_iter().map(V::Secret).collect())
}

fn list<T>(v: Vec<T>, f: impl Fn(T) -> V) -> V {
    V::List(v.into_iter().map(f).collect())
}

/// A `*_json` field: the JSON value it holds (README, section 9).
fn json_text(s: String) -> V {
    match serde_json::from_str::<J>(&s) {
        Ok(j) => from_json(&j),
        Err(_) => V::Str(s),
    }
}

fn from_json(j: &J) -> V {
    match j {
        J::Null => V::Null,
        J::Bool(b) => V::Bool(*b),
        J::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => V::Int(i),
            (None, Some(u)) => int(u),
            _ => V::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => V::Str(s.clone()),
        J::Array(a) => V::List(a.iter().map(from_json).collect()),
        J::Object(o) => V::Map(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect()),
    }
}

fn to_json(v: &V) -> Result<J, String> {
    Ok(match v {
        V::Null => J::Null,
        V::Bool(b) => J::Bool(*b),
        V::Int(i) => J::from(*i),
        V::Float(f) => J::from(*f),
        V::Str(s) => J::String(s.clone()),
        V::Secret(_) => return Err("a secret cannot be part of a json argument".into()),
        V::List(l) => J::Array(l.iter().map(to_json).collect::<Result<_, _>>()?),
        V::Map(m) => J::Object(
            m.iter()
                .map(|(k, v)| Ok((k.clone(), to_json(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        V::Handle(h) => return Err(format!("a {} cannot be a json argument", h.type_name())),
    })
}

fn kind(v: &V) -> &'static str {
    match v {
        V::Null => "null",
        V::Bool(_) => "bool",
        V::Int(_) => "int",
        V::Float(_) => "float",
        V::Str(_) => "string",
        V::Secret(_) => "secret",
        V::List(_) => "list",
        V::Map(_) => "map",
        V::Handle(_) => "handle",
    }
}

fn text_of(v: &V) -> Option<String> {
    match v {
        V::Str(s) => Some(s.clone()),
        V::Secret(s) => Some(s.expose()),
        _ => None,
    }
}

fn number(v: &V) -> Option<f64> {
    match v {
        #[allow(clippy::cast_precision_loss, reason = "comparisons of test values")]
        V::Int(i) => Some(*i as f64),
        V::Float(f) => Some(*f),
        _ => None,
    }
}

fn equal(a: &V, b: &V) -> bool {
    if let (Some(x), Some(y)) = (number(a), number(b)) {
        return x == y;
    }
    match (a, b) {
        (V::Null, V::Null) => true,
        (V::Bool(x), V::Bool(y)) => x == y,
        (V::Str(_) | V::Secret(_), V::Str(_) | V::Secret(_)) => text_of(a) == text_of(b),
        (V::List(x), V::List(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q)),
        (V::Map(x), V::Map(y)) => {
            x.len() == y.len() && x.iter().all(|(k, p)| y.get(k).is_some_and(|q| equal(p, q)))
        }
        _ => false,
    }
}

fn length(v: &V) -> Option<usize> {
    match v {
        V::Str(s) => Some(s.chars().count()),
        V::Secret(s) => Some(s.expose().chars().count()),
        V::List(l) => Some(l.len()),
        V::Map(m) => Some(m.len()),
        _ => None,
    }
}

/// One path segment into a value.
fn field(v: &V, seg: &str) -> Result<V, String> {
    match v {
        V::Map(m) => m
            .get(seg)
            .cloned()
            .ok_or_else(|| format!("no field `{seg}`")),
        V::List(l) => seg
            .parse::<usize>()
            .ok()
            .and_then(|i| l.get(i).cloned())
            .ok_or_else(|| format!("no index `{seg}` in a list of {}", l.len())),
        V::Handle(h) => h
            .fields()
            .remove(seg)
            .ok_or_else(|| format!("{} has no field `{seg}`", h.type_name())),
        other => Err(format!("cannot take `{seg}` of a {}", kind(other))),
    }
}

/// A path relative to a value: `"$"` or `a.b.0`.
fn at(v: &V, path: &str) -> Result<V, String> {
    if path == "$" {
        return Ok(v.clone());
    }
    let mut cur = v.clone();
    for seg in path.split('.') {
        cur = field(&cur, seg).map_err(|e| format!("path `{path}`: {e}"))?;
    }
    Ok(cur)
}

// --------------------------------------------------------------- facade to V

fn session_v(s: Session) -> V {
    m([("token", V::Secret(s.token)), ("email", V::Str(s.email))])
}

fn user_v(u: UserRef) -> V {
    m([
        ("email", V::Str(u.email)),
        ("org_id", V::Str(u.org_id)),
        ("role", V::Str(u.role)),
    ])
}

fn profile_v(p: Profile) -> V {
    m([
        ("email", V::Str(p.email)),
        ("fullname", V::Str(p.fullname)),
        ("role", V::Str(p.role)),
        ("org_id", V::Str(p.org_id)),
    ])
}

fn totp_setup_v(t: TotpSetup) -> V {
    m([
        ("secret", V::Secret(t.secret)),
        ("qr_code", V::Secret(t.qr_code)),
        ("otpauth_url", V::Secret(t.otpauth_url)),
    ])
}

fn recovery_v(r: RecoverySession) -> V {
    m([
        ("session", session_v(r.session)),
        ("remaining_codes", int(r.remaining_codes)),
    ])
}

fn email_v(e: Email) -> V {
    m([
        ("id", V::Str(e.id)),
        ("to", V::Str(e.to)),
        ("sender", V::Str(e.sender)),
        ("subject", V::Str(e.subject)),
        ("text", V::Str(e.text)),
        ("html", V::Str(e.html)),
        ("received_at", V::Str(e.received_at)),
        ("kind", V::Str(e.kind)),
        ("codes", strs(e.codes)),
        ("links", strs(e.links)),
    ])
}

fn agent_key_v(k: AgentKey) -> V {
    m([
        ("key", V::Secret(k.key)),
        ("org_id", V::Str(k.org_id)),
        ("project_id", V::Str(k.project_id)),
        ("scopes", strs(k.scopes)),
    ])
}

fn flow_summary_v(f: FlowSummary) -> V {
    m([
        ("id", V::Str(f.id)),
        ("name", V::Str(f.name)),
        ("display_name", V::Str(f.display_name)),
        ("flow_type", V::Str(f.flow_type)),
        ("status", V::Str(f.status)),
        ("version", int(f.version)),
        ("created_at", int(f.created_at)),
        ("updated_at", opt_int(f.updated_at)),
    ])
}

fn flow_page_v(p: FlowPage) -> V {
    m([
        ("items", list(p.items, flow_summary_v)),
        ("total", int(p.total)),
        ("cursor", opt_str(p.cursor)),
    ])
}

fn flow_v(f: Flow) -> V {
    m([
        ("id", V::Str(f.id)),
        ("name", V::Str(f.name)),
        ("display_name", V::Str(f.display_name)),
        ("flow_type", V::Str(f.flow_type)),
        ("status", V::Str(f.status)),
        ("version", int(f.version)),
        ("created_at", int(f.created_at)),
        ("updated_at", opt_int(f.updated_at)),
        ("description", opt_str(f.description)),
        ("graph_json", json_text(f.graph_json)),
        ("compiled", V::Bool(f.compiled)),
        ("compiled_at", opt_int(f.compiled_at)),
    ])
}

fn issue_v(i: ValidationIssue) -> V {
    m([
        ("code", V::Str(i.code)),
        ("detail", V::Str(i.detail)),
        ("node_id", opt_str(i.node_id)),
        ("edge_source", opt_str(i.edge_source)),
        ("edge_target", opt_str(i.edge_target)),
    ])
}

fn report_v(r: ValidationReport) -> V {
    m([
        ("valid", V::Bool(r.valid)),
        ("errors", list(r.errors, issue_v)),
        ("warnings", list(r.warnings, issue_v)),
    ])
}

fn compile_v(c: CompileResult) -> V {
    m([
        ("id", V::Str(c.id)),
        ("compiled", V::Bool(c.compiled)),
        ("compiled_at", int(c.compiled_at)),
        ("version", int(c.version)),
    ])
}

fn flow_status_v(s: FlowStatus) -> V {
    m([
        ("id", V::Str(s.id)),
        ("status", V::Str(s.status)),
        ("activated_at", opt_int(s.activated_at)),
        ("deactivated_at", opt_int(s.deactivated_at)),
    ])
}

fn identity_v(i: Identity) -> V {
    m([
        ("id", V::Str(i.id)),
        ("email", V::Str(i.email)),
        ("label", V::Str(i.label)),
        ("status", V::Str(i.status)),
        ("created_at", V::Str(i.created_at)),
        ("expires_at", V::Str(i.expires_at)),
    ])
}

fn identity_page_v(p: IdentityPage) -> V {
    m([
        ("items", list(p.items, identity_v)),
        ("total", int(p.total)),
        ("limit", int(p.limit)),
        ("offset", int(p.offset)),
    ])
}

fn message_v(msg: InboxMessage) -> V {
    m([
        ("id", V::Str(msg.id)),
        ("identity_id", V::Str(msg.identity_id)),
        ("sender", V::Str(msg.sender)),
        ("subject", V::Str(msg.subject)),
        ("received_at", V::Str(msg.received_at)),
        (
            "extraction",
            msg.extraction.map_or(V::Null, |e| {
                m([
                    ("kind", V::Str(e.kind)),
                    ("redacted_value", V::Str(e.redacted_value)),
                    ("confidence", V::Float(e.confidence)),
                ])
            }),
        ),
    ])
}

fn run_v(r: Run) -> V {
    m([
        ("id", V::Str(r.id)),
        ("kind", V::Str(r.kind)),
        ("status", V::Str(r.status)),
        ("identity_id", V::Str(r.identity_id)),
        ("target_url", V::Str(r.target_url)),
        ("created_at", V::Str(r.created_at)),
        ("completed_at", opt_str(r.completed_at)),
        (
            "result",
            r.result.map_or(V::Null, |x| {
                m([
                    ("kind", V::Str(x.kind)),
                    ("redacted_value", V::Str(x.redacted_value)),
                    ("has_secret", V::Bool(x.has_secret)),
                    (
                        "secret_retrieval_available",
                        V::Bool(x.secret_retrieval_available),
                    ),
                    ("confidence", V::Float(x.confidence)),
                    ("delivery_time_ms", int(x.delivery_time_ms)),
                    ("email_received_at", V::Str(x.email_received_at)),
                ])
            }),
        ),
        (
            "failure",
            r.failure.map_or(V::Null, |f| {
                m([("code", V::Str(f.code)), ("detail", V::Str(f.detail))])
            }),
        ),
    ])
}

fn run_page_v(p: RunPage) -> V {
    m([
        ("items", list(p.items, run_v)),
        ("total", int(p.total)),
        ("limit", int(p.limit)),
        ("offset", int(p.offset)),
    ])
}

fn notification_v(n: Notification) -> V {
    m([
        ("id", V::Str(n.id)),
        ("kind", V::Str(n.kind)),
        ("title", V::Str(n.title)),
        ("body", V::Str(n.body)),
        ("read", V::Bool(n.read)),
        ("created_at", V::Str(n.created_at)),
    ])
}

fn notification_page_v(p: NotificationPage) -> V {
    m([
        ("items", list(p.items, notification_v)),
        ("total", int(p.total)),
        ("limit", int(p.limit)),
        ("offset", int(p.offset)),
    ])
}

fn event_v(e: InboxEvent) -> V {
    m([
        ("id", V::Str(e.id)),
        ("event_type", V::Str(e.event_type)),
        ("identity_id", V::Str(e.identity_id)),
        ("message_id", V::Str(e.message_id)),
        ("data_json", json_text(e.data_json)),
    ])
}

fn unit(_: ()) -> V {
    V::Null
}

// -------------------------------------------------------------- arguments

/// The resolved arguments of one step, consumed by the op.
struct Args {
    m: BTreeMap<String, V>,
    used: BTreeSet<String>,
    /// Values passed as `secret` arguments (known secrets from now on).
    secrets: Vec<String>,
}

impl Args {
    fn take(&mut self, k: &str) -> Option<V> {
        self.used.insert(k.to_owned());
        match self.m.get(k) {
            None | Some(V::Null) => None,
            Some(v) => Some(v.clone()),
        }
    }

    fn req(&mut self, k: &str) -> Result<V, String> {
        self.take(k)
            .ok_or_else(|| format!("missing argument `{k}`"))
    }

    fn string(&mut self, k: &str) -> Result<String, String> {
        match self.req(k)? {
            V::Str(s) => Ok(s),
            other => Err(format!("argument `{k}`: a string, not a {}", kind(&other))),
        }
    }

    fn opt_string(&mut self, k: &str) -> Result<Option<String>, String> {
        match self.take(k) {
            None => Ok(None),
            Some(V::Str(s)) => Ok(Some(s)),
            Some(other) => Err(format!("argument `{k}`: a string, not a {}", kind(&other))),
        }
    }

    fn opt_i64(&mut self, k: &str) -> Result<Option<i64>, String> {
        match self.take(k) {
            None => Ok(None),
            Some(V::Int(i)) => Ok(Some(i)),
            Some(other) => Err(format!("argument `{k}`: an int, not a {}", kind(&other))),
        }
    }

    fn i64(&mut self, k: &str) -> Result<i64, String> {
        self.opt_i64(k)?
            .ok_or_else(|| format!("missing argument `{k}`"))
    }

    fn num<T: TryFrom<i64>>(&mut self, k: &str) -> Result<T, String> {
        T::try_from(self.i64(k)?).map_err(|_| format!("argument `{k}` is out of range"))
    }

    fn opt_num<T: TryFrom<i64>>(&mut self, k: &str) -> Result<Option<T>, String> {
        self.opt_i64(k)?
            .map(|i| T::try_from(i).map_err(|_| format!("argument `{k}` is out of range")))
            .transpose()
    }

    fn secret(&mut self, k: &str) -> Result<Arc<Secret>, String> {
        let s = match self.req(k)? {
            V::Secret(s) => s,
            V::Str(s) => Secret::new(s),
            other => return Err(format!("argument `{k}`: a secret, not a {}", kind(&other))),
        };
        self.secrets.push(s.expose());
        Ok(s)
    }

    fn session(&mut self, k: &str) -> Result<Session, String> {
        let v = self.req(k)?;
        let token = match field(&v, "token")? {
            V::Secret(s) => s,
            V::Str(s) => Secret::new(s),
            other => return Err(format!("`{k}.token`: a secret, not a {}", kind(&other))),
        };
        self.secrets.push(token.expose());
        let V::Str(email) = field(&v, "email")? else {
            return Err(format!("`{k}.email` is not a string"));
        };
        Ok(Session { token, email })
    }

    fn user(&mut self, k: &str) -> Result<UserRef, String> {
        let v = self.req(k)?;
        let s = |f: &str| match field(&v, f)? {
            V::Str(s) => Ok(s),
            other => Err(format!("`{k}.{f}`: a string, not a {}", kind(&other))),
        };
        Ok(UserRef {
            email: s("email")?,
            org_id: s("org_id")?,
            role: s("role")?,
        })
    }

    fn json(&mut self, k: &str) -> Result<String, String> {
        Ok(to_json(&self.req(k)?)?.to_string())
    }

    fn opt_json(&mut self, k: &str) -> Result<Option<String>, String> {
        self.take(k)
            .map(|v| Ok(to_json(&v)?.to_string()))
            .transpose()
    }

    fn strings(&mut self, k: &str) -> Result<Vec<String>, String> {
        match self.take(k) {
            None => Ok(Vec::new()),
            Some(V::List(l)) => l
                .into_iter()
                .map(|v| match v {
                    V::Str(s) => Ok(s),
                    other => Err(format!("`{k}`: strings, not a {}", kind(&other))),
                })
                .collect(),
            Some(other) => Err(format!("argument `{k}`: a list, not a {}", kind(&other))),
        }
    }

    /// Unknown argument names are failures (README, section 1.1).
    fn done(&self) -> Result<(), String> {
        let unknown: Vec<&String> = self.m.keys().filter(|k| !self.used.contains(*k)).collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(format!("unknown arguments {unknown:?}"))
        }
    }
}

/// Why an op did not produce a value.
enum Fail {
    /// The facade raised an error.
    Api(Arc<AuthflowError>),
    /// The vector or the runner is wrong (bad argument, unknown op, …).
    Runner(String),
}

impl From<String> for Fail {
    fn from(s: String) -> Self {
        Fail::Runner(s)
    }
}

impl From<Arc<AuthflowError>> for Fail {
    fn from(e: Arc<AuthflowError>) -> Self {
        Fail::Api(e)
    }
}

// ------------------------------------------------------------ interpreter

/// One vector file being run.
struct Run1 {
    mock: Arc<MockServer>,
    builtin: V,
    vars: BTreeMap<String, V>,
    saved: BTreeMap<String, V>,
    /// (label, value) of every known secret.
    known: Vec<(String, String)>,
    proxies: Vec<Arc<ProxyServer>>,
    streams: Vec<Arc<InboxEvents>>,
}

impl Run1 {
    fn add_secret(&mut self, label: &str, value: String) {
        if value.chars().count() >= MIN_SECRET_LEN && !self.known.iter().any(|(_, v)| *v == value) {
            self.known.push((label.to_owned(), value));
        }
    }

    /// Every secret inside a value (handles: their readable fields).
    fn collect(&mut self, v: &V, label: &str) {
        match v {
            V::Secret(s) => self.add_secret(label, s.expose()),
            V::List(l) => l.iter().for_each(|x| self.collect(x, label)),
            V::Map(m) => m.values().for_each(|x| self.collect(x, label)),
            V::Handle(h) => h.fields().values().for_each(|x| self.collect(x, label)),
            _ => {}
        }
    }

    fn lookup(&self, path: &str) -> Result<V, String> {
        let (name, rest) = path
            .split_once('.')
            .map_or((path, None), |(a, b)| (a, Some(b)));
        let root = self
            .saved
            .get(name)
            .or_else(|| self.vars.get(name))
            .or((name == "mock").then_some(&self.builtin))
            .ok_or_else(|| format!("unknown name `{name}` in `${{{path}}}`"))?;
        match rest {
            None => Ok(root.clone()),
            Some(rest) => at(root, rest).map_err(|e| format!("`${{{path}}}`: {e}")),
        }
    }

    /// Resolve the references in a JSON value (README, section 2).
    fn resolve(&self, j: &J) -> Result<V, String> {
        Ok(match j {
            J::String(s) => {
                if let Some(inner) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
                    && !inner.contains("${")
                    && !inner.contains('}')
                {
                    return self.lookup(inner);
                }
                let mut out = String::new();
                let mut rest = s.as_str();
                while let Some(i) = rest.find("${") {
                    out.push_str(&rest[..i]);
                    let after = &rest[i + 2..];
                    let end = after
                        .find('}')
                        .ok_or_else(|| format!("unterminated reference in {s:?}"))?;
                    match self.lookup(&after[..end])? {
                        V::Str(x) => out.push_str(&x),
                        V::Int(i) => out.push_str(&i.to_string()),
                        other => {
                            return Err(format!(
                                "a {} cannot be interpolated into a string",
                                kind(&other)
                            ));
                        }
                    }
                    rest = &after[end + 1..];
                }
                out.push_str(rest);
                V::Str(out)
            }
            J::Array(a) => V::List(
                a.iter()
                    .map(|x| self.resolve(x))
                    .collect::<Result<_, _>>()?,
            ),
            J::Object(o) => V::Map(
                o.iter()
                    .map(|(k, v)| Ok((k.clone(), self.resolve(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => from_json(other),
        })
    }

    /// A value for a failure message: secrets redacted.
    fn show(&self, v: &V) -> String {
        match v {
            V::Null => "null".into(),
            V::Bool(b) => b.to_string(),
            V::Int(i) => i.to_string(),
            V::Float(f) => f.to_string(),
            V::Secret(_) => "[REDACTED]".into(),
            V::Str(s) => {
                if self.known.iter().any(|(_, k)| s.contains(k.as_str())) {
                    "[REDACTED]".into()
                } else if s.chars().count() > 120 {
                    format!("{:?}…", s.chars().take(120).collect::<String>())
                } else {
                    format!("{s:?}")
                }
            }
            V::List(l) => format!(
                "[{}]",
                l.iter()
                    .map(|x| self.show(x))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            V::Map(m) => format!(
                "{{{}}}",
                m.iter()
                    .map(|(k, x)| format!("{k}: {}", self.show(x)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            V::Handle(h) => format!("<{}>", h.type_name()),
        }
    }

    /// One `expect` entry (README, section 5.1).
    fn check(&self, actual: &V, matcher: &J) -> Result<(), String> {
        if let J::Object(o) = matcher
            && o.len() == 1
            && let Some((op, arg)) = o.iter().next()
            && op.starts_with('$')
        {
            let want = self.resolve(arg)?;
            let ok = match op.as_str() {
                "$type" => {
                    let t = text_of(&want).unwrap_or_default();
                    kind(actual) == t || (t == "float" && matches!(actual, V::Int(_)))
                }
                "$ne" => !equal(actual, &want),
                "$len" | "$min_len" => {
                    let n = number(&want).ok_or("`$len` takes an int")?;
                    #[allow(clippy::cast_precision_loss, reason = "test sizes")]
                    let len = length(actual).map(|l| l as f64);
                    match len {
                        Some(l) if op == "$len" => l == n,
                        Some(l) => l >= n,
                        None => false,
                    }
                }
                "$starts_with" => {
                    let p = text_of(&want).ok_or("`$starts_with` takes a string")?;
                    text_of(actual).is_some_and(|t| t.starts_with(&p))
                }
                "$contains" => match actual {
                    V::List(l) => l.iter().any(|x| equal(x, &want)),
                    _ => {
                        let p = text_of(&want).ok_or("`$contains` takes a string")?;
                        text_of(actual).is_some_and(|t| t.contains(&p))
                    }
                },
                "$gte" => {
                    let n = number(&want).ok_or("`$gte` takes a number")?;
                    number(actual).is_some_and(|a| a >= n)
                }
                "$in" => match &want {
                    V::List(l) => l.iter().any(|x| equal(actual, x)),
                    _ => return Err("`$in` takes a list".into()),
                },
                other => return Err(format!("unknown matcher `{other}`")),
            };
            return if ok {
                Ok(())
            } else {
                Err(format!(
                    "expected {op} {}, got {}",
                    self.show(&want),
                    self.show(actual)
                ))
            };
        }
        let want = self.resolve(matcher)?;
        if equal(actual, &want) {
            Ok(())
        } else {
            Err(format!(
                "expected {}, got {}",
                self.show(&want),
                self.show(actual)
            ))
        }
    }

    /// The secret check on an error (README, section 6): the label of a
    /// leaked secret, never its value.
    fn leak(&self, e: &AuthflowError) -> Option<String> {
        let texts = [format!("{e}"), format!("{e:?}"), e.detail()];
        self.known
            .iter()
            .find(|(_, s)| texts.iter().any(|t| t.contains(s.as_str())))
            .map(|(label, _)| label.clone())
    }

    fn handle(&self, on: Option<&str>) -> Result<H, String> {
        let name = on.ok_or("this op needs `on`")?;
        match self.saved.get(name) {
            Some(V::Handle(h)) => Ok(h.clone()),
            Some(other) => Err(format!("`on: {name}` is a {}, not a handle", kind(other))),
            None => Err(format!("`on: {name}`: no such saved value")),
        }
    }

    /// The newest captured email to `to` of `kind` (README, section 8).
    fn newest_email(&self, to: &str, kind: &str) -> Result<Email, Fail> {
        self.mock
            .emails_to(to.to_owned())?
            .into_iter()
            .rev()
            .find(|e| e.kind == kind)
            .ok_or_else(|| Fail::Runner(format!("no `{kind}` email to {to}")))
    }

    /// Run one op: one facade call.
    #[allow(clippy::too_many_lines, reason = "one arm per op of the README")]
    async fn call(&mut self, op: &str, on: Option<&str>, a: &mut Args) -> Result<V, Fail> {
        macro_rules! on {
            ($variant:ident) => {
                match self.handle(on)? {
                    H::$variant(x) => x,
                    other => {
                        return Err(Fail::Runner(format!(
                            "`on` is a {}, this op needs a {}",
                            other.type_name(),
                            stringify!($variant)
                        )));
                    }
                }
            };
        }
        macro_rules! done {
            () => {
                a.done()?
            };
        }
        let mock = self.mock.clone();
        Ok(match op {
            // ------------------------------------------------ AuthFlowClient
            "AuthFlowClient.new" => {
                let (key, url) = (a.secret("api_key")?, a.opt_string("base_url")?);
                done!();
                V::Handle(H::AuthFlow(AuthFlowClient::new(key, url)?))
            }
            "AuthFlowClient.via_proxy" => {
                let url = a.string("base_url")?;
                done!();
                V::Handle(H::AuthFlow(AuthFlowClient::via_proxy(url)?))
            }
            "AuthFlowClient.base_url" => {
                let c = on!(AuthFlow);
                done!();
                V::Str(c.base_url())
            }
            "AuthFlowClient.sign_up" => {
                let c = on!(AuthFlow);
                let (e, p, f, r) = (
                    a.string("email")?,
                    a.secret("password")?,
                    a.string("fullname")?,
                    a.string("role")?,
                );
                done!();
                session_v(c.sign_up(e, p, f, r).await?)
            }
            "AuthFlowClient.login" => {
                let c = on!(AuthFlow);
                let (e, p, r) = (a.string("email")?, a.secret("password")?, a.string("role")?);
                done!();
                match c.login(e, p, r).await? {
                    LoginOutcome::Session { session } => m([
                        ("outcome", V::Str("session".into())),
                        ("session", session_v(session)),
                    ]),
                    LoginOutcome::TwoFactorRequired { challenge } => m([
                        ("outcome", V::Str("two_factor_required".into())),
                        ("challenge", V::Handle(H::Challenge(challenge))),
                    ]),
                }
            }
            "AuthFlowClient.validate" => {
                let c = on!(AuthFlow);
                let s = a.session("session")?;
                done!();
                V::Bool(c.validate(s).await?)
            }
            "AuthFlowClient.me" => {
                let c = on!(AuthFlow);
                let t = a.secret("session_token")?;
                done!();
                profile_v(c.me(t).await?)
            }
            "AuthFlowClient.logout" => {
                let c = on!(AuthFlow);
                let s = a.session("session")?;
                done!();
                unit(c.logout(s).await?)
            }
            "AuthFlowClient.delete_user" => {
                let c = on!(AuthFlow);
                let (o, org, u) = (
                    a.session("owner")?,
                    a.string("org_id")?,
                    a.string("user_email")?,
                );
                done!();
                unit(c.delete_user(o, org, u).await?)
            }
            "AuthFlowClient.forgot_password" => {
                let c = on!(AuthFlow);
                let (e, r) = (a.string("email")?, a.opt_string("role")?);
                done!();
                unit(c.forgot_password(e, r).await?)
            }
            "AuthFlowClient.reset_password" => {
                let c = on!(AuthFlow);
                let (t, p) = (a.secret("token")?, a.secret("new_password")?);
                done!();
                unit(c.reset_password(t, p).await?)
            }
            "AuthFlowClient.change_password" => {
                let c = on!(AuthFlow);
                let (s, o, n) = (
                    a.session("session")?,
                    a.secret("old_password")?,
                    a.secret("new_password")?,
                );
                done!();
                unit(c.change_password(s, o, n).await?)
            }
            "AuthFlowClient.verify_email" => {
                let c = on!(AuthFlow);
                let t = a.secret("token")?;
                done!();
                unit(c.verify_email(t).await?)
            }
            "AuthFlowClient.resend_verification" => {
                let c = on!(AuthFlow);
                let (e, r) = (a.string("email")?, a.opt_string("role")?);
                done!();
                unit(c.resend_verification(e, r).await?)
            }
            "AuthFlowClient.enable_totp" => {
                let c = on!(AuthFlow);
                let (t, u) = (a.secret("session_token")?, a.user("user")?);
                done!();
                totp_setup_v(c.enable_totp(t, u).await?)
            }
            "AuthFlowClient.verify_totp_setup" => {
                let c = on!(AuthFlow);
                let (t, u, code, s) = (
                    a.secret("session_token")?,
                    a.user("user")?,
                    a.secret("code")?,
                    a.secret("secret")?,
                );
                done!();
                secrets(c.verify_totp_setup(t, u, code, s).await?)
            }
            "AuthFlowClient.disable_totp" => {
                let c = on!(AuthFlow);
                let (t, u, p) = (
                    a.secret("session_token")?,
                    a.user("user")?,
                    a.secret("password")?,
                );
                done!();
                unit(c.disable_totp(t, u, p).await?)
            }
            "AuthFlowClient.regenerate_recovery_codes" => {
                let c = on!(AuthFlow);
                let (t, u, p) = (
                    a.secret("session_token")?,
                    a.user("user")?,
                    a.secret("password")?,
                );
                done!();
                secrets(c.regenerate_recovery_codes(t, u, p).await?)
            }
            "AuthFlowClient.verify_2fa" => {
                let c = on!(AuthFlow);
                let (t, u, code) = (a.secret("temp_token")?, a.user("user")?, a.secret("code")?);
                done!();
                session_v(c.verify_2fa(t, u, code).await?)
            }
            "AuthFlowClient.send_backup_email" => {
                let c = on!(AuthFlow);
                let (t, u) = (a.secret("temp_token")?, a.user("user")?);
                done!();
                unit(c.send_backup_email(t, u).await?)
            }
            "AuthFlowClient.verify_email_otp" => {
                let c = on!(AuthFlow);
                let (u, otp) = (a.user("user")?, a.secret("otp")?);
                done!();
                session_v(c.verify_email_otp(u, otp).await?)
            }
            "AuthFlowClient.verify_recovery_code" => {
                let c = on!(AuthFlow);
                let (u, code) = (a.user("user")?, a.secret("code")?);
                done!();
                recovery_v(c.verify_recovery_code(u, code).await?)
            }
            // ------------------------------------------------------ Challenge
            "Challenge.verify_totp" => {
                let c = on!(Challenge);
                let code = a.secret("code")?;
                done!();
                session_v(c.verify_totp(code).await?)
            }
            "Challenge.send_backup_email" => {
                let c = on!(Challenge);
                done!();
                unit(c.send_backup_email().await?)
            }
            "Challenge.verify_email_otp" => {
                let c = on!(Challenge);
                let otp = a.secret("otp")?;
                done!();
                session_v(c.verify_email_otp(otp).await?)
            }
            "Challenge.verify_recovery_code" => {
                let c = on!(Challenge);
                let code = a.secret("code")?;
                done!();
                recovery_v(c.verify_recovery_code(code).await?)
            }
            // ----------------------------------------------------- MockServer
            "MockServer.emails_to" => {
                let to = a.string("address")?;
                done!();
                list(mock.emails_to(to)?, email_v)
            }
            "MockServer.latest_email" => {
                let to = a.string("address")?;
                done!();
                mock.latest_email(to)?.map_or(V::Null, email_v)
            }
            "MockServer.advance_clock" => {
                let s = a.num::<u64>("seconds")?;
                done!();
                mock.advance_clock(s);
                V::Null
            }
            "MockServer.freeze_clock" => {
                done!();
                mock.freeze_clock();
                V::Null
            }
            "MockServer.unfreeze_clock" => {
                done!();
                mock.unfreeze_clock();
                V::Null
            }
            "MockServer.now_secs" => {
                done!();
                V::Int(mock.now_secs())
            }
            "MockServer.reset" => {
                done!();
                unit(mock.reset()?)
            }
            "MockServer.flows_read_token" => {
                done!();
                V::Secret(mock.flows_read_token())
            }
            "MockServer.agent_key_with_secrets" => {
                done!();
                agent_key_v(mock.agent_key_with_secrets())
            }
            "MockServer.agent_key_read_only" => {
                done!();
                agent_key_v(mock.agent_key_read_only())
            }
            "MockServer.demo_target_url" => {
                let k = a.string("kind")?;
                done!();
                V::Str(mock.demo_target_url(k)?)
            }
            "MockServer.magic_link_token" => {
                let to = a.string("address")?;
                done!();
                mock.magic_link_token(to)?.map_or(V::Null, V::Secret)
            }
            "totp_at" => {
                let (s, t) = (a.secret("secret")?, a.num::<u64>("unix_seconds")?);
                done!();
                V::Secret(totp_at(s, t)?)
            }
            "totp_now" => {
                let s = a.secret("secret")?;
                done!();
                V::Secret(totp_now(s)?)
            }
            // ---------------------------------------------------------- util
            "util.email_link_token" | "util.email_link" => {
                let (to, k) = (a.string("to")?, a.string("kind")?);
                done!();
                let mail = self.newest_email(&to, &k)?;
                let link = mail
                    .links
                    .first()
                    .cloned()
                    .ok_or_else(|| Fail::Runner(format!("the `{k}` email has no link")))?;
                if op == "util.email_link" {
                    V::Str(link)
                } else {
                    let token = query_param(&link, "token").ok_or_else(|| {
                        Fail::Runner(format!("the `{k}` email's link has no token"))
                    })?;
                    V::Secret(Secret::new(token))
                }
            }
            "util.email_code" => {
                let (to, k) = (a.string("to")?, a.string("kind")?);
                done!();
                let mail = self.newest_email(&to, &k)?;
                let code = mail
                    .codes
                    .first()
                    .cloned()
                    .ok_or_else(|| Fail::Runner(format!("the `{k}` email has no code")))?;
                V::Secret(Secret::new(code))
            }
            "util.totp_at_mock_now" => {
                let (s, off) = (a.secret("secret")?, a.opt_i64("offset_seconds")?);
                done!();
                let t = u64::try_from(mock.now_secs() + off.unwrap_or(0))
                    .map_err(|_| "time before the epoch".to_owned())?;
                V::Secret(totp_at(s, t)?)
            }
            // ---------------------------------------------------- FlowsClient
            "FlowsClient.new" => {
                let (t, url) = (a.secret("token")?, a.opt_string("base_url")?);
                done!();
                V::Handle(H::Flows(authflow_ffi::FlowsClient::new(t, url)?))
            }
            "FlowsClient.base_url" => {
                let c = on!(Flows);
                done!();
                V::Str(c.base_url())
            }
            "FlowsClient.list" => {
                let c = on!(Flows);
                let (l, cur, t, s) = (
                    a.opt_num::<u32>("limit")?,
                    a.opt_string("cursor")?,
                    a.opt_string("flow_type")?,
                    a.opt_string("status")?,
                );
                done!();
                flow_page_v(c.list(l, cur, t, s).await?)
            }
            "FlowsClient.get" => {
                let c = on!(Flows);
                let id = a.string("id")?;
                done!();
                flow_v(c.get(id).await?)
            }
            "FlowsClient.create" => {
                let c = on!(Flows);
                let (n, d, t, desc, g) = (
                    a.string("name")?,
                    a.string("display_name")?,
                    a.string("flow_type")?,
                    a.opt_string("description")?,
                    a.json("graph_json")?,
                );
                done!();
                flow_v(c.create(n, d, t, desc, g).await?)
            }
            "FlowsClient.update" => {
                let c = on!(Flows);
                let (id, d, desc, g) = (
                    a.string("id")?,
                    a.opt_string("display_name")?,
                    a.opt_string("description")?,
                    a.opt_json("graph_json")?,
                );
                done!();
                flow_v(c.update(id, d, desc, g).await?)
            }
            "FlowsClient.delete" => {
                let c = on!(Flows);
                let id = a.string("id")?;
                done!();
                unit(c.delete(id).await?)
            }
            "FlowsClient.validate" => {
                let c = on!(Flows);
                let id = a.string("id")?;
                done!();
                report_v(c.validate(id).await?)
            }
            "FlowsClient.compile" => {
                let c = on!(Flows);
                let id = a.string("id")?;
                done!();
                compile_v(c.compile(id).await?)
            }
            "FlowsClient.activate" => {
                let c = on!(Flows);
                let id = a.string("id")?;
                done!();
                flow_status_v(c.activate(id).await?)
            }
            "FlowsClient.deactivate" => {
                let c = on!(Flows);
                let id = a.string("id")?;
                done!();
                flow_status_v(c.deactivate(id).await?)
            }
            "FlowsClient.mermaid" => {
                let c = on!(Flows);
                let id = a.string("id")?;
                done!();
                V::Str(c.mermaid(id).await?)
            }
            // -------------------------------------------------- AidenIdClient
            "AidenIdClient.new" => {
                let (k, o, p, url) = (
                    a.secret("agent_key")?,
                    a.string("org_id")?,
                    a.string("project_id")?,
                    a.opt_string("base_url")?,
                );
                done!();
                V::Handle(H::AidenId(AidenIdClient::new(k, o, p, url)?))
            }
            "AidenIdClient.base_url" => {
                let c = on!(AidenId);
                done!();
                V::Str(c.base_url())
            }
            "AidenIdClient.create_identity" => {
                let c = on!(AidenId);
                let (l, ttl) = (a.string("label")?, a.opt_num::<u32>("ttl_hours")?);
                done!();
                identity_v(c.create_identity(l, ttl).await?)
            }
            "AidenIdClient.identity" => {
                let c = on!(AidenId);
                let id = a.string("id")?;
                done!();
                identity_v(c.identity(id).await?)
            }
            "AidenIdClient.list_identities" => {
                let c = on!(AidenId);
                let (l, o) = (a.opt_num::<u32>("limit")?, a.opt_num::<u64>("offset")?);
                done!();
                identity_page_v(c.list_identities(l, o).await?)
            }
            "AidenIdClient.squash_identity" => {
                let c = on!(AidenId);
                let id = a.string("id")?;
                done!();
                identity_v(c.squash_identity(id).await?)
            }
            "AidenIdClient.messages" => {
                let c = on!(AidenId);
                let id = a.string("id")?;
                done!();
                list(c.messages(id).await?, message_v)
            }
            "AidenIdClient.create_password_reset_run" | "AidenIdClient.create_invite_run" => {
                let c = on!(AidenId);
                let (i, t, s) = (
                    a.string("identity_id")?,
                    a.string("target_url")?,
                    a.opt_num::<u32>("timeout_seconds")?,
                );
                done!();
                run_v(if op == "AidenIdClient.create_invite_run" {
                    c.create_invite_run(i, t, s).await?
                } else {
                    c.create_password_reset_run(i, t, s).await?
                })
            }
            "AidenIdClient.run" => {
                let c = on!(AidenId);
                let id = a.string("id")?;
                done!();
                run_v(c.run(id).await?)
            }
            "AidenIdClient.list_runs" => {
                let c = on!(AidenId);
                let (s, l, o) = (
                    a.opt_string("status")?,
                    a.opt_num::<u32>("limit")?,
                    a.opt_num::<u64>("offset")?,
                );
                done!();
                run_page_v(c.list_runs(s, l, o).await?)
            }
            "AidenIdClient.run_secret" => {
                let c = on!(AidenId);
                let id = a.string("id")?;
                done!();
                V::Secret(c.run_secret(id).await?)
            }
            "AidenIdClient.wait_for_run" => {
                let c = on!(AidenId);
                let (id, w) = (a.string("id")?, a.opt_num::<u64>("max_wait_ms")?);
                done!();
                run_v(c.wait_for_run(id, w).await?)
            }
            // ------------------------------------------ Consumer client/session
            "ConsumerClient.new" => {
                let url = a.opt_string("base_url")?;
                done!();
                V::Handle(H::Consumer(ConsumerClient::new(url)?))
            }
            "ConsumerClient.base_url" => {
                let c = on!(Consumer);
                done!();
                V::Str(c.base_url())
            }
            "ConsumerClient.signup" => {
                let c = on!(Consumer);
                let e = a.string("email")?;
                done!();
                unit(c.signup(e).await?)
            }
            "ConsumerClient.login" => {
                let c = on!(Consumer);
                let e = a.string("email")?;
                done!();
                unit(c.login(e).await?)
            }
            "ConsumerClient.verify" => {
                let c = on!(Consumer);
                let t = a.secret("token")?;
                done!();
                V::Handle(H::ConsumerSession(c.verify(t).await?))
            }
            "ConsumerSession.identities" => {
                let s = on!(ConsumerSession);
                let (l, o) = (a.opt_num::<u32>("limit")?, a.opt_num::<u64>("offset")?);
                done!();
                identity_page_v(s.identities(l, o).await?)
            }
            "ConsumerSession.create_identity" => {
                let s = on!(ConsumerSession);
                let l = a.string("label")?;
                done!();
                identity_v(s.create_identity(l).await?)
            }
            "ConsumerSession.notifications" => {
                let s = on!(ConsumerSession);
                let (l, o) = (a.opt_num::<u32>("limit")?, a.opt_num::<u64>("offset")?);
                done!();
                notification_page_v(s.notifications(l, o).await?)
            }
            "ConsumerSession.upgrade" => {
                let s = on!(ConsumerSession);
                done!();
                let u = s.upgrade().await?;
                m([("checkout_url", V::Str(u.checkout_url))])
            }
            "ConsumerSession.inbox_events" => {
                let s = on!(ConsumerSession);
                let last = a.opt_string("last_event_id")?;
                done!();
                let events = s.inbox_events(last);
                self.streams.push(events.clone());
                V::Handle(H::InboxEvents(events))
            }
            "InboxEvents.next" => {
                let s = on!(InboxEvents);
                done!();
                match tokio::time::timeout(NEXT_EVENT_TIMEOUT, s.next()).await {
                    Ok(r) => r?.map_or(V::Null, event_v),
                    Err(_) => {
                        return Err(Fail::Runner(format!(
                            "no event within {NEXT_EVENT_TIMEOUT:?}"
                        )));
                    }
                }
            }
            "InboxEvents.close" => {
                let s = on!(InboxEvents);
                done!();
                s.close().await;
                V::Null
            }
            // ---------------------------------------------------- ProxyServer
            "ProxyServer.start" | "ProxyServer.start_with" => {
                let (u, k) = (a.string("upstream")?, a.secret("api_key")?);
                let p = if op == "ProxyServer.start_with" {
                    let o = a.req("options")?;
                    let mut oa = Args {
                        m: match o {
                            V::Map(m) => m,
                            other => {
                                return Err(
                                    format!("`options`: a map, not a {}", kind(&other)).into()
                                );
                            }
                        },
                        used: BTreeSet::new(),
                        secrets: Vec::new(),
                    };
                    let options = ProxyOptions {
                        cookie_origins: oa.strings("cookie_origins")?,
                        cors_origins: oa.strings("cors_origins")?,
                        body_limit: oa.opt_num::<u64>("body_limit")?,
                    };
                    oa.done().map_err(|e| format!("`options`: {e}"))?;
                    done!();
                    ProxyServer::start_with(u, k, options).await?
                } else {
                    done!();
                    ProxyServer::start(u, k).await?
                };
                self.proxies.push(p.clone());
                V::Handle(H::Proxy(p))
            }
            "ProxyServer.base_url" => {
                let p = on!(Proxy);
                done!();
                V::Str(p.base_url())
            }
            "ProxyServer.shutdown" => {
                let p = on!(Proxy);
                done!();
                p.shutdown().await;
                V::Null
            }
            other => return Err(Fail::Runner(format!("unknown op `{other}`"))),
        })
    }
}

/// The percent-decoded value of `name` in the query of `url`.
fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1.split('#').next()?;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let hex = |c: u8| char::from(c).to_digit(16);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ------------------------------------------------------------------ driver

const STEP_KEYS: [&str; 8] = [
    "name",
    "op",
    "on",
    "args",
    "save",
    "expect",
    "expect_error",
    "note",
];

/// The outcome of one file: steps executed, steps in total, failures.
struct FileReport {
    file: String,
    executed: usize,
    total: usize,
    failure: Option<String>,
}

fn vector_files() -> Vec<PathBuf> {
    // Another directory of vectors (e.g. mutated ones, to see the runner fail).
    let dir = std::env::var_os("CONFORMANCE_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance"),
        PathBuf::from,
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

async fn run_file(path: &Path) -> FileReport {
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    let doc: J = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{file}: not JSON: {e}"));
    let steps = doc["steps"].as_array().cloned().unwrap_or_default();
    let mut report = FileReport {
        file: file.clone(),
        executed: 0,
        total: steps.len(),
        failure: None,
    };
    if doc["format"] != 1 {
        report.failure = Some(format!("{file}: `format` is not 1"));
        return report;
    }
    let mock = match MockServer::start().await {
        Ok(m) => m,
        Err(e) => {
            report.failure = Some(format!("{file}: the mock did not start: {}", e.code()));
            return report;
        }
    };
    let builtin = m([
        ("base_url", V::Str(mock.base_url())),
        ("api_key", V::Secret(mock.api_key())),
        ("org_id", V::Str(mock.org_id())),
        ("owner_email", V::Str(mock.owner_email())),
        ("owner_password", V::Secret(mock.owner_password())),
        ("owner_role", V::Str(mock.owner_role())),
        ("flows_admin_token", V::Secret(mock.flows_admin_token())),
        ("agent_key", agent_key_v(mock.agent_key())),
    ]);
    let mut r = Run1 {
        mock: mock.clone(),
        builtin: builtin.clone(),
        vars: BTreeMap::new(),
        saved: BTreeMap::new(),
        known: Vec::new(),
        proxies: Vec::new(),
        streams: Vec::new(),
    };
    r.collect(&builtin, "a secret of the mock");
    if let Some(vars) = doc["vars"].as_object() {
        r.vars = vars
            .iter()
            .map(|(k, v)| (k.clone(), from_json(v)))
            .collect();
    }
    for name in doc["secrets"].as_array().into_iter().flatten() {
        let name = name.as_str().unwrap_or_default();
        match r.vars.get(name).and_then(text_of) {
            Some(v) => r.add_secret(&format!("var `{name}`"), v),
            None => {
                report.failure = Some(format!("{file}: secret `{name}` is not a string var"));
            }
        }
    }
    if report.failure.is_none() {
        let mut names = BTreeSet::new();
        for (i, step) in steps.iter().enumerate() {
            let name = step["name"].as_str().unwrap_or("<unnamed>").to_owned();
            let op = step["op"].as_str().unwrap_or("<no op>").to_owned();
            let at = format!("{file} step #{} {name:?} ({op})", i + 1);
            let outcome = if names.insert(name.clone()) {
                run_step(&mut r, step, &name).await
            } else {
                Err("duplicate step name".to_owned())
            };
            match outcome {
                Ok(()) => report.executed += 1,
                Err(e) => {
                    report.failure = Some(format!("{at}: {e}"));
                    break;
                }
            }
        }
    }
    for s in &r.streams {
        s.close().await;
    }
    for p in &r.proxies {
        p.shutdown().await;
    }
    mock.shutdown().await;
    report
}

async fn run_step(r: &mut Run1, step: &J, name: &str) -> Result<(), String> {
    let obj = step.as_object().ok_or("a step is not an object")?;
    if let Some(k) = obj.keys().find(|k| !STEP_KEYS.contains(&k.as_str())) {
        return Err(format!("unknown step key `{k}`"));
    }
    let op = obj
        .get("op")
        .and_then(J::as_str)
        .ok_or("a step without `op`")?;
    let on = match obj.get("on") {
        None => None,
        Some(J::String(s)) => Some(s.as_str()),
        Some(_) => return Err("`on` is not a string".into()),
    };
    let expect_error = obj.get("expect_error");
    if expect_error.is_some() && (obj.contains_key("expect") || obj.contains_key("save")) {
        return Err("`expect_error` with `expect` or `save`".into());
    }
    let args = match obj.get("args") {
        None => BTreeMap::new(),
        Some(j @ J::Object(_)) => match r.resolve(j)? {
            V::Map(m) => m,
            _ => unreachable!("an object resolves to a map"),
        },
        Some(_) => return Err("`args` is not an object".into()),
    };
    let mut a = Args {
        m: args,
        used: BTreeSet::new(),
        secrets: Vec::new(),
    };
    let outcome = r.call(op, on, &mut a).await;
    for s in std::mem::take(&mut a.secrets) {
        r.add_secret(&format!("a secret argument of step {name:?}"), s);
    }
    match outcome {
        Err(Fail::Runner(e)) => Err(e),
        Err(Fail::Api(e)) => {
            if let Some(label) = r.leak(&e) {
                return Err(format!(
                    "the error text contains a secret: {label} (code {})",
                    e.code()
                ));
            }
            let Some(want) = expect_error else {
                return Err(format!(
                    "unexpected error: code {}, status {:?}: {}",
                    e.code(),
                    e.status(),
                    e.detail()
                ));
            };
            let code = r.resolve(&want["code"])?;
            let status = want
                .get("status")
                .ok_or("`expect_error` without `status`")?;
            let mut problems = Vec::new();
            if !equal(&V::Str(e.code()), &code) {
                problems.push(format!("code {} (expected {})", e.code(), r.show(&code)));
            }
            let got_status = opt_int(e.status());
            if !equal(&got_status, &from_json(status)) {
                problems.push(format!(
                    "status {} (expected {status})",
                    r.show(&got_status)
                ));
            }
            if let Some(want) = want.get("retryable")
                && want != &J::Bool(e.retryable())
            {
                problems.push(format!("retryable {} (expected {want})", e.retryable()));
            }
            if let Some(part) = want.get("detail_contains") {
                let part = text_of(&r.resolve(part)?).unwrap_or_default();
                if !e.detail().contains(&part) {
                    problems.push(format!("detail does not contain {part:?}"));
                }
            }
            if problems.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "wrong error: {} ({})",
                    problems.join(", "),
                    e.detail()
                ))
            }
        }
        Ok(value) => {
            if let Some(want) = expect_error {
                return Err(format!("expected error {want}, but the call succeeded"));
            }
            r.collect(&value, &format!("a secret from step {name:?}"));
            if let Some(expect) = obj.get("expect") {
                let expect = expect.as_object().ok_or("`expect` is not an object")?;
                let mut problems = Vec::new();
                for (path, matcher) in expect {
                    let checked = at(&value, path).and_then(|v| r.check(&v, matcher));
                    if let Err(e) = checked {
                        problems.push(format!("`{path}`: {e}"));
                    }
                }
                if !problems.is_empty() {
                    return Err(problems.join("; "));
                }
            }
            match obj.get("save") {
                None => {}
                Some(J::String(n)) => save(r, n, value)?,
                Some(J::Object(o)) => {
                    for (n, path) in o {
                        let path = path.as_str().ok_or("a `save` path is not a string")?;
                        save(r, n, at(&value, path)?)?;
                    }
                }
                Some(_) => return Err("`save` is neither a string nor an object".into()),
            }
            Ok(())
        }
    }
}

fn save(r: &mut Run1, name: &str, v: V) -> Result<(), String> {
    if name == "mock" || r.vars.contains_key(name) {
        return Err(format!("`save` over the var or builtin `{name}`"));
    }
    r.saved.insert(name.to_owned(), v);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_vectors() {
    let files = vector_files();
    assert!(!files.is_empty(), "no vector files in tests/conformance/");
    let mut reports = Vec::new();
    for f in &files {
        reports.push(run_file(f).await);
    }
    let (mut executed, mut total) = (0, 0);
    let mut failures = Vec::new();
    for rep in &reports {
        println!(
            "conformance (rust): {}: {}/{} steps",
            rep.file, rep.executed, rep.total
        );
        executed += rep.executed;
        total += rep.total;
        failures.extend(rep.failure.clone());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        executed, total,
        "every step of every vector file must run ({executed} of {total} did)"
    );
}

#[test]
fn helpers_behave() {
    assert_eq!(
        query_param("http://x/reset?a=1&token=ab%2Fc+d#f", "token").as_deref(),
        Some("ab/c d")
    );
    assert_eq!(query_param("http://x/reset?a=1", "token"), None);
    assert!(equal(&V::Int(3), &V::Float(3.0)));
    assert!(equal(
        &V::Secret(Secret::new("abcdef".into())),
        &V::Str("abcdef".into())
    ));
    assert!(!equal(
        &m([("a", V::Int(1))]),
        &m([("a", V::Int(1)), ("b", V::Null)])
    ));
    assert_eq!(
        at(&m([("a", V::List(vec![V::Int(7)]))]), "a.0")
            .ok()
            .and_then(|v| number(&v)),
        Some(7.0)
    );
}
