#!/usr/bin/env python3
"""Checks deploy/ offline: everything about the systemd unit, the container build file and the
DaemonSet that can be verified without systemd as PID 1, a container engine or a cluster
(docs/deploy.md says what is left).

    python3 scripts/check-deploy.py BIN        # BIN: the directory holding the built `cordon`

Prints `ok NAME` or `FAIL NAME: why` per check, then `N passed, M failed`; exits 1 on a failure.
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DEPLOY = os.path.join(ROOT, "deploy")
# The unit's exposure score from `systemd-analyze security` (0 safest, 10 least safe) may not rise:
# a change that weakens the unit's hardening fails here, on purpose.
MAX_EXPOSURE = 6.2
# What debian:12-slim (the runtime stage's base) already holds of the libraries the daemon loads.
BASE_LIBRARIES = {"linux-vdso", "ld-linux-x86-64", "libc", "libm", "libgcc_s", "libstdc++", "libpthread", "libdl", "librt"}
CONTAINER_CONFIG = "/etc/cordon/serve.json"

results = []


def check(name):
    """Runs the decorated check at once; it may return a line to print under its `ok`."""
    def run(body):
        try:
            results.append((name, None, body()))
        except Exception as error:  # a check's failure is reported, and the others still run
            results.append((name, str(error), None))
    return run


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def containerfile():
    """The stages of deploy/Containerfile: [(image, [instruction lines])]."""
    stages = []
    for line in read(os.path.join(DEPLOY, "Containerfile")).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append((line.split()[1], []))
        elif stages:
            stages[-1][1].append(line)
    return stages


def exec_form(stage, keyword):
    """The JSON array of the stage's last ENTRYPOINT or CMD, or None."""
    found = None
    for line in stage[1]:
        if line.upper().startswith(keyword + " "):
            found = re.findall(r'"((?:[^"\\]|\\.)*)"', line[len(keyword):])
    return found


def installed_packages(stage):
    packages = set()
    for line in stage[1]:
        for command in re.findall(r"apt-get install ([^&]*)", line):
            packages.update(w for w in command.split() if not w.startswith("-"))
    return packages


def cordon(bin_dir):
    path = os.path.abspath(os.path.join(bin_dir, "cordon"))
    if not os.access(path, os.X_OK):
        raise Exception(f"{path} is not an executable: build it first")
    return path


