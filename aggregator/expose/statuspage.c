#include "expose/statuspage.h"
#include "expose/learnprop.h"

#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/htmlstr.h"
#include "base/mem.h"
#include "base/netaddr.h"
#include "store/breaker.h"
#include "statsd.h"

#define STATUSPAGE_STR_(x) #x
#define STATUSPAGE_STR(x)  STATUSPAGE_STR_(x)

/* --- the page's fixed parts ------------------------------------------------------- */

static const char style[] =
    "<style>\n"
    "body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}\n"
    "header{background:#263238;color:#fff;padding:12px 24px}\n"
    "header h1{margin:0;font-size:20px}header p{margin:2px 0 0;color:#cfd8dc}\n"
    "main{padding:8px 24px 24px;max-width:1200px}\n"
    "section{background:#fff;border:1px solid #d8dde3;border-radius:4px;margin:16px 0;"
    "padding:8px 16px}\n"
    "h2{font-size:16px;margin:8px 0}\n"
    "table{border-collapse:collapse;width:100%}\n"
    "th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eceff1;"
    "vertical-align:top}\n"
    "th{font-weight:600;color:#455a64}\n"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    "tr.label td:first-child{padding-left:28px;color:#546e7a}\n"
    "code{font:12px/1.3 ui-monospace,monospace;word-break:break-all}\n"
    ".bar{display:inline-block;width:160px;height:10px;background:#eceff1;"
    "border:1px solid #cfd8dc;vertical-align:middle;margin-right:8px}\n"
    ".bar span{display:block;height:100%;background:#43a047}\n"
    ".bar.warn span{background:#fb8c00}.bar.full span{background:#e53935}\n"
    ".state-closed{color:#2e7d32}.state-open{color:#c62828;font-weight:600}"
    ".state-half_open{color:#ef6c00}\n"
    ".here{font-weight:600}.note{color:#546e7a}\n"
    "pre{background:#f6f7f9;padding:8px;overflow:auto;max-height:400px}\n"
    "</style>\n";

/*
 * With JavaScript on, the page fetches itself every STATUSPAGE_REFRESH_S and swaps in the
 * live part (the browser's own credentials for the origin go along), and shows the learn
 * proposal when /debug/learn answers 200. The fetched page is parsed, never run, and the
 * proposal is set as text.
 */
static const char script[] =
    "<script>\n"
    "(function(){\n"
    "document.documentElement.setAttribute('data-js','on');\n"
    "var learn=document.getElementById('learn');\n"
    "function showLearn(){\n"
    " fetch('/debug/learn?format=config',{credentials:'same-origin',cache:'no-store'})\n"
    " .then(function(r){if(r.status!==200)throw r.status;return r.text();})\n"
    " .then(function(t){learn.textContent=t;learn.setAttribute('data-state','available');})\n"
    " .catch(function(){learn.textContent='not available';"
    "learn.setAttribute('data-state','not-available');});\n"
    "}\n"
    "function refresh(){\n"
    " fetch(location.pathname+location.search,{credentials:'same-origin',cache:'no-store'})\n"
    " .then(function(r){if(r.status!==200)throw r.status;return r.text();})\n"
    " .then(function(t){\n"
    "  var d=new DOMParser().parseFromString(t,'text/html');\n"
    "  var n=d.getElementById('live'),o=document.getElementById('live');\n"
    "  if(n&&o)o.replaceWith(document.importNode(n,true));\n"
    " }).catch(function(){});\n"
    "}\n"
    "showLearn();\n"
    "setInterval(function(){refresh();showLearn();}," STATUSPAGE_STR(
        STATUSPAGE_REFRESH_S) "000);\n"
                              "})();\n"
                              "</script>\n";

/* --- pieces ---------------------------------------------------------------------- */

static void td_u64(struct buf *out, uint64_t v)
{
    buf_addf(out, "<td class=\"n\">%llu</td>", (unsigned long long)v);
}

static void td_text(struct buf *out, const char *s)
{
    buf_adds(out, "<td>");
    htmlstr_adds(out, s);
    buf_adds(out, "</td>");
}

