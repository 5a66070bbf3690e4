// PostHog as its docs say: init with a project key and host.
import posthog from "posthog-js";
posthog.init("phc_example", { api_host: "https://eu.i.posthog.com" });
