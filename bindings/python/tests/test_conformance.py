"""The conformance runner in Python: replays every `tests/conformance/*.json`
vector (the journey as data) through the Python binding.

The format and the op vocabulary are specified in
`tests/conformance/README.md`; this is one interpreter of it (Rust, Node and
Kotlin have theirs). Each op is one binding call; every `AuthflowError` is
checked for secrets in its `str()`, `repr()`, `detail` and `args`.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import authflow
from authflow import AuthflowError, MockServer, Secret

# CONFORMANCE_DIR: another directory of vectors (e.g. mutated ones, to see the runner fail).
VECTORS = Path(
    os.environ.get("CONFORMANCE_DIR") or Path(__file__).resolve().parents[3] / "tests" / "conformance"
)
FILES = sorted(VECTORS.glob("*.json"), key=lambda p: p.name.encode())
MIN_SECRET_LEN = 6
NEXT_EVENT_TIMEOUT = 30.0
STEP_KEYS = {"name", "op", "on", "args", "save", "expect", "expect_error", "note"}
REF = re.compile(r"\$\{([^}]*)\}")

# Objects with methods (section 3.1 "handle"), and their readable fields.
HANDLE_FIELDS: dict[str, tuple[str, ...]] = {
    "AuthFlowClient": (),
    "Challenge": ("user", "temp_token", "request_id"),
    "FlowsClient": (),
    "AidenIdClient": (),
    "ConsumerClient": (),
    "ConsumerSession": ("consumer_id", "org_id", "project_id", "expires_at", "session_token"),
    "InboxEvents": (),
    "ProxyServer": ("base_url",),
}


class RunnerError(Exception):
    """The vector or the runner is wrong (not an error of the binding)."""


class Handle:
    """A binding object used with `on`."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj
        self.type = type(obj).__name__

    def field(self, name: str) -> Any:
        if name not in HANDLE_FIELDS.get(self.type, ()):
            raise RunnerError(f"{self.type} has no field `{name}`")
        return norm(_get(self.obj, name))

    def fields(self) -> list[Any]:
        return [self.field(n) for n in HANDLE_FIELDS.get(self.type, ())]


def _get(obj: Any, name: str) -> Any:
    """A getter: a property, or a method without arguments."""
    v = getattr(obj, name)
    return v() if callable(v) else v


def norm(x: Any) -> Any:
    """A binding value in the README's model (section 3.1)."""
    if x is None or isinstance(x, (bool, int, float, str, Secret)):
        return x
    if isinstance(x, (list, tuple)):
        return [norm(i) for i in x]
    if isinstance(x, dict):
        return {k: norm(v) for k, v in x.items()}
    if isinstance(x, Handle):
        return x
    name = type(x).__name__
    if name in HANDLE_FIELDS:
        return Handle(x)
    out: dict[str, Any] = {}
    for attr in dir(x):
        if attr.startswith("_"):
            continue
        v = getattr(x, attr)
        if callable(v):
            continue
        if attr.endswith("_json") and isinstance(v, str):
            try:
                out[attr] = json.loads(v)
                continue
            except ValueError:
                pass
        out[attr] = norm(v)
    return out


def kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    if isinstance(v, Secret):
        return "secret"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "map"
    if isinstance(v, Handle):
        return "handle"
    return type(v).__name__


def text_of(v: Any) -> str | None:
    if isinstance(v, Secret):
        return v.expose()
    return v if isinstance(v, str) else None


def is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def equal(a: Any, b: Any) -> bool:
    if is_num(a) and is_num(b):
        return a == b
    ka, kb = kind(a), kind(b)
    if ka in ("string", "secret") and kb in ("string", "secret"):
        return text_of(a) == text_of(b)
    if ka != kb:
        return False
    if ka == "list":
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if ka == "map":
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if ka in ("null", "bool"):
        return a == b
    return False