void statuspage_bar(struct buf *out, uint64_t used, uint64_t cap)
{
    double pct;
    const char *cls;

    if (cap == 0) {
        buf_addf(out, "%llu <span class=\"note\">(no cap)</span>", (unsigned long long)used);
        return;
    }
    pct = 100.0 * (double)used / (double)cap;
    cls = used >= cap ? "bar full" : pct >= STATUSPAGE_WARN_PERCENT ? "bar warn" : "bar";
    buf_addf(out,
             "<span class=\"%s\" role=\"img\" aria-label=\"%.0f%%\">"
             "<span style=\"width:%.1f%%\"></span></span>%llu / %llu (%.0f%%)",
             cls, pct, pct > 100.0 ? 100.0 : pct, (unsigned long long)used, (unsigned long long)cap,
             pct);
}

/* A link to a path of this listener. */
static void link(struct buf *out, const char *href, const char *text)
{
    buf_adds(out, "<a href=\"");
    htmlstr_adds(out, href);
    buf_adds(out, "\">");
    htmlstr_adds(out, text);
    buf_adds(out, "</a>");
}

/* --- the landing part: the build and the endpoints --------------------------------- */

/* One row: the address (marked when it is this listener's), the path, what it serves. */
static void endpoint_row(struct buf *out, const struct statuspage_view *v, const char *addr,
                         const char *path, const char *what)
{
    int here = v->here != NULL && strcmp(addr, v->here) == 0;

    buf_addf(out, "<tr%s><td>", here ? " class=\"here\"" : "");
    htmlstr_adds(out, addr);
    buf_adds(out, here ? " (this listener)</td><td>" : "</td><td>");
    if (here)
        link(out, path, path);
    else
        htmlstr_adds(out, path);
    buf_adds(out, "</td>");
    td_text(out, what);
    buf_adds(out, "</tr>\n");
}

static void section_endpoints(struct buf *out, const struct statuspage_view *v)
{
    const struct selfmetrics *s = v->self;

    buf_adds(out, "<section id=\"endpoints\"><h2>Endpoints</h2>\n<table>"
                  "<tr><th>listener</th><th>path</th><th>what</th></tr>\n");
    for (size_t i = 0; i < s->nendpoints; i++) {
        const struct selfmetrics_endpoint *ep = &s->endpoints[i];
        struct buf what = BUF_INIT;

        /* No configured endpoint may be named "metrics": it is the default one. */
        if (strcmp(ep->name, "metrics") == 0) {
            buf_adds(&what, "metrics (metrics_listen, metrics_path)");
        } else {
            buf_adds(&what, "metrics: endpoint ");
            buf_adds(&what, ep->name);
        }
        endpoint_row(out, v, ep->address, ep->path, what.ptr);
        buf_release(&what);
    }
    if (s->debug_listen[0]) {
        endpoint_row(out, v, s->debug_listen, "/debug", "the JSON debug view (debug_listen)");
        endpoint_row(out, v, s->debug_listen, "/debug/learn", "the learn proposal");
        buf_adds(out, "<tr><td>");
        htmlstr_adds(out, s->debug_listen);
        buf_adds(out, "</td><td>/debug/snapshot</td><td>POST: write a state snapshot now</td>"
                      "</tr>\n");
    } else {
        buf_adds(out, "<tr><td colspan=\"3\" class=\"note\">/debug is off</td></tr>\n");
    }
    buf_adds(out, "<tr><td>every listener</td><td>/, /-/healthy, /-/ready</td>"
                  "<td>this page, the health checks</td></tr>\n</table></section>\n");
}

/* Where the live part is, when this request does not get it. */
static void section_landing(struct buf *out, const struct statuspage_view *v)
{
    const char *debug = v->self->debug_listen;

    buf_adds(out, "<section id=\"landing\"><h2>Live view</h2><p class=\"note\">");
    if (v->sign_in) {
        buf_adds(out, "The live view needs the credentials /debug takes: send them with the "
                      "request (a bearer token, or basic auth), or ");
        link(out, "/?login=1", "sign in");
        buf_adds(out, ".");
    } else if (debug[0]) {
        buf_adds(out, "The live view is served with /debug, on ");
        htmlstr_adds(out, debug);
        buf_adds(out, ".");
    } else {
        buf_adds(out, "No live view: /debug is off (debug_listen).");
    }
    buf_adds(out, "</p></section>\n");
}

/* --- the live part ----------------------------------------------------------------- */

