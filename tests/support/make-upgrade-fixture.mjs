// Makes an upgrade fixture: what one release of the collector persisted, and what it answered
// about it, so that `tests/upgrade.test.mjs` can start a later release on those files and
// require the same answers ("upgrades lose nothing").
//
//     git worktree add /tmp/rel1 184431c && (cd /tmp/rel1 && cargo xtask build)
//     node tests/support/make-upgrade-fixture.mjs --build /tmp/rel1/edge-worker/build --release 184431c
//
// `--build` is the release's built worker (its `edge-worker/build`), `--release` the commit
// it was built from: its `edge-worker/wrangler.toml` (read with `git show`) is the config,
// and the fixture goes to `tests/fixtures/upgrade/<release>/` (`--out` to choose another).
// Run it with the release's build only, never the working tree's: the fixture stands for
// data already out there.
//
// What it does: starts the release with `wrangler dev` on an empty state folder, sends the
// scripted sessions below (User-Agents, an Origin, a retry, batches out of order, two UTC
// days), reads back every listing, page of a listing, timeline and stats answer the test
// will ask for, and stops. Then it packs the Durable Objects' SQLite files of the state,
// byte for byte as the release left them (nothing else: no `-shm`, cache or logs), into
// `<out>/state.tar.gz`, starts the release once more on an unpacked copy and checks that it
// answers exactly the same — so the archive is all the release needs — and writes
// `<out>/expected.json`: the config, the sessions as sent, and every answer by request path.
//
// Why an archive and not a folder: workerd leaves each database's data in its write-ahead
// log at exit (4 KB `.sqlite` beside a 50–130 KB `-wal`), 1.3 MB for this scenario, and the
// test harness copies tests/fixtures into every collector's assets. Packed, it is ~35 KB.
//
// Timestamps are the generation time's (the collector replaces a client clock off by more
// than a day), so two runs make different files; a fixture is made once per release and kept.
// RETENTION_DAYS is set to 100 years so that the stored retention alarms never fire on it.
import { execFileSync } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { isDeepStrictEqual, parseArgs } from "node:util";
import { droppedByDevServer } from "../../xtask/dev/resend-proxy.mjs";
import { startWranglerDev } from "../../xtask/dev/wrangler-dev.mjs";

const ROOT = resolve(new URL("../..", import.meta.url).pathname);
const TOKEN = "upgrade-fixture-token";
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/** The config the fixture is made with; the test starts the later release with the same. */
export const FIXTURE_CONFIG = {
  sites: { demo: { origins: ["https://demo.local"], keep_params: ["lang"] } },
  retention_days: "36500",
};
/** The Origin every beacon is sent with (the pages are on https://demo.local). */
export const PAGE_ORIGIN = "https://demo.local";

export const UA = {
  windowsChrome: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  iphoneSafari: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
  bingbot: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
  ipadSafari: "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
  linuxFirefox: "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
};

/**
 * The day boundary the sessions straddle: the start of the current UTC day, or of the next
 * one late in the day, so that every timestamp is within the day of tolerance the collector
 * gives a client clock.
 */
function dayBoundary(now) {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  return now - today > 20 * HOUR_MS ? today + DAY_MS : today;
}

/**
 * The sessions, as a tracker would have sent them around the day boundary `d`: each with its
 * User-Agent and its batches, in the order they are sent (`send` lists seqs, repeats are
 * retries).
 */
