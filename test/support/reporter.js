// Mocha's spec reporter plus one machine-readable closing line, "N passed, N failed[, N skipped]",
// appended to $FLEET_TEST_TOTALS when set so scripts/test.sh can add the suites up.
"use strict";
const fs = require("node:fs");
const Mocha = require("mocha");

class FleetReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const s = runner.stats;
      const line = `${s.passes} passed, ${s.failures} failed${s.pending ? `, ${s.pending} skipped` : ""}`;
      if (process.env.FLEET_TEST_TOTALS) fs.appendFileSync(process.env.FLEET_TEST_TOTALS, `${s.passes} ${s.failures} ${s.pending}\n`);
      process.stdout.write(`${line}\n`);
    });
  }
}
module.exports = FleetReporter;