static void section_daemon(struct buf *out, const struct selfmetrics *s)
{
    buf_adds(out, "<section id=\"daemon\"><h2>Daemon</h2><table>\n<tr><th>config file</th>");
    td_text(out, s->config_path);
    buf_addf(out, "</tr>\n<tr><th>uptime</th><td>%.0f s</td></tr>\n", s->now_unix - s->start_unix);
    buf_addf(out, "<tr><th>reloads</th><td>%llu succeeded, %llu failed",
             (unsigned long long)s->reloads_ok, (unsigned long long)s->reloads_failed);
    if (s->reload_error != NULL) {
        buf_adds(out, "; the last failed: ");
        htmlstr_adds(out, s->reload_error);
    }
    buf_adds(out, "</td></tr>\n</table></section>\n");
}

static void rate_row(struct buf *out, const char *what, double per_s, uint64_t total)
{
    buf_addf(out, "<tr><td>%s</td><td class=\"n\">%.1f</td>", what, per_s);
    td_u64(out, total);
    buf_adds(out, "</tr>\n");
}

static void section_ingest(struct buf *out, const struct statuspage_view *v)
{
    const struct selfmetrics *s = v->self;
    const struct statuspage_rate *r = v->rate;
    uint64_t rejected = intake_rejected_total(&s->lines);
    static const struct statuspage_rate none;

    if (r == NULL)
        r = &none;
    buf_addf(out,
             "<section id=\"ingest\"><h2>Ingest</h2>\n<p class=\"note\">Rates over the "
             "last %.1f s.</p>\n<table><tr><th>what</th><th>per second</th><th>total</th></tr>\n",
             r->window_s);
    rate_row(out, "datagrams", r->datagrams_per_s, s->datagrams);
    rate_row(out, "lines accepted", r->accepted_per_s, s->lines.accepted);
    rate_row(out, "lines rejected", r->rejected_per_s, rejected);
    buf_adds(out, "</table>\n<h2>Rejected lines by reason</h2>\n<table id=\"reasons\">"
                  "<tr><th>reason</th><th>lines</th></tr>\n");
    for (int i = STATSD_OK + 1; i < STATSD_REASON_MAX; i++) {
        if (s->lines.rejected[i] == 0)
            continue;
        buf_adds(out, "<tr>");
        td_text(out, statsd_reason_name(i));
        td_u64(out, s->lines.rejected[i]);
        buf_adds(out, "</tr>\n");
    }
    if (rejected == 0)
        buf_adds(out, "<tr><td colspan=\"2\" class=\"note\">none</td></tr>\n");
    buf_adds(out, "</table></section>\n");
}

struct fam_rank {
    size_t f;
    size_t series;
};

/* The most series first; ties in the registry's order. */
static int by_series(const void *a, const void *b)
{
    const struct fam_rank *x = a, *y = b;

    if (x->series != y->series)
        return x->series > y->series ? -1 : 1;
    return x->f < y->f ? -1 : x->f > y->f;
}

static void label_rows(struct buf *out, struct registry *reg, size_t f,
                       const struct config_family *cf)
{
    for (size_t l = 0; l < cf->nlabels; l++) {
        const struct config_label *cl = &cf->labels[l];

        buf_adds(out, "<tr class=\"label\"><td>");
        htmlstr_adds(out, cl->name);
        /* An enumerated label is bounded by its list: its values seen, and no bar. */
        if (cl->values != NULL) {
            buf_addf(out, "</td><td>label, enumerated</td><td>%zu of %zu values seen",
                     registry_label_values(reg, f, l), cl->nvalues);
        } else {
            buf_adds(out, "</td><td>label, capped</td><td>");
            statuspage_bar(out, registry_label_values(reg, f, l), cl->max_values);
        }
        buf_adds(out, "</td></tr>\n");
    }
}

