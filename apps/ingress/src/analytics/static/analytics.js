// The recruiter's analytics page: a plain ES module over GET /api/analytics/summary (and the CSV
// exports), drawn with Chart.js (vendored, served by the ingress at /analytics/vendor/). Same
// sign-in as the inbox: the JWT from the URL fragment or the inbox's tab (sessionStorage).
/* global Chart */

const TOKEN_KEY = "linkojob.inbox.token";
const CLIENT_KEY = "linkojob.inbox.clientId";
/** Meta bills service messages from this day: marked on the spend chart. */
const SERVICE_BILLING_START = "2026-10-01";
const DAY_MS = 86_400_000;
const $ = (id) => document.getElementById(id);
const mad = new Intl.NumberFormat("fr-MA", { style: "currency", currency: "MAD" });
const num = new Intl.NumberFormat("fr-FR");
const WEEKDAYS_FR = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."];
const FUNNEL_STEPS = [
  ["sent", "Envoyés"],
  ["delivered", "Délivrés"],
  ["read", "Lus"],
  ["replied24h", "Réponse < 24 h"],
  ["replied72h", "Réponse < 72 h"],
];
const PALETTE = ["#0b6e4f", "#1a73e8", "#c2410c", "#7c3aed", "#b91c1c", "#0e7490", "#a16207", "#4d7c0f"];
const CATEGORY_FR = {
  utility: "utilitaire",
  marketing: "marketing",
  authentication: "authentification",
  authentication_international: "authentification (internationale)",
  service: "service",
  marketing_lite: "marketing lite",
};

const state = { token: null, clientId: null, charts: {} };

function readToken() {
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get("token")) {
    sessionStorage.setItem(TOKEN_KEY, hash.get("token"));
    if (hash.get("clientId")) sessionStorage.setItem(CLIENT_KEY, hash.get("clientId"));
    else sessionStorage.removeItem(CLIENT_KEY);
    // Out of the address bar, history and bookmarks.
    history.replaceState(null, "", location.pathname + location.search);
  }
  state.token = sessionStorage.getItem(TOKEN_KEY);
  state.clientId = sessionStorage.getItem(CLIENT_KEY);
}

function query(extra = {}) {
  const q = new URLSearchParams({
    from: $("from").value,
    to: $("to").value,
    granularity: $("granularity").value,
    ...extra,
  });
  if (state.clientId) q.set("clientId", state.clientId);
  return q;
}

async function call(path, accept = "application/json") {
  const res = await fetch(`${path}?${query()}`, { headers: { authorization: `Bearer ${state.token}`, accept } });
  if (res.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    throw Object.assign(
      new Error("Session expirée ou jeton invalide : reconnectez-vous depuis la boîte de réception."),
      { login: true },
    );
  }
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  }
  return accept === "text/csv" ? res.blob() : res.json();
}

/** Every day from..to (the spend chart shows each, so the 1 October mark has its place). */
function daysBetween(from, to) {
  const out = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += DAY_MS)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/** The period of a day as the API names it: the day, its ISO week's Monday, or its month. */
function periodOf(day, granularity) {
  if (granularity === "day") return day;
  if (granularity === "month") return day.slice(0, 7);
  const t = Date.parse(`${day}T00:00:00Z`);
  return new Date(t - ((new Date(t).getUTCDay() + 6) % 7) * DAY_MS).toISOString().slice(0, 10);
}

/** The spend chart's x labels: every period from..to, so that the 1 October mark has its place. */
function periodsBetween(from, to, granularity) {
  return [...new Set(daysBetween(from, to).map((d) => periodOf(d, granularity)))];
}