def field(v: Any, seg: str) -> Any:
    if isinstance(v, dict):
        if seg not in v:
            raise RunnerError(f"no field `{seg}`")
        return v[seg]
    if isinstance(v, list):
        if not seg.isdigit() or int(seg) >= len(v):
            raise RunnerError(f"no index `{seg}` in a list of {len(v)}")
        return v[int(seg)]
    if isinstance(v, Handle):
        return v.field(seg)
    raise RunnerError(f"cannot take `{seg}` of a {kind(v)}")


def at(v: Any, path: str) -> Any:
    if path == "$":
        return v
    for seg in path.split("."):
        try:
            v = field(v, seg)
        except RunnerError as e:
            raise RunnerError(f"path `{path}`: {e}") from None
    return v


def query_token(link: str) -> str | None:
    values = parse_qs(urlsplit(link).query).get("token")
    return values[0] if values else None


def error_texts(e: AuthflowError) -> list[str]:
    return [str(e), repr(e), e.detail, str(e.args)]


class Args:
    """The resolved arguments of a step, consumed by the op."""

    def __init__(self, m: dict[str, Any]) -> None:
        self.m = m
        self.used: set[str] = set()
        self.secrets: list[str] = []

    def take(self, k: str) -> Any:
        self.used.add(k)
        return self.m.get(k)

    def req(self, k: str) -> Any:
        v = self.take(k)
        if v is None:
            raise RunnerError(f"missing argument `{k}`")
        return v

    def string(self, k: str) -> str:
        v = self.req(k)
        if not isinstance(v, str):
            raise RunnerError(f"argument `{k}`: a string, not a {kind(v)}")
        return v

    def opt_string(self, k: str) -> str | None:
        v = self.take(k)
        if v is not None and not isinstance(v, str):
            raise RunnerError(f"argument `{k}`: a string, not a {kind(v)}")
        return v

    def int(self, k: str) -> int:
        v = self.req(k)
        if kind(v) != "int":
            raise RunnerError(f"argument `{k}`: an int, not a {kind(v)}")
        return v

    def opt_int(self, k: str) -> int | None:
        if self.take(k) is None:
            return None
        return self.int(k)

    def secret(self, k: str) -> Secret:
        v = self.req(k)
        if isinstance(v, str):
            v = Secret(v)
        if not isinstance(v, Secret):
            raise RunnerError(f"argument `{k}`: a secret, not a {kind(v)}")
        self.secrets.append(v.expose())
        return v

    def session(self, k: str) -> authflow.Session:
        v = self.req(k)
        token, email = field(v, "token"), field(v, "email")
        if isinstance(token, str):
            token = Secret(token)
        if not isinstance(token, Secret) or not isinstance(email, str):
            raise RunnerError(f"argument `{k}` is not a session")
        self.secrets.append(token.expose())
        return authflow.Session(token, email)

    def user(self, k: str) -> authflow.UserRef:
        v = self.req(k)
        parts = [field(v, f) for f in ("email", "org_id", "role")]
        if not all(isinstance(p, str) for p in parts):
            raise RunnerError(f"argument `{k}` is not a user")
        return authflow.UserRef(*parts)

    def json(self, k: str) -> str:
        return to_json(self.req(k))

    def opt_json(self, k: str) -> str | None:
        v = self.take(k)
        return None if v is None else to_json(v)

    def strings(self, k: str) -> list[str]:
        v = self.take(k)
        if v is None:
            return []
        if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
            raise RunnerError(f"argument `{k}`: a list of strings")
        return v

    def done(self) -> None:
        unknown = sorted(set(self.m) - self.used)
        if unknown:
            raise RunnerError(f"unknown arguments {unknown}")


def to_json(v: Any) -> str:
    def plain(x: Any) -> Any:
        if isinstance(x, (Secret, Handle)):
            raise RunnerError(f"a {kind(x)} cannot be part of a json argument")
        if isinstance(x, list):
            return [plain(i) for i in x]
        if isinstance(x, dict):
            return {k: plain(i) for k, i in x.items()}
        return x

    return json.dumps(plain(v))


