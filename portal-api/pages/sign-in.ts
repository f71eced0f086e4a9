import * as oidc from "openid-client";
import { discoverIssuer } from "../auth/discovery.ts";

// Sign-in for the web pages: OpenID Connect authorization code flow with PKCE (S256) and state, through
// openid-client, against the same provider whose access tokens the API accepts, asking for a token for
// the API's audience. The token is then checked by the API's own verifier before a session is made.

export interface WebSignInSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The API's audience: the access token is for it. */
  audience: string;
  /** The portal's public address (the sign-in answer comes back to `<baseUrl>/auth/callback`). */
  baseUrl: string;
  /** Allow an http:// issuer (the local provider only). */
  allowHttpIssuer?: boolean;
}

export class WebSignIn {
  readonly settings: WebSignInSettings;
  private readonly config: oidc.Configuration;

  private constructor(settings: WebSignInSettings, config: oidc.Configuration) {
    this.settings = settings;
    this.config = config;
  }

  static async discover(settings: WebSignInSettings): Promise<WebSignIn> {
    const config = await discoverIssuer(settings);
    return new WebSignIn(settings, config);
  }

  get callbackUrl(): string {
    return new URL("/auth/callback", this.settings.baseUrl).href;
  }

  /** Where to send the browser, and what to remember until it comes back. */
  async start(): Promise<{ url: string; state: string; codeVerifier: string }> {
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(this.config, {
      redirect_uri: this.callbackUrl,
      scope: "openid profile api",
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: "S256",
      resource: this.settings.audience,
      state,
    });
    return { url: url.href, state, codeVerifier };
  }

  /**
   * Where to end the person's session at the provider too (OpenID Connect RP-Initiated Logout), coming back
   * to the home page; undefined when the provider has no end-session endpoint.
   */
  endSessionUrl(): string | undefined {
    if (!this.config.serverMetadata().end_session_endpoint) return undefined;
    return oidc.buildEndSessionUrl(this.config, {
      client_id: this.settings.clientId,
      post_logout_redirect_uri: new URL("/", this.settings.baseUrl).href,
    }).href;
  }

  /** Exchanges the code the browser brought back for an access token (checks state and PKCE). */
  async finish(currentUrl: URL, expected: { state: string; codeVerifier: string }): Promise<string> {
    const tokens = await oidc.authorizationCodeGrant(
      this.config,
      currentUrl,
      { pkceCodeVerifier: expected.codeVerifier, expectedState: expected.state },
      { resource: this.settings.audience },
    );
    return tokens.access_token;
  }
}