/** A vertical line at one x label (Chart.js plugin). */
const markDay = {
  id: "markDay",
  afterDatasetsDraw(chart, _args, options) {
    const labels = chart.data.labels ?? [];
    const i = labels.indexOf(options.day);
    if (i < 0) return;
    const x = chart.scales.x.getPixelForValue(i);
    const { top, bottom } = chart.chartArea;
    const ctx = chart.ctx;
    ctx.save();
    ctx.strokeStyle = "#b3261e";
    ctx.setLineDash([4, 4]);
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, bottom);
    ctx.stroke();
    ctx.fillStyle = "#b3261e";
    ctx.font = "12px system-ui";
    ctx.fillText(options.text, x + 4, top + 12);
    ctx.restore();
  },
};

function draw(id, config) {
  state.charts[id]?.destroy();
  state.charts[id] = new Chart($(id), config);
}

const templateLabel = (t) => `${t.name} (${t.language})`;

/** The chart datasets, from the API's answer only (the browser test reads them back). */
function chartData(summary, days) {
  const templates = summary.templates;
  const funnel = {
    labels: FUNNEL_STEPS.map(([, label]) => label),
    datasets: templates.map((t, i) => ({
      label: templateLabel(t),
      data: FUNNEL_STEPS.map(([key]) => t[key]),
      backgroundColor: PALETTE[i % PALETTE.length],
    })),
  };
  const bounds = (templates[0]?.replyTimeHistogram ?? []).filter((b) => b.upToMinutes !== null);
  const replies = {
    labels: bounds.map((b) => (b.upToMinutes < 60 ? `${b.upToMinutes} min` : `${b.upToMinutes / 60} h`)),
    datasets: templates.map((t, i) => {
      let cumulated = 0;
      return {
        label: templateLabel(t),
        data: bounds.map((_, j) => {
          cumulated += t.replyTimeHistogram[j].count;
          return t.delivered ? Math.round((cumulated / t.delivered) * 1000) / 10 : 0;
        }),
        borderColor: PALETTE[i % PALETTE.length],
        backgroundColor: PALETTE[i % PALETTE.length],
        tension: 0,
      };
    }),
  };
  const byDay = new Map(summary.costs.byPeriod.map((p) => [p.period, p]));
  const categories = [...new Set(summary.costs.byPeriod.flatMap((p) => Object.keys(p.billed)))].sort();
  const spend = {
    labels: days,
    datasets: [
      ...categories.map((c, i) => ({
        type: "bar",
        label: `facturé · ${CATEGORY_FR[c] ?? c}`,
        category: c,
        data: days.map((d) => byDay.get(d)?.billed[c]?.cost ?? 0),
        backgroundColor: PALETTE[i % PALETTE.length],
        stack: "billed",
      })),
      {
        type: "line",
        label: "prévu (total)",
        data: days.map(
          (d) => Math.round(Object.values(byDay.get(d)?.planned ?? {}).reduce((n, v) => n + v.cost, 0) * 100) / 100,
        ),
        borderColor: "#1c2430",
        backgroundColor: "#1c2430",
        pointRadius: 0,
      },
    ],
  };
  const max = Math.max(1, ...summary.replyHours.counts.flat());
  const hours = {
    datasets: [
      {
        label: "messages des candidats",
        data: summary.replyHours.counts.flatMap((row, weekday) => row.map((v, hour) => ({ x: hour, y: weekday, v }))),
        backgroundColor: (ctx) => `rgba(11, 110, 79, ${0.08 + 0.92 * ((ctx.raw?.v ?? 0) / max)})`,
        pointStyle: "rect",
        pointRadius: 11,
        pointHoverRadius: 12,
      },
    ],
  };
  return { funnel, replies, spend, hours };
}

