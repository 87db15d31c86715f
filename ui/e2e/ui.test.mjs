// End-to-end tests of the web UI in headless Chromium against a real pharos server: every page
// loads without console errors; a query draws the expected series and points; a syntax error is
// shown at its position; completion offers metric names; a silence is created from a firing alert
// and expired; the targets, rules and TSDB pages show the server's state; phone width works.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { importText, launch, openPage, screenshot, startPharos } from "./harness.mjs";

const STEP_MS = 15_000;
const SERIES = 3;

let pharos;
let browser;
// The range the data covers: 70 minutes up to now, every 15 s.
const now = Math.floor(Date.now() / STEP_MS) * STEP_MS;

before(async () => {
  const rules = `groups:
  - name: demo
    interval: 1s
    rules:
      - alert: DemoAlert
        expr: vector(1)
        labels: {severity: P3, team: ui}
        annotations: {summary: "The demo alert fires for the UI test"}
      - record: demo:sum
        expr: sum(demo_metric)
`;
  pharos = await startPharos({
    config: `global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [rules.yml]
scrape_configs:
  - job_name: broken
    static_configs: [{targets: ['127.0.0.1:1']}]
`,
    files: { "rules.yml": rules },
    flags: ["--no-host-metrics", "--no-push", "--no-builtin-rules"],
  });
  let text = "# TYPE demo_metric gauge\n";
  for (let i = 0; i < SERIES; i++) {
    for (let t = now - 70 * 60_000; t <= now; t += STEP_MS) {
      text += `demo_metric{instance="host-${i}",region="eu"} ${i * 10 + Math.sin(t / 600_000)} ${t}\n`;
    }
  }
  await importText(pharos.url, text);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await pharos?.stop();
});