export function scenario(d) {
  const sid = () => crypto.randomUUID();
  const reader = d - 3 * HOUR_MS; // yesterday 21:00
  const nightOwl = d - 20 * MINUTE_MS; // yesterday 23:40, on past midnight
  const direct = d + 30 * MINUTE_MS;
  const bounce = d + HOUR_MS;
  const crawler = d + 2 * HOUR_MS;
  const sessions = [
    {
      label: "reader",
      what: "desktop Chrome from an email campaign: 3 pages, clicks (internal, outbound, download), scroll, custom events with props; batch 1 retried",
      ua: UA.windowsChrome,
      sid: sid(),
      batches: [
        [
          { type: "pageview", ts: reader, page: 0, url: "https://demo.local/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=december&lang=en&email=someone%40example.com#plans", ref: "https://mail.example.com/inbox", title: "Pricing", w: 1280 },
          { type: "engage", ts: reader + 4_500, page: 0, active_ms: 4_200, scroll: 35 },
          { type: "click", ts: reader + 5_000, page: 0, href: "https://demo.local/docs?lang=en", outbound: false },
        ],
        [
          { type: "pageview", ts: reader + 5_200, page: 1, url: "https://demo.local/docs?lang=en&session=abc123", title: "Docs", w: 1280 },
          { type: "engage", ts: reader + 5_300, page: 0, active_ms: 800, scroll: 80 },
          { type: "engage", ts: reader + 18_000, page: 1, active_ms: 12_000, scroll: 64 },
          { type: "click", ts: reader + 18_500, page: 1, href: "https://github.com/example/stint", outbound: true },
          { type: "click", ts: reader + 19_000, page: 1, href: "https://demo.local/files/whitepaper.pdf?token=secret", outbound: false, download: true },
          { type: "custom", ts: reader + 19_500, page: 1, name: "copy_snippet", props: { lang: "rust", lines: 12, dark: true } },
        ],
        [
          { type: "pageview", ts: reader + 25_000, page: 2, url: "https://demo.local/signup", title: "Sign up", w: 1280 },
          { type: "engage", ts: reader + 32_000, page: 2, active_ms: 6_500, scroll: 100 },
          { type: "custom", ts: reader + 32_500, page: 2, name: "signup", props: { plan: "pro", seats: 3, annual: false, price: 49.5 } },
        ],
      ],
      send: [0, 1, 1, 2],
    },
    {
      label: "night-owl",
      what: "iPad from a blog post, 23:40 to past midnight UTC; batch 1 (after midnight) arrives before batch 0, so the session moves to the earlier day's index",
      ua: UA.ipadSafari,
      sid: sid(),
      batches: [
        [
          { type: "pageview", ts: nightOwl, page: 0, url: "https://demo.local/", ref: "https://blog.example.org/posts/edge-analytics", title: "Stint", w: 1024 },
          { type: "engage", ts: nightOwl + 60_000, page: 0, active_ms: 45_000, scroll: 90 },
          { type: "pageview", ts: nightOwl + 61_000, page: 1, url: "https://demo.local/features", title: "Features", w: 1024 },
          { type: "engage", ts: nightOwl + 15 * MINUTE_MS, page: 1, active_ms: 120_000, scroll: 75 },
        ],
        [
          { type: "pageview", ts: d + 10 * MINUTE_MS, page: 2, url: "https://demo.local/pricing?lang=de", title: "Preise", w: 1024 },
          { type: "custom", ts: d + 10 * MINUTE_MS + 4_000, page: 2, name: "pricing_toggle", props: { period: "yearly" } },
          { type: "engage", ts: d + 11 * MINUTE_MS, page: 2, active_ms: 30_000, scroll: 55 },
          { type: "click", ts: d + 11 * MINUTE_MS + 500, page: 2, href: "https://demo.local/about", outbound: false },
          { type: "pageview", ts: d + 11 * MINUTE_MS + 800, page: 3, url: "https://demo.local/about", title: "About", w: 1024 },
        ],
      ],
      send: [1, 0],
    },
    {
      label: "direct",
      what: "desktop Firefox typed in: 2 pages, no events",
      ua: UA.linuxFirefox,
      sid: sid(),
      batches: [
        [
          { type: "pageview", ts: direct, page: 0, url: "https://demo.local/", title: "Stint", w: 1920 },
          { type: "engage", ts: direct + 9_000, page: 0, active_ms: 8_700, scroll: 100 },
          { type: "pageview", ts: direct + 9_500, page: 1, url: "https://demo.local/about#team", title: "About", w: 1920 },
          { type: "engage", ts: direct + 40_000, page: 1, active_ms: 22_250, scroll: 48 },
        ],
      ],
      send: [0],
    },
    {
      label: "bounce",
      what: "iPhone from a search engine: one page, a little engagement, nothing else",
      ua: UA.iphoneSafari,
      sid: sid(),
      batches: [
        [
          { type: "pageview", ts: bounce, page: 0, url: "https://demo.local/blog/privacy-first?utm_term=analytics", ref: "https://www.google.com/", title: "Privacy first", w: 390 },
          { type: "engage", ts: bounce + 3_000, page: 0, active_ms: 2_300, scroll: 22 },
        ],
      ],
      send: [0],
    },
    {
      label: "crawler",
      what: "bingbot walking three pages in one batch (listed only with bots=include)",
      ua: UA.bingbot,
      sid: sid(),
      batches: [
        [
          { type: "pageview", ts: crawler, page: 0, url: "https://demo.local/", title: "Stint", w: 1366 },
          { type: "pageview", ts: crawler + 800, page: 1, url: "https://demo.local/pricing", title: "Pricing", w: 1366 },
          { type: "pageview", ts: crawler + 1_600, page: 2, url: "https://demo.local/about", title: "About", w: 1366 },
        ],
      ],
      send: [0],
    },
  ];
  return sessions;
}

