#!/usr/bin/env python3
"""The layering rule of STYLE.md, checked: a domain module includes neither <uv.h> nor
<libpq-fe.h>, nor the header of an I/O module (which would bring them in), and never
reads a clock (it takes the time as an argument).

    check.py SOURCE_DIR IO_MODULE...     check the tree; exit 1 naming each violation
    check.py --self-test                 show that each rule catches what it should

Domain modules are every aggregator/*.c and *.h whose stem is not an I/O module, and all
of proto/. Comments and string literals are ignored.
"""
import os
import re
import sys
import tempfile

FORBIDDEN_INCLUDES = {"uv.h", "libpq-fe.h"}
# A call through a struct member (in->clock(arg)) is time handed in, not a clock read.
CLOCK = re.compile(
    r"(?<![.>])\b(clock_gettime|gettimeofday|timespec_get|uv_now|uv_hrtime|uv_update_time|"
    r"CLOCK_REALTIME|CLOCK_MONOTONIC\w*|clock|time|ftime)\s*\(|\b(CLOCK_REALTIME|CLOCK_MONOTONIC\w*)\b"
)
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)


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
                out.append(c)
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + (c if j < n else ""))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def violations(path, text, io_modules):
    found = []
    code = strip(text)
    io_headers = {m + ".h" for m in io_modules}
    for m in INCLUDE.finditer(code):
        name = os.path.basename(m.group(1))
        line = code.count("\n", 0, m.start()) + 1
        if name in FORBIDDEN_INCLUDES:
            found.append(f"{path}:{line}: a domain module includes <{name}>")
        elif name in io_headers:
            found.append(f"{path}:{line}: a domain module includes the I/O module header {name}")
    for m in CLOCK.finditer(code):
        line = code.count("\n", 0, m.start()) + 1
        what = (m.group(1) or m.group(2)).strip()
        found.append(f"{path}:{line}: a domain module reads the clock ({what})")
    return found


def domain_files(src, io_modules):
    for d in ("aggregator", "proto"):
        for name in sorted(os.listdir(os.path.join(src, d))):
            stem, ext = os.path.splitext(name)
            if ext not in (".c", ".h") or (d == "aggregator" and stem in io_modules):
                continue
            if d == "aggregator" and stem == "main":
                continue
            yield os.path.join(d, name)


def check(src, io_modules):
    problems, count = [], 0
    for rel in domain_files(src, io_modules):
        with open(os.path.join(src, rel), encoding="utf-8") as f:
            problems += violations(rel, f.read(), io_modules)
        count += 1
    return count, problems


def self_test():
    """Each rule must fire on a file that breaks it, and stay quiet on one that doesn't."""
    bad = {
        "uv": "#include <uv.h>\n",
        "libpq": "#include <libpq-fe.h>\n",
        "io_header": '#include "app.h"\n',
        "clock_gettime": "void f(void) { struct timespec t; clock_gettime(CLOCK_REALTIME, &t); }\n",
        "time": "long f(void) { return (long)time(NULL); }\n",
        "uv_now": "unsigned long f(void *l) { return uv_now(l); }\n",
    }
    good = (
        "/* clock_gettime(CLOCK_REALTIME) and #include <uv.h> in a comment */\n"
        '#include "registry.h"\nconst char *s = "time(NULL) uv_now(loop)";\n'
        "int f(unsigned long now_ms) { return now_ms > 0; }\n"
        "double g(struct s *in) { return in->clock(in->arg) + in[0].time(0); }\n"
    )
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "aggregator"))
        os.makedirs(os.path.join(tmp, "proto"))
        for name, text in bad.items():
            with open(os.path.join(tmp, "aggregator", "dom.c"), "w") as f:
                f.write(text)
            n, problems = check(tmp, ["app"])
            if not problems:
                print(f"self-test: the {name} rule did not fire")
                failures += 1
        with open(os.path.join(tmp, "aggregator", "dom.c"), "w") as f:
            f.write(good)
        with open(os.path.join(tmp, "aggregator", "app.c"), "w") as f:
            f.write(bad["uv"] + bad["clock_gettime"])  # an I/O module may do both
        n, problems = check(tmp, ["app"])
        if problems or n != 1:
            print("self-test: false alarm on clean sources:", problems)
            failures += 1
    print(f"self-test: {len(bad)} rules fire, clean sources pass" if not failures else "self-test failed")
    return 1 if failures else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if len(argv) < 2:
        print(__doc__)
        return 2
    n, problems = check(argv[1], argv[2:])
    for p in problems:
        print(p)
    print(f"layering: {n} domain files, {len(problems)} violations")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
