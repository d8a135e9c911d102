#!/usr/bin/env python3
"""mathverify_speed.py — Math-Verify's throughput on the same pairs as answers_bench:
parse(gold) + parse(completion) + verify, open-rs settings (tests/ref/mathverify_pairs.py),
one process, one core; for a fixture of whole completions (lighteval-completions.jsonl) the
study's evaluation settings instead (tests/ref/lighteval_extract.py). Prints one JSON line.
Usage: mathverify_speed.py PAIRS.jsonl [SECONDS]"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "ref"))
from mathverify_pairs import GOLD_CFG, PRED_CFG, completion, gold_text  # noqa: E402
from math_verify import parse, verify  # noqa: E402


def main():
    pairs = [json.loads(l) for l in open(sys.argv[1])]
    budget = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
    whole = "completion" in pairs[0]
    if whole:
        from lighteval_extract import PRED_CFG as LV_PRED  # noqa: E402
        from math_verify.parser import ExprExtractionConfig, LatexExtractionConfig  # noqa: E402
        from mathverify_pairs import strip_dollars  # noqa: E402
        work = [(r["gold"] if r["gold_kind"] == "expr" else "$" + strip_dollars(r["gold"]) + "$",
                 r["completion"], [ExprExtractionConfig()] if r["gold_kind"] == "expr"
                 else [LatexExtractionConfig()]) for r in pairs]
    else:
        work = [(gold_text(r["gold"]), completion(r["pred"]), GOLD_CFG) for r in pairs]
    done = ok = 0
    t0 = time.perf_counter()
    while True:
        for g, c, gcfg in work:
            try:
                if whole:   # lighteval: any_match, gold first, precision 5 (Math-Verify 0.5.2)
                    G = parse(g, extraction_config=gcfg, extraction_mode="any_match")
                    P = parse(c, extraction_config=LV_PRED, extraction_mode="any_match")
                    ok += bool(verify(G, P, precision=5))
                else:
                    G = parse(g, extraction_mode="first_match", extraction_config=gcfg)
                    P = parse(c, extraction_mode="first_match", extraction_config=PRED_CFG)
                    ok += bool(verify(P, G, float_rounding=6, strict=True, timeout_seconds=3))
            except Exception:
                pass
            done += 1
            if done % 50 == 0 and time.perf_counter() - t0 >= budget:
                break
        else:
            if time.perf_counter() - t0 < budget:
                continue
        break
    t = time.perf_counter() - t0
    print(json.dumps({"pairs": len(pairs), "checked": done, "seconds": round(t, 3),
                      "records_per_s": round(done / t, 1), "us_per_record": round(1e6 * t / done, 1),
                      "equiv": ok}))


if __name__ == "__main__":
    main()