describe("explore", () => {
  test("a range query draws every series and point", async () => {
    const { page, errors } = await openPage(browser);
    const end = now;
    await page.goto(`${pharos.url}/graph?expr=demo_metric&range=1h&end=${end}&step=15s`);
    const chart = page.locator(".chart");
    await chart.waitFor();
    assert.equal(await chart.getAttribute("data-series"), String(SERIES));
    // 1 h at 15 s is 241 steps, each with a sample of every series.
    assert.equal(await chart.getAttribute("data-points"), String(SERIES * 241));
    // The legend lists each series with its labels.
    const legend = page.locator(".u-legend .u-series");
    assert.equal(await legend.count(), SERIES + 1);
    assert.match(await legend.nth(1).innerText(), /demo_metric\{instance="host-0", region="eu"\}/);
    // Hovering shows values in the legend.
    const box = await page.locator(".u-over").boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    // The third series is 20 + sin(…): its value under the cursor is between 19 and 21.
    const hovered = Number(await page.locator(".u-legend .u-series").nth(3).locator(".u-value").innerText());
    assert.ok(hovered >= 19 && hovered <= 21, `hovered value ${hovered}`);
    await screenshot(page, "explore-graph");
    assert.deepEqual(errors, []);
  });

  test("dragging across the chart zooms into that range", async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${pharos.url}/graph?expr=demo_metric&range=1h&end=${now}&step=15s`);
    await page.locator(".chart").waitFor();
    const box = await page.locator(".u-over").boundingBox();
    await page.mouse.move(box.x + box.width * 0.25, box.y + 20);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + 20, { steps: 5 });
    await page.mouse.up();
    await page.waitForURL((u) => u.searchParams.get("range") !== null && u.searchParams.get("range") !== "1h");
    const u = new URL(page.url());
    const end = Number(u.searchParams.get("end"));
    assert.ok(end < now && end > now - 3600_000, `zoomed end ${end}`);
    assert.deepEqual(errors, []);
  });

  test("the table view shows the instant result", async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${pharos.url}/graph?expr=${encodeURIComponent("sum by (region) (demo_metric)")}&tab=table&end=${now}`);
    const rows = page.locator("table.result-table tr");
    await rows.first().waitFor();
    assert.equal(await rows.count(), 1);
    assert.match(await rows.first().innerText(), /\{region="eu"\}/);
    assert.deepEqual(errors, []);
  });

  test("a syntax error is shown at its position", async () => {
    const { page, errors } = await openPage(browser, { allowStatus: [400] });
    await page.goto(`${pharos.url}/graph`);
    const editor = page.getByLabel("PromQL expression");
    await editor.fill("sum(rate(demo_metric[5m])");
    await editor.press("Escape");
    await editor.press("Enter");
    const err = page.locator(".error");
    await err.waitFor();
    assert.match(await err.innerText(), /parse error/);
    const caret = page.getByLabel("error position");
    await caret.waitFor();
    // The caret line points into the expression.
    const [line, marks] = (await caret.innerText()).split("\n");
    assert.equal(line, "sum(rate(demo_metric[5m])");
    assert.ok(marks.trimEnd().endsWith("^"), marks);
    assert.deepEqual(errors, []);
  });

  test("completion offers metric names, label names and values", async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${pharos.url}/graph`);
    const editor = page.getByLabel("PromQL expression");
    await editor.pressSequentially("demo_me");
    await page.locator(".completions li", { hasText: "demo_metric" }).first().waitFor();
    await editor.press("Tab");
    assert.equal(await editor.inputValue(), "demo_metric");
    await editor.pressSequentially('{reg');
    await page.locator(".completions li", { hasText: "region" }).first().waitFor();
    await editor.press("Enter");
    await editor.pressSequentially('="');
    await page.locator(".completions li", { hasText: "eu" }).first().waitFor();
    await editor.press("Enter");
    assert.equal(await editor.inputValue(), 'demo_metric{region="eu');
    assert.deepEqual(errors, []);
  });
});

describe("a large chart", () => {
  test("100 series of 1,000 points render and stay responsive", async () => {
    const series = 100;
    const points = 1000;
    const step = 60_000;
    // On the minute, as the explorer aligns the range to its step.
    const end = Math.floor(now / step) * step;
    const start = end - (points - 1) * step;
    let text = "# TYPE big_metric gauge\n";
    for (let i = 0; i < series; i++) {
      for (let k = 0; k < points; k++) {
        const t = start + k * step;
        text += `big_metric{series="s${i}"} ${i + Math.sin(k / 20 + i)} ${t}\n`;
      }
    }
    await importText(pharos.url, text);
    const { page, errors } = await openPage(browser);
    const started = Date.now();
    await page.goto(`${pharos.url}/graph?expr=big_metric&range=${points - 1}m&end=${end}&step=1m`);
    const chart = page.locator(".chart");
    await chart.waitFor();
    const drawn = Date.now() - started;
    assert.equal(await chart.getAttribute("data-series"), String(series));
    assert.equal(await chart.getAttribute("data-points"), String(series * points));
    // Moving the cursor across the plot updates the legend each time.
    const box = await page.locator(".u-over").boundingBox();
    const moves = 20;
    const t0 = Date.now();
    let last = "";
    for (let i = 0; i < moves; i++) {
      await page.mouse.move(box.x + (box.width * (i + 0.5)) / moves, box.y + box.height / 2);
      const v = await page.locator(".u-legend .u-series").nth(1).locator(".u-value").innerText();
      assert.notEqual(v, last);
      last = v;
    }
    const perMove = (Date.now() - t0) / moves;
    console.log(
      `large chart: ${series} series x ${points} points drawn ${drawn} ms after navigation; ` +
        `${perMove.toFixed(1)} ms per cursor move with the legend read back`,
    );
    await screenshot(page, "explore-large");
    assert.deepEqual(errors, []);
  });
});

describe("alerting pages", () => {
  test("a silence created from a firing alert, then expired", async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${pharos.url}/alerts`);
    const alert = page.locator(".alert.state-firing", { hasText: "team=\"ui\"" });
    await alert.waitFor({ timeout: 20_000 });
    assert.match(await page.locator(".alert-group").first().innerText(), /The demo alert fires for the UI test/);
    await screenshot(page, "alerts");
    await alert.getByText("Silence").click();
    await page.waitForURL(/\/silences\/new/);
    const matchers = page.locator('textarea[name="matchers"]');
    const prefilled = await matchers.inputValue();
    assert.match(prefilled, /alertname="DemoAlert"/);
    assert.match(prefilled, /team="ui"/);
    await page.locator("[data-affected]").waitFor();
    assert.equal(await page.locator("[data-affected]").getAttribute("data-affected"), "1");
    await page.locator('input[name="createdBy"]').fill("ui-test");
    await page.locator('textarea[name="comment"]').fill("silenced from the alert");
    await page.getByRole("button", { name: "Create" }).click();
    await page.waitForURL(/\/silences$/);
    const row = page.locator("tr.silence.state-active", { hasText: "DemoAlert" });
    await row.waitFor();
    await screenshot(page, "silences");
    // The alert manager has it: the API lists it as active.
    const listed = await (await fetch(`${pharos.url}/api/v2/silences`)).json();
    assert.equal(listed.filter((s) => s.status.state === "active").length, 1);
    await row.getByRole("button", { name: "Expire" }).click();
    await page.locator("tr.silence.state-expired", { hasText: "DemoAlert" }).waitFor();
    const after = await (await fetch(`${pharos.url}/api/v2/silences`)).json();
    assert.equal(after.filter((s) => s.status.state === "active").length, 0);
    assert.deepEqual(errors, []);
  });

  test("a silence form refuses a malformed matcher", async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${pharos.url}/silences/new`);
    await page.locator('textarea[name="matchers"]').fill("alertname=");
    await page.locator('textarea[name="matchers"]').fill("just words");
    assert.match(await page.locator(".field-error").innerText(), /"just words" is not a matcher/);
    assert.deepEqual(errors, []);
  });

  test("rules show health and last evaluation", async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${pharos.url}/rules`);
    const rule = page.locator("tr.rule", { hasText: "DemoAlert" });
    await rule.waitFor();
    assert.match(await rule.innerText(), /ok/);
    assert.match(await page.locator("tr.rule", { hasText: "demo:sum" }).innerText(), /record/);
    await screenshot(page, "rules");
    assert.deepEqual(errors, []);
  });

  test("targets show health and the scrape error", async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${pharos.url}/targets`);
    const down = page.locator("tr.target.health-down");
    await down.waitFor({ timeout: 20_000 });
    assert.match(await down.innerText(), /127\.0\.0\.1:1/);
    assert.match(await down.locator(".err").innerText(), /refused/);
    await screenshot(page, "targets");
    assert.deepEqual(errors, []);
  });

  test("the TSDB page lists the top metric names by series", async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${pharos.url}/tsdb-status`);
    const table = page.locator('[data-table="Top metric names by series"]');
    await table.waitFor();
    assert.match(await table.innerText(), new RegExp(`demo_metric\\s+${SERIES}`));
    assert.deepEqual(errors, []);
  });
});

