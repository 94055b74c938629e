/**
 * nixos-rebuild, switch-to-configuration and nix-env running inside a host's mount
 * namespace with the real nix-instantiate: generations, boot loader, /run/current-system,
 * store paths, Nix's own error messages, rollback and the timeline events.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { readBootDefault } from "../../sim/hosttools";
import { useHostToolsFleet, type TestHost } from "./hosttools-harness";

describe("simulated NixOS host tools: nixos-rebuild", function () {
  this.timeout(120_000);
  const tools = useHostToolsFleet("node");
  const freshHost = tools.freshHost;

  const generation = (h: TestHost) => h.link("fs/nix-var/profiles/system");
  const loaderDefault = (h: TestHost) => readBootDefault(h.paths.boot);

  it("bootstraps generation 1 from the initial configuration and boots it", async () => {
    const h = await freshHost();
    assert.equal(generation(h), "system-1-link");
    const def = loaderDefault(h);
    assert.equal(def?.generation, 1);
    assert.equal(h.link("fs/run/current-system"), def?.system);
    assert.match(def?.system ?? "", /^\/nix\/store\/[0-9a-df-np-sv-z]{32}-nixos-system-node\d+-24\.05\.\d{8}\.[0-9a-f]{7}$/);
    assert.deepEqual(def?.params, ["loglevel=4"]);
    const r = await h.ok("nixos-version");
    assert.match(r.stdout, /^24\.05\.\d{8}\.[0-9a-f]{7} \(Uakari\)\n$/);
  });

  it("boot makes a new generation the loader default and leaves /run/current-system alone", async () => {
    const h = await freshHost();
    const running = h.link("fs/run/current-system");
    h.addToConfig(`  environment.variables.EDITOR = "vim";`);
    const r = await h.ok("nixos-rebuild boot");
    assert.match(r.stderr, /building the system configuration\.\.\./);
    assert.equal(generation(h), "system-2-link");
    assert.equal(loaderDefault(h)?.generation, 2);
    assert.equal(h.link("fs/run/current-system"), running);
    const entries = fs.readdirSync(path.join(h.paths.boot, "loader", "entries")).sort();
    assert.deepEqual(entries, ["nixos-generation-1.conf", "nixos-generation-2.conf"]);
    const system = h.link("fs/nix-var/profiles/system-2-link");
    assert.deepEqual(
      tools.control().events.map((e) => [e.kind, e.detail?.action]),
      [["build-started", "boot"], ["build-finished", "boot"], ["activated", "boot"]],
    );
    assert.deepEqual(tools.control().eventsOf("build-finished")[0].detail, { ok: true, action: "boot", system, generation: 2 });
  });

  it("switch changes both the loader default and /run/current-system", async () => {
    const h = await freshHost();
    h.addToConfig(`  services.k3s.enable = true;`);
    const r = await h.ok("nixos-rebuild switch");
    const system = h.link("fs/nix-var/profiles/system-2-link");
    assert.equal(loaderDefault(h)?.system, system);
    assert.equal(h.link("fs/run/current-system"), system);
    assert.match(r.stderr, /activating the configuration\.\.\./);
    assert.match(r.stderr, /the following new units were started: k3s\.service/);
    assert.deepEqual(tools.control().eventsOf("activated")[0].detail, { action: "switch", system });
  });

  it("test activates without a new generation or loader change", async () => {
    const h = await freshHost();
    const before = loaderDefault(h);
    h.addToConfig(`  services.nginx.enable = true;`);
    await h.ok("nixos-rebuild test");
    assert.equal(generation(h), "system-1-link");
    assert.deepEqual(loaderDefault(h), before);
    const current = h.link("fs/run/current-system") ?? "";
    assert.notEqual(current, before?.system);
    assert.ok(fs.existsSync(h.storeFile(current, "sw/bin/nixos-rebuild")));
  });

  it("a rebuild of an unchanged configuration adds no generation", async () => {
    const h = await freshHost();
    const r = await h.ok("nixos-rebuild boot");
    assert.equal(generation(h), "system-1-link");
    assert.doesNotMatch(r.stderr, /will be built/);
    assert.equal(fs.readdirSync(h.paths.profiles).filter((n) => n.startsWith("system-")).length, 1);
  });

  it("takes the fleet's build duration to build a system not in the store, and none for a system built before", async () => {
    const buildMs = 3000;
    const h = await freshHost();
    // The fleet writes its timings into /run at boot; this boot gives builds their duration.
    h.boot(0, Date.now(), buildMs);
    const span = (): number => {
      const [started] = tools.control().eventsOf("build-started");
      const [finished] = tools.control().eventsOf("build-finished");
      assert.ok(started && finished, `no build-started/build-finished pair in ${JSON.stringify(tools.control().events)}`);
      return finished.t - started.t;
    };
    h.addToConfig(`  environment.variables.BUILT = "slowly";`);
    await h.ok("nixos-rebuild switch");
    const built = span();
    assert.ok(built >= buildMs, `the build of a new system took ${built} ms on the timeline, less than the ${buildMs} ms set`);
    // A boot with builds of a minute: a rebuild that waited for one would take a minute at least.
    const slowBuildMs = 60_000;
    h.boot(0, Date.now(), slowBuildMs);
    tools.control().events.length = 0;
    const again = await h.ok("nixos-rebuild switch");
    assert.doesNotMatch(again.stderr, /will be built/);
    const rebuilt = span();
    assert.ok(rebuilt < slowBuildMs, `a rebuild of a system already in the store took ${rebuilt} ms on the timeline: it waited for a build`);
  });

  it("kernelParams change kernel-params and the entry, not the kernel, initrd or modules", async () => {
    const h = await freshHost();
    const old = h.link("fs/nix-var/profiles/system-1-link") ?? "";
    h.addToConfig(`  boot.kernelParams = [ "console=ttyS0,115200" "mitigations=off" ];`);
    await h.ok("nixos-rebuild boot");
    const neu = h.link("fs/nix-var/profiles/system-2-link") ?? "";
    assert.notEqual(neu, old);
    for (const link of ["kernel", "initrd", "kernel-modules"]) {
      assert.equal(fs.readlinkSync(h.storeFile(neu, link)), fs.readlinkSync(h.storeFile(old, link)), link);
    }
    assert.equal(fs.readFileSync(h.storeFile(neu, "kernel-params"), "utf8"), "console=ttyS0,115200 mitigations=off loglevel=4");
    assert.deepEqual(loaderDefault(h)?.params, ["console=ttyS0,115200", "mitigations=off", "loglevel=4"]);
  });

  it("kernelPackages change the kernel, initrd and kernel modules", async () => {
    const h = await freshHost();
    const old = h.link("fs/nix-var/profiles/system-1-link") ?? "";
    h.addToConfig(`  boot.kernelPackages = pkgs.linuxPackages_6_12;`);
    await h.ok("nixos-rebuild boot");
    const neu = h.link("fs/nix-var/profiles/system-2-link") ?? "";
    for (const link of ["kernel", "initrd", "kernel-modules"]) {
      assert.notEqual(fs.readlinkSync(h.storeFile(neu, link)), fs.readlinkSync(h.storeFile(old, link)), link);
    }
    assert.match(fs.readlinkSync(h.storeFile(neu, "kernel")), /-linux-6\.12\.\d+\/bzImage$/);
    assert.equal(fs.readFileSync(h.storeFile(neu, "kernel-params"), "utf8"), fs.readFileSync(h.storeFile(old, "kernel-params"), "utf8"));
  });

  it("systemPackages change the system only", async () => {
    const h = await freshHost();
    const old = h.link("fs/nix-var/profiles/system-1-link") ?? "";
    h.editConfig((t) => t.replace("[ vim git curl ]", "[ vim git curl htop jq ]"));
    await h.ok("nixos-rebuild boot");
    const neu = h.link("fs/nix-var/profiles/system-2-link") ?? "";
    assert.notEqual(neu, old);
    for (const link of ["kernel", "initrd", "kernel-modules"]) {
      assert.equal(fs.readlinkSync(h.storeFile(neu, link)), fs.readlinkSync(h.storeFile(old, link)), link);
    }
    assert.equal(fs.readFileSync(h.storeFile(neu, "kernel-params"), "utf8"), fs.readFileSync(h.storeFile(old, "kernel-params"), "utf8"));
  });

  const broken: ReadonlyArray<readonly [string, (h: TestHost) => void, RegExp]> = [
    ["a syntax error", (h) => h.editConfig((t) => t.replace("[ vim git curl ]", "[ vim git curl ")), /error: syntax error, unexpected/],
    ["a missing import", (h) => h.editConfig((t) => t.replace("./hardware-configuration.nix", "./hardware-configuration.nix ./k8s.nix")), /error: getting status of '\/etc\/nixos\/k8s\.nix': No such file or directory/],
    ["an undefined variable", (h) => h.editConfig((t) => t.replace("[ vim git curl ]", "[ vim git curl htopp ]")), /error: undefined variable 'htopp'[\s\S]*at \/etc\/nixos\/configuration\.nix:\d+:\d+/],
    [
      "conflicting definitions",
      (h) => {
        fs.writeFileSync(path.join(h.paths.etcNixos, "name.nix"), `{ ... }: { networking.hostName = "other"; }\n`);
        h.editConfig((t) => t.replace("./hardware-configuration.nix", "./hardware-configuration.nix ./name.nix"));
      },
      /error: The option `networking\.hostName' has conflicting definition values:\n\s+- In `\/etc\/nixos\/configuration\.nix': "node\d+"\n\s+- In `\/etc\/nixos\/name\.nix': "other"/,
    ],
  ];
  for (const [what, breakIt, message] of broken) {
    it(`fails on ${what} with Nix's message and changes nothing`, async () => {
      const h = await freshHost();
      const before = h.snapshot();
      breakIt(h);
      const r = await h.run("nixos-rebuild switch");
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /^building Nix\.\.\.\nbuilding the system configuration\.\.\.\n/);
      assert.match(r.stderr, message);
      assert.equal(h.snapshot(), before);
      assert.equal(tools.control().eventsOf("build-finished")[0]?.detail?.ok, false);
      assert.equal(tools.control().eventsOf("activated").length, 0);
    });
  }

  it("--rollback returns to the previous generation, and refuses when there is none", async () => {
    const h = await freshHost();
    const first = h.link("fs/run/current-system");
    const none = await h.run("nixos-rebuild boot --rollback");
    assert.equal(none.code, 1);
    assert.match(none.stderr, /error: no profile version older than the current \(1\) exists/);
    h.addToConfig(`  services.tailscale.enable = true;`);
    await h.ok("nixos-rebuild switch");
    assert.notEqual(h.link("fs/run/current-system"), first);
    const r = await h.ok("nixos-rebuild switch --rollback");
    assert.match(r.stderr, /switching profile from version 2 to 1/);
    assert.equal(generation(h), "system-1-link");
    assert.equal(h.link("fs/run/current-system"), first);
    assert.equal(loaderDefault(h)?.generation, 1);
  });

  it("build leaves ./result and touches nothing else; dry-build builds nothing", async () => {
    const h = await freshHost();
    h.addToConfig(`  services.chrony.enable = true;`);
    const before = h.snapshot();
    const dry = await h.ok("nixos-rebuild dry-build");
    assert.match(dry.stderr, /this derivation will be built:\n {2}\/nix\/store\/\S+-nixos-system-node\d+-\S+\.drv\n/);
    assert.equal(h.snapshot(), before);
    await h.ok("nixos-rebuild build", { cwd: "/var/lib" });
    const result = fs.readlinkSync(path.join(h.paths.varLib, "result"));
    assert.ok(fs.existsSync(h.storeFile(result, "bin/switch-to-configuration")));
    assert.equal(generation(h), "system-1-link");
  });

  it("nix-env --list-generations prints what the real nix-env prints", async () => {
    const h = await freshHost();
    h.addToConfig(`  services.fstrim.enable = true;`);
    await h.ok("nixos-rebuild boot");
    const ours = await h.ok("nix-env --list-generations -p /nix/var/nix/profiles/system");
    const real = spawnSync("/usr/bin/nix-env", ["--list-generations", "-p", path.join(h.paths.profiles, "system")], { encoding: "utf8", env: { ...process.env, TZ: process.env.TZ ?? "UTC" } });
    assert.equal(real.status, 0, real.stderr);
    assert.equal(ours.stdout, real.stdout);
    assert.match(ours.stdout, /^ {3}1 {3}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {3}\n {3}2 {3}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {3}\(current\)\n$/);
    const other = await h.run("nix-env --list-generations");
    assert.equal(other.code, 1);
    const rb = await h.ok("nix-env --rollback -p /nix/var/nix/profiles/system");
    assert.match(rb.stderr, /switching profile from version 2 to 1/);
  });

  it("refuses unknown options and a missing action like the real script", async () => {
    const h = await freshHost();
    const unknown = await h.run("nixos-rebuild switch --frobnicate");
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, "/run/current-system/sw/bin/nixos-rebuild: unknown option `--frobnicate'\n");
    const none = await h.run("nixos-rebuild --fast");
    assert.equal(none.code, 1);
    assert.match(none.stdout, /^Usage: nixos-rebuild/);
    const fast = await h.ok("nixos-rebuild boot --fast -v --show-trace --option cores 2 -I nixpkgs=/nowhere");
    assert.doesNotMatch(fast.stderr, /building Nix/);
    assert.equal(tools.control().eventsOf("activated").length, 1);
  });
});
