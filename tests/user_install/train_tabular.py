"""Run in the user's training environment (mcc plus scikit-learn, pandas, XGBoost, LightGBM; nothing of mcc's
dev extras): train the DataFrame models as a user does, and write for each, under DIRECTORY/NAME/, the saved
model, a sample payload (a CSV with a header), request rows and their in-process answer (expected.json).

Usage: python train_tabular.py DIRECTORY   (with the repository on PYTHONPATH, for tests.support.tabular)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.support import tabular

BUILDERS = (tabular.churn_with_missing, tabular.xgboost_categorical, tabular.lightgbm_category)


def main(directory: Path) -> None:
    for build in BUILDERS:
        name = build.__name__.replace("_", "-")
        folder = directory / name
        folder.mkdir(parents=True)
        model = build(folder)
        (folder / "payload.csv").write_bytes(tabular.csv_body(model.rows.head(5)))
        (folder / "rows.csv").write_bytes(tabular.csv_body(model.rows))
        answer = {"predictions": model.predict(model.rows), "probabilities": model.predict_proba(model.rows).tolist()}
        record = {"framework": model.framework, "model": model.path.name, "expected": answer}
        (folder / "model.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
