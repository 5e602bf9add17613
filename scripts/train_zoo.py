"""Regenerate the shipped zoo models and their cards, or check that they reproduce.

    python scripts/train_zoo.py                 # retrain every model, write weights + cards
    python scripts/train_zoo.py NAME [NAME...]  # only these
    python scripts/train_zoo.py --check NAME    # retrain, compare with the shipped card (±0.01)

Training runs on the CPU with one thread (see specs.TRAINING_THREADS) so that results match
the shipped cards on any machine; pass several names to run models in separate processes.
"""

import argparse
import json
import sys
from pathlib import Path

import torch

from xai_widgets import zoo
from xai_widgets.zoo.specs import ZOO_SPECS, train_from_spec

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "xai_widgets" / "zoo" / "weights"
TOLERANCE = 0.01


def write_zoo_doc() -> None:
    """Rewrite the table of shipped models in docs/zoo.md from their cards."""
    rows = ["| model | architecture | task | parameters | best epoch | test metric | floor |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for path in sorted(WEIGHTS.glob("*.json")):
        card = json.loads(path.read_text())
        if "source" in card:  # a published model (scripts/convert_published.py), not trained here
            continue
        metric = card["floor"]["metric"]
        rows.append(f"| `{card['name']}` | {card['architecture']} | {card['task']['name']} (seed "
                    f"{card['task']['random_state']}) | {card['n_parameters']:,} | {card['training']['best_epoch']} | "
                    f"{metric} {card['metrics']['test'][metric]:.4f} | {card['floor']['value']} |")
    doc = ROOT / "docs" / "zoo.md"
    head = doc.read_text().split("<!-- table -->")[0] if doc.exists() else "# The model zoo\n\n"
    doc.write_text(head + "<!-- table -->\n" + "\n".join(rows) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="models to train (default: all)")
    parser.add_argument("--check", action="store_true", help="compare with the shipped cards; write nothing")
    args = parser.parse_args(argv)
    names = args.names or list(ZOO_SPECS)
    unknown = [n for n in names if n not in ZOO_SPECS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {list(ZOO_SPECS)}")
    failures = 0
    for name in names:
        model, card = train_from_spec(ZOO_SPECS[name])
        metric, floor = card["floor"]["metric"], card["floor"]["value"]
        value = card["metrics"]["test"][metric]
        print(f"{name}: test {metric}={value:.4f} (floor {floor}), best epoch {card['training']['best_epoch']}, "
              f"{card['training']['seconds']} s", flush=True)
        if args.check:
            shipped = zoo.model_card(name)["metrics"]["test"][metric]
            ok = abs(value - shipped) <= TOLERANCE
            failures += not ok
            print(f"  shipped {metric}={shipped:.4f}: {'reproduced' if ok else 'NOT reproduced'}")
            continue
        failures += value < floor
        WEIGHTS.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), WEIGHTS / f"{name}.pt")
        (WEIGHTS / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    if not args.check:
        write_zoo_doc()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
