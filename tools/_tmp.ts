import { KubeClient } from "../controller/runtime/kube-client.ts";
import { installPlatform } from "./install-platform.ts";

const c = await KubeClient.fromKubeConfig();
await installPlatform(c);
c.close();
console.log("installed");
