// A CIBA relying party (poll mode) built on openid-client (panva), driven by
// tests/interop/test_openid_client_ciba.py: asks for the user named in argv's settings, prints
// the backchannel authentication response, then polls until the phone has answered and prints
// the ID token's claims and the userinfo.
import * as client from 'openid-client';

const settings = JSON.parse(process.argv[2]);
const out = (value) => process.stdout.write(JSON.stringify(value) + '\n');

try {
  const config = await client.discovery(
    new URL(settings.issuer), settings.client_id, undefined,
    client.ClientSecretBasic(settings.client_secret),
    { execute: [client.allowInsecureRequests] },
  );
  const started = await client.initiateBackchannelAuthentication(config, {
    scope: 'openid profile', login_hint: settings.login_hint,
    binding_message: settings.binding_message,
  });
  out({ started });
  const tokens = await client.pollBackchannelAuthenticationGrant(config, started);
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  out({ claims, userinfo });
} catch (error) {
  out({ error: String(error), cause: error.cause ? String(JSON.stringify(error.cause)) : null,
        code: error.code || null });
  process.exitCode = 1;
}
