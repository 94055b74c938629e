/**
 * The module system of sim/nix/ under the real nix-instantiate: NixOS's merge rules,
 * priorities and orders, properties pushed down so `mkIf config...` does not recurse,
 * declared options and submodules, and NixOS's wording for the errors it reports.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { evaluateConfiguration, type EvalResult, type JsonObject } from "../../sim/hosttools/evaluate";
import { requireTools } from "./hosttools-harness";

const HARDWARE = `{ lib, modulesPath, ... }: {
  imports = [ (modulesPath + "/profiles/qemu-guest.nix") ];
  boot.loader.systemd-boot.enable = true;
  fileSystems."/" = { device = "/dev/vda1"; fsType = "ext4"; };
}`;

describe("sim/nix module system under the real nix-instantiate", function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    requireTools();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sim-nix-"));
    fs.writeFileSync(path.join(dir, "hardware.nix"), HARDWARE);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function evaluate(files: Record<string, string>): Promise<{ ok: true; result: EvalResult } | { ok: false; stderr: string }> {
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    const outcome = await evaluateConfiguration({ configFile: path.join(dir, "configuration.nix") });
    return outcome.ok ? { ok: true, result: outcome.result } : { ok: false, stderr: outcome.stderr };
  }
  async function config(text: string, extra: Record<string, string> = {}): Promise<EvalResult> {
    const r = await evaluate({ "configuration.nix": text, ...extra });
    if (!r.ok) throw new Error(r.stderr);
    return r.result;
  }
  async function failure(text: string, extra: Record<string, string> = {}): Promise<string> {
    const r = await evaluate({ "configuration.nix": text, ...extra });
    assert.equal(r.ok, false, "the evaluation should have failed");
    return r.ok ? "" : r.stderr;
  }
  const at = (c: JsonObject, dotted: string) => dotted.split(".").reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], c);

  it("merges lists in mkBefore/mkAfter order, lines with newlines, and lets mkForce and mkDefault decide", async () => {
    const r = await config(
      `{ lib, ... }: {
        imports = [ ./hardware.nix ./other.nix ];
        boot.kernelParams = lib.mkAfter [ "last" ];
        networking.extraHosts = "10.0.0.1 a";
        networking.hostName = lib.mkForce "forced";
        time.timeZone = lib.mkDefault "UTC";
      }`,
      { "other.nix": `{ lib, ... }: { boot.kernelParams = lib.mkBefore [ "first" ]; networking.extraHosts = lib.mkBefore "10.0.0.0 z"; networking.hostName = "ignored"; time.timeZone = "Europe/Berlin"; }` },
    );
    assert.deepEqual(r.kernelParams, ["first", "loglevel=4", "last"]);
    assert.equal(at(r.config, "networking.extraHosts"), "10.0.0.0 z\n10.0.0.1 a");
    assert.equal(r.hostName, "forced");
    assert.equal(at(r.config, "time.timeZone"), "Europe/Berlin");
  });

  it("evaluates `config = mkIf cfg.enable {...}` modules with their own options and submodules", async () => {
    const r = await config(`{ config, lib, pkgs, ... }:
      let cfg = config.services.myapp; in {
        imports = [ ./hardware.nix ];
        options.services.myapp = {
          enable = lib.mkEnableOption "my app";
          port = lib.mkOption { type = lib.types.port; default = 8080; };
          peers = lib.mkOption {
            default = { };
            type = lib.types.attrsOf (lib.types.submodule ({ name, ... }: { options.address = lib.mkOption { type = lib.types.str; default = "\${name}.lan"; }; }));
          };
        };
        config = lib.mkMerge [
          { services.myapp.enable = true; services.myapp.peers.b.address = "10.0.0.2"; }
          (lib.mkIf cfg.enable {
            networking.firewall.allowedTCPPorts = [ cfg.port ];
            services.myapp.peers.a = { };
            environment.systemPackages = [ pkgs.jq ];
            systemd.services.myapp.serviceConfig.ExecStart = "\${pkgs.coreutils}/bin/true";
            systemd.services.myapp.serviceConfig.ExecStartPre = pkgs.writeShellScript "myapp-pre" "mkdir -p /var/lib/myapp";
          })
          (lib.mkIf (!cfg.enable) { services.myapp.port = 1; })
        ];
      }`);
    assert.deepEqual(at(r.config, "services.myapp"), { enable: true, port: 8080, peers: { a: { address: "a.lan" }, b: { address: "10.0.0.2" } } });
    assert.deepEqual(at(r.config, "networking.firewall.allowedTCPPorts"), [8080]);
    assert.ok(r.systemPackages.includes("jq-1.7.1"));
    assert.match(String(at(r.config, "systemd.services.myapp.serviceConfig.ExecStart")), /^\/nix\/store\/[0-9a-df-np-sv-z]{32}-coreutils-9\.5\/bin\/true$/);
    assert.match(String(at(r.config, "systemd.services.myapp.serviceConfig.ExecStartPre")), /^\/nix\/store\/[0-9a-df-np-sv-z]{32}-myapp-pre$/);
  });

  it("reports conflicts, type errors, unknown options and failed assertions in NixOS's words", async () => {
    const conflict = await failure(`{ ... }: { imports = [ ./hardware.nix ./b.nix ]; services.foo.bar = "x"; }`, { "b.nix": `{ ... }: { services.foo.bar = "y"; }` });
    assert.match(conflict, /The option `services\.foo\.bar' has conflicting definition values:\n\s+- In `\S+\/configuration\.nix': "x"\n\s+- In `\S+\/b\.nix': "y"\n\s+Use `lib\.mkForce value` or `lib\.mkDefault value`/);
    const type = await failure(`{ ... }: { imports = [ ./hardware.nix ]; networking.hostName = 5; }`);
    assert.match(type, /A definition for option `networking\.hostName' is not of type `string matching the pattern [^']+'\. Definition values:\n\s+- In `\S+\/configuration\.nix': 5/);
    const unknown = await failure(`{ ... }: { imports = [ ./hardware.nix ]; servics.openssh.enable = true; }`);
    assert.match(unknown, /The option `servics' does not exist\. Definition values:/);
    const asserted = await failure(`{ ... }: { boot.loader.grub.enable = true; }`);
    assert.match(asserted, /Failed assertions:\n\s+- The ‘fileSystems’ option does not specify your root file system\.\n\s+- You must set the option ‘boot\.loader\.grub\.devices’/);
    const mixed = await failure(`{ ... }: { imports = [ ./hardware.nix ]; config.boot.kernelModules = [ ]; networking.hostName = "x"; }`);
    assert.match(mixed, /Module `\S+\/configuration\.nix' has an unsupported attribute `networking'/);
    const strict = await failure(`{ config, pkgs }: { }`);
    assert.match(strict, /called with unexpected argument/);
  });

  it("fails with Nix's own errors for unknown packages and self-referencing options", async () => {
    assert.match(await failure(`{ pkgs, ... }: { imports = [ ./hardware.nix ]; environment.systemPackages = [ pkgs.htopp ]; }`), /error: attribute 'htopp' missing/);
    assert.match(await failure(`{ config, ... }: { imports = [ ./hardware.nix ]; networking.hostName = config.networking.hostName; }`), /infinite recursion encountered/);
  });

  it('imports "${modulesPath}/…" as NixOS does, and the modules installers and cloud images write', async () => {
    const lxd = await config(`{ modulesPath, ... }: {
      imports = [
        "\${modulesPath}/virtualisation/lxd-virtual-machine.nix"
        "\${modulesPath}/installer/scan/not-detected.nix"
      ];
    }`);
    assert.deepEqual(lxd.kernelParams, ["loglevel=4", "console=tty1", "console=ttyS0"]);
    assert.equal(at(lxd.config, "fileSystems./.device"), "/dev/disk/by-label/nixos");
    assert.equal(at(lxd.config, "fileSystems./boot.device"), "/dev/disk/by-label/ESP");
    assert.equal(at(lxd.config, "boot.loader.systemd-boot.enable"), true);
    assert.equal(at(lxd.config, "boot.loader.grub.enable"), false);
    assert.equal(at(lxd.config, "virtualisation.lxd.agent.enable"), true);
    assert.equal(at(lxd.config, "services.openssh.enable"), true);
    // The minimal profile's mkDefault false, overridden by the LXC instance's documentation.
    assert.equal(at(lxd.config, "documentation.enable"), true);
    assert.equal(at(lxd.config, "documentation.man.enable"), false);
    assert.equal(at(lxd.config, "hardware.enableRedistributableFirmware"), true);
    assert.ok(Array.isArray(at(lxd.config, "boot.initrd.availableKernelModules")), "qemu-guest.nix was imported");

    const ec2 = await config(`{ modulesPath, ... }: {
      imports = [ "\${modulesPath}/virtualisation/amazon-image.nix" ];
      networking.hostName = "web1";
    }`);
    assert.deepEqual(ec2.kernelParams, ["loglevel=4", "console=ttyS0,115200n8", "random.trust_cpu=on", "panic=1", "boot.panic_on_fail"]);
    assert.match(ec2.extraModulePackages[0], /-ena-[\d.]+-6\.6\.45$/);
    assert.deepEqual(at(ec2.config, "boot.loader.grub.devices"), ["/dev/xvda"]);
    assert.equal(at(ec2.config, "services.openssh.enable"), true);
    assert.equal(ec2.hostName, "web1");
    const efi = await config(`{ modulesPath, ... }: {
      imports = [ (modulesPath + "/virtualisation/amazon-image.nix") ];
      disabledModules = [ "\${modulesPath}/profiles/headless.nix" ];
      ec2.efi = true;
    }`);
    assert.deepEqual(efi.kernelParams, ["loglevel=4", "console=ttyS0,115200n8", "random.trust_cpu=on"], "the headless profile was disabled by its interpolated path");
    assert.deepEqual(at(efi.config, "boot.loader.grub.devices"), ["nodev"]);
    assert.equal(at(efi.config, "fileSystems./boot.fsType"), "vfat");
    assert.equal(efi.hostName, "", "the instance takes its host name from EC2");

    const missing = await failure(`{ modulesPath, ... }: { imports = [ ./hardware.nix "\${modulesPath}/profiles/qemu-guests.nix" ]; }`);
    assert.match(missing, /getting status of '\/\S+\/profiles\/qemu-guests\.nix': No such file or directory/);
  });

  it("gives kernels and module packages from the channel", async () => {
    const r = await config(`{ config, pkgs, ... }: {
      imports = [ ./hardware.nix ];
      boot.kernelPackages = pkgs.linuxPackages_6_1;
      boot.extraModulePackages = [ config.boot.kernelPackages.zfs ];
      boot.kernelPatches = [ { name = "fix"; patch = null; } ];
    }`);
    assert.equal(r.kernel.version, "6.1.104");
    assert.match(r.kernel.package, /-linux-6\.1\.104$/);
    assert.match(r.extraModulePackages[0], /-zfs-2\.2\.5-6\.1\.104$/);
    assert.deepEqual(r.kernel.patches, [{ name: "fix", patch: null }]);
    assert.deepEqual(at(r.config, "boot.initrd.availableKernelModules"), ["virtio_net", "virtio_pci", "virtio_mmio", "virtio_blk", "virtio_scsi", "9p", "9pnet_virtio"]);
  });
});
