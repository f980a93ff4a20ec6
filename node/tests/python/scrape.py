"""Scrape a Babel node's /metrics and print every sample as JSON.

The exposition is parsed with the strict OpenMetrics parser of the `prometheus_client`
package (the reference Python client), so a malformed line fails the scrape. Output: one JSON
object, {"samples": [[name, {label: value}, value], ...]}.
"""

import argparse
import json
import sys
import urllib.request

from prometheus_client.openmetrics.parser import text_string_to_metric_families


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    args = parser.parse_args()
    with urllib.request.urlopen(args.url, timeout=10) as response:
        content_type = response.headers.get("Content-Type", "")
        text = response.read().decode("utf-8")
    if not content_type.startswith("application/openmetrics-text"):
        print(f"unexpected content type {content_type!r}", file=sys.stderr)
        return 1
    samples = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.append([sample.name, dict(sample.labels), sample.value])
    print(json.dumps({"samples": samples}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
