import { join } from "node:path";

/** The project's local, git-ignored state directory (.govhost/ at the repository root). */
export const projectRoot = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
export const localKubeconfig = join(projectRoot, ".govhost", "kubeconfig");
export const localClusterState = join(projectRoot, ".govhost", "cluster.json");
