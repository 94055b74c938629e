import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadInventory } from "../../lib/inventory/load";
import { publicKeyOf } from "../../lib/inventory/loginKey";
import { planHosts } from "../../lib/inventory/plan";
import { BOOT_GUARD_FILE, BOOT_GUARD_UNIT, GUARD_DIR } from "../../lib/nixos/guard";
import { STATIC_MODULES } from "../../lib/render/render";
import { nixModulesDir } from "../../lib/render/static";
import type { HostSpec } from "../../lib/rollout/spec";
import { HOST_KEYS, REPO, devInventoryText, loginKey, memoryIo } from "./helpers/fixtures";
import { nixEvalJson } from "./helpers/nix";

/** What the simulated evaluator (sim/nix/) provides; the static modules may use nothing else. */
const LIB = ["mkIf", "mkDefault", "mkForce", "mkMerge", "optional", "optionals", "optionalAttrs", "optionalString", "mapAttrs", "mapAttrsToList", "concatStringsSep", "concatMapStringsSep", "attrNames", "filterAttrs", "listToAttrs", "nameValuePair", "elem"];
const PKGS = ["k3s", "kubernetes", "cri-tools", "htop", "vim", "git", "curl", "jq", "iproute2", "nfs-utils", "openiscsi", "linuxPackages", "linuxPackages_6_6", "linuxPackages_6_12"];

/** A stand-in for nixpkgs' lib with exactly the allowed functions; properties show up as data. */
const STUB = `
let
  lib = {
    mkIf = condition: content: { _type = "if"; inherit condition content; };
    mkDefault = content: { _type = "override"; priority = 1000; inherit content; };
    mkForce = content: { _type = "override"; priority = 50; inherit content; };
    mkMerge = contents: { _type = "merge"; inherit contents; };
    optional = c: x: if c then [ x ] else [ ];
    optionals = c: xs: if c then xs else [ ];
    optionalAttrs = c: as: if c then as else { };
    optionalString = c: s: if c then s else "";
    mapAttrs = builtins.mapAttrs;
    mapAttrsToList = f: as: map (n: f n as.\${n}) (builtins.attrNames as);
    concatStringsSep = builtins.concatStringsSep;
    concatMapStringsSep = sep: f: xs: builtins.concatStringsSep sep (map f xs);
    attrNames = builtins.attrNames;
    filterAttrs = pred: as: builtins.listToAttrs (builtins.concatMap (n: if pred n as.\${n} then [ { name = n; value = as.\${n}; } ] else [ ]) (builtins.attrNames as));
    listToAttrs = builtins.listToAttrs;
    nameValuePair = name: value: { inherit name value; };
    elem = builtins.elem;
  };
  pkgs = builtins.listToAttrs (map (n: { name = n; value = "pkg:" + n; }) [ ${PKGS.map((p) => `"${p}"`).join(" ")} ]);
  args = { inherit lib pkgs; config = { }; options = { }; };
in
{ base = import ./fleet/base.nix args; k3s = import ./fleet/k3s.nix args; guard = import ./fleet/guard.nix args; }
`;

interface Evaluated {
  readonly base: unknown;
  readonly k3s: unknown;
  readonly guard: unknown;
}

/** The value at a dotted path of evaluated JSON (undefined when absent). */
function at(value: unknown, dotted: string): unknown {
  let v = value;
  for (const key of dotted.split(".")) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (Array.isArray(v) ? v : (v as Record<string, unknown>))[key as keyof typeof v];
  }
  return v;
}