async def _call(x: Any) -> Any:
    return await x if inspect.isawaitable(x) else x


class Run1:
    """One vector file being run."""

    def __init__(self, mock: MockServer, doc: dict[str, Any]) -> None:
        self.mock = mock
        self.vars: dict[str, Any] = doc.get("vars", {})
        self.saved: dict[str, Any] = {}
        self.known: list[tuple[str, str]] = []
        self.proxies: list[Any] = []
        self.streams: list[Any] = []
        self.builtin = {
            "base_url": mock.base_url,
            "api_key": mock.api_key,
            "org_id": mock.org_id,
            "owner_email": mock.owner_email,
            "owner_password": mock.owner_password,
            "owner_role": mock.owner_role,
            "flows_admin_token": mock.flows_admin_token,
            "agent_key": norm(mock.agent_key),
        }
        self.collect(self.builtin, "a secret of the mock")
        for name in doc.get("secrets", []):
            value = self.vars.get(name)
            if not isinstance(value, str):
                raise RunnerError(f"secret `{name}` is not a string var")
            self.add_secret(f"var `{name}`", value)

    # ---------------------------------------------------------- secrets
    def add_secret(self, label: str, value: str) -> None:
        if len(value) >= MIN_SECRET_LEN and all(v != value for _, v in self.known):
            self.known.append((label, value))

    def collect(self, v: Any, label: str) -> None:
        if isinstance(v, Secret):
            self.add_secret(label, v.expose())
        elif isinstance(v, list):
            for x in v:
                self.collect(x, label)
        elif isinstance(v, dict):
            for x in v.values():
                self.collect(x, label)
        elif isinstance(v, Handle):
            for x in v.fields():
                self.collect(x, label)

    def leak(self, e: AuthflowError) -> str | None:
        texts = error_texts(e)
        for label, s in self.known:
            if any(s in t for t in texts):
                return label
        return None

    # ------------------------------------------------------- references
    def lookup(self, path: str) -> Any:
        name, _, rest = path.partition(".")
        if name in self.saved:
            root = self.saved[name]
        elif name in self.vars:
            root = self.vars[name]
        elif name == "mock":
            root = self.builtin
        else:
            raise RunnerError(f"unknown name `{name}` in `${{{path}}}`")
        return at(root, rest) if rest else root

    def resolve(self, j: Any) -> Any:
        if isinstance(j, str):
            whole = REF.fullmatch(j)
            if whole:
                return self.lookup(whole.group(1))

            def text(m: re.Match[str]) -> str:
                v = self.lookup(m.group(1))
                if isinstance(v, str):
                    return v
                if kind(v) == "int":
                    return str(v)
                raise RunnerError(f"a {kind(v)} cannot be interpolated into a string")

            return REF.sub(text, j)
        if isinstance(j, list):
            return [self.resolve(x) for x in j]
        if isinstance(j, dict):
            return {k: self.resolve(v) for k, v in j.items()}
        return j

    def show(self, v: Any) -> str:
        if isinstance(v, Secret):
            return "[REDACTED]"
        if isinstance(v, str):
            if any(s in v for _, s in self.known):
                return "[REDACTED]"
            return repr(v if len(v) <= 120 else v[:120] + "…")
        if isinstance(v, list):
            return "[" + ", ".join(self.show(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k}: {self.show(x)}" for k, x in v.items()) + "}"
        if isinstance(v, Handle):
            return f"<{v.type}>"
        return json.dumps(v)

    def check(self, actual: Any, matcher: Any) -> str | None:
        if isinstance(matcher, dict) and len(matcher) == 1:
            (op, arg), = matcher.items()
            if op.startswith("$"):
                want = self.resolve(arg)
                if op == "$type":
                    ok = kind(actual) == want or (want == "float" and kind(actual) == "int")
                elif op == "$ne":
                    ok = not equal(actual, want)
                elif op in ("$len", "$min_len"):
                    k = kind(actual)
                    n = len(text_of(actual) or "") if k in ("string", "secret") else (
                        len(actual) if k in ("list", "map") else None)
                    ok = n is not None and (n == want if op == "$len" else n >= want)
                elif op == "$starts_with":
                    t = text_of(actual)
                    ok = t is not None and t.startswith(text_of(want) or "\0")
                elif op == "$contains":
                    if isinstance(actual, list):
                        ok = any(equal(x, want) for x in actual)
                    else:
                        t = text_of(actual)
                        ok = t is not None and (text_of(want) or "\0") in t
                elif op == "$gte":
                    ok = is_num(actual) and actual >= want
                elif op == "$in":
                    ok = any(equal(actual, x) for x in want)
                else:
                    raise RunnerError(f"unknown matcher `{op}`")
                return None if ok else f"expected {op} {self.show(want)}, got {self.show(actual)}"
        want = self.resolve(matcher)
        return None if equal(actual, want) else f"expected {self.show(want)}, got {self.show(actual)}"

    def handle(self, on: str | None, type_name: str) -> Any:
        if on is None:
            raise RunnerError("this op needs `on`")
        v = self.saved.get(on)
        if not isinstance(v, Handle):
            raise RunnerError(f"`on: {on}` is not a saved handle")
        if v.type != type_name:
            raise RunnerError(f"`on` is a {v.type}, this op needs a {type_name}")
        return v.obj

    def newest_email(self, to: str, k: str) -> Any:
        for mail in reversed(self.mock.emails_to(to)):
            if mail.kind == k:
                return mail
        raise RunnerError(f"no `{k}` email to {to}")

    # --------------------------------------------------------------- ops
    async def call(self, op: str, on: str | None, a: Args) -> Any:  # noqa: C901, PLR0911, PLR0912
        mock = self.mock
        type_name, _, method = op.partition(".")

        if op == "AuthFlowClient.new":
            key, url = a.secret("api_key"), a.opt_string("base_url")
            a.done()
            return Handle(authflow.AuthFlowClient(key, url))
        if op == "AuthFlowClient.via_proxy":
            url = a.string("base_url")
            a.done()
            return Handle(authflow.AuthFlowClient.via_proxy(url))
        if op == "AuthFlowClient.login":
            c = self.handle(on, "AuthFlowClient")
            e, p, r = a.string("email"), a.secret("password"), a.string("role")
            a.done()
            out = await c.login(e, p, r)
            if isinstance(out, authflow.Challenge):
                return {"outcome": "two_factor_required", "challenge": Handle(out)}
            return {"outcome": "session", "session": norm(out)}
        if op == "FlowsClient.new":
            t, url = a.secret("token"), a.opt_string("base_url")
            a.done()
            return Handle(authflow.FlowsClient(t, url))
        if op == "AidenIdClient.new":
            k, o, p, url = (a.secret("agent_key"), a.string("org_id"),
                            a.string("project_id"), a.opt_string("base_url"))
            a.done()
            return Handle(authflow.AidenIdClient(k, o, p, url))
        if op == "ConsumerClient.new":
            url = a.opt_string("base_url")
            a.done()
            return Handle(authflow.ConsumerClient(url))
        if op in ("ProxyServer.start", "ProxyServer.start_with"):
            u, k = a.string("upstream"), a.secret("api_key")
            if op == "ProxyServer.start_with":
                o = a.req("options")
                if not isinstance(o, dict):
                    raise RunnerError("`options`: a map")
                oa = Args(o)
                options = authflow.ProxyOptions(
                    cookie_origins=oa.strings("cookie_origins"),
                    cors_origins=oa.strings("cors_origins"),
                    body_limit=oa.opt_int("body_limit"),
                )
                oa.done()
                a.done()
                p = await authflow.ProxyServer.start_with(u, k, options)
            else:
                a.done()
                p = await authflow.ProxyServer.start(u, k)
            self.proxies.append(p)
            return Handle(p)

        if op in ("util.email_link_token", "util.email_link", "util.email_code"):
            to, k = a.string("to"), a.string("kind")
            a.done()
            mail = self.newest_email(to, k)
            if op == "util.email_code":
                if not mail.codes:
                    raise RunnerError(f"the `{k}` email has no code")
                return Secret(mail.codes[0])
            if not mail.links:
                raise RunnerError(f"the `{k}` email has no link")
            if op == "util.email_link":
                return mail.links[0]
            token = query_token(mail.links[0])
            if token is None:
                raise RunnerError(f"the `{k}` email's link has no token")
            return Secret(token)
        if op == "util.totp_at_mock_now":
            s, off = a.secret("secret"), a.opt_int("offset_seconds")
            a.done()
            return authflow.totp_at(s, mock.now_secs() + (off or 0))
        if op == "totp_at":
            s, t = a.secret("secret"), a.int("unix_seconds")
            a.done()
            return authflow.totp_at(s, t)
        if op == "totp_now":
            s = a.secret("secret")
            a.done()
            return authflow.totp_now(s)

        if type_name == "MockServer":
            spec = MOCK_OPS.get(method)
            if spec is None:
                raise RunnerError(f"unknown op `{op}`")
            values = [getattr(a, kind_)(name) for name, kind_ in spec]
            a.done()
            if not spec and not callable(getattr(mock, method)):
                return norm(getattr(mock, method))  # a property
            return norm(await _call(getattr(mock, method)(*values)))

        spec = METHOD_OPS.get(op)
        if spec is None:
            raise RunnerError(f"unknown op `{op}`")
        target = self.handle(on, type_name)
        values = [getattr(a, kind_)(name) for name, kind_ in spec]
        a.done()
        if op == "InboxEvents.next":
            return norm(await asyncio.wait_for(target.next(), NEXT_EVENT_TIMEOUT))
        attr = getattr(target, method)
        if not spec and not callable(attr):
            return norm(attr)  # a property (`base_url`)
        out = await _call(attr(*values))
        if op == "ConsumerSession.inbox_events":
            self.streams.append(out)
        return norm(out)

    async def close(self) -> None:
        for s in self.streams:
            await s.close()
        for p in self.proxies:
            await p.shutdown()


