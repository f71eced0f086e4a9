import { describe, expect, it } from "vitest";
import { firstAddress, kubernetesServiceIp, nodeNetwork } from "../../tools/cluster/node/network.ts";

describe("the local cluster's addresses", () => {
  it("give the kubernetes Service the first address of the Service range, which the API server's certificate names", () => {
    expect(kubernetesServiceIp).toBe("10.0.0.1");
    expect(firstAddress(nodeNetwork.serviceCidr)).toBe(kubernetesServiceIp);
  });

  it("find the first address of any IPv4 range, wherever it starts", () => {
    expect(firstAddress("10.96.0.0/12")).toBe("10.96.0.1");
    expect(firstAddress("10.100.7.9/12")).toBe("10.96.0.1");
    expect(firstAddress("192.168.255.0/24")).toBe("192.168.255.1");
    expect(firstAddress("172.16.0.0/30")).toBe("172.16.0.1");
  });

  it("refuse what is not an IPv4 range with hosts", () => {
    expect(() => firstAddress("10.0.0/16")).toThrow(/not an IPv4 range/);
    expect(() => firstAddress("10.0.0.256/16")).toThrow(/not an IPv4 range/);
    expect(() => firstAddress("10.0.0.0/31")).toThrow(/no host addresses/);
    expect(() => firstAddress("10.0.0.0")).toThrow(/not an IPv4 range/);
    expect(() => firstAddress("10.0.0.0/33")).toThrow(/not an IPv4 range/);
  });
});
