// Play tracking of a personalised video page (aftercare.preferences): what the candidate
// watched, each event posted once to the page's events URL. The page works without it.
(function () {
  "use strict";
  var video = document.getElementById("video");
  if (!video || !video.dataset.events) {
    return;
  }
  var sent = {};
  function post(name) {
    if (sent[name]) {
      return;
    }
    sent[name] = true;
    fetch(video.dataset.events, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ event: name }),
      keepalive: true,
    }).catch(function () {
      sent[name] = false; // not recorded: the next chance posts it again
    });
  }
  video.addEventListener("play", function () {
    post("played");
  });
  video.addEventListener("timeupdate", function () {
    if (!video.duration || !isFinite(video.duration)) {
      return;
    }
    var share = (100 * video.currentTime) / video.duration;
    [25, 50, 75].forEach(function (mark) {
      if (share >= mark) {
        post("watched_" + mark);
      }
    });
  });
  video.addEventListener("ended", function () {
    ["watched_25", "watched_50", "watched_75", "watched_100"].forEach(post);
  });
})();
