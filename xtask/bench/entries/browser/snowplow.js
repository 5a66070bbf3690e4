// Snowplow for the main-thread benchmark: the size entry's setup, sending to the bench's sink.
import { newTracker, trackPageView, enableActivityTracking } from "@snowplow/browser-tracker";
newTracker("sp", location.origin, { appId: "example" });
enableActivityTracking({ minimumVisitLength: 10, heartbeatDelay: 10 });
trackPageView();
