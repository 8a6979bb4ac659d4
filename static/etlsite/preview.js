/* Previews of a component (POST /api/v1/jobs/{id}/preview, or /api/v1/jobs/preview
   for an unsaved job): asks the API with the page's session and shows the answer
   as a table, or the error it gives. Used by the job page (buttons with
   `data-preview-component` inside `[data-preview-job]`) and by the admin's
   component editor (window.etlPreview.run). No library, no inline code. */
(function () {
  "use strict";

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function shown(value) {
    if (value === null || value === undefined) return "NULL";
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  function table(body) {
    var wrap = element("div", "preview-table");
    var grid = element("table");
    var head = element("tr");
    body.columns.forEach(function (column) {
      var th = element("th");
      th.scope = "col";
      th.appendChild(element("span", "column-name", column.name));
      th.appendChild(element("span", "column-type", column.type));
      head.appendChild(th);
    });
    grid.appendChild(element("thead")).appendChild(head);
    var rows = grid.appendChild(element("tbody"));
    body.rows.forEach(function (row) {
      var tr = rows.appendChild(element("tr"));
      body.columns.forEach(function (column) {
        var value = row[column.name];
        tr.appendChild(element("td", value === null || value === undefined ? "null" : "", shown(value)));
      });
    });
    wrap.appendChild(grid);
    return wrap;
  }

  function show(output, body, ok) {
    output.textContent = "";
    if (!ok) {
      var error = (body && body.error) || { message: "The preview failed." };
      var list = output.appendChild(element("ul", "errorlist preview-error"));
      list.setAttribute("role", "alert");
      list.appendChild(element("li", "", error.message));
      return;
    }
    output.appendChild(
      element(
        "p",
        "preview-caption",
        body.component + ": " + body.rows.length + " row" + (body.rows.length === 1 ? "" : "s") +
          ", " + body.columns.length + " column" + (body.columns.length === 1 ? "" : "s") +
          " (from the first " + body.limit + " rows of each source; nothing was written)"
      )
    );
    output.appendChild(table(body));
  }

  // POSTs `payload` to `url` and shows the answer in `output`; resolves to
  // {ok, body} so a caller can also place field errors.
  function run(url, payload, csrfToken, output) {
    output.textContent = "Running the preview…";
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify(payload),
    })
      .then(function (response) {
        return response.json().then(
          function (body) {
            return { ok: response.ok, body: body };
          },
          function () {
            return { ok: false, body: { error: { message: "The server answered " + response.status + "." } } };
          }
        );
      })
      .catch(function () {
        return { ok: false, body: { error: { message: "The server could not be reached." } } };
      })
      .then(function (result) {
        show(output, result.body, result.ok);
        return result;
      });
  }

  window.etlPreview = { run: run };

  // The job page: one button per component, one output below the definition.
  document.addEventListener("DOMContentLoaded", function () {
    var panel = document.querySelector("[data-preview-job]");
    if (!panel) return;
    var output = panel.querySelector("[data-preview-output]");
    var token = panel.querySelector("input[name=csrfmiddlewaretoken]").value;
    var limit = panel.querySelector("[data-preview-limit]");
    document.querySelectorAll("[data-preview-component]").forEach(function (button) {
      button.addEventListener("click", function () {
        run(
          "/api/v1/jobs/" + panel.dataset.previewJob + "/preview",
          { component: button.dataset.previewComponent, limit: Number(limit.value) || 20 },
          token,
          output
        );
        output.scrollIntoView({ block: "nearest" });
      });
    });
  });
})();
