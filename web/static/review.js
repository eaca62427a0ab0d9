// Pharmacist review page: A approves, R goes to the reason, Esc back to the queue.
(function () {
  document.addEventListener("keydown", function (event) {
    var tag = (event.target && event.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var key = event.key.toLowerCase();
    if (key === "a") {
      var approve = document.getElementById("approve");
      if (approve && !approve.disabled) { event.preventDefault(); approve.click(); }
    } else if (key === "r") {
      var reason = document.getElementById("reason");
      if (reason) { event.preventDefault(); reason.focus(); }
    } else if (key === "escape") {
      window.location.href = document.querySelector("a[href$='/pharmacist/']").href;
    }
  });
})();
