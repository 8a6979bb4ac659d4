/* The admin's component editor (jobs/component_editor.py renders the cards).

   Each component card has a config form generated on the server from its
   type's JSON Schema; this script writes what is typed there into the raw
   JSON box (the field the form submits), swaps in the new type's form when the
   type changes, keeps every card's inputs list in step with the names and
   types of the others, redraws the graph, and runs previews through the API.
   No library and no inline code (the Content-Security-Policy allows neither). */
(function () {
  "use strict";

  var graph, group, csrfToken, ports;

  function request(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify(body),
    }).then(function (response) {
      if (!response.ok) throw new Error(url + " answered " + response.status);
      return response.text();
    });
  }

  function cards() {
    return Array.prototype.filter.call(group.querySelectorAll(".inline-related"), function (card) {
      return !card.classList.contains("empty-form") && card.querySelector("[data-component-config]");
    });
  }

  function field(card, name) {
    return card.querySelector('[name$="-' + name + '"]');
  }

  function removed(card) {
    var box = field(card, "DELETE");
    return box && box.checked;
  }

  function rawBox(card) {
    return card.querySelector("[data-raw-json] textarea");
  }

  function rawConfig(card) {
    try {
      var value = JSON.parse(rawBox(card).value || "{}");
      return value && typeof value === "object" && !Array.isArray(value) ? value : null;
    } catch (error) {
      return null;
    }
  }

  function selected(select) {
    return Array.prototype.filter
      .call(select.options, function (option) {
        return option.selected;
      })
      .map(function (option) {
        return option.value;
      });
  }

  // --- the generated form -> the config JSON -------------------------------------------

  function fieldValue(input, previous) {
    var kind = input.dataset.configKind;
    if (kind === "map") {
      var map = {};
      var any = false;
      input.querySelectorAll(".map-row").forEach(function (row) {
        var key = row.querySelector('[data-map-part="key"]').value.trim();
        if (key) {
          map[key] = row.querySelector('[data-map-part="value"]').value;
          any = true;
        }
      });
      return { value: any ? map : undefined };
    }
    var text = input.value;
    if (text.trim() === "") return { value: undefined };
    if (kind === "integer" && /^\s*-?\d+\s*$/.test(text)) return { value: parseInt(text, 10) };
    if (kind === "number" && /^\s*-?\d+(\.\d+)?\s*$/.test(text)) return { value: parseFloat(text) };
    if (kind === "boolean" && (text === "true" || text === "false")) return { value: text === "true" };
    if (kind === "lines") {
      return {
        value: text
          .split("\n")
          .map(function (line) {
            return line.trim();
          })
          .filter(Boolean),
      };
    }
    if (kind === "json") {
      try {
        return { value: JSON.parse(text) };
      } catch (error) {
        // Half-typed JSON keeps the last good value until it parses.
        return { value: previous, error: "Not valid JSON yet: " + error.message };
      }
    }
    return { value: text };
  }

  function showFieldError(box, key, message, source) {
    var old = box.querySelector('[data-error-source="' + source + '"]');
    if (old) old.remove();
    if (!message) return;
    var list = document.createElement("ul");
    list.className = "errorlist config-error";
    list.setAttribute("role", "alert");
    list.dataset.errorSource = source;
    list.dataset.errorFor = key;
    var item = document.createElement("li");
    item.textContent = message;
    list.appendChild(item);
    var help = box.querySelector(".help");
    box.insertBefore(list, help);
  }

  function writeConfig(card) {
    var previous = rawConfig(card) || {};
    var config = {};
    card.querySelectorAll("[data-config-holder] [data-config-key]").forEach(function (input) {
      var key = input.dataset.configKey;
      var result = fieldValue(input, previous[key]);
      showFieldError(input.closest("[data-config-field]"), key, result.error, "typing");
      if (result.value !== undefined) config[key] = result.value;
    });
    rawBox(card).value = JSON.stringify(config, null, 2);
  }

  function loadForm(card, config, keepKnown) {
    var holder = card.querySelector("[data-config-holder]");
    return request(graph.dataset.configFormUrl, {
      type: field(card, "type").value,
      config: config,
      keep_known: keepKnown,
      prefix: rawBox(card).id,
    }).then(function (html) {
      holder.innerHTML = html;
      writeConfig(card);
    });
  }

  // --- inputs, type summaries and the graph ----------------------------------------------

  function references() {
    var found = [];
    cards().forEach(function (card) {
      var name = field(card, "name").value.trim();
      if (!name || removed(card)) return;
      found.push(name);
      (ports[field(card, "type").value] || []).forEach(function (port) {
        found.push(name + "." + port);
      });
    });
    return found;
  }

  function refreshInputs() {
    var all = references();
    cards().forEach(function (card) {
      var select = field(card, "inputs");
      var own = field(card, "name").value.trim();
      var chosen = selected(select);
      var offered = all.filter(function (reference) {
        return reference.split(".")[0] !== own;
      });
      chosen.forEach(function (reference) {
        if (offered.indexOf(reference) === -1) offered.push(reference);
      });
      select.textContent = "";
      offered.forEach(function (reference) {
        var option = new Option(reference, reference, false, chosen.indexOf(reference) !== -1);
        select.appendChild(option);
      });
    });
  }

  function showSummary(card) {
    var select = field(card, "type");
    var summary = card.querySelector(".type-summary");
    if (!summary) {
      summary = document.createElement("div");
      summary.className = "help type-summary";
      select.parentNode.appendChild(summary);
    }
    var option = select.options[select.selectedIndex];
    summary.textContent = option && option.value ? option.title : "";
  }

  var redrawTimer = null;

  function redraw() {
    window.clearTimeout(redrawTimer);
    redrawTimer = window.setTimeout(function () {
      var components = cards()
        .filter(function (card) {
          return !removed(card);
        })
        .map(function (card) {
          return {
            name: field(card, "name").value.trim(),
            type: field(card, "type").value,
            inputs: selected(field(card, "inputs")),
          };
        });
      request(graph.dataset.graphUrl, { components: components }).then(function (html) {
        graph.innerHTML = html;
        sizeGraph();
      });
    }, 250);
  }

  function sizeGraph() {
    var wrap = graph.querySelector("[data-graph-width]");
    var svg = graph.querySelector("svg");
    // Set through the CSS object model: style attributes are refused by the policy.
    if (wrap && svg) svg.style.maxWidth = wrap.dataset.graphWidth + "px";
  }

  // --- previews ---------------------------------------------------------------------------

  function draftJob() {
    var context = document.getElementById("id_default_context");
    var settings = {};
    try {
      settings = JSON.parse(document.getElementById("id_config").value || "{}");
    } catch (error) {
      settings = {};
    }
    return {
      name: document.getElementById("id_name").value,
      default_context: context && context.value ? context.options[context.selectedIndex].text : null,
      config: settings,
      components: cards()
        .filter(function (card) {
          return !removed(card) && field(card, "name").value.trim();
        })
        .map(function (card) {
          return {
            name: field(card, "name").value.trim(),
            type: field(card, "type").value,
            inputs: selected(field(card, "inputs")),
            config: rawConfig(card) || {},
          };
        }),
    };
  }

  // Puts a preview's 400 next to the components and fields it names.
  function placeErrors(details) {
    document.querySelectorAll('[data-error-source="preview"]').forEach(function (node) {
      node.remove();
    });
    Object.keys(details || {}).forEach(function (path) {
      var parts = path.split(".");
      if (parts[0] !== "components" || parts[2] !== "config" || !parts[3]) return;
      cards().forEach(function (card) {
        if (field(card, "name").value.trim() !== parts[1]) return;
        var box = card.querySelector('[data-config-field="' + parts[3] + '"]');
        if (box) showFieldError(box, parts[3], details[path].join(" "), "preview");
      });
    });
  }

  function preview(card) {
    var output = card.querySelector("[data-preview-output]");
    var limit = Number(card.querySelector("[data-preview-limit]").value) || 20;
    var payload = { job: draftJob(), component: field(card, "name").value.trim(), limit: limit };
    window.etlPreview.run(graph.dataset.previewUrl, payload, csrfToken, output).then(function (result) {
      placeErrors(result.ok ? {} : result.body.error && result.body.error.details);
    });
  }

  // --- wiring -------------------------------------------------------------------------------

  function setUp(card) {
    if (card.dataset.editorReady) return;
    card.dataset.editorReady = "true";
    var holder = card.querySelector("[data-config-holder]");
    var raw = card.querySelector("[data-raw-json]");
    showSummary(card);
    holder.addEventListener("input", function () {
      writeConfig(card);
    });
    holder.addEventListener("change", function () {
      writeConfig(card);
    });
    holder.addEventListener("click", function (event) {
      var add = event.target.closest("[data-add-row]");
      var remove = event.target.closest("[data-remove-row]");
      if (add) {
        var rows = add.parentNode.querySelectorAll(".map-row");
        var row = rows[rows.length - 1].cloneNode(true);
        row.querySelectorAll("input").forEach(function (input) {
          input.value = "";
          input.removeAttribute("id");
        });
        add.parentNode.insertBefore(row, add);
        row.querySelector("input").focus();
      } else if (remove) {
        var map = remove.closest(".config-map");
        if (map.querySelectorAll(".map-row").length > 1) remove.closest(".map-row").remove();
        else remove.closest(".map-row").querySelectorAll("input").forEach(function (input) {
          input.value = "";
        });
        writeConfig(card);
      }
    });
    raw.addEventListener("toggle", function () {
      holder.classList.toggle("is-disabled", raw.open);
      holder.querySelectorAll("input, select, textarea, button").forEach(function (input) {
        input.disabled = raw.open;
      });
      if (raw.open) return;
      var config = rawConfig(card);
      if (config === null) {
        raw.open = true;
        showFieldError(raw, "config", "This is not a JSON object yet; fix it to go back to the form.", "raw");
        return;
      }
      showFieldError(raw, "config", "", "raw");
      loadForm(card, config, false);
    });
    if (raw.open) holder.classList.add("is-disabled");
    field(card, "type").addEventListener("change", function () {
      showSummary(card);
      loadForm(card, rawConfig(card) || {}, true).then(function () {
        refreshInputs();
        redraw();
      });
    });
    field(card, "name").addEventListener("input", function () {
      refreshInputs();
      redraw();
    });
    field(card, "inputs").addEventListener("change", redraw);
    var remove = field(card, "DELETE");
    if (remove) remove.addEventListener("change", redraw);
    card.querySelector("[data-preview]").addEventListener("click", function () {
      preview(card);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    graph = document.getElementById("component-graph");
    group = document.getElementById("components-group");
    if (!graph || !group) return;
    csrfToken = document.querySelector("#job_form input[name=csrfmiddlewaretoken]").value;
    ports = JSON.parse(graph.dataset.ports || "{}");
    cards().forEach(setUp);
    refreshInputs();
    // From the form as it stands (after a refused save, the submitted components).
    if (cards().length) redraw();
    document.addEventListener("formset:added", function (event) {
      if (event.detail.formsetName !== "components") return;
      var position = field(event.target, "position");
      // A new card goes last.
      if (position) position.value = cards().length - 1;
      setUp(event.target);
      refreshInputs();
      redraw();
    });
    document.addEventListener("formset:removed", function (event) {
      if (event.detail.formsetName !== "components") return;
      refreshInputs();
      redraw();
    });
  });
})();