function render(summary) {
  const c = summary.costs;
  const money = (v) => (v === null || v === undefined ? "–" : mad.format(v));
  $("kpi-billed").textContent = money(c.billed.total);
  $("kpi-planned").textContent = `prévu : ${money(c.planned.total)}`;
  $("kpi-reply").textContent = money(c.costPerReply);
  $("kpi-application").textContent = money(c.costPerApplication);
  $("kpi-interview").textContent = money(c.costPerInterview);
  $("kpi-hire").textContent = money(c.costPerHire);
  const minutes = (v) =>
    v === null ? "–" : v < 120 ? `${num.format(v)} min` : `${num.format(Math.round(v / 6) / 10)} h`;
  $("kpi-response").textContent = `médiane ${minutes(summary.responses.medianMinutes)}`;
  $("kpi-response-p90").textContent = `p90 ${minutes(summary.responses.p90Minutes)}`;
  $("kpi-unanswered").textContent = num.format(summary.responses.windowsUnanswered);

  const data = chartData(summary, periodsBetween(summary.from, summary.to, summary.granularity));
  const common = { responsive: true, maintainAspectRatio: false, animation: false, locale: "fr-FR" };
  draw("chart-funnel", { type: "bar", data: data.funnel, options: common });
  draw("chart-replies", {
    type: "line",
    data: data.replies,
    options: {
      ...common,
      scales: { y: { min: 0, max: 100, title: { display: true, text: "% des messages délivrés" } } },
    },
  });
  draw("chart-spend", {
    type: "bar",
    data: data.spend,
    options: {
      ...common,
      scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: "MAD" } } },
      plugins: { markDay: { day: periodOf(SERVICE_BILLING_START, summary.granularity), text: "service facturé" } },
    },
    plugins: [markDay],
  });
  draw("chart-hours", {
    type: "scatter",
    data: data.hours,
    options: {
      ...common,
      scales: {
        x: {
          min: -0.5,
          max: 23.5,
          afterBuildTicks: (axis) => (axis.ticks = Array.from({ length: 24 }, (_, value) => ({ value }))),
          ticks: { callback: (v) => `${v} h` },
          title: { display: true, text: "heure locale du candidat" },
        },
        y: {
          min: -0.5,
          max: 6.5,
          reverse: true,
          afterBuildTicks: (axis) => (axis.ticks = Array.from({ length: 7 }, (_, value) => ({ value }))),
          ticks: { callback: (v) => WEEKDAYS_FR[v] ?? "" },
        },
      },
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (ctx) => `${WEEKDAYS_FR[ctx.raw.y]} ${ctx.raw.x} h : ${ctx.raw.v}` } },
      },
    },
  });
}

async function load() {
  $("status").textContent = "Chargement…";
  try {
    const summary = await call("/api/analytics/summary");
    $("tenant-name").textContent = summary.client?.companyName ?? summary.clientId;
    render(summary);
    document.body.dataset.loaded = `${summary.clientId}|${summary.from}|${summary.to}`;
    $("status").textContent = `Période du ${summary.from} au ${summary.to} (jours UTC).`;
  } catch (err) {
    if (err.login) return showLogin(err.message);
    $("status").textContent = `Erreur : ${err.message}`;
  }
}

async function exportCsv(name) {
  try {
    const blob = await call(`/api/analytics/${name}`, "text/csv");
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `${name}-${$("from").value}-${$("to").value}.csv`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  } catch (err) {
    $("status").textContent = `Erreur : ${err.message}`;
  }
}

function showLogin(message = "") {
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
}

function start() {
  readToken();
  if (!state.token) return showLogin();
  const params = new URLSearchParams(location.search);
  const today = new Date().toISOString().slice(0, 10);
  $("to").value = params.get("to") ?? today;
  $("from").value = params.get("from") ?? new Date(Date.parse($("to").value) - 89 * DAY_MS).toISOString().slice(0, 10);
  $("granularity").value = params.get("granularity") ?? "day";
  $("login").hidden = true;
  $("app").hidden = false;
  $("period").addEventListener("submit", (e) => {
    e.preventDefault();
    void load();
  });
  for (const b of document.querySelectorAll("[data-export]"))
    b.addEventListener("click", () => void exportCsv(b.dataset.export));
  // A new token in the fragment (another tenant's link opened in this tab): sign in with it.
  window.addEventListener("hashchange", () => {
    readToken();
    for (const chart of Object.values(state.charts)) chart.destroy();
    state.charts = {};
    delete document.body.dataset.loaded;
    void load();
  });
  void load();
}

start();