def main(bin_dir):
    stages = containerfile()
    # The image's command line: what `docker run` runs, and what a pod's `command`/`args` replace.
    entrypoint, cmd = exec_form(stages[-1], "ENTRYPOINT") or [], exec_form(stages[-1], "CMD") or []

    @check("containerfile_builds_with_the_packages_swift_tools_version")
    def _():
        tools = re.search(r"swift-tools-version:\s*(\d+)\.(\d+)", read(os.path.join(ROOT, "Package.swift")))
        need = (int(tools.group(1)), int(tools.group(2)))
        images = [image for image, _ in stages if image.startswith("swift:")]
        if not images:
            raise Exception("no stage builds FROM a swift: image")
        for image in images:
            version = re.match(r"swift:(\d+)\.(\d+)", image)
            if not version or (int(version.group(1)), int(version.group(2))) < need:
                raise Exception(f"{image} is older than swift-tools-version {need[0]}.{need[1]} of Package.swift")

    @check("containerfile_runtime_stage_installs_every_library_the_daemon_loads")
    def _():
        # Debian names a library's package after its soname (policy 8.1): libfoo.so.2 → libfoo2,
        # libfoo3.so.0 → libfoo3-0. The Swift runtime is copied from the build stage.
        runtime = installed_packages(stages[-1])
        ldd = subprocess.run(["ldd", cordon(bin_dir)], capture_output=True, text=True, check=True).stdout
        missing = []
        for soname in re.findall(r"^\s*(\S+\.so[.\d]*)\s", ldd, re.M):
            if "/swift/" in ldd.split(soname, 1)[1].split("\n", 1)[0]:
                continue
            stem, _, version = os.path.basename(soname).partition(".so")
            if stem in BASE_LIBRARIES:
                continue
            version = version.lstrip(".").split(".")[0]
            package = stem + ("-" if stem[-1].isdigit() else "") + version
            if package not in runtime:
                missing.append(f"{soname} ({package})")
        if missing:
            raise Exception(f"the runtime stage does not install {', '.join(missing)}; it installs {sorted(runtime)}")
        build = installed_packages(stages[0])
        for dev in ("libseccomp-dev", "libcap-dev", "libsqlite3-dev"):
            if dev not in build:
                raise Exception(f"the build stage does not install {dev}")

    def expect_config_refusal(argv, where):
        """`argv` (the container's command line) must reach the config's loading: with the example
        config in place of the mounted one, the daemon refuses its absent certificate (exit 65)."""
        if not argv or os.path.basename(argv[0]) != "cordon":
            raise Exception(f"{where} runs {argv}, not cordon")
        arguments = [os.path.join(DEPLOY, "serve.json") if a == CONTAINER_CONFIG else a for a in argv[1:]]
        p = subprocess.run([cordon(bin_dir)] + arguments, capture_output=True, timeout=60)
        if p.returncode != 65 or b"$.listen.tls.cert" not in p.stderr:
            raise Exception(f"{where}: `cordon {shlex.join(argv[1:])}` exited {p.returncode}: {p.stderr.decode(errors='replace').strip()}")

    @check("container_default_command_starts_the_daemon")
    def _():
        expect_config_refusal(entrypoint + cmd, "docker run with no arguments")

    @check("daemonset_command_starts_the_daemon")
    def _():
        # Kubernetes: `command` replaces the image's ENTRYPOINT, `args` its CMD (and a `command`
        # without `args` drops the CMD).
        text = read(os.path.join(DEPLOY, "daemonset.yaml"))

        def string_list(name):
            """The container's `name: ["…", …]`, or None when the manifest does not set it."""
            found = re.search(rf"^\s+{name}:\s*\[([^\]]*)\]", text, re.M)
            return re.findall(r'"([^"]*)"', found.group(1)) if found else None

        command, args = string_list("command"), string_list("args")
        argv = (command if command is not None else entrypoint) + (args if args is not None else ([] if command is not None else cmd))
        expect_config_refusal(argv, "the DaemonSet's container")

    @check("daemonset_validates_against_the_kubernetes_schema")
    def _():
        p = subprocess.run([sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet",
                            os.path.join(DEPLOY, "daemonset.yaml")], capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise Exception((p.stdout + p.stderr).strip() or f"exit {p.returncode}")

    with tempfile.TemporaryDirectory() as directory:
        # The unit names the installed binary; here it names the one just built.
        unit = os.path.join(directory, "cordon.service")
        with open(unit, "w", encoding="utf-8") as f:
            f.write(read(os.path.join(DEPLOY, "cordon.service")).replace("/usr/local/bin/cordon", cordon(bin_dir)))

        @check("systemd_unit_verifies")
        def _():
            p = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True, timeout=120)
            if p.returncode != 0 or p.stdout.strip() or p.stderr.strip():
                raise Exception((p.stdout + p.stderr).strip() or f"exit {p.returncode}")

        @check("systemd_unit_exposure_does_not_rise")
        def _():
            p = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", unit],
                               capture_output=True, text=True, timeout=120)
            score = re.search(r"Overall exposure level for \S+: ([\d.]+)", p.stdout)
            if not score:
                raise Exception(f"no exposure level in: {(p.stdout + p.stderr).strip()[-300:]}")
            if float(score.group(1)) > MAX_EXPOSURE:
                raise Exception(f"exposure {score.group(1)} is above {MAX_EXPOSURE}")
            return f"systemd-analyze security --offline=true: exposure {score.group(1)} (at most {MAX_EXPOSURE})"

    for name, failure, note in results:
        print(f"ok    {name}" + (f" ({note})" if note else "") if failure is None else f"FAIL  {name}: {failure}")
    failed = sum(1 for _, failure, _ in results if failure is not None)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
