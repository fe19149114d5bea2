"""Latency of a CDS Hooks call: `guidewalk cds-hooks` on uvicorn in a subprocess, driven over
HTTP by httpx, as an EHR would call it.

    .venv/bin/python benchmarks/bench_cds_hooks.py [--calls 200] [--record brain-lecture-case-1]

The service runs in dev mode on a free loopback port (no JWT: the token check is measured
separately, --jwt signs every call with a fresh RS256 token). Each call sends the lecture record
as prefetch (what the EHR would answer to the discovery's templates); after 10 warm-up calls it
prints p50 / p95 / max of the wall time per call, for a complete walk and for a record without
data (one "record these data" card). A benchmark, not a test. The spec asks for about 500 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fhir_support import LECTURE, bundle, patient_id, prefetch_for  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--record", default="brain-lecture-case-1", choices=sorted(LECTURE))
    ap.add_argument("--jwt", action="store_true", help="sign every call with a fresh RS256 JWT and verify it")
    args = ap.parse_args()
    import httpx

    gid, _, as_of, _ = LECTURE[args.record]
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="gw-bench-"))
    cmd = [
        sys.executable,
        "-m",
        "guidewalk",
        "cds-hooks",
        "--port",
        str(port),
        "--db",
        str(tmp / "fb.sqlite3"),
        "--as-of",
        as_of,
        "--guideline",
        gid,
        "--log-level",
        "warning",
    ]
    signer = None
    if args.jwt:
        import jwt
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        jwk.update({"kid": "bench", "alg": "RS256"})
        (tmp / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
        cmd += ["--issuer", f"https://ehr.example.org={tmp / 'jwks.json'}"]

        def signer(aud: str) -> dict[str, str]:
            now = int(time.time())
            tok = jwt.encode(
                {"iss": "https://ehr.example.org", "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())},
                key,
                algorithm="RS256",
                headers={"kid": "bench", "typ": "JWT"},
            )
            return {"Authorization": f"Bearer {tok}"}
    else:
        cmd += ["--dev"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as http:
            t_start = time.perf_counter()
            while True:
                try:
                    disc = http.get("/cds-services").json()
                    break
                except httpx.TransportError:
                    if proc.poll() is not None:
                        raise SystemExit("the service did not start") from None
                    time.sleep(0.1)
            startup = time.perf_counter() - t_start
            (svc,) = disc["services"]
            rec = bundle(args.record)
            pre = prefetch_for(rec, svc["prefetch"], patient_id(rec))
            url = f"/cds-services/{svc['id']}"
            bodies = {
                "complete walk": pre,
                "no data (needs card)": {k: None for k in svc["prefetch"]},
            }
            print(
                f"guidewalk cds-hooks: {args.record} ({gid}), {args.calls} calls each, service ready after {startup:.1f} s"
                + (", RS256 JWT verified per call" if signer else ", dev mode")
            )
            for label, prefetch in bodies.items():
                times = []
                cards = 0
                for i in range(args.calls + 10):
                    body = {
                        "hook": "patient-view",
                        "hookInstance": str(uuid.uuid4()),
                        "context": {"userId": "Practitioner/bench", "patientId": patient_id(rec)},
                        "prefetch": prefetch,
                    }
                    headers = signer(base + url) if signer else {}
                    t0 = time.perf_counter()
                    r = http.post(url, json=body, headers=headers)
                    dt = time.perf_counter() - t0
                    assert r.status_code == 200, r.text
                    if i >= 10:
                        times.append(dt * 1000)
                        cards = len(r.json()["cards"])
                print(f"  {label:<22} {cards:>2} cards   p50 {statistics.median(times):6.1f} ms   p95 {pct(times, 95):6.1f} ms   max {max(times):6.1f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
