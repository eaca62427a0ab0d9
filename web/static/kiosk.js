// Kiosk: scan the prescription's QR code with the camera (jsQR, vendored) when one is there;
// a 2D scanner that types, or typing by hand, works without this script.
(function () {
  var button = document.getElementById("camera");
  var input = document.getElementById("token");
  var form = document.getElementById("scan-form");
  if (!button || !navigator.mediaDevices || !window.jsQR) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var video = document.getElementById("preview");
    var canvas = document.getElementById("frame");
    var context = canvas.getContext("2d");
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      video.srcObject = stream;
      video.hidden = false;
      video.play();
      function tick() {
        if (video.readyState === video.HAVE_ENOUGH_DATA) {
          canvas.width = video.videoWidth;
          canvas.height = video.videoHeight;
          context.drawImage(video, 0, 0, canvas.width, canvas.height);
          var frame = context.getImageData(0, 0, canvas.width, canvas.height);
          var found = window.jsQR(frame.data, frame.width, frame.height);
          if (found && found.data) {
            stream.getTracks().forEach(function (t) { t.stop(); });
            input.value = found.data;
            form.submit();
            return;
          }
        }
        requestAnimationFrame(tick);
      }
      requestAnimationFrame(tick);
    }).catch(function () { button.hidden = true; input.focus(); });
  });
})();

// Demo only: fill in a made-up traceability code for each drug, as a scanner would type them.
(function () {
  var button = document.getElementById("demo-trace");
  var field = document.getElementById("trace_codes");
  if (!button || !field) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var codes = [];
    for (var i = 0; i < Number(button.dataset.boxes || 1); i++) {
      var code = "8";
      while (code.length < 20) code += Math.floor(Math.random() * 10);
      codes.push(code);
    }
    field.value = codes.join("\n");
  });
})();
