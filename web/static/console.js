// A visit's conversation: new messages appear without reloading the page (the doctor console
// and the patient's H5 page). data-poll is the JSON feed; data-image, when present, the URL of
// message 0's image; data-doctor and data-patient, how each side is named.
(function () {
  var chat = document.getElementById("chat");
  if (!chat) return;
  var names = { doctor: chat.dataset.doctor || "医生", patient: chat.dataset.patient || "患者" };
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
    who.textContent =
      m.sender_role === "doctor" ? names.doctor : m.sender_role === "system" ? "系统提示" : names.patient;
    if (m.sender_role === "system") li.setAttribute("role", "alert");
    li.appendChild(who);
    if (m.text) {
      li.appendChild(document.createTextNode(" " + m.text));
    } else if (chat.dataset.image) {
      var img = document.createElement("img");
      img.src = chat.dataset.image.replace(/\/0\/image$/, "/" + m.seq + "/image");
      img.alt = who.textContent + "发送的图片";
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
