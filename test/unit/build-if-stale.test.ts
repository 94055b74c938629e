/**
 * scripts/build-if-stale.sh: a Pulumi command compiles only when a source changed since the
 * last successful build. Run against a scratch project whose `npm` records each build.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const SCRIPT = path.resolve(__dirname, "../../../scripts/build-if-stale.sh");

describe("scripts/build-if-stale.sh", () => {
  let dir: string;
  let builds: string;
  const run = (npmExit = 0) =>
    execFileSync("bash", [SCRIPT], { cwd: dir, env: { ...process.env, PATH: `${path.join(dir, "fakebin")}:${process.env.PATH}`, NPM_EXIT: String(npmExit) }, stdio: "pipe" });
  const count = () => (fs.existsSync(builds) ? fs.readFileSync(builds, "utf8").split("\n").filter(Boolean).length : 0);
  /** Moves a file's mtime `seconds` into the future, as a save after the build would. */
  const touchLater = (file: string, seconds = 5) => {
    const t = new Date(Date.now() + seconds * 1000);
    fs.utimesSync(path.join(dir, file), t, t);
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "build-if-stale-"));
    builds = path.join(dir, "builds.log");
    for (const d of ["providers", "lib/x", "fakebin"]) fs.mkdirSync(path.join(dir, d), { recursive: true });
    for (const f of ["index.ts", "lib/x/a.ts", "package.json", "tsconfig.json"]) fs.writeFileSync(path.join(dir, f), "x\n");
    fs.writeFileSync(path.join(dir, "fakebin", "npm"), `#!/bin/sh\necho "$*" >> "${builds}"\nexit "$NPM_EXIT"\n`, { mode: 0o755 });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("builds the first time, skips while nothing changed, and builds again after a source changes", () => {
    run();
    assert.equal(count(), 1);
    assert.equal(fs.readFileSync(builds, "utf8"), "run --silent build\n");
    run();
    assert.equal(count(), 1, "nothing changed");
    touchLater("lib/x/a.ts");
    run();
    assert.equal(count(), 2, "a changed source builds");
    touchLater("tsconfig.json", 10);
    run();
    assert.equal(count(), 3, "a changed tsconfig builds");
  });

  it("builds again after a failed build, even when nothing changed since", () => {
    assert.throws(() => run(1));
    assert.equal(count(), 1);
    assert.ok(!fs.existsSync(path.join(dir, "dist/.build-stamp")), "a failed build leaves no stamp");
    run();
    assert.equal(count(), 2);
  });
});
