"""Agreement of topic clusters with a hand-made grouping: the project's method vs a plain baseline.

Both methods cluster the policies of a compilation (default: the bundled seed, parsed and tokenised
in process with the project's own ``parse`` and ``tokens`` code) and are scored against a reference
grouping (default ``tests/data/seed_topic_groups.csv``, matched on year and title with whitespace
removed) by the adjusted Rand index (ARI) and normalised mutual information (NMI), over several seeds:

- **baseline**: plain ``jieba.lcut`` on each policy text as written, tokens joined by spaces,
  ``TfidfVectorizer()`` with its defaults, ``KMeans(n_clusters=k, random_state=seed)`` with its
  defaults (what one writes without thinking about the corpus);
- **method**: :func:`analysis.clusters.cluster_policies` with ``random_state=seed`` (keyword tokens,
  sublinear TF-IDF, LSA, consensus over seeded KMeans runs).

Two values of k are compared: the k the method's rule chooses for that seed (the baseline gets the same
k, so only the clustering differs), and the number of topics in the reference (the best case for
both). Results are printed and written as ``cluster_baseline.json`` and ``cluster_baseline.csv``
(one row per method × k setting × seed) into ``--out`` (default ``reports/benchmarks``).

    python benchmarks/cluster_baseline.py --seeds 5
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJ_ROOT = HERE.parent
sys.path.insert(0, str(PROJ_ROOT / "src"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis import clusters, config  # noqa: E402

DEFAULT_REFERENCE = PROJ_ROOT / "tests" / "data" / "seed_topic_groups.csv"
DEFAULT_SOURCE = config.RAW_DIR / "egov_policies_2013_2019.txt"


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", str(s))


def load_inputs(data_dir: Path | None, source: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Policies and tokens: read from ``data_dir``, or parsed and tokenised from ``source`` in process."""
    if data_dir is not None:
        from analysis.tables import load_policies, load_tokens

        return load_policies(data_dir), load_tokens(data_dir)
    from analysis import tokens
    from analysis.parse import parse_compilation

    policies = parse_compilation([source]).policies
    return policies, tokens.tokenize_policies(policies, tokens.load_segmenter())


def reference_topics(policies: pd.DataFrame, reference: Path) -> pd.Series:
    """Reference topic per policy_id (policies the reference does not name are an error)."""
    ref = pd.read_csv(reference, comment="#", encoding="utf-8")
    ref["key"] = ref["year"].astype(str) + "|" + ref["title"].map(_squash)
    keys = policies["year"].astype(str) + "|" + policies["title"].map(_squash)
    topics = keys.map(dict(zip(ref["key"], ref["topic"])))
    missing = policies.loc[topics.isna(), "title"].tolist()
    if missing:
        raise SystemExit(f"{reference}: no topic for {len(missing)} policies, e.g. {missing[0]!r}")
    return pd.Series(topics.to_numpy(), index=policies["policy_id"].to_numpy())


def baseline_labels(policies: pd.DataFrame, k: int, seed: int) -> pd.Series:
    """The plain baseline: jieba on the raw text, TfidfVectorizer() defaults, KMeans defaults."""
    import jieba
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    jieba.setLogLevel(60)
    texts = [" ".join(jieba.lcut(t)) for t in policies["text"]]
    x = TfidfVectorizer().fit_transform(texts)
    labels = KMeans(n_clusters=k, random_state=seed).fit_predict(x)
    return pd.Series(labels, index=policies["policy_id"].to_numpy())


def _scores(truth: pd.Series, labels: pd.Series) -> dict[str, float]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    labels = labels.loc[truth.index]
    return {"ari": float(adjusted_rand_score(truth, labels)), "nmi": float(normalized_mutual_info_score(truth, labels))}


def compare(policies: pd.DataFrame, toks: pd.DataFrame, truth: pd.Series, seeds: int, params: clusters.ClusterParams) -> pd.DataFrame:
    """One row per (k setting, method, seed) with k, ARI and NMI."""
    rows = []
    n_topics = int(truth.nunique())
    for seed in range(seeds):
        chosen = clusters.cluster_policies(toks, policies, clusters.ClusterParams(**{**params.__dict__, "random_state": seed}))
        fixed = clusters.cluster_policies(
            toks, policies, clusters.ClusterParams(**{**params.__dict__, "random_state": seed, "k_min": n_topics, "k_max": n_topics})
        )
        for setting, result in (("chosen k", chosen), ("reference k", fixed)):
            ours = result.clusters.set_index("policy_id")["cluster"]
            rows.append({"setting": setting, "method": "method", "seed": seed, "k": result.k, "weak": result.weak, **_scores(truth, ours)})
            base = baseline_labels(policies, result.k, seed)
            rows.append({"setting": setting, "method": "baseline", "seed": seed, "k": result.k, "weak": None, **_scores(truth, base)})
    return pd.DataFrame(rows)


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation of ARI and NMI per (setting, method)."""
    g = runs.groupby(["setting", "method"], sort=True)
    out = g[["ari", "nmi"]].agg(["mean", "std"])
    out.columns = [f"{a}_{b}" for a, b in out.columns]
    out["k_values"] = g["k"].agg(lambda s: ",".join(str(v) for v in sorted(set(s))))
    return out.reset_index().round(4)


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and write the JSON/CSV report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=None, help="folder with policies.csv and tokens.parquet (default: parse and tokenise --source in process)")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="compilation to parse when --data-dir is not given")
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE, help="CSV year,title,topic (lines starting # are comments)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 for both methods")
    parser.add_argument("--k-min", type=int, default=2)
    parser.add_argument("--k-max", type=int, default=10)
    parser.add_argument("--out", type=Path, default=config.BENCHMARKS_REPORT_DIR, help="folder for cluster_baseline.json and .csv")
    args = parser.parse_args(argv)

    policies, toks = load_inputs(args.data_dir, args.source)
    truth = reference_topics(policies, args.reference)
    params = clusters.ClusterParams(k_min=args.k_min, k_max=args.k_max)
    runs = compare(policies, toks, truth, args.seeds, params)
    summary = summarise(runs)
    args.out.mkdir(parents=True, exist_ok=True)
    runs.to_csv(args.out / "cluster_baseline.csv", index=False, lineterminator="\n", encoding="utf-8-sig")
    report = {
        "reference": str(args.reference.relative_to(PROJ_ROOT) if args.reference.is_relative_to(PROJ_ROOT) else args.reference),
        "policies": int(len(policies)),
        "reference_topics": int(truth.nunique()),
        "seeds": args.seeds,
        "summary": summary.to_dict(orient="records"),
        "runs": runs.replace({np.nan: None}).to_dict(orient="records"),
    }
    (args.out / "cluster_baseline.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(summary.to_string(index=False))
    print(f"wrote {args.out / 'cluster_baseline.json'} and cluster_baseline.csv")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
