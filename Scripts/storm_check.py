#!/usr/bin/env python3
"""Sends a storm of requests at once to a running `phoenix serve` and checks that it copes: every answer is
a success, a 429 (queue full) or another well-formed error, never a 5xx or a dropped connection; clients
that hang up mid-stream are let go; and afterwards the engine is idle with no KV block held by anything but
the prefix cache (read from /metrics).

    python3 Scripts/storm_check.py --base-url http://127.0.0.1:8080 [--requests 1000] [--workers 200]

Prints a one-line JSON summary and exits 0 when every check passes. Standard library only.
"""
import argparse
import http.client
import json
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor


def request(base, index):
    """One client: even ones wait for a whole answer, odd ones stream and hang up after the first event."""
    url = urllib.parse.urlparse(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
    streaming = index % 2 == 1
    body = json.dumps({"prompt": f"Storm request {index % 50}:", "max_tokens": 3, "temperature": 0,
                       "stream": streaming})
    try:
        connection.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        if streaming and response.status == 200:
            first = response.readline()
            connection.sock.close()  # vanish mid-stream
            return ("hung up", first.startswith(b"data: "))
        payload = response.read()
        if response.status == 200:
            return ("ok", "choices" in json.loads(payload))
        error = json.loads(payload).get("error", {})
        return (str(response.status), isinstance(error.get("message"), str))
    except Exception as error:  # a dropped connection or a timeout is a failure of the server
        return ("exception: " + type(error).__name__, False)
    finally:
        connection.close()


def metrics(base):
    with urllib.request.urlopen(base + "/metrics", timeout=30) as response:
        values = {}
        for line in response.read().decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=200)
    args = parser.parse_args()
    base = args.base_url.rstrip("/")

    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        results = list(pool.map(lambda i: request(base, i), range(args.requests)))
    counts = {}
    for outcome, _ in results:
        counts[outcome] = counts.get(outcome, 0) + 1
    malformed = sum(1 for _, well_formed in results if not well_formed)
    failures = []
    if any(outcome.startswith("5") or outcome.startswith("exception") for outcome, _ in results):
        failures.append("server errors or dropped connections")
    if malformed:
        failures.append(f"{malformed} answers were not in the expected shape")
    if counts.get("ok", 0) == 0:
        failures.append("no request succeeded")

    # The engine settles: nothing running or waiting, every block back (the prefix cache may keep some).
    deadline, settled = time.time() + 120, None
    while time.time() < deadline:
        m = metrics(base)
        settled = m
        if (m.get("phoenix_running_sequences") == 0 and m.get("phoenix_waiting_requests") == 0
                and m.get("phoenix_kv_blocks_used") == m.get("phoenix_kv_blocks_cached")):
            break
        time.sleep(0.2)
    else:
        failures.append(f"the engine did not settle: {settled}")

    summary = json.dumps({"outcomes": counts, "kv_blocks_used": settled.get("phoenix_kv_blocks_used"),
                          "kv_blocks_cached": settled.get("phoenix_kv_blocks_cached"), "failures": failures})
    print(summary)
    if failures:
        print(summary, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    import urllib.request
    sys.exit(main())
