// The relying party of TestOpenIDClient: openid-client (OpenID Certified,
// on oauth4webapi) signs in with a real countersign-server, one flow after
// another, in this one process. It talks to the Go test in JSON lines:
//
//   stdin, first:  {"issuer", "redirect", "confidential": {"id", "secret"}, "public": {"id"}, "fresh": {"id", "secret"}}
//   stdout:        {"flow", "authorize": URL}   the browser's turn: stdin answers {"callback": URL} (where it landed)
//                  {"flow", "visit": URL}       the same for end-session: stdin answers {"landed": URL}
//                  {"flow", "result": {...}}    what the flow saw; {"flow", "error": code, "message"} when it failed
//                  {"done": true}
//
// Every check that openid-client makes (issuer, audience, signature against
// the JWKS, nonce, state or its absence, auth_time against max_age, PKCE,
// userinfo's subject) is the library's own; this script only drives it.
import * as readline from 'node:readline';
import * as client from 'openid-client';

const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const say = (msg) => process.stdout.write(JSON.stringify(msg) + '\n');
async function hear() {
  const { value, done } = await lines.next();
  if (done) throw new Error('the test closed stdin');
  return JSON.parse(value);
}

const setup = await hear();
const insecure = { execute: [client.allowInsecureRequests] }; // the server is on http://localhost
const discover = (id, secret, auth) => client.discovery(new URL(setup.issuer), id, secret, auth, insecure);
const confidential = await discover(setup.confidential.id, setup.confidential.secret, client.ClientSecretBasic(setup.confidential.secret));
const publicClient = await discover(setup.public.id, undefined, client.None());
const fresh = await discover(setup.fresh.id, setup.fresh.secret, client.ClientSecretPost(setup.fresh.secret));
// ID tokens from the token endpoint are checked against the JWKS too, not
// only trusted for coming over the connection.
for (const config of [confidential, publicClient, fresh]) client.enableNonRepudiationChecks(config);
const scope = 'openid email profile';

// signIn runs the code flow as openid-client's quick start does: PKCE, and
// state only when the server does not support PKCE.
async function signIn(flow, config, { state = false, nonce = false, extra = {}, maxAge } = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const params = {
    redirect_uri: setup.redirect, scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  };
  const checks = { pkceCodeVerifier: verifier, idTokenExpected: true };
  if (state || !config.serverMetadata().supportsPKCE()) checks.expectedState = params.state = client.randomState();
  if (nonce) checks.expectedNonce = params.nonce = client.randomNonce();
  if (maxAge !== undefined) { checks.maxAge = maxAge; params.max_age = String(maxAge); }
  say({ flow, authorize: client.buildAuthorizationUrl(config, params).href });
  const { callback } = await hear();
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), checks);
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  return { tokens, claims, userinfo, callback };
}

const summary = ({ tokens, claims, userinfo, callback }) => ({
  sub: claims.sub, auth_time: claims.auth_time, nonce: claims.nonce ?? '', amr: claims.amr,
  email: userinfo.email, name: userinfo.name, refresh: Boolean(tokens.refresh_token),
  state: new URL(callback).searchParams.has('state'),
});

// refusal runs fn and returns the OAuth error code it ends with.
async function refusal(fn) {
  try {
    await fn();
  } catch (e) {
    // OAuth errors carry their code; a bearer challenge's is in its parameters.
    return e.error ?? e.cause?.error ?? e.cause?.[0]?.parameters?.error ?? e.code ?? String(e);
  }
  return 'none';
}

const flows = {
  async discovery() {
    const m = confidential.serverMetadata();
    return {
      issuer: m.issuer, supportsPKCE: m.supportsPKCE(), algs: m.id_token_signing_alg_values_supported,
      request_uri_parameter_supported: m.request_uri_parameter_supported, prompts: m.prompt_values_supported,
    };
  },
  // The quick start: no state (PKCE instead), no nonce.
  'quick-start': async () => summary(await signIn('quick-start', confidential)),
  'state-and-nonce': async () => summary(await signIn('state-and-nonce', confidential, { state: true, nonce: true })),
  'public-client': async () => summary(await signIn('public-client', publicClient, { nonce: true })),
  // Refresh rotates; the spent refresh token used again is refused and
  // revokes the grant, so its successor dies too.
  async refresh() {
    const first = await signIn('refresh', confidential, { nonce: true });
    const second = await client.refreshTokenGrant(confidential, first.tokens.refresh_token);
    const reuse = await refusal(() => client.refreshTokenGrant(confidential, first.tokens.refresh_token));
    const successor = await refusal(() => client.refreshTokenGrant(confidential, second.refresh_token));
    return {
      rotated: second.refresh_token !== first.tokens.refresh_token && second.access_token !== first.tokens.access_token,
      id_token_sub: second.claims()?.sub ?? '', reuse, successor,
    };
  },
  async 'introspect-revoke'() {
    const { tokens } = await signIn('introspect-revoke', confidential, { nonce: true });
    const live = await client.tokenIntrospection(confidential, tokens.access_token);
    await client.tokenRevocation(confidential, tokens.access_token, { token_type_hint: 'access_token' });
    const revoked = await client.tokenIntrospection(confidential, tokens.access_token);
    const userinfo = await refusal(() => client.fetchUserInfo(confidential, tokens.access_token, client.skipSubjectCheck));
    await client.tokenRevocation(confidential, tokens.refresh_token, { token_type_hint: 'refresh_token' });
    const refresh = await refusal(() => client.refreshTokenGrant(confidential, tokens.refresh_token));
    return { live: live.active, client_id: live.client_id, sub: live.sub, revoked: revoked.active, userinfo, refresh };
  },
  'prompt-none': async () => summary(await signIn('prompt-none', confidential, { extra: { prompt: 'none' } })),
  'prompt-none-signed-out': async () => ({ error: await refusal(() => signIn('prompt-none-signed-out', confidential, { state: true, extra: { prompt: 'none' } })) }),
  'prompt-none-never-asked': async () => ({ error: await refusal(() => signIn('prompt-none-never-asked', fresh, { extra: { prompt: 'none' } })) }),
  'prompt-login': async () => summary(await signIn('prompt-login', confidential, { extra: { prompt: 'login' } })),
  'prompt-consent': async () => summary(await signIn('prompt-consent', confidential, { extra: { prompt: 'consent' } })),
  'max-age-0': async () => summary(await signIn('max-age-0', confidential, { maxAge: 0 })),
  'max-age-3600': async () => summary(await signIn('max-age-3600', confidential, { maxAge: 3600 })),
  async 'end-session'() {
    const { tokens } = await signIn('end-session', confidential, { nonce: true });
    const state = client.randomState();
    const url = client.buildEndSessionUrl(confidential, { id_token_hint: tokens.id_token, post_logout_redirect_uri: setup.redirect, state });
    say({ flow: 'end-session', visit: url.href });
    const { landed } = await hear();
    return { landed, state };
  },
};

for (const [flow, run] of Object.entries(flows)) {
  try {
    say({ flow, result: await run() });
  } catch (e) {
    const cause = e.cause instanceof Response ? `HTTP ${e.cause.status}` : JSON.stringify(e.cause ?? '');
    say({ flow, error: e.error ?? e.code ?? 'exception', message: `${e.message} ${cause}` });
  }
}
say({ done: true });
