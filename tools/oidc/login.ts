import * as oidc from "openid-client";
import { cliClientId, cliRedirectUri } from "./users.ts";

// Gets access tokens from an OpenID provider the way real clients do, with openid-client: authorization
// code + PKCE for a person (the login itself driven through the local provider's development interaction
// pages, since there is no browser), client credentials for a machine.

function cookieJar() {
  const cookies = new Map<string, string>();
  return {
    header: () => [...cookies.entries()].map(([k, v]) => `${k}=${v}`).join("; "),
    store(response: Response) {
      for (const line of response.headers.getSetCookie()) {
        const [pair] = line.split(";");
        const [name, ...value] = (pair ?? "").split("=");
        if (name) cookies.set(name.trim(), value.join("="));
      }
    },
  };
}

async function discover(issuer: string, clientId: string, secret?: string) {
  return oidc.discovery(new URL(issuer), clientId, secret, undefined, {
    execute: issuer.startsWith("http://") ? [oidc.allowInsecureRequests] : [],
  });
}

/** Authorization code + PKCE for a demo user of the local provider; resolves to the access token. */
export async function loginAs(issuer: string, username: string, audience: string): Promise<string> {
  const config = await discover(issuer, cliClientId);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const authorize = oidc.buildAuthorizationUrl(config, {
    redirect_uri: cliRedirectUri,
    scope: "openid profile api",
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    resource: audience,
    state,
  });
  const jar = cookieJar();
  let url = authorize.href;
  for (let step = 0; step < 12; step++) {
    if (url.startsWith(cliRedirectUri)) {
      const tokens = await oidc.authorizationCodeGrant(
        config,
        new URL(url),
        { pkceCodeVerifier: verifier, expectedState: state },
        { resource: audience },
      );
      return tokens.access_token;
    }
    const response = await fetch(url, { redirect: "manual", headers: { cookie: jar.header() } });
    jar.store(response);
    const location = response.headers.get("location");
    if (location) {
      url = new URL(location, url).href;
      continue;
    }
    const page = await response.text();
    const prompt = /name="prompt" value="(\w+)"/.exec(page)?.[1];
    if (!prompt)
      throw new Error(`login as ${username} failed at ${url}: ${response.status} ${page.slice(0, 200)}`);
    const submitted = await fetch(url, {
      method: "POST",
      redirect: "manual",
      headers: { cookie: jar.header(), "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ prompt, login: username, password: "" }),
    });
    jar.store(submitted);
    const next = submitted.headers.get("location");
    if (!next) throw new Error(`login as ${username} failed: the provider answered ${submitted.status}`);
    url = new URL(next, url).href;
  }
  throw new Error(`login as ${username} did not finish`);
}

/** Client credentials for a machine client; resolves to the access token. */
export async function clientToken(
  issuer: string,
  clientId: string,
  secret: string,
  audience: string,
): Promise<string> {
  const config = await discover(issuer, clientId, secret);
  const tokens = await oidc.clientCredentialsGrant(config, { resource: audience });
  return tokens.access_token;
}
