// The service's web page: one self-contained HTML document (inline style and script, nothing from
// elsewhere). Choose, drop or paste an image; it is sent to /v1/search and the query is shown with
// its k nearest gallery images, their labels and scores. A token given in the page's address
// (?token=...) is sent with every request.

export function searchPage(info: { items: number; title: string }): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(info.title)}</title>
<style>
  :root { font-family: system-ui, sans-serif; color: #1d232b; background: #f4f5f7; }
  body { margin: 0 auto; max-width: 1100px; padding: 24px; }
  h1 { font-size: 1.4rem; margin: 0 0 4px; }
  p.sub { margin: 0 0 16px; color: #5b6573; }
  #drop { border: 2px dashed #8a94a3; border-radius: 10px; padding: 24px; background: #fff; display: flex; gap: 24px; align-items: center; }
  #drop.over { border-color: #1f6feb; background: #eef4ff; }
  #query { width: 160px; height: 160px; object-fit: contain; image-rendering: pixelated; background: #e9ecf0; border-radius: 6px; }
  #query:not([src]) { visibility: hidden; }
  .controls { display: flex; flex-direction: column; gap: 10px; }
  label.pick { display: inline-block; background: #1f6feb; color: #fff; padding: 8px 14px; border-radius: 6px; cursor: pointer; }
  label.pick input { display: none; }
  #status { min-height: 1.3em; color: #5b6573; }
  #status.error { color: #b42318; }
  #results { display: grid; grid-template-columns: repeat(auto-fill, minmax(130px, 1fr)); gap: 14px; margin-top: 20px; }
  figure { margin: 0; background: #fff; border-radius: 8px; padding: 8px; box-shadow: 0 1px 3px rgba(0,0,0,.12); text-align: center; }
  figure img { width: 112px; height: 112px; object-fit: contain; image-rendering: pixelated; background: #e9ecf0; }
  figcaption { font-size: .85rem; margin-top: 6px; }
  figcaption .label { font-weight: 600; display: block; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  figcaption .score { color: #5b6573; font-variant-numeric: tabular-nums; }
</style>
</head>
<body>
<h1>Image search</h1>
<p class="sub">${info.items} gallery images. Choose, drop or paste an image to find its nearest neighbours.</p>
<div id="drop">
  <img id="query" alt="query image">
  <div class="controls">
    <label class="pick">Choose an image<input id="file" type="file" accept="image/png,image/jpeg,image/webp,image/gif,image/tiff"></label>
    <label>neighbours <input id="k" type="number" min="1" max="100" value="10" style="width:4em"></label>
    <div id="status">or drop an image here, or paste one (Ctrl+V)</div>
  </div>
</div>
<div id="results"></div>
<script>
"use strict";
(function () {
  var token = new URLSearchParams(location.search).get("token");
  var status = document.getElementById("status");
  var results = document.getElementById("results");
  var query = document.getElementById("query");
  var drop = document.getElementById("drop");
  var lastUrl = null;
  function say(text, isError) { status.textContent = text; status.className = isError ? "error" : ""; }
  function withToken(url) { return token ? url + (url.indexOf("?") < 0 ? "?" : "&") + "token=" + encodeURIComponent(token) : url; }
  function search(file) {
    if (!file) return;
    if (lastUrl) URL.revokeObjectURL(lastUrl);
    lastUrl = URL.createObjectURL(file);
    query.src = lastUrl;
    results.textContent = "";
    var k = Math.max(1, Math.min(100, parseInt(document.getElementById("k").value, 10) || 10));
    say("searching...", false);
    var headers = { "content-type": file.type || "application/octet-stream" };
    if (token) headers.authorization = "Bearer " + token;
    fetch("/v1/search?k=" + k, { method: "POST", headers: headers, body: file })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) {
        if (!res.ok) { say(res.body.error || "the search failed", true); return; }
        show(res.body.neighbours);
        say(res.body.neighbours.length + " nearest gallery images", false);
      })
      .catch(function (err) { say("the search failed: " + err.message, true); });
  }
  function show(neighbours) {
    results.textContent = "";
    neighbours.forEach(function (n, rank) {
      var fig = document.createElement("figure");
      var img = document.createElement("img");
      img.alt = "neighbour " + (rank + 1) + ": " + (n.label === null ? "no label" : n.label);
      img.src = withToken("/v1/items/" + n.id + "/image");
      var cap = document.createElement("figcaption");
      var label = document.createElement("span");
      label.className = "label";
      label.textContent = (rank + 1) + ". " + (n.label === null ? "(no label)" : n.label);
      var score = document.createElement("span");
      score.className = "score";
      score.textContent = "score " + n.score.toFixed(4);
      cap.appendChild(label);
      cap.appendChild(score);
      fig.appendChild(img);
      fig.appendChild(cap);
      results.appendChild(fig);
    });
  }
  document.getElementById("file").addEventListener("change", function (e) { search(e.target.files[0]); });
  drop.addEventListener("dragover", function (e) { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
  drop.addEventListener("drop", function (e) {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files.length > 0) search(e.dataTransfer.files[0]);
  });
  document.addEventListener("paste", function (e) {
    var items = e.clipboardData ? e.clipboardData.items : [];
    for (var i = 0; i < items.length; i++) {
      if (items[i].kind === "file" && items[i].type.indexOf("image/") === 0) { search(items[i].getAsFile()); return; }
    }
  });
})();
</script>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