# Instance methods: op → [(argument, kind)] in the facade's order.
METHOD_OPS: dict[str, list[tuple[str, str]]] = {
    "AuthFlowClient.base_url": [],
    "AuthFlowClient.sign_up": [("email", "string"), ("password", "secret"), ("fullname", "string"), ("role", "string")],
    "AuthFlowClient.validate": [("session", "session")],
    "AuthFlowClient.me": [("session_token", "secret")],
    "AuthFlowClient.logout": [("session", "session")],
    "AuthFlowClient.delete_user": [("owner", "session"), ("org_id", "string"), ("user_email", "string")],
    "AuthFlowClient.forgot_password": [("email", "string"), ("role", "opt_string")],
    "AuthFlowClient.reset_password": [("token", "secret"), ("new_password", "secret")],
    "AuthFlowClient.change_password": [("session", "session"), ("old_password", "secret"), ("new_password", "secret")],
    "AuthFlowClient.verify_email": [("token", "secret")],
    "AuthFlowClient.resend_verification": [("email", "string"), ("role", "opt_string")],
    "AuthFlowClient.enable_totp": [("session_token", "secret"), ("user", "user")],
    "AuthFlowClient.verify_totp_setup": [("session_token", "secret"), ("user", "user"), ("code", "secret"), ("secret", "secret")],
    "AuthFlowClient.disable_totp": [("session_token", "secret"), ("user", "user"), ("password", "secret")],
    "AuthFlowClient.regenerate_recovery_codes": [("session_token", "secret"), ("user", "user"), ("password", "secret")],
    "AuthFlowClient.verify_2fa": [("temp_token", "secret"), ("user", "user"), ("code", "secret")],
    "AuthFlowClient.send_backup_email": [("temp_token", "secret"), ("user", "user")],
    "AuthFlowClient.verify_email_otp": [("user", "user"), ("otp", "secret")],
    "AuthFlowClient.verify_recovery_code": [("user", "user"), ("code", "secret")],
    "Challenge.verify_totp": [("code", "secret")],
    "Challenge.send_backup_email": [],
    "Challenge.verify_email_otp": [("otp", "secret")],
    "Challenge.verify_recovery_code": [("code", "secret")],
    "FlowsClient.base_url": [],
    "FlowsClient.list": [("limit", "opt_int"), ("cursor", "opt_string"), ("flow_type", "opt_string"), ("status", "opt_string")],
    "FlowsClient.get": [("id", "string")],
    "FlowsClient.create": [("name", "string"), ("display_name", "string"), ("flow_type", "string"), ("description", "opt_string"), ("graph_json", "json")],
    "FlowsClient.update": [("id", "string"), ("display_name", "opt_string"), ("description", "opt_string"), ("graph_json", "opt_json")],
    "FlowsClient.delete": [("id", "string")],
    "FlowsClient.validate": [("id", "string")],
    "FlowsClient.compile": [("id", "string")],
    "FlowsClient.activate": [("id", "string")],
    "FlowsClient.deactivate": [("id", "string")],
    "FlowsClient.mermaid": [("id", "string")],
    "AidenIdClient.base_url": [],
    "AidenIdClient.create_identity": [("label", "string"), ("ttl_hours", "opt_int")],
    "AidenIdClient.identity": [("id", "string")],
    "AidenIdClient.list_identities": [("limit", "opt_int"), ("offset", "opt_int")],
    "AidenIdClient.squash_identity": [("id", "string")],
    "AidenIdClient.messages": [("id", "string")],
    "AidenIdClient.create_password_reset_run": [("identity_id", "string"), ("target_url", "string"), ("timeout_seconds", "opt_int")],
    "AidenIdClient.create_invite_run": [("identity_id", "string"), ("target_url", "string"), ("timeout_seconds", "opt_int")],
    "AidenIdClient.run": [("id", "string")],
    "AidenIdClient.list_runs": [("status", "opt_string"), ("limit", "opt_int"), ("offset", "opt_int")],
    "AidenIdClient.run_secret": [("id", "string")],
    "AidenIdClient.wait_for_run": [("id", "string"), ("max_wait_ms", "opt_int")],
    "ConsumerClient.base_url": [],
    "ConsumerClient.signup": [("email", "string")],
    "ConsumerClient.login": [("email", "string")],
    "ConsumerClient.verify": [("token", "secret")],
    "ConsumerSession.identities": [("limit", "opt_int"), ("offset", "opt_int")],
    "ConsumerSession.create_identity": [("label", "string")],
    "ConsumerSession.notifications": [("limit", "opt_int"), ("offset", "opt_int")],
    "ConsumerSession.upgrade": [],
    "ConsumerSession.inbox_events": [("last_event_id", "opt_string")],
    "InboxEvents.next": [],
    "InboxEvents.close": [],
    "ProxyServer.base_url": [],
    "ProxyServer.shutdown": [],
}

