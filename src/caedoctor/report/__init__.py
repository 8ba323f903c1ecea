"""The report: a diagnosis (and a repair) for people, from the typed results as they are.

- `html`: `write_report(diagnosis, out_dir)` / `render_report`: one self-contained HTML page (the template in
  `templates/`), every figure an inline PNG from `figures`;
- `notebook`: the same page as a notebook output, its CSS scoped (what `Diagnosis._repr_html_` shows), and
  the findings of `check` as a table;
- `text`: the terminal text of `caedoctor diagnose`, `caedoctor repair` and `caedoctor demo` (what `print` shows);
- `tracking`: the diagnosis into an MLflow run (`log_to_mlflow`) and each probe as a TensorBoard run
  (`write_tensorboard`);
- `renderers`: what each result shows of these, registered with `caedoctor.display` (the results sit below the
  report and never import it).
"""

from caedoctor.report.html import REPORT_NAME, render_report, write_report
from caedoctor.report.tracking import log_to_mlflow, write_tensorboard

__all__ = ["write_report", "render_report", "REPORT_NAME", "log_to_mlflow", "write_tensorboard"]
