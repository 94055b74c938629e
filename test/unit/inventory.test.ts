import * as assert from "node:assert/strict";
import { TIMEOUT_DEFAULTS, TIMEOUT_LIMITS } from "../../lib/inventory/defaults";
import { InventoryError, formatPath } from "../../lib/inventory/errors";
import { loadInventory } from "../../lib/inventory/load";
import { HOST_KEYS, inlineInventory, memoryIo, smallInventory } from "./helpers/fixtures";

type Json = Record<string, unknown>;

/** The InventoryError loading `inv` throws (fails the test when it loads). */
function failure(inv: unknown): InventoryError {
  try {
    inlineInventory(inv);
  } catch (error) {
    if (error instanceof InventoryError) return error;
    throw error;
  }
  assert.fail("the inventory loaded, but it should have been rejected");
}

/** A valid three-host inventory, changed by `edit`. */
function base(edit: (inv: Json & { hosts: Json[] }) => void = () => {}): Json {
  const inv = smallInventory([{ name: "srv1", role: "control-plane" }, { name: "srv2" }, { name: "srv3" }]) as Json & { hosts: Json[] };
  edit(inv);
  return inv;
}

describe("inventory: schema", () => {
  it("applies every default to a minimal inventory", () => {
    const inv = inlineInventory({ hosts: [{ name: "srv1", address: "10.0.0.1", hostKey: HOST_KEYS[0] }] });
    assert.deepEqual(inv.ssh, { user: "root", port: 22, trustOnFirstUse: false, authorizedKeys: [] });
    assert.deepEqual(inv.rebuild, { action: "switch", rebootPolicy: "when-needed" });
    assert.deepEqual(inv.timeouts, TIMEOUT_DEFAULTS);
    assert.deepEqual(inv.kubernetes, { enabled: true, watchedNamespaces: ["kube-system"] });
    assert.deepEqual(inv.health, { nodesReady: true, commands: [] });
    assert.deepEqual(inv.nix, { stateVersion: "24.05", imports: [], settings: {} });
    assert.equal(inv.k3s.enable, false);
    assert.equal(inv.hosts[0].role, "worker");
    assert.deepEqual(inv.source, { kind: "stack-config" });
  });

  // Each row: what is wrong, the edit that makes it wrong, the path named, the message.
  const cases: [string, (inv: Json & { hosts: Json[] }) => void, string, RegExp][] = [
    ["bad IPv4 address", (i) => (i.hosts[2].address = "10.0.0.300"), "hosts[2].address", /^"10\.0\.0\.300" is not an IPv4\/IPv6 address or host name$/],
    ["upper-case host name", (i) => (i.hosts[0].name = "SRV1"), "hosts[0].name", /"SRV1" is not a host name/],
    ["host key of three bytes", (i) => (i.hosts[1].hostKey = "ssh-ed25519 AAAA"), "hosts[1].hostKey", /not a valid SSH key blob \(cut short when copied\?\).*ssh-keyscan/],
    ["host key of another type", (i) => (i.hosts[1].hostKey = HOST_KEYS[0].replace("ssh-ed25519", "ssh-rsa")), "hosts[1].hostKey", /says ssh-rsa but the key data is ssh-ed25519/],
    [
      "host key cut short after its type",
      (i) => (i.hosts[2].hostKey = HOST_KEYS[2].slice(0, 60)),
      "hosts[2].hostKey",
      /^the ssh-ed25519 key data is cut short: its public key is missing or incomplete \(only 36 bytes of key data; the line was probably not copied whole\); copy the whole line from \/etc\/ssh\/ssh_host_ed25519_key\.pub on the host \(or the output of `ssh-keyscan -t ed25519 <address>` without the address in front\), or leave hostKey out and set ssh\.trustOnFirstUse: true$/,
    ],
    ["ssh-keyscan line with its address", (i) => (i.hosts[0].hostKey = `10.0.0.1 ${HOST_KEYS[0]}`), "hosts[0].hostKey", /starts with "10\.0\.0\.1" before the key type; ssh-keyscan prints/],
    ["authorized key cut short", (i) => (i.ssh = { authorizedKeys: [HOST_KEYS[1].slice(0, 50)] }), "ssh.authorizedKeys[0]", /cut short.*copy the whole line of the user's public key file/],
    ["port out of range", (i) => (i.ssh = { port: 70000 }), "ssh.port", /70000 is above the maximum 65535/],
    ["port not a number", (i) => (i.hosts[0].ssh = { port: "ssh" }), "hosts[0].ssh.port", /expected a number, got "ssh"/],
    ["unknown rebuild action", (i) => (i.rebuild = { action: "reboot" }), "rebuild.action", /"reboot" is not one of "boot", "switch", "test"/],
    ["unknown reboot policy", (i) => (i.rebuild = { rebootPolicy: "sometimes" }), "rebuild.rebootPolicy", /not one of "always", "when-needed", "never"/],
    ["test with reboots always", (i) => (i.rebuild = { action: "test", rebootPolicy: "always" }), "rebuild.rebootPolicy", /undoes the test activation; use action switch or boot, or rebootPolicy never/],
    ["zero timeout", (i) => (i.timeouts = { bootSeconds: 0 }), "timeouts.bootSeconds", /must be greater than 0/],
    ["negative host timeout", (i) => (i.hosts[1].timeouts = { drainSeconds: -1 }), "hosts[1].timeouts.drainSeconds", /must be greater than 0/],
    ["timeout in milliseconds", (i) => (i.timeouts = { rebuildSeconds: 1800000 }), "timeouts.rebuildSeconds", /^1800000 is more than 86400 seconds \(one day\), the most rebuildSeconds may be; timeouts are in seconds: did you give milliseconds\?$/],
    ["host timeout in milliseconds, as config set stores it", (i) => (i.hosts[2].timeouts = { connectSeconds: "15000" }), "hosts[2].timeouts.connectSeconds", /^15000 is more than 3600 seconds \(one hour\), the most connectSeconds may be; timeouts are in seconds: did you give milliseconds\?$/],
    ["regex that does not compile", (i) => (i.health = { commands: [{ name: "ceph", command: "ceph health", passWhen: ["^HEALTH_OK("] }] }), "health.commands[0].passWhen[0]", /not a valid JavaScript regular expression/],
    ["gate without command", (i) => (i.health = { commands: [{ name: "ceph" }] }), "health.commands[0].command", /^required but missing$/],
    ["bad namespace", (i) => (i.kubernetes = { watchedNamespaces: ["Kube_System"] }), "kubernetes.watchedNamespaces[0]", /not a Kubernetes namespace name/],
    ["bad gateway", (i) => (i.network = { gateway: "10.0.0" }), "network.gateway", /not an IPv4 or IPv6 address/],
    ["prefix too long", (i) => (i.hosts[0].network = { address: "10.0.0.1/33", interface: "eth0" }), "hosts[0].network.address", /not an IP address, with or without a \/prefix/],
    ["interface name too long", (i) => (i.hosts[0].network = { interface: "averyverylongname0" }), "hosts[0].network.interface", /network interface name/],
    ["invalid label key", (i) => (i.hosts[1].labels = { "-bad": "x" }), 'hosts[1].labels["-bad"]', /invalid label key/],
    ["invalid label value", (i) => (i.hosts[1].labels = { pool: "a b" }), "hosts[1].labels.pool", /is not a label value/],
    ["unquoted state version", (i) => (i.nix = { stateVersion: 24.1 }), "nix.stateVersion", /expected a string, got 24\.1/],
    ["module outside the project", (i) => (i.nix = { imports: ["../other/x.nix"] }), "nix.imports[0]", /inside the project folder/],
    ["module not a .nix file", (i) => (i.hosts[0].nix = { imports: ["modules/x.txt"] }), "hosts[0].nix.imports[0]", /not a \.nix file/],
    ["module path Nix cannot write", (i) => (i.nix = { imports: ["my modules/x.nix"] }), "nix.imports[0]", /Nix path literal/],
    ["setting that is no Nix value", (i) => (i.nix = { settings: { boot: { x: [1, Infinity] } } }), "nix.settings.boot.x[1]", /Infinity has no Nix equivalent/],
    ["dotted setting at the top", (i) => (i.nix = { settings: { "boot.kernelParams": ["quiet"] } }), 'nix.settings["boot.kernelParams"]', /write nested maps instead: \{boot: \{kernelParams: \.\.\.\}\}/],
    ["server address without scheme", (i) => (i.k3s = { serverAddr: "10.0.0.1:6443" }), "k3s.serverAddr", /not a URL|must start with https/],
    ["secret name with blanks", (i) => (i.k3s = { tokenSecret: "my token" }), "k3s.tokenSecret", /not a secret name/],
    ["flag with a blank", (i) => (i.k3s = { extraFlags: ["--disable traefik"] }), "k3s.extraFlags[0]", /its own list item/],
    ["no hosts", (i) => (i.hosts = []), "hosts", /needs at least 1 item/],
  ];
  for (const [what, edit, path, message] of cases) {
    it(`names the path of: ${what}`, () => {
      const err = failure(base(edit));
      const hit = err.issues.find((i) => formatPath(i.path) === path);
      assert.ok(hit, `no issue at ${path}; got:\n${err.message}`);
      assert.match(hit.message, message);
      assert.ok(err.message.includes(`fleet:inventory ${path}: ${hit.message}`), err.message);
    });
  }

  it("takes every timeout at its limit, and Node's timers still hold the longest deadline", () => {
    const inv = inlineInventory(base((i) => (i.timeouts = { ...TIMEOUT_LIMITS })));
    assert.deepEqual(inv.timeouts, TIMEOUT_LIMITS);
    // The longest deadline the rollout arms is shutdown + boot; Node fires a longer timer at once.
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    const timer = setTimeout(() => assert.fail("fired"), (inv.timeouts.shutdownSeconds + inv.timeouts.bootSeconds) * 1000);
    clearTimeout(timer);
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      process.off("warning", onWarning);
      assert.deepEqual(warnings, []);
    });
  });

  it("collects every problem into one error with a heading naming the source", () => {
    const err = failure(
      base((i) => {
        i.hosts[0].address = "300.1.1.1";
        i.hosts[1].name = "Bad";
        i.rebuild = { action: "reboot" };
        i.bogus = 1;
      }),
    );
    assert.equal(err.issues.length, 4, err.message);
    assert.match(err.message, /^Invalid fleet inventory \(stack config fleet:inventory\): 4 problems:\n {2}fleet:inventory /);
  });

  it("accepts what `pulumi config set --path` stores: integers and booleans for strings, strings for numbers", () => {
    const inv = inlineInventory(
      base((i) => {
        i.ssh = { port: "2222", trustOnFirstUse: "false" };
        i.hosts[1].labels = { gpu: true, slots: 4 };
        i.timeouts = { bootSeconds: "1.5" };
      }),
    );
    assert.equal(inv.ssh.port, 2222);
    assert.equal(inv.ssh.trustOnFirstUse, false);
    assert.deepEqual(inv.hosts[1].labels, { gpu: "true", slots: "4" });
    assert.equal(inv.timeouts.bootSeconds, 1.5);
  });
});

