/**
 * Profiles and the boot loader of the simulated host tools, on temporary folders.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { installLoader, parseEntry, formatEntry, readBootDefault } from "../../sim/hosttools/loader";
import {
  currentGeneration,
  deleteGenerations,
  formatGenerations,
  listGenerations,
  ProfileError,
  setProfile,
  switchGeneration,
  type Generation,
} from "../../sim/hosttools/profile";

describe("sim host tools: profiles", () => {
  let dir: string;
  let profile: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "profile-"));
    profile = path.join(dir, "system");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("adds a generation only when the target differs from the newest one", () => {
    assert.deepEqual(setProfile(profile, "/nix/store/a"), { generation: 1, created: true });
    assert.deepEqual(setProfile(profile, "/nix/store/a"), { generation: 1, created: false });
    assert.deepEqual(setProfile(profile, "/nix/store/b"), { generation: 2, created: true });
    assert.equal(fs.readlinkSync(profile), "system-2-link");
    assert.equal(fs.readlinkSync(path.join(dir, "system-2-link")), "/nix/store/b");
    assert.deepEqual(listGenerations(profile).map((g) => [g.number, g.target]), [[1, "/nix/store/a"], [2, "/nix/store/b"]]);
  });

  it("rolls back and switches with nix-env's messages and errors", () => {
    setProfile(profile, "/nix/store/a");
    assert.throws(() => switchGeneration(profile, "previous"), new ProfileError("no profile version older than the current (1) exists"));
    setProfile(profile, "/nix/store/b");
    assert.equal(switchGeneration(profile, "previous").message, "switching profile from version 2 to 1");
    assert.equal(currentGeneration(profile), 1);
    assert.throws(() => switchGeneration(profile, 7), new ProfileError("profile version 7 does not exist"));
    assert.equal(switchGeneration(profile, 2).message, "switching profile from version 1 to 2");
    // After a rollback, setting the newest generation's target reuses it (nix-env compares with the newest).
    switchGeneration(profile, 1);
    assert.deepEqual(setProfile(profile, "/nix/store/b"), { generation: 2, created: false });
  });

  it("deletes generations but never the current one", () => {
    for (const t of ["a", "b", "c"]) setProfile(profile, `/nix/store/${t}`);
    assert.throws(() => deleteGenerations(profile, ["3"]), /cannot delete current version of profile/);
    assert.deepEqual(deleteGenerations(profile, ["old"]), [1, 2]);
    assert.deepEqual(listGenerations(profile).map((g) => g.number), [3]);
  });

  it("lists generations in nix-env's format", () => {
    const saved = process.env.TZ;
    process.env.TZ = "UTC";
    try {
      const gens: Generation[] = [
        { number: 1, link: "", target: "", createdMs: Date.UTC(2024, 7, 15, 10, 0, 0) },
        { number: 12, link: "", target: "", createdMs: Date.UTC(2024, 7, 16, 9, 5, 7) },
      ];
      assert.equal(formatGenerations(gens, 12), "   1   2024-08-15 10:00:00   \n  12   2024-08-16 09:05:07   (current)\n");
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});

describe("sim host tools: boot loader", () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A system with only a bootspec, under <dir>/root/nix/store. */
  function fakeSystem(name: string, params: string[]): string {
    const sys = path.join(dir, "root", "nix", "store", name);
    fs.mkdirSync(sys, { recursive: true });
    const spec = { init: `/nix/store/${name}/init`, initrd: "/nix/store/i/initrd", kernel: "/nix/store/k/bzImage", kernelParams: params, label: "NixOS Uakari 24.05 (Linux 6.6.45)", system: "x86_64-linux", toplevel: `/nix/store/${name}` };
    fs.writeFileSync(path.join(sys, "boot.json"), JSON.stringify({ "org.nixos.bootspec.v1": spec, "org.nixos.specialisation.v1": {} }));
    return `/nix/store/${name}`;
  }

  it("round-trips an entry", () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "loader-"));
    const entry = { generation: 3, system: "/nix/store/x-nixos-system-a", kernel: "/nix/store/k/bzImage", initrd: "/nix/store/i/initrd", params: ["console=ttyS0", "loglevel=4"] };
    const text = formatEntry(entry, "NixOS Uakari 24.05 (Linux 6.6.45)", Date.UTC(2024, 7, 15));
    assert.match(text, /^title NixOS\nversion Generation 3 NixOS Uakari 24\.05 \(Linux 6\.6\.45\), built on 2024-08-15\nlinux /);
    assert.match(text, /\noptions init=\/nix\/store\/x-nixos-system-a\/init console=ttyS0 loglevel=4\n$/);
    assert.deepEqual(parseEntry(text, 3), entry);
  });

  it("writes an entry per generation, removes stale ones, and sets the default", () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "loader-"));
    const boot = path.join(dir, "boot");
    const a = fakeSystem("aaaa-nixos-system-a", ["loglevel=4"]);
    const b = fakeSystem("bbbb-nixos-system-b", ["quiet", "loglevel=4"]);
    const gen = (number: number, target: string): Generation => ({ number, link: "", target, createdMs: Date.UTC(2024, 7, 15) });
    installLoader(boot, [gen(1, a), gen(2, b), gen(3, a)], 2, path.join(dir, "root"));
    assert.equal(fs.readFileSync(path.join(boot, "loader", "loader.conf"), "utf8"), "timeout 5\ndefault nixos-generation-2.conf\nconsole-mode keep\n");
    assert.deepEqual(readBootDefault(boot), {
      generation: 2,
      system: b,
      kernel: "/nix/store/k/bzImage",
      initrd: "/nix/store/i/initrd",
      params: ["quiet", "loglevel=4"],
      entryFile: path.join(boot, "loader", "entries", "nixos-generation-2.conf"),
    });
    installLoader(boot, [gen(3, a)], 3, path.join(dir, "root"));
    assert.deepEqual(fs.readdirSync(path.join(boot, "loader", "entries")), ["nixos-generation-3.conf"]);
    assert.equal(readBootDefault(boot)?.system, a);
    assert.equal(readBootDefault(path.join(dir, "nowhere")), undefined);
  });
});
