import { parseArgs } from "node:util";
import { loadConfig } from "../../lib/config.ts";
import { portalApiSettings } from "../../portal-api/config.ts";
import { localToolSettings } from "../config.ts";
import { clientToken, loginAs } from "./login.ts";
import { demoMachineClients, demoUsers } from "./users.ts";

// `npm run -s token -- --user immd-admin`: prints an access token for a demo user from the local OpenID
// provider that `npm start` runs (local default only). `--client immd-pipeline` for a machine client.
const { values } = parseArgs({
  options: { user: { type: "string" }, client: { type: "string" } },
});
let settings: { issuer?: string; audience: string; oidcPort: number };
try {
  settings = loadConfig(
    {
      issuer: { ...portalApiSettings.issuer, required: false },
      audience: portalApiSettings.audience,
      oidcPort: localToolSettings.oidcPort,
    },
    process.env,
  );
} catch (error) {
  process.stderr.write(`token: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}
const issuer = settings.issuer ?? `http://127.0.0.1:${settings.oidcPort}`;
const audience = settings.audience;

try {
  if (values.client) {
    const client = demoMachineClients[values.client];
    if (!client)
      throw new Error(
        `unknown client ${values.client}; demo clients: ${Object.keys(demoMachineClients).join(", ")}`,
      );
    process.stdout.write(`${await clientToken(issuer, values.client, client.secret, audience)}\n`);
  } else {
    const user = values.user ?? "";
    if (!demoUsers[user])
      throw new Error(`give --user <name>; demo users: ${Object.keys(demoUsers).join(", ")}`);
    process.stdout.write(`${await loginAs(issuer, user, audience)}\n`);
  }
} catch (error) {
  const reason = error instanceof Error ? error.message : String(error);
  process.stderr.write(
    `token: ${reason}\n(is \`npm start\` running? it serves the local OpenID provider at ${issuer})\n`,
  );
  process.exit(1);
}
