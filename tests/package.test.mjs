// The npm package as a site owner gets it: `npm install` the tarball into a fresh project,
// bundle a page with esbuild, serve it from its own origin, and see its session arrive.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually, ROOT, startCollector } from "./support/collector.mjs";
import { launch } from "./support/browser.mjs";
import { serveStatic } from "./support/static.mjs";

async function tarball() {
  if (process.env.STINT_TARBALL) return process.env.STINT_TARBALL;
  const dir = join(ROOT, "target/npm");
  const found = (await readdir(dir)).filter((f) => /^stint-tracker-.*\.tgz$/.test(f));
  assert.ok(found.length > 0, "no tarball in target/npm: run `cargo xtask pack`");
  return join(dir, found.sort().at(-1));
}

let project;
let site;
let collector;
let browser;
before(async () => {
  project = await mkdtemp(join(tmpdir(), "stint-site-"));
  await writeFile(join(project, "package.json"), JSON.stringify({ name: "shop", private: true, type: "module" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", await tarball()], { cwd: project, stdio: "pipe" });
  await writeFile(join(project, "app.js"), [
    'import { init, track } from "@stint/tracker";',
    'await init({ endpoint: window.STINT_ENDPOINT, site: "shop" });',
    'track("bundled", { ok: true });',
    'window.stintReady = true;',
  ].join("\n"));
  const esbuild = join(ROOT, "node_modules/@esbuild/linux-x64/bin/esbuild");
  execFileSync(esbuild, ["app.js", "--bundle", "--format=esm", "--outfile=dist/app.js", "--log-level=warning"], { cwd: project });
  // As the package README says: the wasm goes next to the bundle.
  await cp(join(project, "node_modules/@stint/tracker/stint.wasm"), join(project, "dist/stint.wasm"));
  site = await serveStatic(join(project, "dist"));
  await writeFile(join(project, "dist/index.html"), `<!doctype html><title>Shop</title>
<script>window.STINT_ENDPOINT = "__ENDPOINT__";</script>
<script type="module" src="/app.js"></script><h1>Shop</h1>`);
  collector = await startCollector({ sites: { shop: { origins: [site.origin], keep_params: [] } } });
  const html = (await readFile(join(project, "dist/index.html"), "utf8")).replace("__ENDPOINT__", collector.origin);
  await writeFile(join(project, "dist/index.html"), html);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await collector?.stop();
  await site?.close();
  if (project) await rm(project, { recursive: true, force: true });
});

test("the installed package ships its entry, types and wasm", () => {
  const pkg = join(project, "node_modules/@stint/tracker");
  for (const file of ["package.json", "stint.js", "stint.min.js", "stint.d.ts", "stint.wasm", "README.md"]) {
    assert.ok(existsSync(join(pkg, file)), `${file} in the package`);
  }
});

test("a page bundled with esbuild from the installed package sends its session", async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  await page.goto(`${site.origin}/`);
  await page.waitForFunction(() => window.stintReady === true);
  const sid = (await page.evaluate(() => localStorage.getItem("stint.sid"))).split("|")[0];
  await page.close({ runBeforeUnload: true });
  const t = await eventually(async () => {
    const r = await collector.read(`/api/sessions/${sid}?site=shop`);
    return r.status === 200 && r.body.session.events === 1 && r.body;
  }, { what: "the bundled page's session" });
  assert.equal(t.session.pageviews, 1);
  assert.equal(t.session.entry_page, "/");
  assert.equal(t.events.find((e) => e.type === "custom").name, "bundled");
  assert.deepEqual(errors, []);
});

test("the script-tag build reads data-site and data-endpoint", async () => {
  const dist = join(project, "dist");
  await cp(join(project, "node_modules/@stint/tracker/stint.min.js"), join(dist, "stint.min.js"));
  await writeFile(join(dist, "tag.html"), `<!doctype html><title>Tag</title>
<script type="module" src="/stint.min.js" data-site="shop" data-endpoint="${collector.origin}"></script><h1>Tag</h1>`);
  const page = await browser.newPage();
  await page.goto(`${site.origin}/tag.html`);
  const raw = await eventually(() => page.evaluate(() => localStorage.getItem("stint.sid")), { what: "stint.sid" });
  const sid = raw.split("|")[0];
  const t = await eventually(async () => {
    const r = await collector.read(`/api/sessions/${sid}?site=shop`);
    return r.status === 200 && r.body.session.pageviews >= 1 && r.body;
  }, { what: "the script-tag page's session" });
  assert.ok(t.pages.some((p) => new URL(p.url).pathname === "/tag.html"));
  await page.close();
});
