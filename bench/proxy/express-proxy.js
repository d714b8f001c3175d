// The hand-written Express proxy teams use today (Express 5 +
// http-proxy-middleware), doing the same key injection as authflow-proxy:
// only the 20 AuthFlow routes, client `api_key` removed, the key injected in
// the query (fooBar, signUp, login, resend-verify-email) or the JSON body
// (forgot-password). Env: AUTHFLOW_API_KEY, UPSTREAM, PORT (0 = random).
// First stdout line: `listening on http://HOST:PORT`.
'use strict';
const express = require('express');
const { createProxyMiddleware, fixRequestBody } = require('http-proxy-middleware');

const KEY = process.env.AUTHFLOW_API_KEY;
const UPSTREAM = process.env.UPSTREAM;
const PORT = Number(process.env.PORT || 0);
if (!/^af_[0-9a-f]{32}$/.test(KEY || '') || !UPSTREAM) {
  console.error('set AUTHFLOW_API_KEY and UPSTREAM');
  process.exit(2);
}
const QUERY_KEY = new Set(['/auth/fooBar', '/auth/signUp', '/auth/login', '/auth/resend-verify-email']);
const BODY_KEY = new Set(['/auth/forgot-password']);
const ROUTES = new Set([
  '/auth/fooBar', '/auth/signUp', '/auth/login', '/auth/validate', '/auth/me', '/auth/logout',
  '/auth/deleteUser', '/auth/forgot-password', '/auth/reset-password', '/auth/changePassword',
  '/auth/verify-email', '/auth/resend-verify-email', '/auth/2fa/enable', '/auth/2fa/verify-setup',
  '/auth/2fa/disable', '/auth/2fa/verify-2fa', '/auth/2fa/backup/email',
  '/auth/2fa/verify-email-otp', '/auth/2fa/recovery-codes', '/auth/2fa/verify-recovery',
]);

const proxy = createProxyMiddleware({
  target: UPSTREAM,
  changeOrigin: true,
  pathRewrite: (path) => {
    const u = new URL(path, 'http://placeholder');
    u.searchParams.delete('api_key');
    if (QUERY_KEY.has(u.pathname)) u.searchParams.set('api_key', KEY);
    return u.pathname + u.search;
  },
  on: {
    proxyReq: (proxyReq, req) => {
      if (req.body && typeof req.body === 'object') {
        delete req.body.api_key;
        if (BODY_KEY.has(req.path)) req.body.api_key = KEY;
      }
      fixRequestBody(proxyReq, req);
    },
  },
});

const app = express();
app.disable('x-powered-by');
app.use(express.json({ limit: '1mb' }));
app.use((req, res, next) => {
  if (ROUTES.has(req.path)) return proxy(req, res, next);
  res.status(404).json({ error: { code: 'not_found', message: 'No such route' } });
});
const server = app.listen(PORT, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
