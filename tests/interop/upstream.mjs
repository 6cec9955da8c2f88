// The certified node oidc-provider (panva) as the upstream identity provider for registration
// proofing. argv: JSON {port, redirect_uri, client_id, client_secret, citizens}. Prints "ready".
import Provider from 'oidc-provider';

const settings = JSON.parse(process.argv[2]);
const citizens = Object.fromEntries(settings.citizens.map((c) => [c.pid, c]));

const provider = new Provider(`http://127.0.0.1:${settings.port}`, {
  clients: [{
    client_id: settings.client_id,
    redirect_uris: [settings.redirect_uri],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    ...(settings.jwks
      ? { token_endpoint_auth_method: 'private_key_jwt', jwks: settings.jwks,
          token_endpoint_auth_signing_alg: 'ES256' }
      : { token_endpoint_auth_method: 'client_secret_basic', client_secret: settings.client_secret }),
  }],
  scopes: ['openid', 'pid', 'profile', 'address', 'ial'],
  claims: {
    pid: ['pid'],
    profile: ['name', 'name_en', 'birthdate'],
    address: ['address'],
    ial: ['ial'],
  },
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const citizen = citizens[id];
    if (!citizen) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...citizen }; } };
  },
});
provider.proxy = false;
for (const event of ['grant.error', 'server_error']) {
  provider.on(event, (ctx, err) => process.stderr.write(`${event}: ${err.message} ${err.error_detail || ''}\n`));
}
provider.listen(settings.port, '127.0.0.1', () => process.stdout.write('ready\n'));
