// Starts a real `pharos server` and a headless Debian Chromium driven by playwright-core, for the
// UI's end-to-end tests. PHAROS_BIN names the binary (default: target/debug/pharos from the
// repository root); CHROMIUM_BIN the browser (default /usr/bin/chromium).

import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, "../..");
export const artifacts = join(here, "artifacts");

export function pharosBin() {
  return process.env.PHAROS_BIN ?? join(root, "target/debug/pharos");
}

/**
 * Starts pharos with `config` (YAML text), `files` written beside it (name → text) and extra
 * flags; resolves once it listens.
 */
export async function startPharos({ config = "", files = {}, flags = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "pharos-ui-"));
  const cfg = join(dir, "pharos.yml");
  writeFileSync(cfg, config);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const log = [];
  const child = spawn(
    pharosBin(),
    ["server", "--listen", "127.0.0.1:0", "--data-dir", join(dir, "data"), "--config", cfg, ...flags],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`pharos did not start:\n${log.join("")}`)), 60_000);
    child.stderr.on("data", (b) => {
      const text = b.toString();
      log.push(text);
      const m = /listening address=(\S+)/.exec(log.join(""));
      if (m) {
        clearTimeout(timer);
        ok(`http://${m[1]}`);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`pharos exited with ${code}:\n${log.join("")}`));
    });
  });
  return {
    url,
    dir,
    log: () => log.join(""),
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => {
        if (child.exitCode !== null) r();
        else child.on("exit", r);
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Posts text exposition (with timestamps in ms) to the import endpoint. */
export async function importText(url, text) {
  const r = await fetch(`${url}/api/v1/import/prometheus`, { method: "POST", body: text });
  if (!r.ok) throw new Error(`import failed: ${r.status} ${await r.text()}`);
}

export async function launch() {
  const executablePath = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * A page that records console errors and uncaught exceptions: `errors` must stay empty.
 * `colorScheme` picks the theme the system reports; `allowStatus` lists HTTP error statuses the
 * test provokes on purpose.
 */
export async function openPage(browser, { width = 1280, height = 800, colorScheme = "light", allowStatus = [] } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    // Chromium logs every 4xx/5xx answer; a test expecting one (a bad query) allows its status.
    const status = /^Failed to load resource: the server responded with a status of (\d+)/.exec(m.text());
    if (status && allowStatus.includes(Number(status[1]))) return;
    errors.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => {
    // Aborted fetches (a query replaced by a newer one) are not failures.
    if (r.failure()?.errorText !== "net::ERR_ABORTED") errors.push(`request failed: ${r.url()}`);
  });
  return { page, errors, context };
}

export async function screenshot(page, name) {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: false });
}

export function readJson(path) {
  return JSON.parse(readFileSync(path, "utf8"));
}