# MockServer methods (the file's mock, no `on`).
MOCK_OPS: dict[str, list[tuple[str, str]]] = {
    "emails_to": [("address", "string")],
    "latest_email": [("address", "string")],
    "advance_clock": [("seconds", "int")],
    "freeze_clock": [],
    "unfreeze_clock": [],
    "now_secs": [],
    "reset": [],
    "flows_read_token": [],
    "agent_key_with_secrets": [],
    "agent_key_read_only": [],
    "demo_target_url": [("kind", "string")],
    "magic_link_token": [("address", "string")],
}


async def run_step(r: Run1, step: dict[str, Any], name: str) -> None:
    unknown = set(step) - STEP_KEYS
    if unknown:
        raise RunnerError(f"unknown step keys {sorted(unknown)}")
    op = step.get("op")
    if not isinstance(op, str):
        raise RunnerError("a step without `op`")
    want_error = step.get("expect_error")
    if want_error is not None and ("expect" in step or "save" in step):
        raise RunnerError("`expect_error` with `expect` or `save`")
    raw_args = step.get("args", {})
    if not isinstance(raw_args, dict):
        raise RunnerError("`args` is not an object")
    a = Args(r.resolve(raw_args))
    try:
        value = await r.call(op, step.get("on"), a)
    except AuthflowError as e:
        for s in a.secrets:
            r.add_secret(f"a secret argument of step {name!r}", s)
        label = r.leak(e)
        if label is not None:
            raise RunnerError(f"the error text contains a secret: {label} (code {e.code})") from None
        if want_error is None:
            raise RunnerError(
                f"unexpected error: code {e.code}, status {e.status}: {e.detail}"
            ) from None
        if "status" not in want_error:
            raise RunnerError("`expect_error` without `status`") from None
        problems = []
        code = r.resolve(want_error["code"])
        if e.code != code:
            problems.append(f"code {e.code} (expected {code})")
        if not equal(e.status, want_error["status"]):
            problems.append(f"status {e.status} (expected {want_error['status']})")
        if "retryable" in want_error and e.retryable != want_error["retryable"]:
            problems.append(f"retryable {e.retryable} (expected {want_error['retryable']})")
        if "detail_contains" in want_error:
            part = r.resolve(want_error["detail_contains"])
            if part not in e.detail:
                problems.append(f"detail does not contain {part!r}")
        if problems:
            raise RunnerError(f"wrong error: {', '.join(problems)} ({e.detail})") from None
        return
    for s in a.secrets:
        r.add_secret(f"a secret argument of step {name!r}", s)
    if want_error is not None:
        raise RunnerError(f"expected error {json.dumps(want_error)}, but the call succeeded")
    r.collect(value, f"a secret from step {name!r}")
    problems = []
    for path, matcher in step.get("expect", {}).items():
        try:
            problem = r.check(at(value, path), matcher)
        except RunnerError as e:
            problem = str(e)
        if problem is not None:
            problems.append(f"`{path}`: {problem}")
    if problems:
        raise RunnerError("; ".join(problems))
    save = step.get("save")
    targets = {save: "$"} if isinstance(save, str) else (save or {})
    for target, path in targets.items():
        if target == "mock" or target in r.vars:
            raise RunnerError(f"`save` over the var or builtin `{target}`")
        r.saved[target] = at(value, path)


