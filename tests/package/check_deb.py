#!/usr/bin/env python3
"""Checks of the Debian package that `cmake --build B --target package` makes, and of the
manual page against the daemon's options. Each check is one ctest test
(tests/package/CMakeLists.txt); each exits 1 naming every difference it found.

    check_deb.py lintian  DEB                 lintian: no error, no warning
    check_deb.py files    DEB EXPECTED SEEDS  file list, modes, owners, conffiles
    check_deb.py scripts  DEB SCRATCH         the maintainer scripts: sh -n, then run
                                              with stand-ins for the commands they call
    check_deb.py units    DEB SCRATCH         systemd-analyze verify and security on the
                                              installed units; their sockets and settings
    check_deb.py conffile DEB SCRATCH         the extracted daemon checks the conffile,
                                              which names the units' sockets
    check_deb.py manpage  BINARY MANPAGE      every option of --help, with its variable,
                                              in the manual page, and nothing more
    check_deb.py prefix   BUILD SCRATCH       cmake --install with a prefix other than
                                              /usr: everything under it, the service
                                              naming it
"""
import json
import os
import re
import shutil
import stat
import subprocess
import sys

problems = []


def fail(msg):
    problems.append(msg)


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, **kw)


def compare(want, got, missing, extra, differ):
    """Fails, through the three message makers, on each key of one dict and not the
    other, and each key whose values differ."""
    for k in sorted(set(want) | set(got)):
        if k not in got:
            fail(missing(k, want[k]))
        elif k not in want:
            fail(extra(k, got[k]))
        elif want[k] != got[k]:
            fail(differ(k, want[k], got[k]))


def extract(deb, scratch):
    """The package's files under SCRATCH/root and its control files under SCRATCH/control."""
    shutil.rmtree(scratch, ignore_errors=True)
    root, control = os.path.join(scratch, "root"), os.path.join(scratch, "control")
    os.makedirs(root)
    for argv in (["dpkg-deb", "-x", deb, root], ["dpkg-deb", "-e", deb, control]):
        r = run(argv)
        if r.returncode != 0:
            sys.exit(f"{' '.join(argv)}: {r.stderr.strip()}")
    return root, control


def check_lintian(deb):
    # --no-cfg: the machine's lintianrc cannot hide a tag. Overrides apply only with the
    # reason next to them (packaging/debian/lintian-overrides).
    r = run(["lintian", "--no-cfg", "--fail-on", "error,warning", deb])
    for line in r.stdout.splitlines():
        if re.match(r"^[EW]: ", line):
            fail(line)
    if r.returncode != 0 and not problems:
        fail(f"lintian exit status {r.returncode}: {r.stdout.strip()} {r.stderr.strip()}")


def listing(deb):
    """{path: 'mode owner'} from the package's data archive, as dpkg will create them."""
    r = run(["dpkg-deb", "-c", deb])
    if r.returncode != 0:
        sys.exit(f"dpkg-deb -c {deb}: {r.stderr.strip()}")
    out = {}
    for line in r.stdout.splitlines():
        f = line.split(None, 5)
        path = f[5].split(" -> ")[0]
        if path != "./":  # the root, which dpkg-deb -b lists and CPack does not
            out[path] = f"{f[0]} {f[1]}"
    return out


def expected_seeds(seeds_dir):
    """packaging/seeds/ as it is in the tree, whole, under /usr/share/ustatsd/seeds/."""
    out = {"./usr/share/ustatsd/seeds/": "drwxr-xr-x root/root"}
    for top, dirs, files in os.walk(seeds_dir):
        rel = os.path.relpath(top, seeds_dir)
        base = "./usr/share/ustatsd/seeds/" + ("" if rel == "." else rel + "/")
        for d in dirs:
            out[base + d + "/"] = "drwxr-xr-x root/root"
        for f in files:
            out[base + f] = "-rw-r--r-- root/root"
    return out


