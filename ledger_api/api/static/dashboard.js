// The membership health dashboard: reads /v1/stats/* with the key the user gives (kept in
// sessionStorage for this tab only, sent as a Bearer token, never put in a URL) and draws it.
"use strict";

(function () {
  const KEY = "ledger.dashboard.apiKey";
  const TIER_COLORS = ["#b0b7c3", "#9aa5b1", "#e0b100", "#3fa7d6"];
  const PALETTE = ["#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477"];
  const charts = {};
  const $ = (id) => document.getElementById(id);

  const fmt = new Intl.NumberFormat("en-US");
  const usd = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
  const pct = (rate) => (rate === null || rate === undefined ? "n/a" : (rate * 100).toFixed(1) + " %");
  const money = (microUsd) => usd.format(Number(microUsd) / 1e6);
  const brandName = (id) => (id === null || id === undefined ? "admin" : "Brand " + id);

  function setState(state) {
    document.body.dataset.state = state;
    if (state === "ready") {
      performance.mark("dashboard-ready");
    }
  }

  function say(text, isError) {
    const message = $("message");
    message.textContent = text || "";
    message.className = isError ? "error" : "";
  }

  async function getJson(path, key) {
    const response = await fetch(path, { headers: { Authorization: "Bearer " + key, Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error((body.error && body.error.message) || response.statusText);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  function draw(id, config) {
    if (charts[id]) {
      charts[id].destroy();
    }
    config.options = Object.assign({ animation: false, maintainAspectRatio: false, responsive: true }, config.options || {});
    charts[id] = new Chart($(id), config);
  }

  function fillRows(tableId, rows) {
    const body = $(tableId).querySelector("tbody");
    body.replaceChildren();
    for (const cells of rows) {
      const tr = document.createElement("tr");
      for (const cell of cells) {
        const td = document.createElement("td");
        td.textContent = cell;
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
  }

  function showOverview(o) {
    $("scope").textContent = o.scope === "alliance" ? "Whole alliance" : "Brand " + (o.brands[0] ? o.brands[0].brand_id : "");
    $("as-of").textContent = "as of block " + o.as_of.block + " (" + new Date(o.as_of.timestamp).toISOString().slice(0, 16).replace("T", " ") + " UTC)";
    const t = o.totals;
    $("kpi-members").textContent = fmt.format(o.activity.members);
    $("kpi-active").textContent = fmt.format(o.activity.active_30d) + " / " + fmt.format(o.activity.active_90d);
    $("kpi-liability").textContent = money(t.outstanding_value_micro_usd);
    $("kpi-liability-points").textContent = fmt.format(t.outstanding) + " points";
    $("kpi-usage").textContent = pct(t.usage_rate);
    $("kpi-expiry").textContent = pct(t.expiry_rate);
    $("kpi-expiring").textContent = fmt.format(o.activity.expiring_30d_points) + " points";
    $("kpi-expiring-members").textContent = fmt.format(o.activity.expiring_30d_members) + " members";

    draw("chart-tiers", {
      type: "doughnut",
      data: {
        labels: o.tiers.map((x) => x.name),
        datasets: [{ data: o.tiers.map((x) => x.members), backgroundColor: TIER_COLORS }],
      },
      options: { plugins: { legend: { position: "right" } } },
    });
    fillRows("tier-table", o.tiers.map((x) => [x.name, fmt.format(x.members), fmt.format(x.in_grace)]));

    draw("chart-movements", {
      type: "bar",
      data: {
        labels: o.tier_movements.map((m) => m.quarter),
        datasets: [
          { label: "Upgrades", data: o.tier_movements.map((m) => m.upgrades), backgroundColor: "#109618" },
          { label: "Entered grace", data: o.tier_movements.map((m) => m.grace_started), backgroundColor: "#ff9900" },
          { label: "Downgrades", data: o.tier_movements.map((m) => m.downgrades), backgroundColor: "#dc3912" },
        ],
      },
    });

    const labels = o.brands.map((b) => brandName(b.brand_id));
    draw("chart-brands", {
      type: "bar",
      data: {
        labels: labels,
        datasets: [
          { label: "Redeemed", data: o.brands.map((b) => b.redeemed), backgroundColor: "#3366cc" },
          { label: "Expired", data: o.brands.map((b) => b.expired), backgroundColor: "#b0b7c3" },
          { label: "Reversed", data: o.brands.map((b) => b.reversed), backgroundColor: "#990099" },
          { label: "Outstanding", data: o.brands.map((b) => b.outstanding), backgroundColor: "#ff9900" },
        ],
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: "points issued" } } } },
    });
    fillRows(
      "brand-table",
      o.brands.concat(o.brands.length > 1 ? [t] : []).map((b) => [
        b.brand_id === 0 ? "All" : brandName(b.brand_id),
        fmt.format(b.issued),
        fmt.format(b.redeemed),
        fmt.format(b.expired),
        fmt.format(b.reversed),
        fmt.format(b.outstanding),
        money(b.outstanding_value_micro_usd),
        pct(b.usage_rate),
        fmt.format(b.expiring_30d),
      ])
    );

    draw("chart-badges", {
      type: "bar",
      data: {
        labels: o.badges.map((b) => "#" + b.type_id + " " + b.kind + " (" + brandName(b.brand_id) + ")"),
        datasets: [
          { label: "Issued", data: o.badges.map((b) => b.issued), backgroundColor: "#0099c6" },
          { label: "Benefits redeemed", data: o.badges.map((b) => b.benefits_redeemed), backgroundColor: "#dd4477" },
        ],
      },
    });
  }

  function showSeries(s) {
    draw("chart-rates", {
      type: "line",
      data: {
        labels: s.months.map((m) => m.month),
        datasets: [
          { label: "Usage rate (redeemed / issued)", data: s.months.map((m) => m.usage_rate), borderColor: "#3366cc" },
          { label: "Expiry rate (expired / issued)", data: s.months.map((m) => m.expiry_rate), borderColor: "#dc3912" },
        ],
      },
      options: { scales: { y: { min: 0, ticks: { callback: (v) => Math.round(v * 100) + " %" } } } },
    });
    draw("chart-earns", {
      type: "bar",
      data: {
        labels: s.days.map((d) => d.day.slice(5)),
        datasets: [{ label: "Points earned", data: s.days.map((d) => d.points), backgroundColor: "#109618" }],
      },
    });
  }

  function showFlows(f) {
    const cell = new Map(f.flows.map((x) => [x.brand_id + ":" + x.at_brand_id, x]));
    const max = Math.max(1, ...f.flows.map((x) => x.points));
    const table = $("flow-matrix");
    table.replaceChildren();
    const head = document.createElement("tr");
    head.appendChild(document.createElement("th"));
    for (const at of f.brands) {
      const th = document.createElement("th");
      th.textContent = "at " + brandName(at);
      head.appendChild(th);
    }
    table.appendChild(head);
    for (const issuer of f.brands) {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.textContent = brandName(issuer);
      tr.appendChild(th);
      for (const at of f.brands) {
        const td = document.createElement("td");
        const x = cell.get(issuer + ":" + at);
        const points = x ? x.points : 0;
        td.textContent = fmt.format(points);
        td.title = x ? money(x.value_micro_usd) : "";
        td.style.setProperty("--heat", String(points / max));
        tr.appendChild(td);
      }
      table.appendChild(tr);
    }
    draw("chart-positions", {
      type: "bar",
      data: {
        labels: f.positions.map((p) => brandName(p.debtor_brand_id) + " owes " + brandName(p.creditor_brand_id)),
        datasets: [{ label: "USD", data: f.positions.map((p) => p.amount_micro_usd / 1e6), backgroundColor: "#ff9900" }],
      },
      options: { indexAxis: "y" },
    });
    const deposits = (f.deposits || []).map((d) => brandName(d.brand_id) + " " + Number(d.deposit_units).toLocaleString());
    $("settled-total").textContent =
      "Settled so far: " + money(f.settled_total_micro_usd) +
      (deposits.length ? " · vault deposits (token units): " + deposits.join(", ") : "");
    fillRows(
      "settlement-table",
      f.settlements.map((x) => [x.at.slice(0, 16).replace("T", " "), brandName(x.debtor_brand_id), brandName(x.creditor_brand_id), money(x.value_micro_usd)])
    );
  }

  function showGateway(g) {
    $("kpi-queue").textContent = fmt.format(g.queue_depth) + " queued, " + fmt.format(g.submitted) + " sent";
    $("kpi-sender-lag").textContent = g.sender_lag_s.toFixed(1) + " s";
    $("kpi-index-lag").textContent = g.index_lag_blocks === null ? "chain unreachable" : fmt.format(g.index_lag_blocks) + " blocks";
    fillRows(
      "signer-table",
      g.signers.map((s) => [
        s.address.slice(0, 10) + "...",
        brandName(s.brand_id),
        s.balance_wei === null ? "unknown" : (Number(s.balance_wei) / 1e18).toFixed(4),
        fmt.format(s.in_flight),
      ])
    );
  }

  async function load() {
    const key = sessionStorage.getItem(KEY);
    if (!key) {
      $("board").hidden = true;
      $("refresh").hidden = $("forget").hidden = true;
      say("Enter an admin key (the whole alliance) or a brand key (its own brand).");
      setState("needs-key");
      return;
    }
    setState("loading");
    say("Loading...");
    try {
      const [overview, series, flows, gateway] = await Promise.all(
        ["/v1/stats/overview", "/v1/stats/series?days=30", "/v1/stats/flows", "/v1/stats/gateway"].map((p) => getJson(p, key))
      );
      $("board").hidden = false;
      $("refresh").hidden = $("forget").hidden = false;
      showOverview(overview);
      showSeries(series);
      showFlows(flows);
      showGateway(gateway);
      say("");
      setState("ready");
    } catch (error) {
      if (error.status === 401) {
        sessionStorage.removeItem(KEY);
        say("That key was refused. Enter another one.", true);
        setState("needs-key");
      } else {
        say("Could not load the figures: " + error.message, true);
        setState("failed");
      }
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("key-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = $("api-key");
      sessionStorage.setItem(KEY, input.value.trim());
      input.value = "";
      load();
    });
    $("refresh").addEventListener("click", load);
    $("forget").addEventListener("click", () => {
      sessionStorage.removeItem(KEY);
      Object.values(charts).forEach((c) => c.destroy());
      load();
    });
    Chart.defaults.font.family = "system-ui, sans-serif";
    load();
  });
})();
