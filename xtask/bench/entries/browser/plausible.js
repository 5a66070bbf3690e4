// Plausible for the main-thread benchmark: the size entry's setup, sending to the bench's
// local sink. `captureOnLocalhost` and `window.__plausible` let it send from 127.0.0.1 under
// Playwright (it otherwise ignores both), so it does the same work as on a real site.
import { init } from "@plausible-analytics/tracker";
window.__plausible = true;
init({ domain: "example.com", outboundLinks: true, endpoint: `${location.origin}/api/event`, captureOnLocalhost: true, logging: false });
