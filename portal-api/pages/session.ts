import { EncryptJWT, errors, jwtDecrypt } from "jose";

// The pages' session and sign-in state live in cookies, encrypted and authenticated with the portal's
// session key (JWE, direct A256GCM, through jose): a browser can neither read the access token inside nor
// change anything without the cookie being refused. Nothing is kept on the server, so any replica serves
// any request.

export interface Session {
  /** The caller's access token: page handlers call the API's own routes with it. */
  accessToken: string;
  /** Who is signed in, as shown in the header. */
  name: string;
  /** The user name the platform knows them by (what a records manager's hold is placed in the name of). */
  username: string;
  /** Seconds since the epoch: the token's expiry, and so the session's. */
  expiresAt: number;
}

export interface SignInState {
  state: string;
  codeVerifier: string;
  /** Where to go once signed in (a path on this site). */
  returnTo: string;
}

export class SessionSealer {
  private readonly key: Uint8Array;

  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new Error("the session key must be 32 bytes");
    this.key = key;
  }

  seal(payload: Session | SignInState, purpose: "session" | "sign-in", expiresAt: number): Promise<string> {
    return new EncryptJWT({ ...payload })
      .setProtectedHeader({ alg: "dir", enc: "A256GCM" })
      .setAudience(purpose)
      .setExpirationTime(expiresAt)
      .encrypt(this.key);
  }

  /** The payload, or undefined when the cookie is missing, altered, for another purpose or expired. */
  async open<T extends Session | SignInState>(
    sealed: string | undefined,
    purpose: "session" | "sign-in",
  ): Promise<T | undefined> {
    if (!sealed) return undefined;
    try {
      const { payload } = await jwtDecrypt(sealed, this.key, { audience: purpose });
      return payload as unknown as T;
    } catch (error) {
      if (error instanceof errors.JOSEError) return undefined;
      throw error;
    }
  }
}
