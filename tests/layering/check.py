#!/usr/bin/env python3
"""The layering rules of the tree, checked.

aggregator/ is one folder per layer, each built as one library (aggregator/CMakeLists.txt
lists them bottom up, with the layers each may use; CMake writes that list to layers.txt):

  - an #include names its folder ("store/registry.h"), or is proto's ("statsd.h");
  - a file includes only headers of its own folder or of a layer its folder may use
    (directly or through another): dependencies point down;
  - a domain module (every file whose folder/stem is not listed as I/O, and all of
    proto/) includes neither <uv.h> nor <libpq-fe.h>, nor an I/O module's header, and
    never reads a clock: it takes the time as an argument;
  - an exported function (defined at column 0 without "static") never returns a bare -1:
    it returns 0, a verdict >= 0, or a negative code of base/errcode.h's one table
    (errno passing through), so errcode_str() can name every failure;
  - no include cycle between modules: a module is a .c and its .h, and A depends on B when
    A.c or A.h includes B.h. A folder's internal.h is a node of its own whose incoming
    edges do not count (it serves its folder's modules), so the graph must point one way.

    check.py SOURCE_DIR LAYERS_FILE IO_MODULE...   check the tree; exit 1 naming each violation
    check.py --self-test                           show that each rule catches what it should

Comments and string literals are ignored.
"""
import os
import re
import sys

FORBIDDEN_INCLUDES = {"uv.h", "libpq-fe.h"}
# A call through a struct member (in->clock(arg)) is time handed in, not a clock read.
CLOCK = re.compile(
    r"(?<![.>])\b(clock_gettime|gettimeofday|timespec_get|uv_now|uv_hrtime|uv_update_time|"
    r"CLOCK_REALTIME|CLOCK_MONOTONIC\w*|clock|time|ftime)\s*\(|\b(CLOCK_REALTIME|CLOCK_MONOTONIC\w*)\b"
)
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)
# A function definition: its name and parameters start at column 0 (the return type may be
# on the line before), and its body runs from a "{" line to the first "}" line.
FUNCTION = re.compile(r"^(?!static\b)([A-Za-z_][^\n;{}()#]*\([^;{}]*?\))\s*\n\{\n(.*?)^\}", re.M | re.S)
BARE_MINUS_ONE = re.compile(
    r"\breturn\s*\(?\s*-\s*1\s*\)?\s*;"  # return -1;
    r"|\breturn\b[^;]*[?:]\s*\(?\s*-\s*1\s*\)?\s*[:;)]"  # return rc ? -1 : 0;
)


