#!/usr/bin/python3
"""Validate an OpenMetrics 1.0.0 exposition read from stdin.

promtool 2.42 ("promtool check metrics") parses the text format 0.0.4 only, so it cannot
judge OpenMetrics output (counters' _total samples, stateset, info, # EOF). This uses
Debian's python3-prometheus-client, whose OpenMetrics parser follows the specification
strictly. Exit status 0 when valid; 1 with the parser's message on stderr otherwise.
"""
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families


def main() -> int:
    text = sys.stdin.read()
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as exc:  # the parser raises ValueError and friends
        print(f"openmetrics: {exc}", file=sys.stderr)
        return 1
    samples = sum(len(f.samples) for f in families)
    print(f"openmetrics: ok ({len(families)} families, {samples} samples)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
