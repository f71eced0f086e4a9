import { pino } from "pino";
import { ConfigError } from "../lib/config.ts";
import { startPortalApi } from "./app.ts";
import { loadPortalApiConfig, type PortalApiConfig, startSettings } from "./config.ts";

// `npm run api`: the portal API against $KUBECONFIG and the OpenID provider named by the environment
// (every variable: portal-api/config.ts, docs/configuration.md).
const log = pino({ name: "govhost-portal-api" });

function readConfig(): PortalApiConfig {
  try {
    return loadPortalApiConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // A bad setting stops start-up here, naming the variable and the form it needs (docs/configuration.md),
    // as the controller does.
    process.stderr.write(`govhost-portal-api: ${error.message}\n`);
    process.exit(2);
  }
}

const config = readConfig();
const api = await startPortalApi(startSettings(config));
log.info({ url: api.url }, "portal API listening");
const stop = () => void api.close().then(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
