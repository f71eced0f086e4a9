import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  defaultRoleSettings,
  encodeUserName,
  grantedDepartmentGroups,
  knownGroups,
  principalFrom,
  sharedPrincipalFrom,
} from "../../portal-api/auth/principal.ts";

const iss = "https://idp.gov.example";
const departments = [
  { name: "immd", groups: { admins: ["immd-admins"], developers: ["immd-developers"] } },
  { name: "lcsd", groups: { viewers: ["lcsd-viewers"] } },
];
const principal = (claims: Record<string, unknown>, settings = defaultRoleSettings) =>
  principalFrom({ iss, ...claims }, departments, settings);

describe("the user the API acts as", () => {
  it("is the issuer-scoped subject; preferred_username is only a display name", () => {
    const p = principal({ sub: "9f1c-77", preferred_username: "ivy", groups: ["immd-admins"] });
    expect(p).toMatchObject({
      username: `${iss}#9f1c-77`,
      displayName: "ivy",
      subject: "9f1c-77",
      issuer: iss,
    });
  });

  it("tells apart two users who chose the same preferred_username", () => {
    const a = principal({ sub: "user-a", preferred_username: "admin" });
    const b = principal({ sub: "user-b", preferred_username: "admin" });
    expect(a.username).not.toBe(b.username);
    expect(a.displayName).toBe(b.displayName);
  });

  it("encodes any name into a header-safe ASCII value, injectively", () => {
    const p = principal({ sub: "陳大文 (IMMD)", preferred_username: "陳大文" });
    expect(p.username).toBe(`${iss}#%E9%99%B3%E5%A4%A7%E6%96%87%20%28IMMD%29`);
    expect(p.displayName).toBe("陳大文");
    expect(encodeUserName("a%41")).not.toBe(encodeUserName("aA"));
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), (x, y) => {
        const ex = encodeUserName(x);
        expect(ex).toMatch(/^[\x21-\x7e]*$/);
        if (x !== y) expect(ex).not.toBe(encodeUserName(y));
      }),
    );
  });

  it("names a machine client by its subject, else its client id", () => {
    expect(principal({ sub: "pipeline", client_id: "pipeline" })).toMatchObject({
      machine: true,
      username: `${iss}#pipeline`,
    });
    expect(principal({ client_id: "pipeline" })).toMatchObject({
      machine: true,
      username: `${iss}#client:pipeline`,
    });
  });

  it("names no one without an issuer or a subject, or with a subject that is not valid Unicode", () => {
    expect(principal({ sub: "a\ud800" }).username).toBe("");
    expect(principalFrom({ sub: "u1" }, departments, defaultRoleSettings).username).toBe("");
    expect(principal({ preferred_username: "ivy" }).username).toBe("");
  });

  it("follows a configured claim and prefix", () => {
    const settings = { ...defaultRoleSettings, usernameClaim: "oid", usernamePrefix: "gov:" };
    expect(principal({ sub: "s", oid: "0000-1111" }, settings).username).toBe("gov:0000-1111");
  });
});

describe("the groups the API impersonates", () => {
  it("are only those the platform knows: unknown and system groups are dropped", () => {
    const p = principal({
      sub: "u1",
      groups: [
        "immd-admins",
        "Domain Users",
        "all-staff@gov",
        "system:masters",
        "govhost:finance",
        "immd-admins",
      ],
    });
    expect(p.groups).toEqual(["immd-admins", "govhost:finance"]);
    expect(p.platformRoles).toEqual(["finance"]);
    expect(p.departments).toEqual({ immd: "admin" });
  });

  it("give each department the highest role any of them holds there, whatever the groups' order", () => {
    const shared = [
      {
        name: "immd",
        groups: { admins: ["immd-admins"], viewers: ["all-it"], developers: ["immd-developers"] },
      },
      { name: "lcsd", groups: { developers: ["all-it"] } },
      { name: "edb", groups: { viewers: ["edb-viewers"] } },
    ];
    for (const groups of [
      ["all-it", "immd-developers", "immd-admins"],
      ["immd-admins", "all-it", "immd-developers"],
    ])
      expect(principalFrom({ iss, sub: "u3", groups }, shared, defaultRoleSettings).departments).toEqual({
        immd: "admin",
        lcsd: "developer",
      });
    expect(
      principalFrom({ iss, sub: "u4", groups: ["all-it"] }, shared, defaultRoleSettings).departments,
    ).toEqual({
      immd: "viewer",
      lcsd: "developer",
    });
  });

  it("are the platform's own groups and every group a Department maps", () => {
    const known = knownGroups(departments, defaultRoleSettings);
    for (const group of [
      "govhost:platform-operators",
      "govhost:finance",
      "govhost:auditors",
      "immd-developers",
      "lcsd-viewers",
    ])
      expect(known.has(group)).toBe(true);
    expect(known.has("system:masters")).toBe(false);
  });

  it("count a department's groups only once the API has been granted them, so it never asks to act as one too early", () => {
    // The controller has granted immd's admins but not yet its developers (a Department just created).
    const granted = grantedDepartmentGroups(departments, new Set(["immd-admins", "govhost:finance"]));
    expect(granted).toEqual([
      { name: "immd", groups: { admins: ["immd-admins"], developers: [] } },
      { name: "lcsd", groups: { viewers: [] } },
    ]);
    const p = principalFrom(
      { iss, sub: "u2", groups: ["immd-developers", "lcsd-viewers", "govhost:finance"] },
      granted,
      defaultRoleSettings,
    );
    expect(p.groups).toEqual(["govhost:finance"]);
    expect(p.departments).toEqual({});
  });
});

describe("the principal shared by a token's requests", () => {
  it("is worked out once per claims object and department list, frozen, and again when the departments change", () => {
    const claims = { iss, sub: "u5", groups: ["immd-developers"] };
    const first = sharedPrincipalFrom(claims, departments, defaultRoleSettings);
    expect(sharedPrincipalFrom(claims, departments, defaultRoleSettings)).toBe(first);
    expect(first.departments).toEqual({ immd: "developer" });
    expect(
      Object.isFrozen(first) && Object.isFrozen(first.departments) && Object.isFrozen(first.groups),
    ).toBe(true);
    expect(() => {
      (first.departments as Record<string, string>).lcsd = "admin";
    }).toThrow(TypeError);

    const changed = [{ name: "immd", groups: { admins: ["immd-developers"] } }];
    const after = sharedPrincipalFrom(claims, changed, defaultRoleSettings);
    expect(after).not.toBe(first);
    expect(after.departments).toEqual({ immd: "admin" });
    // Equal claims in another object (another token) are worked out on their own.
    expect(sharedPrincipalFrom({ ...claims }, changed, defaultRoleSettings)).not.toBe(after);
  });
});