/**
 * Every read the test repeats, by path: listings (whole, filtered, part of a day, paged),
 * timelines, stats, and the reads made from the sessions' journeys (breakdowns by page and
 * event, link maps, a funnel, paths, friction, the `page=` filter); fixtures made before
 * the journeys group was added have none.
 */
function readPaths(d, sessions) {
  const site = "site=demo";
  const whole = `from=${d - DAY_MS}&to=${d + DAY_MS}`; // both UTC days, whole
  const partial = `from=${d - 2 * HOUR_MS}&to=${d + DAY_MS}`; // cuts the first day
  const secondDay = `from=${d}&to=${d + DAY_MS}`;
  return {
    listings: [
      `/api/sessions?${site}&${whole}&limit=200`,
      `/api/sessions?${site}&${whole}&limit=200&bots=include`,
      `/api/sessions?${site}&${partial}&limit=200&bots=include`,
      `/api/sessions?${site}&${secondDay}&limit=200`,
      `/api/sessions?${site}&${whole}&limit=200&channel=referral`,
      `/api/sessions?${site}&${whole}&limit=200&device=mobile`,
      `/api/sessions?${site}&${whole}&limit=200&country=US`,
    ],
    // Followed page by page with each answer's next_cursor (a dashboard's "Load more").
    paged: `/api/sessions?${site}&${whole}&limit=2&bots=include`,
    timelines: sessions.map((s) => `/api/sessions/${s.sid}?${site}`),
    stats: [
      `/api/stats?${site}&${whole}`,
      `/api/stats?${site}&${whole}&bots=include`,
      `/api/stats?${site}&${partial}`,
      `/api/stats?${site}&${secondDay}&bots=include`,
      `/api/stats?${site}&${whole}&channel=search`,
      `/api/stats?${site}&${whole}&device=desktop`,
    ],
    journeys: [
      `/api/breakdown?${site}&${whole}&by=page`,
      `/api/breakdown?${site}&${partial}&by=page&bots=include`,
      `/api/breakdown?${site}&${whole}&by=event`,
      `/api/breakdown?${site}&${whole}&by=entry&goal=event%3Asignup`,
      `/api/links?${site}&${whole}&page=%2Fdocs`,
      `/api/links?${site}&${whole}&page=%2Fpricing`,
      `/api/funnel?${site}&${whole}&step=%2Fpricing&step=%2Fdocs&step=event%3Asignup`,
      `/api/paths?${site}&${whole}&start=%2F&depth=3`,
      `/api/friction?${site}&${whole}`,
      `/api/stats?${site}&${whole}&page=%2Fdocs`,
      `/api/sessions?${site}&${whole}&limit=200&page=%2Fabout`,
    ],
  };
}

