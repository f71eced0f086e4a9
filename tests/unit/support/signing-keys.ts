import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from "jose";

/** A throw-away signing key for in-process API tests: `sign` issues access tokens `keys` verifies. */
export async function signingKeys(issuer: string, audience: string) {
  const { privateKey, publicKey } = await generateKeyPair("RS256");
  const keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256" }] });
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT({ iss: issuer, aud: audience, ...claims })
      .setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid: "k1" })
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(privateKey);
  return { keys, sign };
}
