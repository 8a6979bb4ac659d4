/* Live updates for running executions, by polling the JSON API with the
   page's session (no library, no build step).

   Every element with `data-live-execution` (data-job, data-execution,
   data-state) gets its state badge, progress bar, row counts and control
   buttons refreshed. An element that also has `data-detail` (the execution
   page) follows the per-component counters, the log tail and the timeline,
   and reloads the page once the run ends so errors and rejects show, plus
   the throughput chart (a server-rendered fragment, swapped in every few
   seconds). Numbers are written as the server writes them
   (execution/templatetags/run_display.py): thousands separators, human
   durations, "—" for the rate of a component busy under 0.1 s. */
(function () {
  "use strict";

  var POLL_MS = 1000;
  var CHART_EVERY = 3; // polls between two redraws of the throughput chart
  var FINISHED = ["stopped", "succeeded", "failed"];
  var MIN_RATE_SECONDS = 0.1;

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(
      function (response) {
        if (!response.ok) throw new Error(url + " answered " + response.status);
        return response.json();
      }
    );
  }

  function field(root, name) {
    return root.querySelector('[data-field="' + name + '"]');
  }

  function setText(root, name, value) {
    var element = field(root, name);
    if (element) element.textContent = value === null || value === undefined ? "—" : String(value);
  }

  function thousands(value) {
    if (typeof value !== "number") return value;
    var whole = value === Math.round(value);
    return value.toLocaleString("en-US", { minimumFractionDigits: whole ? 0 : 1, maximumFractionDigits: whole ? 0 : 1 });
  }

  function pad(number) {
    return (number < 10 ? "0" : "") + number;
  }

  // < 0.1 s, 4.2 s, 42 s, 3 min 05 s, 2 h 03 min, 1 d 4 h (charts.human_duration).
  function duration(value) {
    if (typeof value !== "number") return null;
    var s = Math.max(0, value);
    if (s === 0) return "0 s";
    if (s < 0.1) return "< 0.1 s";
    if (s < 10) return s.toFixed(1) + " s";
    if (s < 60) return Math.round(s) + " s";
    var whole = Math.round(s);
    if (whole < 3600) return Math.floor(whole / 60) + " min " + pad(whole % 60) + " s";
    if (whole < 86400) return Math.floor(whole / 3600) + " h " + pad(Math.floor((whole % 3600) / 60)) + " min";
    return Math.floor(whole / 86400) + " d " + Math.floor((whole % 86400) / 3600) + " h";
  }

  function rate(value, busySeconds) {
    if (typeof value !== "number" || (busySeconds || 0) < MIN_RATE_SECONDS) return null;
    return thousands(value >= 100 ? Math.round(value) : value);
  }

  // The server writes times in UTC ("Y-m-d H:i:s T"); so does this.
  function timestamp(iso) {
    return iso ? new Date(iso).toISOString().slice(0, 19).replace("T", " ") + " UTC" : null;
  }

  function cell(row, text, numeric) {
    var td = document.createElement("td");
    if (numeric) td.className = "num";
    td.textContent = text === null || text === undefined ? "—" : String(text);
    row.appendChild(td);
  }

  function clock(iso) {
    var time = document.createElement("time");
    time.dateTime = iso;
    time.textContent = new Date(iso).toTimeString().slice(0, 8);
    return time;
  }

  function LiveExecution(root) {
    this.root = root;
    this.job = root.dataset.job;
    this.id = root.dataset.execution;
    this.state = root.dataset.state;
    this.detail = root.hasAttribute("data-detail");
    this.lastLog = Number(root.dataset.lastLog || 0);
    this.base = "/api/v1/jobs/" + this.job + "/executions/" + this.id + "/";
  }

  LiveExecution.prototype.start = function () {
    if (FINISHED.indexOf(this.state) !== -1) return;
    this.schedule();
  };

  LiveExecution.prototype.schedule = function () {
    var self = this;
    window.setTimeout(function () {
      self.tick().then(
        function (finished) {
          if (!finished) self.schedule();
        },
        function () {
          self.schedule();
        }
      );
    }, POLL_MS);
  };

  // One round of polling; resolves to true once the run has ended.
  LiveExecution.prototype.tick = function () {
    var self = this;
    var work = [getJSON("/api/v1/jobs/" + this.job + "/progress?execution=" + this.id).then(function (p) {
      self.showProgress(p);
      return p.state;
    })];
    if (this.detail) {
      work.push(getJSON(this.base + "metrics").then(function (m) { self.showCounters(m.components); }));
      work.push(this.followLogs());
      this.polls = (this.polls || 0) + 1;
      if (this.polls % CHART_EVERY === 0) work.push(this.showThroughput());
    }
    return Promise.all(work).then(function (results) {
      var state = results[0];
      var changed = state !== self.state;
      self.state = state;
      var finished = FINISHED.indexOf(state) !== -1;
      if (changed) self.showState(state);
      if (!self.detail) return finished;
      if (finished) {
        window.location.reload();
        return true;
      }
      return changed ? self.showTimeline().then(function () { return false; }) : false;
    });
  };

  LiveExecution.prototype.showProgress = function (p) {
    var bar = field(this.root, "progress");
    if (bar) {
      if (p.percent === null || p.percent === undefined) bar.removeAttribute("value");
      else bar.value = Math.round(p.percent);
    }
    setText(this.root, "percent", p.percent === null || p.percent === undefined ? "–" : Math.round(p.percent) + "%");
    setText(this.root, "rows_read", thousands(p.rows_read));
    if (FINISHED.indexOf(p.state) === -1) setText(this.root, "rows_written", thousands(p.rows_written));
    setText(this.root, "rows_rejected", thousands(p.rows_rejected));
    setText(this.root, "rows_per_second", rate(p.rows_per_second, p.elapsed_seconds));
    setText(this.root, "elapsed_seconds", duration(p.elapsed_seconds));
    setText(this.root, "eta_seconds", duration(p.eta_seconds));
    setText(this.root, "paused_seconds", duration(p.paused_seconds));
    var note = field(this.root, "paused_note");
    if (note) note.hidden = !p.paused_seconds;
    if (p.started_at) setText(this.root, "started_at", timestamp(p.started_at));
    if (p.finished_at) setText(this.root, "finished_at", timestamp(p.finished_at));
    // "Execution #N ... is queued." said what was true when the page loaded.
    if (p.state !== "queued") {
      document.querySelectorAll(".messages .run-queued").forEach(function (message) {
        var list = message.parentNode;
        list.removeChild(message);
        if (!list.children.length) list.parentNode.removeChild(list);
      });
    }
  };

  LiveExecution.prototype.showState = function (state) {
    this.root.dataset.state = state;
    this.root.querySelectorAll('[data-field="state"]').forEach(function (badge) {
      badge.textContent = state;
      badge.className = "badge state-" + state;
    });
    // Only the buttons that apply to the new state stay reachable.
    this.root.querySelectorAll("[data-when]").forEach(function (button) {
      button.hidden = button.dataset.when.split(" ").indexOf(state) === -1;
    });
  };

  LiveExecution.prototype.showCounters = function (components) {
    var body = field(this.root.ownerDocument, "counters");
    var names = Object.keys(components || {});
    if (!body || names.length === 0) return;
    body.textContent = "";
    names.forEach(function (name) {
      var c = components[name];
      var row = document.createElement("tr");
      cell(row, name);
      cell(row, thousands(c.rows_in), true);
      cell(row, thousands(c.rows_out), true);
      cell(row, thousands(c.rows_rejected), true);
      cell(row, thousands(c.batches), true);
      cell(row, duration(c.seconds), true);
      cell(row, rate(c.rows_per_second, c.seconds), true);
      body.appendChild(row);
    });
  };

  // The chart and its table as the server draws them (same-origin HTML, no script in it).
  LiveExecution.prototype.showThroughput = function () {
    var box = document.querySelector('[data-field="throughput"][data-src]');
    if (!box) return Promise.resolve();
    return fetch(box.dataset.src, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) return;
      return response.text().then(function (html) {
        var table = box.querySelector("details");
        var open = table && table.open;
        box.innerHTML = html;
        if (open && box.querySelector("details")) box.querySelector("details").open = true;
      });
    });
  };

  // Append new log lines; keep following the end unless the reader scrolled up.
  LiveExecution.prototype.followLogs = function () {
    var self = this;
    var list = field(document, "logs");
    var box = field(document, "log-box");
    if (!list) return Promise.resolve();
    return getJSON(this.base + "logs?page_size=500&after=" + this.lastLog).then(function (page) {
      var atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 24;
      page.results.forEach(function (line) {
        var item = document.createElement("li");
        item.className = "lvl-" + line.level;
        item.appendChild(clock(line.created_at));
        var text = " " + line.level.toUpperCase() + (line.component ? " [" + line.component + "]" : "");
        item.appendChild(document.createTextNode(text + " " + line.message));
        list.appendChild(item);
      });
      self.lastLog = page.last_id;
      if (page.results.length) {
        var empty = field(document, "no-logs");
        if (empty) empty.hidden = true;
        if (atEnd) box.scrollTop = box.scrollHeight;
      }
      if (page.more) return self.followLogs();
    });
  };

  LiveExecution.prototype.showTimeline = function () {
    var list = field(document, "timeline");
    if (!list) return Promise.resolve();
    var url = "/api/v1/jobs/" + this.job + "/timeline?page_size=500&execution=" + this.id;
    return getJSON(url).then(function (page) {
      list.textContent = "";
      page.results.forEach(function (event) {
        var item = document.createElement("li");
        item.appendChild(clock(event.created_at));
        var what = document.createElement("strong");
        what.textContent = event.to_state
          ? (event.from_state ? event.from_state + " → " : "") + event.to_state
          : "asked to " + event.action;
        item.appendChild(document.createTextNode(" "));
        item.appendChild(what);
        var who = document.createElement("span");
        who.className = "muted small";
        who.textContent = " by " + event.by;
        item.appendChild(who);
        if (event.message) item.appendChild(document.createTextNode(" — " + event.message));
        list.appendChild(item);
      });
    });
  };

  document.querySelectorAll("[data-live-execution]").forEach(function (root) {
    new LiveExecution(root).start();
  });

  // The dashboard: when runs start or end anywhere, reload to list them.
  var activeBox = document.querySelector("[data-active-total]");
  if (activeBox) {
    var shown = Number(activeBox.getAttribute("data-active-total"));
    window.setInterval(function () {
      getJSON("/api/v1/metrics/executions?window=1h").then(function (metrics) {
        var now = Object.keys(metrics.now).reduce(function (sum, state) { return sum + metrics.now[state]; }, 0);
        if (now !== shown) window.location.reload();
      }, function () {});
    }, 5000);
  }
  var box = field(document, "log-box");
  if (box) box.scrollTop = box.scrollHeight;
})();
