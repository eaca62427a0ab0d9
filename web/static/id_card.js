// The kiosk's ID card reader: ask the reader service beside the screen (data-reader) for the
// signed reading of the card on the reader, and put it in the identity form. The reading
// carries the chip's photo; the server checks the reader's signature and that it is fresh.
(function () {
  var button = document.getElementById("read-card");
  if (!button) return;
  var field = document.getElementById("id_card");
  var status = document.getElementById("card-status");
  button.addEventListener("click", function () {
    status.textContent = "正在读卡…";
    fetch(button.dataset.reader, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (reading) {
        field.value = JSON.stringify(reading);
        status.textContent = "已读取：" + reading.name.charAt(0) + "*，身份证号尾号 " +
          reading.id_number.slice(-4) + "。请正对镜头拍照。";
      })
      .catch(function () { status.textContent = "读卡失败，请将身份证放好后重试"; });
  });
})();
