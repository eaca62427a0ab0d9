// Doctor console: new messages appear without reloading the page.
(function () {
  var chat = document.getElementById("chat");
  if (!chat) return;
  function lastSeq() {
    var items = chat.querySelectorAll("li[data-seq]");
    return items.length ? Number(items[items.length - 1].dataset.seq) : 0;
  }
  function add(m) {
    var li = document.createElement("li");
    li.className = "msg msg-" + m.sender_role;
    li.dataset.seq = m.seq;
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = m.sender_role === "doctor" ? "医生" : "患者";
    li.appendChild(who);
    if (m.text) {
      li.appendChild(document.createTextNode(" " + m.text));
    } else {
      var img = document.createElement("img");
      img.src = chat.dataset.image.replace(/\/0\/image$/, "/" + m.seq + "/image");
      img.alt = "患者上传的图片";
      img.width = 160;
      li.appendChild(img);
    }
    chat.appendChild(li);
  }
  function poll() {
    fetch(chat.dataset.poll + "?after=" + lastSeq(), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (items) { items.forEach(add); })
      .catch(function () {});
  }
  setInterval(poll, 4000);
})();
