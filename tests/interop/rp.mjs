// A relying party built on openid-client (panva), driven by tests/interop/test_openid_client.py.
// Reads its settings from argv as JSON; prints one JSON line per step; reads the callback URL
// from stdin after the test has signed in through the hosted pages.
import * as client from 'openid-client';
import * as readline from 'node:readline';

const settings = JSON.parse(process.argv[2]);
const out = (value) => process.stdout.write(JSON.stringify(value) + '\n');
const lines = readline.createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => lines.once('line', resolve));

try {
  const config = await client.discovery(
    new URL(settings.issuer), settings.client_id, undefined,
    client.ClientSecretBasic(settings.client_secret),
    { execute: [client.allowInsecureRequests] },
  );
  const verifier = client.randomPKCECodeVerifier();
  const challenge = await client.calculatePKCECodeChallenge(verifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const params = {
    redirect_uri: settings.redirect_uri, scope: settings.scope,
    code_challenge: challenge, code_challenge_method: 'S256', state, nonce,
  };
  if (settings.acr_values) params.acr_values = settings.acr_values;
  // RFC 9126: with `par`, the parameters are pushed and the browser carries only request_uri
  const url = settings.par
    ? await client.buildAuthorizationUrlWithPAR(config, params)
    : client.buildAuthorizationUrl(config, params);
  out({ authorization_url: url.href });

  // RFC 9449: with `dpop`, every token request and resource call carries a proof of one key
  const dpop = settings.dpop
    ? { DPoP: client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256')) }
    : undefined;

  const callback = new URL(await nextLine());
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
  }, undefined, dpop);
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub, dpop);
  // OIDC Core 5.3.1: userinfo by POST too, the token in the header and no body
  const userinfoUrl = new URL(config.serverMetadata().userinfo_endpoint);
  const posted = await client.fetchProtectedResource(
    config, tokens.access_token, userinfoUrl, 'POST', undefined, undefined, dpop);
  const userinfo_post = { status: posted.status, body: await posted.json() };
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, dpop);
  const introspected = await client.tokenIntrospection(config, refreshed.access_token);
  await client.tokenRevocation(config, refreshed.refresh_token);
  let reuse = 'accepted';
  try {
    await client.refreshTokenGrant(config, refreshed.refresh_token, undefined, dpop);
  } catch (error) {
    reuse = error.error || error.code || String(error);
  }
  const logout = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token, post_logout_redirect_uri: settings.post_logout_redirect_uri,
    state: 'bye',
  });
  out({ claims, userinfo, userinfo_post, introspected, refreshed_scope: refreshed.scope,
        token_types: [tokens.token_type, refreshed.token_type],
        revoked_refresh_reuse: reuse, logout_url: logout.href });
} catch (error) {
  out({ error: String(error), cause: error.cause ? String(JSON.stringify(error.cause)) : null,
        code: error.code || null });
  process.exitCode = 1;
}
lines.close();
