// Demo identities of the local OpenID provider (local default only; see DESIGN.md, "Local defaults").

export interface DemoUser {
  name: string;
  groups: string[];
}

export const demoUsers: Record<string, DemoUser> = {
  operator: { name: "Olivia Operator", groups: ["govhost:platform-operators"] },
  finance: { name: "Fiona Finance", groups: ["govhost:finance"] },
  auditor: { name: "Arthur Auditor", groups: ["govhost:auditors"] },
  "immd-admin": { name: "Ivy Chan (IMMD IT)", groups: ["immd-admins"] },
  "immd-dev": { name: "Ian Wong (IMMD developer)", groups: ["immd-developers"] },
  "lcsd-admin": { name: "Lily Lam (LCSD IT)", groups: ["lcsd-admins"] },
  "a11y-approver": { name: "Grace Ho (accessibility team)", groups: ["govhost:accessibility-approvers"] },
  records: { name: "Rita Ng (records manager)", groups: ["govhost:records-managers"] },
};

/** Machine clients (client credentials) and the groups their tokens carry. */
export const demoMachineClients: Record<string, { secret: string; groups: string[] }> = {
  "immd-pipeline": { secret: "local-demo-only-immd-pipeline", groups: ["immd-developers"] },
};

export const cliClientId = "govhost-cli";
export const cliRedirectUri = "http://127.0.0.1/callback";
export const apiClient = { id: "govhost-portal-api", secret: "local-demo-only-portal-api" };
/** The web pages' client: people sign in to the portal with the authorization code flow and PKCE. */
export const webClient = { id: "govhost-portal-web", secret: "local-demo-only-portal-web" };
