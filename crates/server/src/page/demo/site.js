// The demo site's only script: in the iframe flow, wait for the session page's message and
// then show the result. Messages are accepted only from the session page's own origin and
// from the frame this page created.
(function () {
  "use strict";
  var frame = document.getElementById("ol-frame");
  if (!frame) {
    return;
  }
  var origin = frame.getAttribute("data-origin");
  var signatureId = frame.getAttribute("data-signature-id");
  var status = document.getElementById("ol-status");
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || event.source !== frame.contentWindow) {
      return;
    }
    var data = event.data;
    if (typeof data === "string") {
      try {
        data = JSON.parse(data);
      } catch (e) {
        return;
      }
    }
    if (!data || (data.info !== "successNext" && data.info !== "failedNext")) {
      return;
    }
    if (status) {
      status.textContent =
        data.info === "successNext"
          ? "The check passed. Fetching the result…"
          : "The check did not pass. Fetching the result…";
    }
    window.location.assign("/demo/done?signatureId=" + encodeURIComponent(signatureId));
  });
})();
