"""Compares two regrtest --junit-xml reports: the native run's and the
preload's.  Every test case that passes natively must pass under the
preload (a case missing there, because its module crashed or hung, does
not pass).  A case regrtest ran twice (-w re-runs what failed) passes if
either run did.  Prints the differences; exit status 1 if there are any,
2 if a report is missing or unreadable."""
import sys
import xml.etree.ElementTree as ET


def results(path):
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"compare: cannot read {path}: {e}")
        sys.exit(2)
    out = {}
    for case in root.iter("testcase"):
        key = f"{case.get('classname', '')}.{case.get('name', '')}"
        kinds = {child.tag for child in case}
        if "skipped" in kinds:
            r = "skipped"
        elif kinds & {"failure", "error"}:
            r = "failed"
        else:
            r = "passed"
        if out.get(key) != "passed":
            out[key] = r
    return out


def main():
    native, preload = results(sys.argv[1]), results(sys.argv[2])
    worse = []
    for key, r in sorted(native.items()):
        p = preload.get(key, "missing")
        if r == "passed" and p != "passed" and p != "skipped":
            worse.append(f"  {key}: native passed, preload {p}")
    skipped_more = [k for k, r in native.items() if r == "passed" and preload.get(k) == "skipped"]
    npass = sum(r == "passed" for r in native.values())
    ppass = sum(r == "passed" for r in preload.values())
    print(f"compare: native {npass} passed of {len(native)}, preload {ppass} passed of {len(preload)}")
    for k in sorted(skipped_more):
        worse.append(f"  {k}: native passed, preload skipped")
    if worse:
        print(f"compare: {len(worse)} test(s) pass natively but not under the preload:")
        print("\n".join(worse))
        sys.exit(1)
    print("compare: every test that passes natively passes under the preload")


main()