describe("layout", () => {
  test("every page loads without console errors, in both themes and at phone width", async () => {
    for (const [width, height, colorScheme] of [
      [1280, 800, "light"],
      [1280, 800, "dark"],
      [390, 844, "light"],
    ]) {
      const { page, errors } = await openPage(browser, { width, height, colorScheme });
      for (const path of [
        "/dashboards",
        "/dashboards/overview",
        "/dashboards/host",
        "/dashboards/pharos",
        "/graph?expr=demo_metric",
        "/alerts",
        "/silences",
        "/silences/new",
        "/rules",
        "/targets",
        "/tsdb-status",
      ]) {
        await page.goto(`${pharos.url}${path}`);
        await page.locator("main h1").waitFor();
        await page.waitForLoadState("networkidle");
        // Nothing wider than the window: the page does not scroll sideways.
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 1, `${path} at ${width}px overflows by ${overflow}px`);
      }
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      if (colorScheme === "dark") assert.equal(bg, "rgb(17, 19, 24)");
      else assert.equal(bg, "rgb(246, 247, 249)");
      if (width < 600) await screenshot(page, "phone-tsdb");
      assert.deepEqual(errors, [], `${width}x${height} ${colorScheme}`);
    }
  });

  test("an unknown page says so, and the API still answers 404 for unknown paths", async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${pharos.url}/graph/nothing-here`);
    await page.getByRole("heading", { name: "Not found" }).waitFor();
    const r = await fetch(`${pharos.url}/no-such-thing`);
    assert.equal(r.status, 404);
    const asset = await fetch(`${pharos.url}/assets/app.js`);
    assert.equal(asset.status, 200);
    const etag = asset.headers.get("etag");
    const again = await fetch(`${pharos.url}/assets/app.js`, { headers: { "If-None-Match": etag } });
    assert.equal(again.status, 304);
    assert.deepEqual(errors, []);
  });
});
