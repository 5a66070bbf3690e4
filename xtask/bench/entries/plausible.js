// Plausible as its README says: init with the domain, outbound links on.
import { init } from "@plausible-analytics/tracker";
init({ domain: "example.com", outboundLinks: true });
