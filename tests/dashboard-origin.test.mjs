// The dashboard hosted on another origin than the collector, as a site owner may host it:
// allowed by DASHBOARD_ORIGINS, it lists sessions, opens a timeline and erases across
// origins (CORS, with the DELETE preflight); a collector that does not allow its origin
// cannot be read from it, because the browser withholds the answer.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, startCollector, TOKEN } from "./support/collector.mjs";
import { launch } from "./support/browser.mjs";
import { serveStatic } from "./support/static.mjs";
import { batch, pageview, send } from "./support/beacon.mjs";

let site;
let collector;
let browser;
before(async () => {
  // The dashboard's own files, as `cargo xtask build` assembles them, from a plain server.
  site = await serveStatic(join(ROOT, "target/site"));
  collector = await startCollector({ vars: { DASHBOARD_ORIGINS: JSON.stringify([site.origin]) } });
  browser = await launch();
  for (const path of ["kept", "erased"]) {
    assert.equal((await send(collector, batch({ events: [pageview({ url: `https://demo.local/${path}` })] }))).status, 202);
  }
});
after(async () => {
  await browser?.close();
  await collector?.stop();
  await site?.close();
});

async function connect(page, endpoint) {
  await page.goto(`${site.origin}/dashboard/`);
  await page.getByLabel("Collector endpoint").fill(endpoint);
  await page.getByLabel("Read token").fill(TOKEN);
  await page.getByRole("button", { name: "Connect" }).click();
}

test("from an allowed origin the dashboard lists, opens and erases sessions", async () => {
  const page = await browser.newPage();
  assert.notEqual(new URL(site.origin).port, new URL(collector.origin).port, "two origins");
  await connect(page, collector.origin);
  await page.getByRole("button", { name: "Sessions", exact: true }).click();
  await page.getByLabel("Include bots").check();
  await page.getByText("2 sessions, newest first unless sorted.").waitFor();
  await page.locator("#session-body tr").filter({ hasText: "/erased → /erased" }).click();
  await page.locator("#timeline-pages li strong", { hasText: "/erased" }).waitFor();
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Erase this session" }).click();
  await page.getByText("1 session, newest first unless sorted.").waitFor();
  const left = (await collector.read("/api/sessions?site=demo&bots=include")).body.sessions;
  assert.deepEqual(left.map((s) => s.entry_page), ["/kept"]);
  await page.close();
});

test("a collector that does not allow the dashboard's origin cannot be read from it", async () => {
  const stranger = await startCollector();
  try {
    assert.equal((await send(stranger, batch())).status, 202);
    // The same request works outside a browser: only CORS stands in the way.
    assert.equal((await stranger.read("/api/sessions?site=demo&bots=include")).body.sessions.length, 1);
    const page = await browser.newPage();
    await connect(page, stranger.origin);
    await page.getByText(`Cannot reach ${stranger.origin}.`).first().waitFor();
    assert.equal(await page.locator("#session-body tr").count(), 0);
    await page.close();
  } finally {
    await stranger.stop();
  }
});
