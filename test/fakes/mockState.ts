/**
 * What Pulumi's mocks give back for a resource of the program: its inputs, and for the
 * FleetBuild the outputs its create gives, each host built at /nix/store/built-<host> and, for a
 * host trusted on first use, `pinnedHostKey(host)` as the key it trusted.
 */
export function mockedState(type: string, inputs: Record<string, unknown>, pinnedHostKey: (host: string) => string = () => ""): Record<string, unknown> {
  if (!type.endsWith(":FleetBuild")) return { ...inputs };
  const hosts = Object.keys((inputs.hosts ?? {}) as Record<string, unknown>);
  return {
    ...inputs,
    systems: Object.fromEntries(hosts.map((h) => [h, `/nix/store/built-${h}`])),
    pinnedHostKeys: Object.fromEntries(hosts.map((h) => [h, pinnedHostKey(h)])),
  };
}