def strip(text):
    """Blank out comments and string/char literals, keeping line numbers and #includes."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            # Keep #include "x.h" intact: the include rule reads it.
            line_start = text.rfind("\n", 0, i) + 1
            if re.match(r"\s*#\s*include\s*$", text[line_start:i]):
                j = text.find(c, i + 1)
                j = n if j < 0 else j + 1
                out.append(text[i:j])
                i = j
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            if j < n and text[j] == c:
                out.append(c + " " * (j - i - 1) + c)
                i = j + 1
            else:  # unterminated: the line ends it, and the newline stays
                out.append(c + " " * (min(j, n) - i - 1))
                i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


PROTO_HEADERS = {"statsd.h", "statsd_scanner.h"}


def read_layers(path):
    """layers.txt: one line a layer, "name: dep dep"; returns {name: set of usable layers}."""
    direct = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if ":" in line:
                name, deps = line.split(":", 1)
                direct[name.strip()] = set(deps.split()) - {"proto"}
    usable = {}
    for name in direct:
        seen, pending = set(), list(direct[name])
        while pending:
            d = pending.pop()
            if d not in seen:
                seen.add(d)
                pending += direct.get(d, [])
        usable[name] = seen
    return usable


def violations(path, text, io_modules, layers):
    """path is relative to the source tree: aggregator/<layer>/<file> or proto/<file>."""
    found = []
    code = strip(text)
    parts = path.split("/")
    layer = parts[1] if parts[0] == "aggregator" and len(parts) == 3 else None
    stem = os.path.splitext(parts[-1])[0]
    domain = not (layer and f"{layer}/{stem}" in io_modules)
    for m in INCLUDE.finditer(code):
        inc = m.group(1)
        line = code.count("\n", 0, m.start()) + 1
        quoted = code[m.start():m.end()].rstrip().endswith('"')
        name = os.path.basename(inc)
        if domain and name in FORBIDDEN_INCLUDES:
            found.append(f"{path}:{line}: a domain module includes <{name}>")
            continue
        if not quoted or layer is None:
            continue
        if inc in PROTO_HEADERS:
            continue
        if "/" not in inc:
            found.append(f'{path}:{line}: "{inc}" does not name its folder')
            continue
        folder, header = inc.split("/", 1)
        if folder not in layers:
            found.append(f'{path}:{line}: "{inc}" is not in a layer')
        elif folder != layer and folder not in layers.get(layer, set()):
            found.append(f'{path}:{line}: {layer}/ includes "{inc}" from a layer above it')
        elif domain and f"{folder}/{os.path.splitext(header)[0]}" in io_modules:
            found.append(f'{path}:{line}: a domain module includes the I/O module header "{inc}"')
    if layer is not None and path.endswith(".c"):
        for m in FUNCTION.finditer(code):
            if m.start(1) > 0 and code[code.rfind("\n", 0, m.start(1) - 1) + 1:].startswith("static"):
                continue
            for r in BARE_MINUS_ONE.finditer(m.group(2)):
                line = code.count("\n", 0, m.start(2) + r.start()) + 1
                found.append(f"{path}:{line}: an exported function returns a bare -1 "
                             "(use 0, a verdict >= 0 or an errcode.h code)")
    if domain:
        for m in CLOCK.finditer(code):
            line = code.count("\n", 0, m.start()) + 1
            what = (m.group(1) or m.group(2)).strip()
            found.append(f"{path}:{line}: a domain module reads the clock ({what})")
    return found


def module_cycles(sources):
    """sources: {path: text}. The include cycles between aggregator's modules, each sorted."""
    graph = {}
    for path, text in sources.items():
        parts = path.split("/")
        if parts[0] != "aggregator" or len(parts) != 3:
            continue
        mod = f"{parts[1]}/{os.path.splitext(parts[2])[0]}"
        graph.setdefault(mod, set())
        # Comments blanked, not strip()'s literals: every include line must stay whole.
        code = re.sub(r"/\*.*?\*/|//[^\n]*", lambda c: re.sub(r"[^\n]", " ", c.group(0)), text,
                      flags=re.S)
        for m in INCLUDE.finditer(code):
            inc = os.path.splitext(m.group(1))[0]
            if m.group(1).endswith(".h") and inc != mod and not inc.endswith("/internal"):
                graph[mod].add(inc)
    # Tarjan's strongly connected components, iterative.
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next((w for w in it if w in graph), None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    cycles.append(sorted(comp))
    return sorted(cycles)


def cycle_problems(sources):
    return [f"aggregator: an include cycle between modules: {', '.join(c)}"
            for c in module_cycles(sources)]


def source_files(src):
    for name in sorted(os.listdir(os.path.join(src, "proto"))):
        if name.endswith((".c", ".h")):
            yield f"proto/{name}"
    agg = os.path.join(src, "aggregator")
    for layer in sorted(os.listdir(agg)):
        if not os.path.isdir(os.path.join(agg, layer)):
            continue
        for name in sorted(os.listdir(os.path.join(agg, layer))):
            if name.endswith((".c", ".h")):
                yield f"aggregator/{layer}/{name}"


def check(src, layers, io_modules):
    problems, count, sources = [], 0, {}
    for layer in sorted(os.listdir(os.path.join(src, "aggregator"))):
        if os.path.isdir(os.path.join(src, "aggregator", layer)) and layer not in layers:
            problems.append(f"aggregator/{layer}/: a folder that is not a layer")
    for rel in source_files(src):
        with open(os.path.join(src, rel), encoding="utf-8") as f:
            sources[rel] = f.read()
        problems += violations(rel, sources[rel], io_modules, layers)
        count += 1
    return count, problems + cycle_problems(sources)


def self_test():
    """Each rule must fire on a file that breaks it, and stay quiet on one that doesn't."""
    layers = {"base": set(), "store": {"base"}, "daemon": {"store", "base"}}
    io = {"daemon/app"}
    bad = {
        "uv": ("store/dom.c", "#include <uv.h>\n"),
        "libpq": ("store/dom.c", "#include <libpq-fe.h>\n"),
        "io_header": ("store/dom.c", '#include "daemon/app.h"\n'),
        "second_include": ("store/dom.c", '#include "base/low.h"\n#include "daemon/app.h"\n'),
        "upward": ("base/low.c", '#include "store/dom.h"\n'),
        "no_folder": ("store/dom.c", '#include "low.h"\n'),
        "not_a_layer": ("store/dom.c", '#include "nowhere/x.h"\n'),
        "clock_gettime": ("store/dom.c",
                          "void f(void) { struct timespec t; clock_gettime(CLOCK_REALTIME, &t); }\n"),
        "time": ("store/dom.c", "long f(void) { return (long)time(NULL); }\n"),
        "uv_now": ("store/dom.c", "unsigned long f(void *l) { return uv_now(l); }\n"),
        "proto_clock": ("proto", "long f(void) { return (long)time(NULL); }\n"),
        "bare_minus_one": ("store/dom.c", "int dom_find(const char *s)\n{\n    if (s == 0)\n"
                                          "        return -1;\n    return 0;\n}\n"),
        "bare_minus_one_type_line": ("store/dom.c", "long\ndom_find(int i)\n{\n    return -1;\n}\n"),
        "bare_minus_one_ternary": ("store/dom.c", "int dom_put(int rc)\n{\n    return rc != 0 ? -1 : 0;\n}\n"),
    }
    good = (
        "/* clock_gettime(CLOCK_REALTIME) and #include <uv.h> in a comment */\n"
        '#include "store/dom.h"\n#include "base/low.h"\n#include "statsd.h"\n'
        'const char *s = "time(NULL) uv_now(loop)";\n'
        "int f(unsigned long now_ms) { return now_ms > 0; }\n"
        "double g(struct s *in) { return in->clock(in->arg) + in[0].time(0); }\n"
        "static int h(int x)\n{\n    return x ? -1 : 0;\n}\n"
        "static int\nk(void)\n{\n    return -1;\n}\n"
        "int dom_fd(int x)\n{\n    int fd = -1;\n\n    return x ? fd : ERRCODE_UNKNOWN;\n}\n"
    )
    failures = 0
    for name, (where, text) in bad.items():
        path = "proto/p.c" if where == "proto" else f"aggregator/{where}"
        if not violations(path, text, io, layers):
            print(f"self-test: the {name} rule did not fire")
            failures += 1
    clean = [
        ("aggregator/store/dom.c", good),
        # an I/O module may include libuv, the I/O headers and read the clock
        ("aggregator/daemon/app.c",
         '#include <uv.h>\n#include "daemon/app.h"\n#include "store/dom.h"\n'
         "void f(void) { struct timespec t; clock_gettime(CLOCK_REALTIME, &t); }\n"),
    ]
    for path, text in clean:
        problems = violations(path, text, io, layers)
        if problems:
            print("self-test: false alarm on clean sources:", problems)
            failures += 1
    # Cycles: a and b through each other's headers (one edge from a .c, one from a .h), a
    # three-module ring; not: a folder's internal.h that includes a module's header and
    # is included by that module's .c, nor a one-way chain, nor an include in a comment.
    cyclic = {
        "aggregator/store/a.c": '#include "store/a.h"\n#include "store/b.h"\n',
        "aggregator/store/a.h": "",
        "aggregator/store/b.h": '/* #include "store/c.h" */\n#include "store/a.h"\n',
        "aggregator/base/x.h": '#include "base/y.h"\n',
        "aggregator/base/y.c": '#include "base/z.h"\n',
        "aggregator/base/z.h": '#include "base/x.h"\n',
    }
    acyclic = {
        "aggregator/store/a.c": '#include "store/internal.h"\n#include "store/b.h"\n',
        "aggregator/store/a.h": "",
        "aggregator/store/internal.h": '#include "store/a.h"\n#include "store/b.h"\n',
        "aggregator/store/b.c": '#include "store/internal.h"\n#include "store/c.h"\n',
        "aggregator/store/c.h": '/* #include "store/b.h" */\n#include "base/low.h"\n',
    }
    if module_cycles(cyclic) != [["base/x", "base/y", "base/z"], ["store/a", "store/b"]]:
        print("self-test: the cycle rule did not fire as it should:", module_cycles(cyclic))
        failures += 1
    if module_cycles(acyclic):
        print("self-test: false alarm on a one-way graph:", module_cycles(acyclic))
        failures += 1
    print(f"self-test: {len(bad) + 1} rules fire, clean sources pass" if not failures else "self-test failed")
    return 1 if failures else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if len(argv) < 3:
        print(__doc__)
        return 2
    layers = read_layers(argv[2])
    n, problems = check(argv[1], layers, set(argv[3:]))
    for p in problems:
        print(p)
    print(f"layering: {n} files in {len(layers)} layers and proto, {len(problems)} violations")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