/** `wrangler dev` on the release's build, persisting to `stateDir`. */
async function startRelease({ build, toml, dir, stateDir }) {
  const configDir = join(dir, "config");
  const assets = join(dir, "site");
  await mkdir(configDir, { recursive: true });
  await mkdir(assets, { recursive: true });
  await writeFile(join(assets, "index.html"), "<!doctype html><title>upgrade fixture</title>\n");
  const config = toml
    .replace('main = "build/index.js"', `main = "${join(build, "index.js")}"`)
    .replace('directory = "../target/site"', `directory = "${assets}"`);
  if (!config.includes(join(build, "index.js")) || !config.includes(assets)) {
    throw new Error("the release's wrangler.toml does not have the expected main / assets lines");
  }
  await writeFile(join(configDir, "wrangler.toml"), config);
  await writeFile(join(configDir, ".dev.vars"), `READ_TOKEN=${TOKEN}\n`);
  const { child, logs, exited, ready } = startWranglerDev({
    config: join(configDir, "wrangler.toml"),
    cwd: configDir,
    args: ["--persist-to", stateDir,
      "--var", `SITES:${JSON.stringify(FIXTURE_CONFIG.sites)}`, "--var", `RETENTION_DAYS:${FIXTURE_CONFIG.retention_days}`],
    env: { CI: "true" },
  });
  const origin = `http://127.0.0.1:${await ready}`;
  /**
   * One request; wrangler's local runtime sometimes answers 503 "restarted mid-request"
   * without the worker having seen it, which asks for the same request again.
   */
  async function request(path, init = {}) {
    for (let attempt = 0; ; attempt++) {
      const r = await fetch(origin + path, init);
      const text = await r.text();
      if (droppedByDevServer(r.status, text) && attempt < 3) {
        await new Promise((ok) => setTimeout(ok, 100));
        continue;
      }
      return { status: r.status, text };
    }
  }
  return {
    async read(path) {
      const r = await request(path, { headers: { authorization: `Bearer ${TOKEN}` } });
      if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.text}`);
      return JSON.parse(r.text);
    },
    async send(body, ua) {
      const r = await request("/collect", {
        method: "POST",
        headers: { "content-type": "text/plain;charset=UTF-8", origin: PAGE_ORIGIN, "user-agent": ua },
        body: JSON.stringify(body),
      });
      if (r.status !== 202) throw new Error(`POST /collect ${body.sid}/${body.seq}: ${r.status} ${r.text}`);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      return logs.join("");
    },
  };
}

/** Every answer the test compares, by request path. */
async function readEverything(collector, paths) {
  const answers = {};
  for (const path of [...paths.listings, ...paths.timelines, ...paths.stats, ...(paths.journeys ?? [])]) answers[path] = await collector.read(path);
  let path = paths.paged;
  for (;;) {
    const page = await collector.read(path);
    answers[path] = page;
    if (!page.next_cursor) break;
    path = `${paths.paged}&cursor=${encodeURIComponent(page.next_cursor)}`;
  }
  return answers;
}

/** Files under `dir`, relative, with their sizes. */
async function listFiles(dir, base = dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full, base)));
    else out.push({ path: relative(base, full), bytes: (await stat(full)).size });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * The files of a state folder the runtime needs: each Durable Object's SQLite database (the
 * objects' own and each class's `metadata.sqlite`, which holds the alarms) and its
 * write-ahead log when one is left with content (committed data may be only there).
 * Shared-memory indexes (`-shm`, rebuilt from the log), the cache and anything else are not.
 */
function needed(file) {
  if (!file.path.startsWith("v3/do/")) return false;
  if (file.path.endsWith(".sqlite")) return true;
  return file.path.endsWith(".sqlite-wal") && file.bytes > 0;
}

/** `tar` with a stable order and no owner names, so the archive says nothing about who made it. */
function pack(dir, archive) {
  execFileSync("tar", ["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "-czf", archive, "-C", dir, "."]);
}

export function unpack(archive, dir) {
  execFileSync("tar", ["-xzf", archive, "-C", dir]);
}

async function main() {
  const { values } = parseArgs({ options: { build: { type: "string" }, release: { type: "string" }, out: { type: "string" } } });
  if (!values.build || !values.release) {
    throw new Error("usage: node tests/support/make-upgrade-fixture.mjs --build <release's edge-worker/build> --release <commit> [--out <folder>]");
  }
  const build = resolve(values.build);
  const release = values.release;
  const out = resolve(values.out ?? join(ROOT, "tests/fixtures/upgrade", release));
  const toml = execFileSync("git", ["-C", ROOT, "show", `${release}:edge-worker/wrangler.toml`], { encoding: "utf8" });
  const commit = execFileSync("git", ["-C", ROOT, "rev-parse", `${release}^{commit}`], { encoding: "utf8" }).trim();
  await stat(join(build, "index.js"));

  const now = Date.now();
  const d = dayBoundary(now);
  const sessions = scenario(d);
  const paths = readPaths(d, sessions);

  const work = await mkdtemp(join(tmpdir(), "stint-upgrade-fixture-"));
  try {
    const stateDir = join(work, "state");
    const first = await startRelease({ build, toml, dir: join(work, "first"), stateDir });
    let answers;
    try {
      for (const s of sessions) {
        for (const seq of s.send) await first.send({ v: 1, site: "demo", sid: s.sid, seq, events: s.batches[seq] }, s.ua);
      }
      answers = await readEverything(first, paths);
    } finally {
      await first.stop();
    }

    const all = await listFiles(stateDir);
    const kept = all.filter(needed);
    console.log(`state written by ${release}:`);
    for (const f of all) console.log(`  ${kept.includes(f) ? "keep" : "skip"} ${f.path} (${f.bytes} B)`);
    const keptDir = join(work, "kept");
    for (const f of kept) {
      await mkdir(dirname(join(keptDir, f.path)), { recursive: true });
      await cp(join(stateDir, f.path), join(keptDir, f.path));
    }
    await mkdir(out, { recursive: true });
    const archive = join(out, "state.tar.gz");
    pack(keptDir, archive);

    // The release again, on the archive's files alone: it must answer the same.
    const copy = join(work, "copy-state");
    await mkdir(copy);
    unpack(archive, copy);
    const second = await startRelease({ build, toml, dir: join(work, "second"), stateDir: copy });
    try {
      const again = await readEverything(second, paths);
      if (!isDeepStrictEqual(again, answers)) {
        throw new Error("the release answers differently on the kept files alone: a needed state file was skipped");
      }
    } finally {
      await second.stop();
    }

    const expected = {
      about: "Answers of the release below about the state packed in state.tar.gz, by request path; made by tests/support/make-upgrade-fixture.mjs, read by tests/upgrade.test.mjs.",
      release: commit,
      generated_at: new Date(now).toISOString(),
      day_boundary: d,
      config: FIXTURE_CONFIG,
      origin: PAGE_ORIGIN,
      state: "state.tar.gz",
      state_files: kept.map(({ path, bytes }) => ({ path, bytes })),
      sessions: sessions.map(({ label, what, ua, sid, batches, send }) => ({ label, what, ua, sid, send, batches })),
      paths,
      answers,
    };
    await writeFile(join(out, "expected.json"), JSON.stringify(expected, null, 2) + "\n");
    const bytes = kept.reduce((n, f) => n + f.bytes, 0);
    console.log(`wrote ${relative(ROOT, out)}: state.tar.gz (${kept.length} files, ${bytes} B unpacked, ${(await stat(archive)).size} B packed), expected.json with ${Object.keys(answers).length} answers`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

// Run as a script; imported (the test uses `unpack`), it only defines.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