static void section_series(struct buf *out, const struct statuspage_view *v)
{
    struct registry *reg = v->reg;
    size_t n = registry_nfamilies(reg), k = 0, shown;
    struct fam_rank *rank = mem_alloc((n ? n : 1) * sizeof(*rank));

    buf_adds(out, "<section id=\"series\"><h2>Series against the caps</h2>\n<p>all families "
                  "(max_series): ");
    statuspage_bar(out, registry_series_total(reg), registry_series_cap(reg));
    buf_adds(out, "</p>\n");
    for (size_t f = 0; f < n; f++)
        if (registry_family_config(reg, f) != NULL)
            rank[k++] = (struct fam_rank){ f, registry_family_series(reg, f) };
    qsort(rank, k, sizeof(*rank), by_series);
    shown = k < STATUSPAGE_MAX_FAMILIES ? k : STATUSPAGE_MAX_FAMILIES;
    buf_adds(out, "<table id=\"families\"><tr><th>family</th><th>type</th>"
                  "<th>series / cap, distinct values / cap</th></tr>\n");
    for (size_t i = 0; i < shown; i++) {
        const struct config_family *cf = registry_family_config(reg, rank[i].f);

        buf_adds(out, "<tr class=\"family\"><td><code>");
        htmlstr_adds(out, cf->name);
        buf_adds(out, "</code></td>");
        td_text(out, config_family_type_name(cf->type));
        buf_adds(out, "<td>");
        statuspage_bar(out, rank[i].series, registry_family_cap(reg, rank[i].f));
        buf_adds(out, "</td></tr>\n");
        label_rows(out, reg, rank[i].f, cf);
    }
    buf_adds(out, "</table>\n");
    if (k > shown)
        buf_addf(out,
                 "<p class=\"note\">%zu more families in <a href=\"/debug?section=families\">"
                 "/debug</a>.</p>\n",
                 k - shown);
    buf_adds(out, "</section>\n");
    free(rank);
}

/* Who sent a rejected line: the kernel's pid and uid, or the UDP source address. */
static void sender(struct buf *out, const struct rejects_entry *e)
{
    char src[NETADDR_TEXT_MAX];

    if (e->has_cred)
        buf_addf(out, "pid %ld, uid %lu", (long)e->pid, (unsigned long)e->uid);
    else if (e->has_src)
        htmlstr_adds(out, netaddr_format(&e->src.sa, src, sizeof(src)));
    else
        buf_adds(out, "unknown");
}

static void section_rejects(struct buf *out, const struct statuspage_view *v)
{
    size_t n = rejects_count(v->rejects),
           shown = n < STATUSPAGE_MAX_REJECTS ? n : STATUSPAGE_MAX_REJECTS;

    buf_adds(out, "<section id=\"rejects\"><h2>Recent rejects</h2>\n<table><tr><th>age</th>"
                  "<th>reason</th><th>line</th><th>sender</th></tr>\n");
    for (size_t i = 0; i < shown; i++) {
        const struct rejects_entry *e = rejects_get(v->rejects, i);
        double age = v->self->now_unix - e->time_unix;

        buf_addf(out, "<tr class=\"reject\"><td class=\"n\">%.0f s</td>", age > 0 ? age : 0.0);
        td_text(out, statsd_reason_name(e->reason));
        buf_adds(out, "<td><code>");
        htmlstr_add(out, e->line, e->len);
        if (e->len < e->orig_len)
            buf_addf(out, "</code> <span class=\"note\">(cut, %zu bytes)</span></td><td>",
                     e->orig_len);
        else
            buf_adds(out, "</code></td><td>");
        sender(out, e);
        buf_adds(out, "</td></tr>\n");
    }
    if (n == 0)
        buf_adds(out, "<tr><td colspan=\"4\" class=\"note\">none</td></tr>\n");
    buf_addf(out, "</table>\n<p class=\"note\">%llu rejected lines recorded; ",
             (unsigned long long)v->rejects->total);
    buf_adds(out, "more in <a href=\"/debug?section=rejects\">/debug?section=rejects</a>.</p>"
                  "</section>\n");
}

