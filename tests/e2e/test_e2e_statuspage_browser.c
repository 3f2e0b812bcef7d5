/*
 * End to end in a real browser: Debian's chromium, headless, loads the status page of a
 * daemon fed known traffic, on its /debug listener (TCP: a browser opens no Unix socket).
 * The rendered DOM (after the page's script ran) shows the families, their counts and
 * the rejects, a hostile rejected line as text; with JavaScript off the DOM shows the
 * same, without the script's mark (read over the DevTools protocol, chromium/dom.py).
 * A screenshot is kept as a test artifact under the build tree ($USTATSD_ARTIFACTS), and
 * its path printed.
 *
 * chromium runs as root here, so without its sandbox (--no-sandbox), with a fresh profile
 * in a temporary directory; timeout(1) ends a browser that hangs.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "statuspage_fixture.h"

static struct daemon d;
static char tmp[64];
static char url[64];

static const char config[] = "{" STATUSPAGE_FAMILIES "}";

static void start(void)
{
    char listen[32];
    const char *const args[] = { "--debug-listen", listen, NULL };
    int port = daemon_free_port();

    cr_assert_gt(port, 0);
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    strcpy(tmp, "/tmp/ustatsd-chromium-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    cr_assert_eq(daemon_start(&d, config, args), 0);
    statuspage_feed(&d);
}

static void stop(void)
{
    char cmd[128];

    if (d.pid != 0)
        cr_assert_eq(daemon_stop(&d), 0, "daemon did not stop cleanly");
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(e2e_statuspage_browser, .init = start, .fini = stop);

/*
 * Run prog (chromium, or the DevTools reader) on the page with the common flags and more,
 * in a fresh profile; its standard output into a file. Returns the output (malloc'd) after
 * checking the exit status.
 */
static char *run(const char *name, const char *prog, const char *flags)
{
    char cmd[1024], out[128], log[128];
    char *text;
    int rc;

    snprintf(out, sizeof(out), "%s/%s.out", tmp, name);
    snprintf(log, sizeof(log), "%s/%s.log", tmp, name);
    snprintf(cmd, sizeof(cmd),
             "timeout -k 5 120 %s --no-sandbox --disable-gpu --disable-dev-shm-usage "
             "--no-first-run --user-data-dir=%s/profile-%s %s '%s' >%s 2>%s",
             prog, tmp, name, flags, url, out, log);
    rc = system(cmd);
    if (rc != 0) {
        char *l = daemon_read_file(log);

        fprintf(stderr, "%s\n%s\n", cmd, l ? l : "");
        free(l);
    }
    cr_assert_eq(rc, 0, "%s exited with %d", prog, rc);
    text = daemon_read_file(out);
    cr_assert_not_null(text);
    return text;
}

static char *chromium(const char *name, const char *flags)
{
    return run(name, "chromium --headless=new", flags);
}

/* The DOM as chromium/dom.py reads it over the DevTools protocol, with more flags. */
static char *devtools_dom(const char *name, const char *flags)
{
    char prog[600];

    snprintf(prog, sizeof(prog), "python3 %s/tests/e2e/chromium/dom.py",
             getenv("USTATSD_SOURCE_DIR"));
    return run(name, prog, flags);
}

/*
 * What the page must show, script or no script; and the script's mark on <html> when it
 * ran (js), none when it did not. Takes dom (frees it).
 */
static void assert_shown(char *dom, int js)
{
    assert_live(dom);
    cr_assert_not_null(strstr(dom, "(this listener)"), "%s", dom);
    cr_assert_not_null(strstr(dom, js ? "<html lang=\"en\" data-js=\"on\">" : "<html lang=\"en\">"),
                       "the script %s\n%s", js ? "did not run" : "ran", dom);
    free(dom);
}

Test(e2e_statuspage_browser, the_rendered_page_shows_families_counts_and_rejects)
{
    assert_shown(chromium("js", "--dump-dom"), 1);
}

/*
 * --dump-dom reads the DOM with a script, which scriptEnabled=false blocks (it prints
 * nothing): chromium/dom.py reads it over the DevTools protocol instead. Without the
 * script, the learn proposal is the one the server rendered (assert_live() checks it).
 */
Test(e2e_statuspage_browser, without_javascript_the_page_shows_the_same)
{
    assert_shown(devtools_dom("nojs", "--blink-settings=scriptEnabled=false"), 0);
}

/* The same reader with scripts on sees the script's mark: the check above can fail. */
Test(e2e_statuspage_browser, the_devtools_reader_sees_what_a_script_did)
{
    assert_shown(devtools_dom("devtools", ""), 1);
}

Test(e2e_statuspage_browser, a_screenshot_is_kept_as_an_artifact)
{
    const char *dir = getenv("USTATSD_ARTIFACTS");
    char path[512], flags[640], cmd[600];
    unsigned char magic[8] = { 0 };
    struct stat st;
    FILE *f;

    cr_assert_not_null(dir, "USTATSD_ARTIFACTS: set by ctest");
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    snprintf(path, sizeof(path), "%s/status-page.png", dir);
    unlink(path);
    snprintf(flags, sizeof(flags), "--screenshot=%s --window-size=1280,1600", path);
    free(chromium("shot", flags));
    cr_assert_eq(stat(path, &st), 0, "no screenshot at %s", path);
    cr_assert_gt(st.st_size, 10000, "%s: %lld bytes", path, (long long)st.st_size);
    f = fopen(path, "rb");
    cr_assert_not_null(f);
    cr_assert_eq(fread(magic, 1, sizeof(magic), f), sizeof(magic));
    fclose(f);
    cr_assert_eq(memcmp(magic, "\x89PNG\r\n\x1a\n", 8), 0, "not a PNG");
    fprintf(stderr, "status page screenshot: %s\n", path);
}
