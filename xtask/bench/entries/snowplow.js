// Snowplow as its docs say: a tracker, page views, activity tracking (its engaged time).
import { newTracker, trackPageView, enableActivityTracking } from "@snowplow/browser-tracker";
newTracker("sp", "https://collector.example.com", { appId: "example" });
enableActivityTracking({ minimumVisitLength: 10, heartbeatDelay: 10 });
trackPageView();
