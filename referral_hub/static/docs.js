// Lists the API's operations from the served OpenAPI description.
(function () {
  const holder = document.getElementById("endpoints");
  if (!holder) return;
  fetch(holder.dataset.spec).then(function (r) { return r.json(); }).then(function (spec) {
    const table = document.createElement("table");
    const head = table.createTHead().insertRow();
    ["Method", "Path", "Summary", "Scope"].forEach(function (t) {
      const th = document.createElement("th"); th.textContent = t; head.appendChild(th);
    });
    const body = table.createTBody();
    Object.keys(spec.paths).sort().forEach(function (path) {
      Object.entries(spec.paths[path]).forEach(function ([method, op]) {
        if (typeof op !== "object" || !op.responses) return;
        const row = body.insertRow();
        const scope = (op.security || []).map(function (s) { return (s.oauth2 || []).join(" "); }).join(" ");
        [method.toUpperCase(), path, op.summary || "", scope].forEach(function (t) {
          const td = row.insertCell(); td.textContent = t;
        });
      });
    });
    holder.appendChild(table);
  });
})();