def check_files(deb, expected_path, seeds_dir):
    want = {}
    conffiles_want = []
    with open(expected_path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            f3 = line.split()
            if f3[0] == "conffile":
                conffiles_want.append(f3[1])
                continue
            if len(f3) != 3:
                sys.exit(f"{expected_path}:{n}: expected 'mode owner path'")
            want[f3[2]] = f"{f3[0]} {f3[1]}"
    want.update(expected_seeds(seeds_dir))
    got = listing(deb)
    compare(want, got, lambda p, w: f"missing from the package: {p} ({w})",
            lambda p, g: f"not expected in the package: {p} ({g})",
            lambda p, w, g: f"{p}: {g}, expected {w}")
    r = run(["dpkg-deb", "-f", deb, "Package"])
    control = run(["sh", "-c", f"dpkg-deb --ctrl-tarfile '{deb}' | tar -xO ./conffiles"])
    conffiles_got = control.stdout.split()
    if conffiles_got != conffiles_want:
        fail(f"conffiles: {conffiles_got}, expected {conffiles_want}")
    for c in conffiles_got:
        if "." + c not in got or not got["." + c].startswith("-"):
            fail(f"conffile {c} is not a file of the package")
    if r.stdout.strip() != "ustatsd":
        fail(f"package name {r.stdout.strip()!r}")


# The commands the maintainer scripts call, replaced by stand-ins that log their
# arguments. dpkg-statoverride answers as STATOVERRIDE says (1: no override).
STANDINS = ["systemd-sysusers", "systemd-sysctl", "deb-systemd-helper", "deb-systemd-invoke",
            "systemctl", "chown", "chmod", "dpkg-statoverride",
            "deluser", "delgroup", "userdel", "groupdel"]


def run_script(control, scratch, name, args, env_extra):
    bindir = os.path.join(scratch, "bin")
    log = os.path.join(scratch, "calls.log")
    os.makedirs(bindir, exist_ok=True)
    for cmd in STANDINS:
        p = os.path.join(bindir, cmd)
        with open(p, "w") as f:
            status = '"${STATOVERRIDE:-1}"' if cmd == "dpkg-statoverride" else "0"
            # was-enabled answers 0 (a new installation) as deb-systemd-helper does.
            f.write(f'#!/bin/sh\necho "{cmd} $*" >> "{log}"\nexit {status}\n')
        os.chmod(p, 0o755)
    if os.path.exists(log):
        os.remove(log)
    env = {"PATH": bindir + ":/usr/sbin:/usr/bin:/sbin:/bin"}
    env.update(env_extra)
    r = run(["sh", "-e", os.path.join(control, name)] + args, env=env)
    if r.returncode != 0:
        fail(f"{name} {' '.join(args)}: exit status {r.returncode}: {r.stderr.strip()}")
    calls = open(log).read().splitlines() if os.path.exists(log) else []
    return calls


# dpkg's PATH for maintainer scripts.
DPKG_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def check_found(control, name, calls):
    """Each command the script called exists here, on dpkg's PATH and what it adds."""
    path = DPKG_PATH
    for m in re.finditer(r'^\s*PATH="\$PATH:([^"]*)"$', open(os.path.join(control, name)).read(),
                         re.M):
        path += ":" + m.group(1)
    for cmd in sorted({c.split()[0] for c in calls}):
        if shutil.which(cmd, path=path) is None:
            fail(f"{name} calls {cmd}, which is not on its PATH ({path})")


def expect_calls(what, calls, want):
    if calls != want:
        fail(f"{what}: called\n    " + "\n    ".join(calls or ["(nothing)"]) +
             "\n  expected\n    " + "\n    ".join(want or ["(nothing)"]))


def check_scripts(deb, scratch):
    root, control = extract(deb, scratch)
    for name in ("postinst", "prerm", "postrm"):
        path = os.path.join(control, name)
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode != 0o755:
            fail(f"{name}: mode {mode:04o}, expected 0755")
        if not open(path).readline().startswith("#!/bin/sh"):
            fail(f"{name}: not a /bin/sh script")
        r = run(["sh", "-n", path])
        if r.returncode != 0:
            fail(f"{name}: sh -n: {r.stderr.strip()}")
        # dash is Debian's /bin/sh: a bashism would pass bash's -n but not dash's.
        r = run(["dash", "-n", path])
        if r.returncode != 0:
            fail(f"{name}: dash -n: {r.stderr.strip()}")

    systemd = os.path.isdir("/run/systemd/system")
    units = ["ustatsd.socket", "ustatsd.service"]
    enable = []
    for u in units:
        enable += [f"deb-systemd-helper unmask {u}", f"deb-systemd-helper --quiet was-enabled {u}",
                   f"deb-systemd-helper enable {u}"]

    # A new installation: the user, the state directory's owner, the sysctl, then the units.
    calls = run_script(control, scratch, "postinst", ["configure"], {})
    check_found(control, "postinst", calls)
    want = ["systemd-sysusers ustatsd.conf", "dpkg-statoverride --list /var/lib/ustatsd",
            "chown ustatsd:ustatsd /var/lib/ustatsd", "chmod 0750 /var/lib/ustatsd",
            "systemd-sysctl ustatsd.conf"] + enable
    if systemd:
        want += ["systemctl --system daemon-reload",
                 "deb-systemd-invoke start ustatsd.socket ustatsd.service"]
    expect_calls("postinst configure", calls, want)

    # An upgrade, with the state directory's owner set by the administrator: kept.
    calls = run_script(control, scratch, "postinst", ["configure", "0.0.9-1"],
                       {"STATOVERRIDE": "0"})
    want = ["systemd-sysusers ustatsd.conf", "dpkg-statoverride --list /var/lib/ustatsd",
            "systemd-sysctl ustatsd.conf"] + enable
    if systemd:
        want += ["systemctl --system daemon-reload", "deb-systemd-invoke start ustatsd.socket",
                 "deb-systemd-invoke restart ustatsd.service"]
    expect_calls("postinst configure 0.0.9-1", calls, want)

    # The running system is never touched under dpkg --root: only the target's users.
    target = os.path.join(scratch, "target")
    calls = run_script(control, scratch, "postinst", ["configure"], {"DPKG_ROOT": target})
    expect_calls("DPKG_ROOT=... postinst configure", calls,
                 [f"systemd-sysusers --root={target} ustatsd.conf"] + enable)

    # Where the sysctl must come: before the socket unit makes the socket.
    text = open(os.path.join(control, "postinst")).read()
    sysctl, start = text.find("systemd-sysctl ustatsd.conf"), text.find("deb-systemd-invoke start")
    if not 0 <= sysctl < start:
        fail("postinst: systemd-sysctl does not come before the socket unit starts")

    calls = run_script(control, scratch, "prerm", ["remove"], {})
    expect_calls("prerm remove", calls,
                 ["deb-systemd-invoke stop ustatsd.service ustatsd.socket"] if systemd else [])
    calls = run_script(control, scratch, "prerm", ["upgrade", "0.1.1-1"], {})
    expect_calls("prerm upgrade", calls, [])

    # Removal and purge, in a scratch root: the state goes on purge, the user stays.
    for d in ("var/lib/ustatsd", "run/ustatsd", "etc/ustatsd"):
        os.makedirs(os.path.join(target, d), exist_ok=True)
    open(os.path.join(target, "var/lib/ustatsd/state"), "w").close()
    calls = run_script(control, scratch, "postrm", ["remove"], {"DPKG_ROOT": target})
    expect_calls("postrm remove", calls,
                 ["deb-systemd-helper mask ustatsd.socket ustatsd.service"])
    if not os.path.exists(os.path.join(target, "var/lib/ustatsd/state")):
        fail("postrm remove deleted the state")
    calls = run_script(control, scratch, "postrm", ["purge"], {"DPKG_ROOT": target})
    check_found(control, "postrm", calls)
    expect_calls("postrm purge", calls,
                 ["deb-systemd-helper purge ustatsd.socket ustatsd.service",
                  "deb-systemd-helper unmask ustatsd.socket ustatsd.service"])
    for d in ("var/lib/ustatsd", "run/ustatsd"):
        if os.path.exists(os.path.join(target, d)):
            fail(f"postrm purge left /{d}")
    if not os.path.isdir(os.path.join(target, "etc/ustatsd")):
        fail("postrm purge deleted /etc/ustatsd (dpkg's to remove, with the conffile)")


def unit_settings(path):
    out = {}
    for line in open(path):
        m = re.match(r"^([A-Za-z]+)=(.*)$", line.strip())
        if m:
            out.setdefault(m.group(1), []).append(m.group(2))
    return out


def check_units(deb, scratch):
    root, _ = extract(deb, scratch)
    unitdir = os.path.join(root, "usr/lib/systemd/system")
    # systemd-analyze verify checks that ExecStart='s program is an executable file. The
    # installed service names /usr/bin/ustatsd, which this machine may not have (or have
    # from another version): verify a copy whose ExecStart= names the extracted binary,
    # the unit otherwise byte for byte. (--root=DIR would need a whole system in DIR:
    # sysinit.target, /bin/kill.)
    copies = os.path.join(scratch, "verify")
    os.makedirs(copies)
    for name in ("ustatsd.socket", "ustatsd.service"):
        text = open(os.path.join(unitdir, name)).read()
        if name.endswith(".service"):
            text, n = re.subn(r"^ExecStart=/usr/bin/ustatsd ",
                              f"ExecStart={root}/usr/bin/ustatsd ", text, flags=re.M)
            if n != 1:
                fail(f"{name}: expected one ExecStart=/usr/bin/ustatsd, found {n}")
        with open(os.path.join(copies, name), "w") as f:
            f.write(text)
    sock, svc = os.path.join(copies, "ustatsd.socket"), os.path.join(copies, "ustatsd.service")
    r = run(["systemd-analyze", "verify", "--man=no", sock, svc])
    if r.returncode != 0 or r.stdout.strip() or r.stderr.strip():
        fail(f"systemd-analyze verify: exit {r.returncode}: {r.stdout.strip()} {r.stderr.strip()}")
    # The exposure systemd-analyze security gives the service, offline: 1.8 on 0 to 10
    # when this was written. Threshold 25 (2.5): a hardening option lost fails here.
    r = run(["systemd-analyze", "security", "--offline=true", "--threshold=25", svc])
    if r.returncode != 0:
        fail("systemd-analyze security: " + (r.stdout.strip().splitlines() or ["?"])[-1] +
             " " + r.stderr.strip())

    s = unit_settings(os.path.join(unitdir, "ustatsd.socket"))
    for key, want in (("ListenDatagram", ["/run/ustatsd/ustatsd.sock"]),
                      ("ListenStream", ["127.0.0.1:9464"]), ("SocketMode", ["0660"]),
                      ("SocketGroup", ["ustatsd"])):
        if s.get(key) != want:
            fail(f"ustatsd.socket: {key}={s.get(key)}, expected {want}")
    s = unit_settings(os.path.join(unitdir, "ustatsd.service"))
    for key, want in (("ExecStart", ["/usr/bin/ustatsd --config /etc/ustatsd/ustatsd.json "
                                     "--state-file /var/lib/ustatsd/state"]),
                      ("User", ["ustatsd"]), ("Group", ["ustatsd"]),
                      ("StateDirectory", ["ustatsd"]), ("ProtectSystem", ["strict"]),
                      ("NoNewPrivileges", ["yes"]), ("CapabilityBoundingSet", [""]),
                      ("PrivateTmp", ["yes"]), ("ProtectHome", ["yes"])):
        if s.get(key) != want:
            fail(f"ustatsd.service: {key}={s.get(key)}, expected {want}")
    sysctl = open(os.path.join(root, "usr/lib/sysctl.d/ustatsd.conf")).read()
    if not re.search(r"^net\.unix\.max_dgram_qlen = 512$", sysctl, re.M):
        fail("usr/lib/sysctl.d/ustatsd.conf: no net.unix.max_dgram_qlen = 512")
    sysusers = open(os.path.join(root, "usr/lib/sysusers.d/ustatsd.conf")).read()
    if not re.search(r'^u\s+ustatsd\s+-\s+"[^"]+"\s+/var/lib/ustatsd$', sysusers, re.M):
        fail("usr/lib/sysusers.d/ustatsd.conf: no system user ustatsd")


def check_conffile(deb, scratch):
    root, _ = extract(deb, scratch)
    conf = os.path.join(root, "etc/ustatsd/ustatsd.json")
    text = open(conf).read()
    for key, want in (("socket", "/run/ustatsd/ustatsd.sock"), ("metrics_listen", "127.0.0.1:9464")):
        if not re.search(rf'"{key}": "{re.escape(want)}"', text):
            fail(f"{conf}: daemon.{key} is not {want!r}, which ustatsd.socket passes")
    # A fresh install speaks for no service: no resource attributes (target_info), no
    # family admitted, no writer policy, until the operator adds them.
    conf_json = json.loads(text)
    for key in ("resource", "writers", "jobs", "sql_metrics", "postgres"):
        if key in conf_json:
            fail(f"{conf}: has {key!r}; the packaged configuration names no service")
    if conf_json.get("families") != []:
        fail(f"{conf}: families is not the empty list")
    # --check-config wants the socket's directory to exist. On the installed system
    # ustatsd.socket makes /run/ustatsd; here a copy names a directory of the scratch
    # tree instead, the file otherwise as shipped.
    rundir = os.path.join(scratch, "run-ustatsd")
    os.makedirs(rundir)
    copy = os.path.join(scratch, "ustatsd.json")
    with open(copy, "w") as f:
        f.write(text.replace('"/run/ustatsd/ustatsd.sock"', f'"{rundir}/ustatsd.sock"'))
    r = run([os.path.join(root, "usr/bin/ustatsd"), "--check-config", copy])
    if r.returncode != 0:
        fail(f"ustatsd --check-config {copy}: exit {r.returncode}: {r.stderr.strip()}")


def check_manpage(binary, manpage):
    r = run([binary, "--help"])
    if r.returncode != 0:
        fail(f"{binary} --help: exit {r.returncode}")
    helped = {}
    for line in r.stdout.splitlines():
        m = re.match(r"^\s+(?:-\w, )?--([\w.-]+)", line)
        if m:
            v = re.search(r"\[(USTATSD_\w+)\]\s*$", line)
            helped[m.group(1)] = v.group(1) if v else None
    if not helped:
        fail(f"{binary} --help lists no option")
    # In the page, an option is a .TP entry whose tag names it; its variable is the
    # USTATSD_* the entry's text names.
    text = open(manpage).read()
    section = re.search(r"^\.SH OPTIONS$(.*?)^\.SH ", text, re.M | re.S)
    if not section:
        fail(f"{manpage}: no OPTIONS section")
        return
    paged = {}
    for entry in section.group(1).split(".TP\n")[1:]:
        tag, _, body = entry.partition("\n")
        names = re.findall(r"\\-\\-([\w.\\-]+)", tag)
        if not names:
            fail(f"{manpage}: .TP entry without an option: {tag}")
            continue
        name = names[0].replace("\\-", "-")
        var = re.findall(r"USTATSD_\w+", body)
        paged[name] = var[0] if var else None
    page = os.path.basename(manpage)
    compare(helped, paged, lambda n, _: f"--{n}: in --help, not in {page}",
            lambda n, _: f"--{n}: in {page}, not in --help",
            lambda n, h, p: f"--{n}: variable {h} in --help, {p} in the page")
    r = run(["man", "--warnings", "-l", "-Tutf8", "-Z", manpage])
    if r.returncode != 0 or r.stderr.strip():
        fail(f"man --warnings {manpage}: {r.stderr.strip()}")


def check_prefix(build, scratch):
    shutil.rmtree(scratch, ignore_errors=True)
    prefix = os.path.join(scratch, "usr-local")
    r = run(["cmake", "--install", build, "--prefix", prefix])
    if r.returncode != 0:
        sys.exit(f"cmake --install {build} --prefix {prefix}: {r.stdout} {r.stderr}")
    # Nothing outside the prefix: the manifest lists every file installed.
    for path in open(os.path.join(build, "install_manifest.txt")).read().split("\n"):
        if path and not path.startswith(prefix + "/"):
            fail(f"installed outside the prefix: {path}")
    for rel in ("bin/ustatsd", "bin/ustatsd-send", "include/ustatsd.h",
                "etc/ustatsd/ustatsd.json", "lib/systemd/system/ustatsd.socket",
                "lib/sysctl.d/ustatsd.conf", "lib/sysusers.d/ustatsd.conf",
                "share/man/man1/ustatsd.1.gz", "share/ustatsd/seeds", "var/lib/ustatsd"):
        if not os.path.exists(os.path.join(prefix, rel)):
            fail(f"not installed: {prefix}/{rel}")
    s = unit_settings(os.path.join(prefix, "lib/systemd/system/ustatsd.service"))
    want = [f"{prefix}/bin/ustatsd --config {prefix}/etc/ustatsd/ustatsd.json "
            "--state-file /var/lib/ustatsd/state"]
    if s.get("ExecStart") != want:
        fail(f"ustatsd.service: ExecStart={s.get('ExecStart')}, expected {want}")


def main(argv):
    cmds = {"lintian": (check_lintian, 1), "files": (check_files, 3),
            "scripts": (check_scripts, 2), "units": (check_units, 2),
            "conffile": (check_conffile, 2), "manpage": (check_manpage, 2),
            "prefix": (check_prefix, 2)}
    if len(argv) < 2 or argv[1] not in cmds or len(argv) != 2 + cmds[argv[1]][1]:
        sys.exit(__doc__)
    cmds[argv[1]][0](*argv[2:])
    for p in problems:
        print(f"check_deb {argv[1]}: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"check_deb {argv[1]}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
