// Copy buttons: the page works without this; with it, "Copy" puts the command on the clipboard.
document.querySelectorAll("button[data-copy]").forEach(function (b) {
  b.hidden = false;
  b.addEventListener("click", function () {
    var text = document.getElementById(b.dataset.copy).textContent;
    navigator.clipboard.writeText(text).then(function () { b.textContent = "Copied"; });
  });
});
