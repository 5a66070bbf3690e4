// PostHog for the main-thread benchmark: the size entry's setup, sending to the bench's sink.
import posthog from "posthog-js";
// `opt_out_useragent_filter`: otherwise it drops every event from headless Chromium as a bot.
posthog.init("phc_example", { api_host: location.origin, opt_out_useragent_filter: true });
