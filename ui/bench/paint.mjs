// Measures the first meaningful paint of the Host dashboard over 24 hours of 15-second data for one
// host: a pharos server is given that day of node_exporter-named series, then headless Chromium
// opens /dashboards/host?range=24h several times, each in a new browser context (nothing cached),
// and the time from navigation to every panel drawn is reported. Prints a Markdown section.
//
//   node ui/bench/paint.mjs [--runs 5] [--bin target/release/pharos] [--screenshot file.png]
//
// Not a test: it measures and records (BENCHMARKS.md), it asserts only that the panels drew.

import { execFileSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { launch, openPage, startPharos } from "../e2e/harness.mjs";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const runs = Number(arg("runs", "5"));
if (arg("bin")) process.env.PHAROS_BIN = arg("bin");

const STEP = 15_000;
const DAY = 86_400_000;
const end = Math.floor(Date.now() / STEP) * STEP;
const start = end - DAY;
const instance = "db-1:9100";
const base = `instance="${instance}",job="node"`;

/** One day of one host's series, as text exposition with timestamps. */
function* day() {
  const n = DAY / STEP + 1;
  const cpu = [0, 1, 2, 3];
  const modes = { idle: 0.7, user: 0.2, system: 0.07, iowait: 0.02, softirq: 0.01 };
  yield "# TYPE node_cpu_seconds_total counter\n";
  for (const c of cpu) {
    for (const [mode, share] of Object.entries(modes)) {
      let v = 1e6 * share;
      let out = "";
      for (let i = 0; i < n; i++) {
        v += 15 * share * (1 + 0.3 * Math.sin(i / 200 + c));
        out += `node_cpu_seconds_total{${base},cpu="${c}",mode="${mode}"} ${v.toFixed(2)} ${start + i * STEP}\n`;
      }
      yield out;
    }
  }
  const gauges = {
    node_memory_MemTotal_bytes: () => 32e9,
    node_memory_MemAvailable_bytes: (i) => 18e9 + 4e9 * Math.sin(i / 300),
    node_memory_Cached_bytes: (i) => 6e9 + 1e9 * Math.sin(i / 500),
    node_memory_Buffers_bytes: () => 3e8,
    node_load1: (i) => 1.5 + Math.sin(i / 50),
    node_load5: (i) => 1.4 + Math.sin(i / 90),
    node_load15: (i) => 1.3 + Math.sin(i / 150),
    node_boot_time_seconds: () => (start - 3 * DAY) / 1000,
    up: () => 1,
  };
  for (const [name, f] of Object.entries(gauges)) {
    let out = `# TYPE ${name} gauge\n`;
    for (let i = 0; i < n; i++) out += `${name}{${base}} ${f(i)} ${start + i * STEP}\n`;
    yield out;
  }
  let out = "# TYPE node_uname_info gauge\n";
  for (let i = 0; i < n; i++) out += `node_uname_info{${base},nodename="db-1"} 1 ${start + i * STEP}\n`;
  yield out;
  for (const [mount, size] of [["/", 100e9], ["/data", 2e12]]) {
    let o = "";
    for (let i = 0; i < n; i++) {
      const t = start + i * STEP;
      const l = `${base},device="/dev/vd${mount.length}",fstype="ext4",mountpoint="${mount}"`;
      o += `node_filesystem_size_bytes{${l}} ${size} ${t}\nnode_filesystem_avail_bytes{${l}} ${size * (0.5 - i / n / 4)} ${t}\n`;
    }
    yield o;
  }
  for (const [name, dev, rate] of [
    ["node_disk_read_bytes_total", "vda", 2e6],
    ["node_disk_written_bytes_total", "vda", 5e6],
    ["node_network_receive_bytes_total", "eth0", 1e7],
    ["node_network_transmit_bytes_total", "eth0", 4e6],
  ]) {
    let v = 1e9;
    let o = "";
    for (let i = 0; i < n; i++) {
      v += 15 * rate * (1 + 0.5 * Math.sin(i / 120));
      o += `${name}{${base},device="${dev}"} ${Math.round(v)} ${start + i * STEP}\n`;
    }
    yield o;
  }
}

const pharos = await startPharos({ flags: ["--no-host-metrics", "--no-push", "--no-self-metrics", "--no-builtin-rules"] });
let samples = 0;
const loadStarted = Date.now();
for (const chunk of day()) {
  samples += chunk.split("\n").filter((l) => l && !l.startsWith("#")).length;
  const r = await fetch(`${pharos.url}/api/v1/import/prometheus`, { method: "POST", body: chunk });
  if (!r.ok) throw new Error(`import: ${r.status} ${await r.text()}`);
}
console.error(`paint: loaded ${samples} samples (24 h at 15 s for one host) in ${Date.now() - loadStarted} ms`);

const browser = await launch();
const times = [];
try {
  for (let k = 0; k < runs; k++) {
    const { page, errors, context } = await openPage(browser);
    const t0 = Date.now();
    await page.goto(`${pharos.url}/dashboards/host?range=24h&refresh=off`);
    // Meaningful: every panel has drawn its data (no panel still loading).
    await page.waitForFunction(
      () => {
        const panels = [...document.querySelectorAll(".panel")];
        return (
          panels.length > 0 &&
          panels.every((p) => p.querySelector(".chart, .stat-value, svg.gauge, .bar-row, tbody tr") || p.querySelector(".error-text"))
        );
      },
      null,
      { timeout: 30_000, polling: "raf" },
    );
    const ms = Date.now() - t0;
    const failed = await page.locator(".panel .error-text").count();
    if (failed || errors.length) throw new Error(`panels failed: ${failed}, console: ${errors.join("; ")}`);
    const requests = await page.evaluate(() => performance.getEntriesByType("resource").length);
    times.push(ms);
    console.error(`paint: run ${k + 1}/${runs}: every panel drawn ${ms} ms after navigation (${requests} requests)`);
    if (k === runs - 1 && arg("screenshot")) {
      await page.screenshot({ path: arg("screenshot"), fullPage: true });
    }
    await context.close();
  }
} finally {
  await browser.close();
  await pharos.stop();
}
const sorted = [...times].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)];
let chromium = "";
try {
  chromium = execFileSync(process.env.CHROMIUM_BIN ?? "/usr/bin/chromium", ["--version"]).toString().trim();
} catch {
  chromium = "chromium (version unknown)";
}
console.log(`## Host dashboard: first meaningful paint over 24 h of data

Command: \`node ui/bench/paint.mjs --runs ${runs}${arg("bin") ? ` --bin ${arg("bin")}` : ""}\`

- Date: ${new Date().toISOString().replace("T", " ").slice(0, 19)} UTC
- Machine: ${cpus().length} CPUs, ${cpus()[0]?.model ?? "?"}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory
- Browser: ${chromium}, headless, 1280×800, a new context per run (nothing cached)

One host's node_exporter series for 24 hours at 15 s (${samples} samples: 4 CPUs × 5 modes, memory, load,
two filesystems, disk and network counters) are imported, then \`/dashboards/host?range=24h\` is opened
${runs} times. Time from navigation to every one of the dashboard's panels drawn with data:

| median | minimum | maximum | runs |
|---|---|---|---|
| ${median} ms | ${sorted[0]} ms | ${sorted[sorted.length - 1]} ms | ${times.join(", ")} ms |
`);