describe("nix/: the static NixOS modules", () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  /** Writes a host's files to a scratch /etc/nixos and evaluates the static modules there. */
  function evaluate(spec: HostSpec): Evaluated {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nixos-fleet-modules-"));
    dirs.push(dir);
    for (const [name, text] of Object.entries(spec.files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), text);
    }
    return nixEvalJson(STUB, dir) as Evaluated;
  }

  function plan(file: string): HostSpec[] {
    const io = memoryIo(REPO, { ".sim/inventory.yaml": devInventoryText() }, true);
    const inv = loadInventory({ inventoryFile: file, projectDir: REPO }, io);
    return planHosts(inv, { sshPrivateKey: loginKey(), values: { k3sToken: "t" }, kubeconfig: "kc" }, io);
  }

  it("use only the lib functions and packages the simulated evaluator provides", () => {
    for (const m of STATIC_MODULES) {
      const text = fs.readFileSync(path.join(nixModulesDir(), m), "utf8").replace(/#.*$/gm, "");
      for (const [, fn] of text.matchAll(/\blib\.([A-Za-z0-9_]+)/g)) assert.ok(LIB.includes(fn), `${m} uses lib.${fn}`);
      for (const [, p] of text.matchAll(/\bpkgs\.([A-Za-z0-9_-]+)/g)) assert.ok(PKGS.includes(p), `${m} uses pkgs.${p}`);
      assert.doesNotMatch(text, /\bbuiltins\.|\bwith\s|\brec\s*\{/, `${m} needs no builtins, with or rec`);
    }
  });

  it("configure a statically addressed k3s agent from its host.nix", () => {
    const w1 = plan("examples/prod-inventory.yaml").find((s) => s.name === "w1");
    assert.ok(w1);
    const { base, k3s } = evaluate(w1);
    assert.equal(at(base, "networking.hostName"), "w1");
    assert.equal(at(base, "networking.useDHCP"), false);
    assert.deepEqual(at(base, "networking.interfaces"), { enp4s0: { ipv4: { addresses: [{ address: "172.30.190.11", prefixLength: 24 }] }, ipv6: { addresses: [] } } });
    assert.deepEqual(at(base, "networking.defaultGateway"), { _type: "if", condition: true, content: "172.30.190.1" });
    assert.equal(at(base, "networking.defaultGateway6.condition"), false);
    assert.deepEqual(at(base, "networking.nameservers.content"), ["172.30.190.1", "9.9.9.9"]);
    assert.equal(at(base, "services.openssh.enable"), true);
    assert.equal(at(base, "services.openssh.settings.PasswordAuthentication.content"), false);
    assert.deepEqual(at(base, "users.users.root.openssh.authorizedKeys.keys"), [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGrXvO1q7xy2cuDBoDHE2PTVb1yeqtjfs0wi3jTR4CQV ops@example.com",
      publicKeyOf(loginKey()),
    ]);
    assert.deepEqual(at(base, "imports.0.hardware.cpu.intel"), { updateMicrocode: true });
    assert.equal(at(base, "system.stateVersion"), "24.05");
    assert.deepEqual(at(base, "environment.systemPackages"), ["pkg:curl", "pkg:jq", "pkg:htop"]);
    assert.deepEqual(at(k3s, "services.k3s"), {
      _type: "if",
      condition: true,
      content: {
        enable: true,
        role: "agent",
        serverAddr: "https://172.30.190.3:6443",
        // A string, not a store path: a path literal would have been copied into the store.
        tokenFile: "/var/lib/nixos-fleet/secrets/k3s-token",
        clusterInit: false,
        extraFlags:
          // No --node-label (nor the example's taint): labels and taints go through the API.
          "--disable=traefik --flannel-backend=vxlan --node-name=w1",
      },
    });
    assert.deepEqual(at(k3s, "networking.firewall.allowedTCPPorts.content"), [10250]);
  });

  it("make the server serverAddr points at initialize the cluster", () => {
    const { k3s } = evaluate(plan("examples/prod-inventory.yaml")[0]);
    assert.deepEqual([at(k3s, "services.k3s.content.role"), at(k3s, "services.k3s.content.serverAddr"), at(k3s, "services.k3s.content.clusterInit")], ["server", "", true]);
    assert.deepEqual(at(k3s, "networking.firewall.allowedTCPPorts.content"), [10250, 6443, 2379, 2380]);
  });

  it("fall back to DHCP without a static address", () => {
    const { base, k3s } = evaluate(plan(".sim/inventory.yaml")[1]);
    assert.equal(at(base, "networking.hostName"), "srv2");
    assert.deepEqual(at(base, "networking.interfaces"), {});
    assert.equal(at(base, "networking.useDHCP"), true);
    assert.equal(at(base, "networking.defaultGateway.condition"), false);
    assert.equal(at(base, "networking.nameservers.condition"), false);
    assert.match(String(at(k3s, "services.k3s.content.extraFlags")), /^--node-name=srv2$/);
    assert.deepEqual(at(base, "imports"), [{ boot: { loader: { "systemd-boot": { enable: true }, efi: { canTouchEfiVariables: true } } }, time: { timeZone: "UTC" } }]);
  });

  it("give every system the boot guard's unit, reading the file the rollout arms", () => {
    const { guard } = evaluate(plan(".sim/inventory.yaml")[1]);
    const unit = at(guard, `systemd.services.${BOOT_GUARD_UNIT.replace(/\.service$/, "")}`) as Record<string, unknown>;
    assert.deepEqual(unit.wantedBy, ["multi-user.target"]);
    assert.equal(unit.restartIfChanged, false);
    const script = String(unit.script);
    assert.equal(`${GUARD_DIR}/boot`, BOOT_GUARD_FILE);
    assert.match(script, new RegExp(`^dir=${GUARD_DIR}$`, "m"));
    assert.match(script, /^armed=\$dir\/boot$/m);
    // Nix's '' escapes leave bash's own ${...} in the script.
    assert.match(script, /waiting \$\{seconds\}s/);
    assert.match(script, /"\$previous\/bin\/switch-to-configuration" boot\nsystemctl reboot/);
  });
});
