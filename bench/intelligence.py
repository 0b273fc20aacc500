"""Intelligence benchmarks: the dispatch classifier against baselines, and duplicate lookup at scale.

    .venv/bin/python -m bench.intelligence classifier      # needs ../shared/data/gov_messages
    .venv/bin/python -m bench.intelligence duplicates --sizes 10000,100000,1000000
    .venv/bin/python -m bench.intelligence clustering --sizes 1000,5000,20000

The classifier figures are stratified 5-fold cross-validation on the real, anonymised labelled messages
(read from ../shared/data at run time, never copied into the project). The duplicate figures index
synthetic tickets the script writes itself (category phrases, places and noise), then time lookups of
fresh near-duplicates; memory is the index's own arrays plus the process's peak RSS.
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import re
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from engine.ai.shared_data import gov_messages_dir

ROOT = Path(__file__).resolve().parent.parent
DATA = gov_messages_dir()


def _labelled():
    csv.field_size_limit(sys.maxsize)
    with open(DATA / "labelled_messages.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["留言主题"] for r in rows], [r["留言详情"] for r in rows], [r["一级分类"] for r in rows]


def _taxonomy_lexicon() -> dict:
    lex: dict[str, set] = {}
    with open(DATA / "taxonomy.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for field in ("二级分类", "三级分类"):
                for word in re.split(r"[、和与及/（）()]", row[field]):
                    if len(word) >= 2:
                        lex.setdefault(row["一级分类"], set()).add(word)
    return {k: sorted(v) for k, v in lex.items()}


def classifier(args) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    from engine.ai.classifier import cross_validate

    titles, contents, labels = _labelled()
    docs = [f"{t}\n{c}" for t, c in zip(titles, contents)]
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    print(f"labelled messages: {len(labels)} rows, {len(set(labels))} first-level categories")
    print("stratified 5-fold cross-validation, accuracy (mean ± sd over folds)")
    baselines = {
        "baseline: TF-IDF (default tokens) + logistic regression": make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=2000)),
        "baseline: TF-IDF (default tokens) + linear SVM": make_pipeline(TfidfVectorizer(), LinearSVC()),
        "stronger baseline: TF-IDF char 1-3-grams + linear SVM": make_pipeline(
            TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True), LinearSVC()),
    }
    for name, pipeline in baselines.items():
        scores = cross_val_score(pipeline, docs, labels, cv=cv)
        print(f"  {name:<62} {scores.mean():.3f} ± {scores.std():.3f}")
    lexicons = {"no lexicon": None,
                "project lexicon (rules/categories.json)": {c["name_zh"]: c["keywords"] for c in json.loads(
                    (ROOT / "rules" / "categories.json").read_text(encoding="utf-8"))["categories"]},
                "taxonomy lexicon (taxonomy.csv)": _taxonomy_lexicon()}
    for name, lexicon in lexicons.items():
        started = time.perf_counter()
        report = cross_validate(titles, contents, labels, lexicon=lexicon, threshold=args.threshold)
        folds = np.array(report["fold_accuracy"])
        print(f"  {'dispatch model, ' + name:<62} {folds.mean():.3f} ± {folds.std():.3f}   "
              f"macro-F1 {report['macro_f1']:.3f}   ({time.perf_counter() - started:.1f} s)")
        if lexicon is not None and "project" in name:
            best = report
    print(f"\ndispatch model (project lexicon), confidence >= {args.threshold}: "
          f"{best['coverage']:.1%} of messages, accuracy {best['accuracy_above_threshold']:.3f}")
    print(f"{'class':<12}{'precision':>10}{'recall':>10}{'f1':>8}{'support':>9}")
    for label, m in sorted(best["per_class"].items(), key=lambda kv: -kv[1]["support"]):
        print(f"{label:<12}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>8.3f}{m['support']:>9}")


# -- duplicates ------------------------------------------------------------------------------------
MATTERS = ["小区油烟扰民", "夜间施工噪音", "物业乱收费", "电梯故障停运", "道路破损积水", "公交线路调整", "拖欠工资",
           "社保缴费查询", "学校招生划片", "医院挂号难", "商家拒绝退款", "垃圾清运不及时", "违章搭建", "停车位被占",
           "供水水压不足", "燃气管道老化", "路灯不亮", "共享单车乱停", "幼儿园收费", "河道黑臭"]
PLACES = [f"{a}{b}" for a in ("幸福", "人民", "青年", "工农", "滨江", "世纪", "锦绣", "阳光", "学府", "和平",
                              "东方", "南湖", "北园", "西山", "新城", "开元", "建设", "解放", "长江", "黄河")
          for b in ("路", "小区", "花园", "家园", "新村", "大道", "广场", "街道", "社区", "苑")]
FILLER = list("的了是在有和就也都还又很非常已经一直多次希望尽快相关部门处理解决反映问题情况目前现在今天昨天居民群众")


def synthetic_ticket(rng: random.Random) -> str:
    matter, place = rng.choice(MATTERS), rng.choice(PLACES)
    district = f"{rng.choice('ABCDEFGH')}{rng.randint(1, 9)}区"
    noise = "".join(rng.choice(FILLER) for _ in range(rng.randint(30, 90)))
    return f"{district}{place}{matter}\n{district}{place}{rng.randint(1, 99)}号附近{matter}，{noise}"


def duplicates(args) -> None:
    from engine.ai.similarity import DuplicateIndex

    sizes = [int(s) for s in args.sizes.split(",")]
    rng = random.Random(7)
    index = DuplicateIndex()
    added = 0
    print("duplicate lookup: IDF-weighted cosine over hashed char 2-3-grams, incremental segments")
    print(f"{'indexed':>9} {'add/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'index MiB':>10} {'peak RSS MiB':>13} "
          f"{'with hits %':>12}")
    day = 86400
    for size in sizes:
        started, before = time.perf_counter(), added
        batch = []
        while added < size:
            batch.append((added + 1, synthetic_ticket(rng), 1_700_000_000 + (added * 30 * day) // max(sizes)))
            added += 1
            if len(batch) == 10_000:
                index.add_many(batch)
                batch = []
        index.add_many(batch)
        add_rate = (added - before) / max(time.perf_counter() - started, 1e-9)
        # Queries: a fresh wording of an indexed ticket (same matter, place and district).
        timings, found = [], 0
        probes = [rng.randint(1, added) for _ in range(args.queries)]
        for doc_id in probes:
            query = synthetic_ticket(random.Random(doc_id))       # a request like the indexed ones
            t0 = time.perf_counter()
            hits = index.query(query, k=10)
            timings.append((time.perf_counter() - t0) * 1000)
            found += bool(hits)
        timings.sort()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{size:>9} {add_rate:>9.0f} {statistics.median(timings):>8.2f} {timings[int(0.95 * len(timings))]:>8.2f} "
              f"{timings[int(0.99 * len(timings)) - 1]:>8.2f} {index.nbytes() / 2**20:>10.1f} {rss:>13.0f} "
              f"{100 * found / len(probes):>12.1f}")
    windowed = []
    for _ in range(args.queries):
        t0 = time.perf_counter()
        index.query(synthetic_ticket(rng), k=10, since=1_700_000_000 + 23 * day)
        windowed.append((time.perf_counter() - t0) * 1000)
    windowed.sort()
    print(f"with a 7-day window at {added}: p50 {statistics.median(windowed):.2f} ms, "
          f"p95 {windowed[int(0.95 * len(windowed))]:.2f} ms")


def clustering(args) -> None:
    """Hot-issue clustering over one batch of synthetic tickets (a day or a month of a city)."""
    from datetime import datetime, timedelta

    from engine.ai import clustering as C
    from engine.ai import hotwords as H

    print("hot-issue clustering: features, grouping (average link), hot words")
    print(f"{'tickets':>8} {'clusters':>9} {'many-people':>12} {'total s':>8} {'hot words s':>12} {'peak RSS MiB':>13}")
    for size in [int(s) for s in args.sizes.split(",")]:
        rng = random.Random(size)
        start = datetime(2026, 11, 1)
        records = [C.Record(id=i, citizen=f"1390000{rng.randint(0, size):05d}", title=t.split("\n")[0],
                            content=t.split("\n")[1], received_at=start + timedelta(minutes=i))
                   for i, t in enumerate(synthetic_ticket(rng) for _ in range(size))]
        t0 = time.perf_counter()
        result = C.hot_issues(records)
        t1 = time.perf_counter()
        H.hot_words(records[size // 2:], records[:size // 2])
        t2 = time.perf_counter()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        many = result[C.MANY_PEOPLE]
        print(f"{size:>8} {len(many) + len(result[C.ONE_PERSON]):>9} {len(many):>12} {t1 - t0:>8.1f} {t2 - t1:>12.1f} "
              f"{rss:>13.0f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    c = sub.add_parser("classifier")
    c.add_argument("--threshold", type=float, default=0.6)
    d = sub.add_parser("duplicates")
    d.add_argument("--sizes", default="10000,100000,1000000")
    d.add_argument("--queries", type=int, default=200)
    k = sub.add_parser("clustering")
    k.add_argument("--sizes", default="1000,5000,20000")
    args = parser.parse_args(argv)
    if args.what == "classifier":
        if not DATA.exists():
            print(f"no labelled data at {DATA}", file=sys.stderr)
            return 2
        classifier(args)
    elif args.what == "clustering":
        clustering(args)
    else:
        duplicates(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
