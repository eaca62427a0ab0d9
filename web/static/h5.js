// H5 visit page: the doctor's new messages appear without reloading.
(function () {
  var chat = document.getElementById("chat");
  if (!chat) return;
  function lastSeq() {
    var items = chat.querySelectorAll("li[data-seq]");
    return items.length ? Number(items[items.length - 1].dataset.seq) : 0;
  }
  function poll() {
    fetch(chat.dataset.poll + "?after=" + lastSeq(), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (items) {
        items.forEach(function (m) {
          var li = document.createElement("li");
          li.className = "msg msg-" + m.sender_role;
          li.dataset.seq = m.seq;
          var who = document.createElement("span");
          who.className = "who";
          who.textContent = m.sender_role === "doctor" ? "医生" : "我";
          li.appendChild(who);
          li.appendChild(document.createTextNode(" " + m.text));
          chat.appendChild(li);
        });
      })
      .catch(function () {});
  }
  setInterval(poll, 4000);
})();