describe("inventory: unknown keys", () => {
  const cases: [string, (inv: Json & { hosts: Json[] }) => void, string, RegExp][] = [
    ["a misspelt host key", (i) => (i.hosts[0].adress = "10.0.0.9"), "hosts[0].adress", /^unknown key; did you mean "address"\?$/],
    ["snake_case", (i) => (i.hosts[0].host_key = "x"), "hosts[0].host_key", /did you mean "hostKey"\?/],
    ["a missing s", (i) => (i.timeouts = { bootSecond: 5 }), "timeouts.bootSecond", /did you mean "bootSeconds"\?/],
    ["nk3's nodes", (i) => (i.nodes = {}), "nodes", /did you mean "hosts"\? Hosts are a list/],
    ["nk3's watch_namespaces", (i) => (i.watch_namespaces = []), "watch_namespaces", /did you mean kubernetes\.watchedNamespaces\?/],
    ["nothing close", (i) => (i.rebuild = { flavour: "x" }), "rebuild.flavour", /unknown key; expected one of: action, rebootPolicy/],
    ["a secret written inline", (i) => (i.k3s = { token: "woof" }), "k3s.token", /secrets never sit in the inventory.*pulumi config set --secret --path 'fleet:secrets\.k3sToken'/],
  ];
  for (const [what, edit, path, message] of cases) {
    it(`reports ${what} at its own path`, () => {
      const err = failure(base(edit));
      const hit = err.issues.find((i) => formatPath(i.path) === path);
      assert.ok(hit, err.message);
      assert.match(hit.message, message);
    });
  }

  it("reports a typo together with the missing key it stands for", () => {
    const err = failure({ hosts: [{ nmae: "srv1", address: "10.0.0.1", hostKey: HOST_KEYS[0] }] });
    assert.deepEqual(err.issues.map((i) => formatPath(i.path)).sort(), ["hosts[0].name", "hosts[0].nmae"]);
  });
});

