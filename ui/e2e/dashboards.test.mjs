// The dashboards in headless Chromium against a real pharos server that collects this machine's
// metrics every second (labelled region="eu"): the built-in Host dashboard shows data in every
// panel, the overview drills down to the region and then to the host, a dashboard provisioned from
// a folder is listed, and one edited as JSON is saved, kept across a restart of the page, and
// reverted.

import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { launch, openPage, screenshot, startPharos } from "./harness.mjs";

let pharos;
let browser;
let instance;

before(async () => {
  pharos = await startPharos({
    config: `global: {scrape_interval: 1s}
host_metrics:
  scrape_interval: 1s
  labels: {region: eu}
self_metrics: {scrape_interval: 1s}
dashboards: {dir: boards}
`,
    flags: ["--no-push"],
  });
  mkdirSync(join(pharos.dir, "boards"), { recursive: true });
  writeFileSync(
    join(pharos.dir, "boards", "team.json"),
    JSON.stringify({
      uid: "team",
      title: "Team board",
      panels: [{ type: "stat", title: "Up targets", targets: [{ expr: "count(up == 1)" }] }],
    }),
  );
  // Rates at the last steps of a range need a few samples there: about 12 s of them.
  for (let i = 0; i < 160; i++) {
    const r = await fetch(`${pharos.url}/api/v1/query?query=${encodeURIComponent("count_over_time(node_load1[1m])")}`);
    const v = await r.json();
    const n = Number(v.data.result[0]?.value?.[1] ?? 0);
    if (n >= 12) {
      instance = v.data.result[0].metric.instance;
      break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok(instance, "the host collector did not produce samples");
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await pharos?.stop();
});

/** Waits until no panel says Loading…, then returns each panel's title and text. */
async function panels(page) {
  await page.locator(".panel").first().waitFor();
  await page.waitForFunction(() => ![...document.querySelectorAll(".panel-note")].some((n) => n.textContent === "Loading…"));
  return page.locator(".panel").evaluateAll((els) =>
    els.map((e) => ({
      title: e.getAttribute("data-panel"),
      text: e.innerText,
      points: Number(e.querySelector(".chart")?.getAttribute("data-points") ?? "-1"),
      rows: e.querySelectorAll("tbody tr, .bar-row").length,
      error: !!e.querySelector(".error-text"),
      noData: [...e.querySelectorAll(".panel-note")].some((n) => n.textContent === "No data"),
    })),
  );
}

describe("dashboards", () => {
  test("the host dashboard shows data in every panel", async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${pharos.url}/dashboards/host?range=15m`);
    const select = page.locator('select[data-variable="instance"]');
    await select.waitFor();
    assert.equal(await select.inputValue(), instance);
    const list = await panels(page);
    assert.ok(list.length >= 12, `${list.length} panels`);
    for (const p of list) {
      assert.ok(!p.error, `${p.title}: ${p.text}`);
      assert.ok(!p.noData, `${p.title} has no data`);
      if (p.points >= 0) assert.ok(p.points > 0, `${p.title}: no points`);
    }
    const byTitle = Object.fromEntries(list.map((p) => [p.title, p]));
    assert.match(byTitle["Up"].text, /^Up\s+1$/);
    assert.ok(byTitle["CPU by mode"].points > 0);
    assert.ok(byTitle["Disk space used"].rows > 0);
    assert.ok(byTitle["Filesystems"].rows > 0);
    await screenshot(page, "dashboard-host");
    assert.deepEqual(errors, []);
  });

  test("the overview drills down to the region, then to the host", async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${pharos.url}/`);
    await page.waitForURL(/\/dashboards\/overview/);
    // A server that started seconds ago already charts this machine.
    const overview = Object.fromEntries((await panels(page)).map((p) => [p.title, p]));
    for (const t of ["CPU busy by host", "Memory used by host", "Samples per scrape, by job"]) {
      assert.ok(overview[t].points > 0, `${t}: ${overview[t].text}`);
    }
    await screenshot(page, "dashboard-overview");
    const table = page.locator('.panel[data-panel="Health by region and job"]');
    await table.getByRole("link", { name: "eu" }).first().click();
    await page.waitForURL(/\/dashboards\/region\?/);
    assert.equal(new URL(page.url()).searchParams.get("var-region"), "eu");
    const hosts = page.locator('.panel[data-panel="Hosts"]');
    await hosts.getByRole("link", { name: instance }).click();
    await page.waitForURL(/\/dashboards\/host\?/);
    assert.equal(new URL(page.url()).searchParams.get("var-instance"), instance);
    await panels(page);
    assert.deepEqual(errors, []);
  });

  test("the Pharos dashboard charts its own metrics", async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${pharos.url}/dashboards/pharos?range=5m`);
    const list = await panels(page);
    const byTitle = Object.fromEntries(list.map((p) => [p.title, p]));
    assert.ok(byTitle["Samples ingested"].text.match(/\d/), byTitle["Samples ingested"].text);
    assert.ok(byTitle["HTTP requests by handler"].points > 0);
    assert.ok(list.every((p) => !p.error), JSON.stringify(list.filter((p) => p.error)));
    await screenshot(page, "dashboard-pharos");
    assert.deepEqual(errors, []);
  });

  test("the list has the built-in and the provisioned dashboards", async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${pharos.url}/dashboards`);
    await page.locator(".dash-card").first().waitFor();
    const titles = await page.locator(".dash-card h2").allInnerTexts();
    for (const t of ["Global overview", "Region", "Host", "Pharos", "Team board"]) assert.ok(titles.includes(t), `${t} in ${titles}`);
    await page.locator(".dash-card", { hasText: "Team board" }).click();
    await page.waitForURL(/\/dashboards\/team$/);
    const list = await panels(page);
    assert.match(list[0].text, /Up targets\s+\d+/);
    assert.deepEqual(errors, []);
  });

  test("a dashboard edited as JSON is saved, refused when invalid, and reverted", async () => {
    const { page, errors } = await openPage(browser, { allowStatus: [400] });
    await page.goto(`${pharos.url}/dashboards/host`);
    await page.getByRole("button", { name: "Edit" }).click();
    const editor = page.getByLabel("Dashboard JSON");
    const original = JSON.parse(await editor.inputValue());
    // An unknown panel type is refused, naming the field.
    const bad = { ...original, panels: [{ type: "pie", targets: [{ expr: "up" }] }] };
    await editor.fill(JSON.stringify(bad));
    await page.getByRole("button", { name: "Save" }).click();
    await page.locator(".json-editor .error", { hasText: 'panels[0].type: unknown panel type "pie"' }).waitFor();
    // A valid edit is saved and shown.
    await editor.fill(JSON.stringify({ ...original, title: "My host" }));
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("heading", { name: "My host" }).waitFor();
    await page.reload();
    await page.getByRole("heading", { name: "My host" }).waitFor();
    assert.equal(await page.locator(".dash-head .badge").innerText(), "saved");
    const api = await (await fetch(`${pharos.url}/api/pharos/v1/dashboards/host`)).json();
    assert.equal(api.data.dashboard.title, "My host");
    // Revert to the built-in one.
    await page.getByRole("button", { name: "Edit" }).click();
    await page.getByRole("button", { name: /Revert/ }).click();
    await page.getByRole("heading", { name: "Host", exact: true }).waitFor();
    assert.equal(await page.locator(".dash-head .badge").innerText(), "builtin");
    assert.deepEqual(errors, []);
  });

  test("no request waterfall: after the page and its two files, only the panels' queries", async () => {
    const { page, errors } = await openPage(browser);
    const requests = [];
    page.on("request", (r) => requests.push(new URL(r.url()).pathname));
    const started = Date.now();
    // No variable in the URL: the server answers the variable's lookup inside the page.
    await page.goto(`${pharos.url}/dashboards/host?range=15m`);
    await page.locator('.panel[data-panel="CPU by mode"] .chart').waitFor();
    await page.waitForLoadState("networkidle");
    const ms = Date.now() - started;
    console.log(`host dashboard: first chart drawn ${ms} ms after navigation starts; requests: ${requests.length}`);
    assert.deepEqual(requests.slice(0, 3).sort(), ["/assets/app.css", "/assets/app.js", "/dashboards/host"]);
    const rest = requests.slice(3);
    assert.ok(rest.length > 0);
    assert.deepEqual(rest.filter((p) => !/^\/api\/v1\/query(_range)?$/.test(p)), []);
    assert.equal(await page.locator('select[data-variable="instance"]').inputValue(), instance);
    assert.deepEqual(errors, []);
  });
});