static void section_jobs(struct buf *out, const struct statuspage_view *v)
{
    struct jobs *jobs = v->jobs;
    size_t shown = jobs->n < STATUSPAGE_MAX_JOBS ? jobs->n : STATUSPAGE_MAX_JOBS;

    buf_adds(out, "<section id=\"jobs\"><h2>Jobs and breakers</h2>\n<table><tr><th>job</th>"
                  "<th>breaker</th><th>consecutive failures / threshold</th><th>worked</th>"
                  "<th>idle</th><th>error</th><th>openings</th></tr>\n");
    for (size_t i = 0; i < shown; i++) {
        const struct breaker *b = jobs_get(jobs, i, v->self->now_ms);
        const char *state = breaker_state_name(b->state);

        buf_adds(out, "<tr class=\"job\"><td><code>");
        htmlstr_adds(out, jobs->cfg->jobs[i].name);
        buf_addf(out, "</code></td><td class=\"state-%s\">%s for %.0f s</td>", state, state,
                 (double)breaker_time_in_state(b, v->self->now_ms) / 1000.0);
        buf_addf(out, "<td class=\"n\">%llu / %lu</td>",
                 (unsigned long long)b->consecutive_failures, (unsigned long)b->threshold);
        for (size_t k = 0; k < BREAKER_NOUTCOMES; k++)
            td_u64(out, b->attempts[k]);
        td_u64(out, b->openings);
        buf_adds(out, "</tr>\n");
    }
    if (jobs->n == 0)
        buf_adds(out, "<tr><td colspan=\"7\" class=\"note\">no jobs configured</td></tr>\n");
    buf_adds(out, "</table>\n");
    if (jobs->n > shown)
        buf_addf(out,
                 "<p class=\"note\">%zu more jobs in <a href=\"/debug?section=jobs\">"
                 "/debug</a>.</p>\n",
                 jobs->n - shown);
    buf_adds(out, "</section>\n");
}

#define LEARN_FRAGMENT_MAX 65536 /* bytes of the fragment shown in the page */

/* One proposal's "config": its action, type and labels, e.g. "add histogram (route)". */
static void proposed(struct buf *out, const json_t *p)
{
    const json_t *cfg = json_object_get(p, "config"), *l;
    const char *type = json_string_value(json_object_get(cfg, "type"));
    size_t i;

    htmlstr_adds(out, json_string_value(json_object_get(p, "action")));
    if (type != NULL) {
        buf_addch(out, ' ');
        htmlstr_adds(out, type);
    }
    json_array_foreach(json_object_get(cfg, "labels"), i, l)
    {
        buf_adds(out, i == 0 ? " (" : ", ");
        htmlstr_adds(out, json_string_value(json_object_get(l, "name")));
    }
    if (json_array_size(json_object_get(cfg, "labels")) > 0)
        buf_addch(out, ')');
}

/* The labels a proposal left out: "owner: values look like e-mail addresses (e.g. ...)". */
static void left_out(struct buf *out, const json_t *p)
{
    const json_t *f;
    size_t i;

    json_array_foreach(json_object_get(p, "flagged"), i, f)
    {
        if (i > 0)
            buf_adds(out, "<br>");
        htmlstr_adds(out, json_string_value(json_object_get(f, "label")));
        buf_adds(out, ": ");
        htmlstr_adds(out, json_string_value(json_object_get(f, "why")));
        buf_adds(out, " (e.g. <code>");
        htmlstr_adds(out, json_string_value(json_object_get(f, "example")));
        buf_adds(out, "</code>)");
    }
}

static void learn_table(struct buf *out, const json_t *all)
{
    const json_t *p;
    size_t i;

    buf_adds(out, "<table><thead><tr><th>family</th><th>proposed</th><th>labels left out"
                  "</th><th>why</th></tr></thead><tbody>\n");
    json_array_foreach(all, i, p)
    {
        if (i == STATUSPAGE_MAX_FAMILIES)
            break;
        buf_adds(out, "<tr><td>");
        htmlstr_adds(out, json_string_value(json_object_get(p, "family")));
        buf_adds(out, "</td><td>");
        proposed(out, p);
        buf_adds(out, "</td><td>");
        left_out(out, p);
        buf_adds(out, "</td><td>");
        htmlstr_adds(out, json_string_value(json_array_get(json_object_get(p, "reasons"), 0)));
        buf_adds(out, "</td></tr>\n");
    }
    buf_adds(out, "</tbody></table>\n");
    if (json_array_size(all) > STATUSPAGE_MAX_FAMILIES)
        buf_addf(out, "<p>%zu more in <a href=\"/debug/learn\">/debug/learn</a>.</p>\n",
                 json_array_size(all) - STATUSPAGE_MAX_FAMILIES);
}

/*
 * JSON text from jansson in a <pre>: only what HTML would read as markup is escaped, so
 * that its lines and its own escapes (\" \\ \uXXXX) stay as they are and it can be copied
 * as it is (htmlstr would show a newline as \x0a and double each backslash).
 */