describe("inventory: sources", () => {
  const good = "hosts:\n  - name: srv1\n    address: 10.0.0.1\n    ssh: { trustOnFirstUse: true }\n";

  it("reads a YAML file relative to the project folder", () => {
    const io = memoryIo("/proj", { "inv/fleet.yaml": good });
    const inv = loadInventory({ inventoryFile: "inv/fleet.yaml", projectDir: "/proj" }, io);
    assert.deepEqual(inv.source, { kind: "file", path: "inv/fleet.yaml" });
    assert.equal(inv.hosts[0].address, "10.0.0.1");
    assert.deepEqual(io.reads, ["/proj/inv/fleet.yaml"]);
  });

  it("names the file and the line of each problem, top to bottom", () => {
    const text = "rebuild:\n  action: later\nhosts:\n  - name: srv1\n    address: 10.0.0.300\n    ssh: { trustOnFirstUse: true }\n";
    const io = memoryIo("/proj", { "fleet.yaml": text });
    assert.throws(
      () => loadInventory({ inventoryFile: "fleet.yaml", projectDir: "/proj" }, io),
      (e: unknown) =>
        e instanceof InventoryError &&
        /file fleet\.yaml, named by stack config fleet:inventoryFile/.test(e.message) &&
        e.message.split("\n")[1] === '  fleet.yaml:2 rebuild.action: "later" is not one of "boot", "switch", "test"' &&
        e.message.split("\n")[2] === '  fleet.yaml:5 hosts[0].address: "10.0.0.300" is not an IPv4/IPv6 address or host name',
    );
  });

  it("reports YAML syntax errors and duplicate keys with their line", () => {
    const io = memoryIo("/proj", { "a.yaml": "hosts:\n  - name: a\n    name: b\n", "b.yaml": "hosts: [\n", "c.yaml": "hosts: *nowhere\n" });
    assert.throws(() => loadInventory({ inventoryFile: "a.yaml", projectDir: "/proj" }, io), /a\.yaml:3: not valid YAML: .*[Uu]nique/);
    assert.throws(() => loadInventory({ inventoryFile: "b.yaml", projectDir: "/proj" }, io), /b\.yaml:\d+: not valid YAML/);
    assert.throws(() => loadInventory({ inventoryFile: "c.yaml", projectDir: "/proj" }, io), /c\.yaml: not valid YAML: Unresolved alias/);
  });

  it("takes fleet:inventory given as a YAML string", () => {
    assert.equal(inlineInventory(good).hosts[0].name, "srv1");
  });

  it("says what to do when no inventory, both, or an unreadable file is configured", () => {
    const io = memoryIo("/proj", {});
    assert.throws(() => loadInventory({ projectDir: "/proj" }, io), /no inventory: set fleet:inventoryFile .*pulumi config set --path 'fleet:inventory\.hosts\[0\]\.name' srv1/);
    assert.throws(() => loadInventory({ inventory: { hosts: [] }, inventoryFile: "x.yaml", projectDir: "/proj" }, io), /fleet:inventory and fleet:inventoryFile: both are set; keep one/);
    assert.throws(() => loadInventory({ inventoryFile: "missing.yaml", projectDir: "/proj" }, io), /^ {2}fleet:inventoryFile: missing\.yaml does not exist \(looked for \/proj\/missing\.yaml, relative to the project folder \/proj \(where Pulumi\.yaml is\)\); check the spelling, create the file, or point the key at the right one: `pulumi config set inventoryFile <path relative to the project folder>`$/m);
  });
});