def test_vector_files_exist() -> None:
    assert FILES, f"no vector files in {VECTORS}"


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
async def test_conformance(path: Path) -> None:
    doc = json.loads(path.read_text())
    assert doc.get("format") == 1, f"{path.name}: `format` is not 1"
    steps = doc["steps"]
    executed = 0
    failure = None
    mock = await MockServer.start()
    try:
        r = Run1(mock, doc)
        names: set[str] = set()
        for i, step in enumerate(steps, 1):
            name = step.get("name", "<unnamed>")
            where = f"{path.name} step #{i} {name!r} ({step.get('op')})"
            try:
                if name in names:
                    raise RunnerError("duplicate step name")
                names.add(name)
                await run_step(r, step, name)
            except Exception as e:  # noqa: BLE001 - every failure names its step
                if isinstance(e, AuthflowError):  # raised by a util op or the runner
                    label = r.leak(e)
                    detail = f"code {e.code}" + (f", leaks {label}" if label else "")
                else:
                    detail = f"{type(e).__name__}: {e}"
                failure = f"{where}: {detail}"
                break
            executed += 1
        await r.close()
    finally:
        await mock.shutdown()
    print(f"conformance (python): {path.name}: {executed}/{len(steps)} steps")
    assert failure is None, failure
    assert executed == len(steps), f"{path.name}: {executed} of {len(steps)} steps ran"