static void pre_json(struct buf *out, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '&':
            buf_adds(out, "&amp;");
            break;
        case '<':
            buf_adds(out, "&lt;");
            break;
        case '>':
            buf_adds(out, "&gt;");
            break;
        case '"':
            buf_adds(out, "&quot;");
            break;
        case '\'':
            buf_adds(out, "&#39;");
            break;
        default:
            buf_addch(out, *s);
        }
    }
}

/*
 * The proposal, rendered here so that it reads without a script (which refreshes the
 * fragment from /debug/learn): each family, what is proposed, the labels left out and why,
 * then the fragment itself when it is not too large for the page.
 */
static void section_learn(struct buf *out, const struct statuspage_view *v)
{
    json_t *frag;
    char *text;

    buf_adds(out, "<section id=\"learn-proposal\"><h2>Learn proposal</h2>\n<p>");
    link(out, "/debug/learn", "/debug/learn");
    buf_adds(out, " (JSON), ");
    link(out, "/debug/learn?format=config", "/debug/learn?format=config");
    buf_adds(out, " (a config fragment; <code>ustatsd learn --merge FILE</code> merges it)</p>\n");
    if (v->learn == NULL) {
        buf_adds(out, "<p>Learn mode is off (<code>learn.enabled</code>).</p>\n<pre id=\"learn\" "
                      "data-state=\"not-available\">not available</pre></section>\n");
        return;
    }
    if (json_array_size(v->learn) == 0)
        buf_adds(out, "<p>Nothing refused for an allowlist reason yet.</p>\n");
    else
        learn_table(out, v->learn);
    frag = learnprop_fragment(v->learn);
    text = json_dumps(frag, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
    json_decref(frag);
    buf_adds(out, "<pre id=\"learn\" data-state=\"available\">");
    if (text != NULL && strlen(text) <= LEARN_FRAGMENT_MAX)
        pre_json(out, text);
    else
        buf_adds(out, "too large for this page: see /debug/learn?format=config");
    free(text);
    buf_adds(out, "</pre></section>\n");
}

/* --- the page ---------------------------------------------------------------------- */

void statuspage_render(struct buf *out, const struct statuspage_view *v)
{
    buf_adds(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                  "<title>ustatsd</title>\n");
    if (v->live)
        buf_addf(out, "<noscript><meta http-equiv=\"refresh\" content=\"%d\"></noscript>\n",
                 2 * STATUSPAGE_REFRESH_S);
    buf_adds(out, style);
    buf_adds(out, "</head><body>\n<header><h1>ustatsd</h1><p>version ");
    htmlstr_adds(out, v->self->version);
    buf_adds(out, ", a metrics aggregator: statsd and DogStatsD lines in, Prometheus out</p>"
                  "</header>\n<main>\n");
    section_endpoints(out, v);
    if (!v->live) {
        section_landing(out, v);
        buf_adds(out, "</main>\n</body></html>\n");
        return;
    }
    buf_adds(out, "<div id=\"live\">\n");
    section_daemon(out, v->self);
    section_ingest(out, v);
    section_series(out, v);
    section_rejects(out, v);
    section_jobs(out, v);
    buf_adds(out, "</div>\n");
    section_learn(out, v);
    buf_adds(out, "</main>\n");
    buf_adds(out, script);
    buf_adds(out, "</body></html>\n");
}

void statuspage_rate_update(struct statuspage_rate *r, const struct selfmetrics *self)
{
    uint64_t accepted = self->lines.accepted, rejected = intake_rejected_total(&self->lines);
    uint64_t since = r->have ? r->ms : self->start_ms;
    double dt;

    if (r->have && self->now_ms < r->ms + STATUSPAGE_RATE_MIN_MS)
        return;
    dt = self->now_ms > since ? (double)(self->now_ms - since) / 1000.0 : 0.0;
    if (dt > 0) {
        r->accepted_per_s = (double)(accepted - (r->have ? r->accepted : 0)) / dt;
        r->rejected_per_s = (double)(rejected - (r->have ? r->rejected : 0)) / dt;
        r->datagrams_per_s = (double)(self->datagrams - (r->have ? r->datagrams : 0)) / dt;
    }
    r->window_s = dt;
    r->have = 1;
    r->ms = self->now_ms;
    r->accepted = accepted;
    r->rejected = rejected;
    r->datagrams = self->datagrams;
}
