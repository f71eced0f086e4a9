import { platformProgram } from "./program.ts";

// `pulumi up` with the Pulumi CLI and its Node.js language host (Pulumi.yaml points here). Without a
// language host, `npm run pulumi` runs the same program through the Automation API.
const outputs = platformProgram();

export const clusterMode = outputs.clusterMode;
export const kubeconfigPath = outputs.kubeconfigPath;
export const apiUrl = outputs.apiUrl;
